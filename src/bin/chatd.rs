//! `chatd`: the chat daemon. Parses flags, loads and validates the configuration, binds the
//! client port, then builds the runtime and serves until SIGINT or SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chatd::config::{Config, Overrides};
use chatd::reload::ReloadOptions;
use clap::Parser;

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

fn serve(config: Config, overrides: Overrides) -> anyhow::Result<()> {
    let set_log_level =
        chatd::logging::init(&config.settings.log.level, &config.settings.log.format);
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
