//! The accessboard binary: see `accessboard --help`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    accessboard::cli::main(accessboard::cli::Cli::parse())
}
