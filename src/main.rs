//! The trustwarden binary: parse the command line, call the library, map
//! outcomes to exit codes (0 done, 1 findings at or above --fail-on,
//! 2 operational error, 3 invalid config or rules).

use std::fs::File;
use std::io::{self, BufReader};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use trustwarden::cli::{Cli, Command, simulate};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("trustwarden: error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Simulate { input, explain } => {
            let stdout = io::stdout().lock();
            let summary = if input.as_os_str() == "-" {
                simulate(io::stdin().lock(), stdout, explain)?
            } else {
                let file = File::open(&input).with_context(|| format!("cannot open {}", input.display()))?;
                simulate(BufReader::new(file), stdout, explain)?
            };
            if summary.failed > 0 {
                eprintln!("trustwarden: {} of {} cases could not be evaluated", summary.failed, summary.cases);
                return Ok(ExitCode::from(2));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
