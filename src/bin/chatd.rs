//! `chatd`: the chat daemon. Parses flags, loads and validates the configuration, binds the
//! client port, then builds the runtime and serves until SIGINT or SIGTERM.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chatd::config::{Config, Overrides};
use chatd::reload::{ReloadOptions, SetLogLevel};
use clap::Parser;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// A clustered chat server: netcat-friendly lines and a framed binary protocol on one port.
#[derive(Debug, Parser)]
#[command(name = "chatd", version)]
struct Cli {
    /// Configuration file (TOML); without it, the embedded defaults apply.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// This node's name (overrides `server.name`).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Client port address, IP:PORT (overrides `server.listen`).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Client port number (replaces the port of `server.listen`).
    #[arg(long, value_name = "N")]
    port: Option<u16>,
    /// Join a cluster, with this node-to-node port (replaces the port of `cluster.listen`).
    #[arg(long, value_name = "N")]
    dist_port: Option<u16>,
    /// Join a cluster through this node, HOST:PORT (repeatable; adds to `cluster.seeds`).
    #[arg(long, value_name = "ADDR")]
    connect: Vec<String>,
    /// Validate the configuration, print the effective settings, and exit.
    #[arg(long)]
    check_config: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let overrides = Overrides {
        name: cli.name.clone(),
        listen: cli.listen.clone(),
        port: cli.port,
        dist_port: cli.dist_port,
        connect: cli.connect.clone(),
    };
    let config = match Config::load(cli.config.as_deref(), &overrides) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("chatd: invalid configuration: {e}");
            return ExitCode::FAILURE;
        }
    };
    if cli.check_config {
        print!(
            "# the configuration is valid; effective settings:\n{}",
            config.to_toml()
        );
        return ExitCode::SUCCESS;
    }
    match serve(config, overrides) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chatd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Sets up logging to stderr; returns how to change the level later (`log.level` on reload).
fn init_logging(level: &str) -> SetLogLevel {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let (filter, handle) = tracing_subscriber::reload::Layer::new(filter);
    tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::stderr().is_terminal()),
        )
        .init();
    Box::new(move |level| {
        let filter = EnvFilter::try_new(level).map_err(|e| e.to_string())?;
        handle.reload(filter).map_err(|e| e.to_string())
    })
}

fn serve(config: Config, overrides: Overrides) -> anyhow::Result<()> {
    let set_log_level = init_logging(&config.settings.log.level);
    let options = ReloadOptions {
        overrides,
        set_log_level: Some(set_log_level),
    };
    let listener = chatd::listener::bind(config.listen, config.settings.limits.listen_backlog)
        .with_context(|| format!("cannot listen on {} (server.listen)", config.listen))?;
    let control = chatd::control::server::bind(&config.control)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        chatd::node::run(config, options, listener, Some(control), shutdown_signal()).await?;
        Ok(())
    })
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch SIGTERM; only SIGINT stops the server");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
