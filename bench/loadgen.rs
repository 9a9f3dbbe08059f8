//! bench/loadgen.rs: the load generator of `bench/run`'s `mocks` section, std only, built with
//! `rustc -O` (no crate, no Cargo: a bench tool, not part of gaterun).
//!
//!   loadgen --url http://127.0.0.1:PORT --rate 2000 --seconds 5 --conns 4 \
//!           --req '200 GET /rate_limit' --req '201 POST /repos/acme/app/pulls {"title":"fix"}'
//!
//! Each connection is one thread with one keep-alive HTTP/1.1 connection, sending the `--req`s in
//! turn (a JSON body when given) and checking each answer's status. `--rate R` is an open loop:
//! request k of the run is due at start + k/R, spread over the connections, and its latency is
//! counted from when it was due, not from when it was sent, so a server that falls behind pays for
//! the queue it causes (no coordinated omission, as wrk2 counts). `--rate 0` is a closed loop:
//! each connection sends the next request as soon as the answer is in (the maximum rate).
//! A server that falls behind by more than a second at the end is not waited for: the achieved
//! rate shows what it did. `--warmup S` runs that long first, unmeasured. Prints one JSON line:
//! requests, errors (a wrong status, a closed connection), the achieved rate, latency percentiles
//! in ms, and the CPU time of the connection threads (to show the generator is not the
//! bottleneck).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

struct Req {
    status: u16,
    bytes: Vec<u8>,
}

struct Opts {
    host: String,
    rate: f64,
    seconds: f64,
    warmup: f64,
    conns: usize,
    reqs: Vec<Req>,
}

fn parse_args() -> Opts {
    let mut args = std::env::args().skip(1);
    let (mut url, mut rate, mut seconds, mut warmup, mut conns, mut specs) =
        (String::new(), 0.0, 5.0, 0.0, 4, vec![]);
    while let Some(a) = args.next() {
        let v = args
            .next()
            .unwrap_or_else(|| die(&format!("{a} needs a value")));
        match a.as_str() {
            "--url" => url = v,
            "--rate" => rate = v.parse().unwrap_or_else(|_| die("--rate: a number")),
            "--seconds" => seconds = v.parse().unwrap_or_else(|_| die("--seconds: a number")),
            "--warmup" => warmup = v.parse().unwrap_or_else(|_| die("--warmup: a number")),
            "--conns" => conns = v.parse().unwrap_or_else(|_| die("--conns: a number")),
            "--req" => specs.push(v),
            _ => die(&format!("unknown option {a}")),
        }
    }
    let host = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    if host.is_empty() || specs.is_empty() || conns == 0 {
        die(
            "usage: loadgen --url http://HOST:PORT [--rate R] [--seconds S] [--warmup S] [--conns N] --req 'STATUS METHOD PATH [JSON]'...",
        );
    }
    let reqs = specs
        .iter()
        .map(|s| {
            let mut parts = s.splitn(4, ' ');
            let status = parts
                .next()
                .and_then(|p| p.parse().ok())
                .unwrap_or_else(|| die("--req: STATUS METHOD PATH [JSON]"));
            let method = parts.next().unwrap_or_else(|| die("--req: no method"));
            let path = parts.next().unwrap_or_else(|| die("--req: no path"));
            let mut head = format!(
                "{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: loadgen\r\nAccept: */*\r\n"
            );
            let body = parts.next().unwrap_or("");
            if !body.is_empty() {
                head += &format!(
                    "Content-Type: application/json\r\nContent-Length: {}\r\n",
                    body.len()
                );
            }
            head += "\r\n";
            Req {
                status,
                bytes: [head.as_bytes(), body.as_bytes()].concat(),
            }
        })
        .collect();
    Opts {
        host,
        rate,
        seconds,
        warmup,
        conns,
        reqs,
    }
}

fn die(msg: &str) -> ! {
    eprintln!("loadgen: {msg}");
    std::process::exit(2)
}

/// One answer: its status, the body read to its end (Content-Length or chunked). None: the
/// connection closed or sent something that is not HTTP/1.1.
fn read_response(r: &mut BufReader<TcpStream>) -> Option<(u16, bool)> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let status: u16 = line.split(' ').nth(1)?.parse().ok()?;
    let (mut length, mut chunked, mut close) = (0usize, false, false);
    loop {
        line.clear();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (name, value) = l.split_once(':')?;
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.parse().ok()?,
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            "connection" => close = value.eq_ignore_ascii_case("close"),
            _ => {}
        }
    }
    if chunked {
        loop {
            line.clear();
            r.read_line(&mut line).ok()?;
            let size = usize::from_str_radix(line.trim().split(';').next()?, 16).ok()?;
            let mut skip = vec![0; size + 2];
            r.read_exact(&mut skip).ok()?;
            if size == 0 {
                break;
            }
        }
    } else {
        let mut skip = vec![0; length];
        r.read_exact(&mut skip).ok()?;
    }
    Some((status, close))
}

fn connect(host: &str) -> Option<(TcpStream, BufReader<TcpStream>)> {
    let s = TcpStream::connect(host).ok()?;
    s.set_nodelay(true).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let r = BufReader::with_capacity(64 * 1024, s.try_clone().ok()?);
    Some((s, r))
}

/// One connection's share of the run: latencies in µs (from when each request was due), errors.
fn worker(
    o: &Opts,
    id: usize,
    start: Instant,
    end: Instant,
    measure_from: Instant,
) -> (Vec<u32>, u64, u64) {
    let (mut lat, mut errors) = (Vec::new(), 0u64);
    let mut conn = connect(&o.host);
    let mut k = 0u64; // this connection's request count
    loop {
        let due = if o.rate > 0.0 {
            // Request number k * conns + id of the whole run.
            start + Duration::from_secs_f64((k as f64 * o.conns as f64 + id as f64) / o.rate)
        } else {
            Instant::now()
        };
        // A server that fell behind: what is still due a second after the end is not sent (the
        // achieved rate shows the shortfall).
        if due >= end || Instant::now() >= end + Duration::from_secs(1) {
            break;
        }
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        let req = &o.reqs[(k as usize * o.conns + id) % o.reqs.len()];
        k += 1;
        let Some((s, r)) = conn.as_mut() else {
            errors += 1;
            conn = connect(&o.host);
            continue;
        };
        let answer = s.write_all(&req.bytes).ok().and_then(|_| read_response(r));
        let done = Instant::now();
        let ok = matches!(answer, Some((status, _)) if status == req.status);
        if due >= measure_from {
            if ok {
                lat.push((done - due).as_micros().min(u32::MAX as u128) as u32);
            } else {
                errors += 1;
            }
        }
        if !matches!(answer, Some((_, false))) {
            conn = connect(&o.host);
        }
    }
    (lat, errors, thread_cpu_ns())
}

/// This thread's time on a CPU so far (ns, from the scheduler: exact, where utime's ticks miss a
/// thread that sleeps between short bursts).
fn thread_cpu_ns() -> u64 {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    stat.split_whitespace()
        .next()
        .and_then(|x| x.parse().ok())
        .unwrap_or(0)
}

fn pct(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[i.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

fn main() {
    let o = parse_args();
    let start = Instant::now();
    let measure_from = start + Duration::from_secs_f64(o.warmup);
    let end = measure_from + Duration::from_secs_f64(o.seconds);
    let (mut lat, mut errors, mut cpu) = (Vec::new(), 0, 0);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..o.conns)
            .map(|id| {
                s.spawn({
                    let o = &o;
                    move || worker(o, id, start, end, measure_from)
                })
            })
            .collect();
        for h in handles {
            let (l, e, c) = h.join().unwrap_or_default();
            lat.extend(l);
            errors += e;
            cpu += c;
        }
    });
    let elapsed = (Instant::now().max(end) - measure_from).as_secs_f64();
    lat.sort_unstable();
    let n = lat.len();
    println!(
        "{{\"requests\": {n}, \"errors\": {errors}, \"seconds\": {elapsed:.3}, \"rate\": {:.1}, \"offered\": {}, \"conns\": {}, \
         \"p50_ms\": {:.3}, \"p90_ms\": {:.3}, \"p99_ms\": {:.3}, \"max_ms\": {:.3}, \"client_cpu_s\": {:.3}}}",
        n as f64 / elapsed,
        o.rate,
        o.conns,
        pct(&lat, 50.0),
        pct(&lat, 90.0),
        pct(&lat, 99.0),
        pct(&lat, 100.0),
        cpu as f64 / 1e9
    );
    let _ = std::io::stdout().flush();
}
