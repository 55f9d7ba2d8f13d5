//! Command-line interface: argument definitions and the commands that need
//! no runtime beyond the library (simulate).

use std::io::{BufRead, Write};
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::eval::case::{Case, error_answer};

#[derive(Parser, Debug)]
#[command(
    name = "trustwarden",
    version,
    about = "IAM audit: cross-account trust and credential hygiene for AWS accounts and organizations"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Evaluate authorization requests (JSON lines, see docs/evaluator.md) with the shared evaluator.
    Simulate {
        /// Case file, or - for standard input.
        #[arg(long, short, default_value = "-")]
        input: PathBuf,
        /// Add the deciding statements and the reason to each answer.
        #[arg(long)]
        explain: bool,
    },
}

/// Totals of a simulate run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SimulateSummary {
    pub cases: usize,
    pub failed: usize,
    /// Cases whose `expected` differs from the decision.
    pub unexpected: usize,
}

/// Run every case of `input`, writing one answer line per case in input order.
/// A malformed line gets an error answer and the rest still run.
pub fn simulate(input: impl BufRead, mut output: impl Write, explain: bool) -> std::io::Result<SimulateSummary> {
    let mut summary = SimulateSummary::default();
    for (index, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        summary.cases += 1;
        let answer = match Case::parse(&line) {
            Ok(case) => {
                let decision = case.evaluate();
                if case.expected.is_some_and(|e| e != decision.outcome) {
                    summary.unexpected += 1;
                }
                case.answer(&decision, explain)
            }
            Err(error) => {
                summary.failed += 1;
                error_answer(&error, index + 1)
            }
        };
        serde_json::to_writer(&mut output, &answer)?;
        output.write_all(b"\n")?;
    }
    output.flush()?;
    Ok(summary)
}
