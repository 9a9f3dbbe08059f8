//! The `gaterun` binary: parse arguments, run, exit with the documented code.

fn main() {
    // gaterun's own PID-namespace init and joiner: before anything else (single-threaded,
    // whatever the environment holds), and never in `--help`.
    #[cfg(target_os = "linux")]
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == gaterun::process::pidns::INIT_ARG)
    {
        gaterun::process::pidns::init_main(std::env::args_os().collect());
    }
    let cli = gaterun::cli::parse();
    std::process::exit(gaterun::main_with(cli));
}
