//! The trustwarden binary: parse the command line, call the library, map
//! outcomes to exit codes (0 done, 1 findings at or above --fail-on,
//! 2 operational error, 3 invalid config or rules).

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use trustwarden::cli::{self, Cli, Command};
use trustwarden::config::LogFormat;
use trustwarden::graph::export::Selection;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let log_format = match &cli.command {
        Command::Daemon { config: cli::ConfigArgs { config: Some(path) }, .. } => trustwarden::daemon::log_format(path),
        _ => LogFormat::Human,
    };
    init_logging(log_format);
    let result = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(run(cli)),
        Err(error) => {
            eprintln!("trustwarden: error: cannot start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("trustwarden: error: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

/// Logs go to stderr; RUST_LOG tunes them (default: warnings, and info for
/// trustwarden); the daemon's `log_format = "json"` makes them JSON lines.
fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,trustwarden=info"));
    // Colours only for a terminal: journald and log files get plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn run(cli: Cli) -> Result<u8, cli::CliError> {
    match cli.command {
        Command::Audit { config, store, source, format, out, fail_on } => {
            cli::run_audit(&config, &store, source.as_deref(), format, out.as_deref(), fail_on).await
        }
        Command::Inventory { config, source } => cli::run_inventory(&config, source.as_deref()).await,
        Command::Snapshot { config, out } => cli::run_snapshot(&config, &out).await,
        Command::Graph { config, source, format, from, to, out } => {
            cli::run_graph(&config, source.as_deref(), format, Selection { from, to }, out.as_deref()).await
        }
        Command::Validate { config, rules } => cli::run_validate(&config, rules.as_deref()),
        Command::Simulate { input, explain } => cli::run_simulate(&input, explain),
        Command::Findings { config, store, command } => cli::run_findings(&config, &store, command),
        Command::Daemon { config, store } => cli::run_daemon(&config, &store).await,
        Command::Outbox { config, store, command } => cli::run_outbox(&config, &store, command).await,
    }
}
