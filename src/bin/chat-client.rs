//! `chat-client`: the terminal chat client for chatd.
//!
//! Exit status: 0 on a normal exit, 1 when the terminal fails, 2 for a bad command line or
//! configuration file (reported before the screen is taken over).

use std::path::PathBuf;
use std::process::ExitCode;

use chatd::client::config::{ClientConfig, Overrides};
use clap::Parser;

/// A terminal client for chatd: rooms, private conversations, history, reconnects.
#[derive(Debug, Parser)]
#[command(name = "chat-client", version)]
struct Cli {
    /// Server host (default: the config file's servers, else 127.0.0.1).
    #[arg(long, value_name = "HOST")]
    host: Option<String>,
    /// Server port (default: 9999).
    #[arg(long, value_name = "PORT")]
    port: Option<u16>,
    /// Nick to claim on connecting (default: the config file's, else asked for).
    #[arg(long, value_name = "NICK")]
    nick: Option<String>,
    /// Configuration file (default: $XDG_CONFIG_HOME/chatd/client.toml, ~/.config/chatd/client.toml).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let overrides = Overrides {
        host: cli.host,
        port: cli.port,
        nick: cli.nick,
    };
    let config = match ClientConfig::load(cli.config.as_deref(), &overrides) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("chat-client: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("chat-client: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(chatd::client::run::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chat-client: terminal error: {e}");
            ExitCode::FAILURE
        }
    }
}
