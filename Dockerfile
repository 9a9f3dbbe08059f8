# gaterun in a container, for nightly pipelines: fresh SQLite and PostgreSQL databases work
# inside the image (gaterun starts its throw-away PostgreSQL cluster as the `postgres` user).
#
#   docker build -t gaterun .
#   docker run --rm -v "$PWD:/work" -w /work gaterun phase 1

FROM rust:1.95.0-slim-bookworm AS builder
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin gaterun

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates postgresql sqlite3 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=builder /src/target/release/gaterun /usr/local/bin/gaterun
ENTRYPOINT ["/usr/local/bin/gaterun"]
