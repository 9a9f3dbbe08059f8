//! The `gaterun` binary: parse arguments, run, exit with the documented code.

use clap::Parser;

fn main() {
    let cli = gaterun::cli::Cli::parse();
    std::process::exit(gaterun::main_with(cli));
}
