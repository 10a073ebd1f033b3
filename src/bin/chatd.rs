//! `chatd`: the chat daemon. Parses flags, loads and validates the configuration, binds the
//! client port, then builds the runtime and serves until SIGINT or SIGTERM.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use chatd::server::config::{Config, Overrides};
use chatd::server::reload::ReloadOptions;
use clap::Parser;
use daemonize::Daemonize;
use nix::sys::signal::{SigSet, Signal};

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
    /// Web front address, IP:PORT (overrides `web.listen`; turns the web front on).
    #[arg(long, value_name = "ADDR")]
    web_listen: Option<String>,
    /// Web front port number (replaces the port of `web.listen`; turns the web front on).
    #[arg(long, value_name = "N")]
    web_port: Option<u16>,
    /// No web front (sets `web.enabled = false`).
    #[arg(long, conflicts_with_all = ["web_listen", "web_port"])]
    no_web: bool,
    /// IRC front address, IP:PORT (overrides `irc.listen`; turns the IRC front on).
    #[arg(long, value_name = "ADDR")]
    irc_listen: Option<String>,
    /// No IRC front (sets `irc.enabled = false`).
    #[arg(long, conflicts_with = "irc_listen")]
    no_irc: bool,
    /// Serve Prometheus metrics on this address, IP:PORT (overrides `metrics.listen`).
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<String>,
    /// Fork into the background (for hosts without systemd; refused under systemd).
    #[arg(long)]
    daemon: bool,
    /// With --daemon: the pid file (default: the control socket's path with `.pid`).
    #[arg(long, value_name = "PATH", requires = "daemon")]
    pidfile: Option<PathBuf>,
    /// Validate the configuration, print the effective settings, and exit.
    #[arg(long)]
    check_config: bool,
}

/// Whether this process runs under systemd (which expects it in the foreground).
fn under_systemd() -> bool {
    std::env::var_os("NOTIFY_SOCKET").is_some() || std::env::var_os("INVOCATION_ID").is_some()
}

/// `path` made absolute against the current directory (which --daemon leaves for `/`).
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    cli.config = cli.config.as_deref().map(absolute);
    if cli.daemon && under_systemd() {
        eprintln!(
            "chatd: --daemon is for hosts without systemd; under systemd chatd runs in the foreground (Type=notify)"
        );
        return ExitCode::FAILURE;
    }
    let overrides = Overrides {
        name: cli.name.clone(),
        listen: cli.listen.clone(),
        port: cli.port,
        dist_port: cli.dist_port,
        connect: cli.connect.clone(),
        web_listen: cli.web_listen.clone(),
        web_port: cli.web_port,
        no_web: cli.no_web,
        metrics_listen: cli.metrics_listen.clone(),
        irc_listen: cli.irc_listen.clone(),
        no_irc: cli.no_irc,
    };
    let config = match Config::load(cli.config.as_deref(), &overrides) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("chatd: invalid configuration: {e}");
            return ExitCode::FAILURE;
        }
    };
    for name in &config.ignored_env {
        eprintln!(
            "chatd: ignoring environment variable {name}: not a configuration key (those are CHATD_SECTION__KEY)"
        );
    }
    if cli.check_config {
        print!(
            "# the configuration is valid; effective settings:\n{}",
            config.to_toml()
        );
        return ExitCode::SUCCESS;
    }
    let daemon = cli.daemon.then(|| {
        let default = config.control.socket.with_extension("pid");
        absolute(cli.pidfile.as_deref().unwrap_or(&default))
    });
    match serve(config, overrides, daemon) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chatd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Binds the ports, optionally forks into the background (`daemon` = the pid file), then builds
/// the runtime and serves. Everything that can fail on a bad setup happens before the fork, so
/// the error reaches the terminal.
fn serve(config: Config, overrides: Overrides, daemon: Option<PathBuf>) -> anyhow::Result<()> {
    let limits = &config.settings.limits;
    let keepalive = (limits.tcp_keepalive_secs > 0)
        .then(|| std::time::Duration::from_secs(limits.tcp_keepalive_secs));
    let client_port = |addr: std::net::SocketAddr| {
        chatd::server::listener::bind(addr, limits.listen_backlog, keepalive)
    };
    let listener = client_port(config.listen)
        .with_context(|| format!("cannot listen on {} (server.listen)", config.listen))?;
    let bind = |addr: Option<std::net::SocketAddr>, key: &str| -> anyhow::Result<_> {
        match addr {
            Some(addr) => {
                let listener = std::net::TcpListener::bind(addr)
                    .with_context(|| format!("cannot listen on {addr} ({key})"))?;
                listener.set_nonblocking(true)?;
                Ok(Some(listener))
            }
            None => Ok(None),
        }
    };
    let irc_port = |addr: Option<std::net::SocketAddr>, key: &str| -> anyhow::Result<_> {
        addr.map(|addr| {
            client_port(addr).with_context(|| format!("cannot listen on {addr} ({key})"))
        })
        .transpose()
    };
    let irc = config.irc.as_ref();
    let sockets = Sockets {
        client: listener,
        web: bind(config.web.as_ref().map(|w| w.listen), "web.listen")?,
        metrics: bind(config.metrics, "metrics.listen")?,
        irc: irc_port(irc.and_then(|i| i.listen), "irc.listen")?,
        irc_tls: irc_port(irc.and_then(|i| i.tls_listen), "irc.tls_listen")?,
    };
    let control = chatd::server::control::server::bind(&config.control)?;
    // Until the runtime watches them, SIGTERM, SIGINT and SIGHUP wait instead of killing the
    // process by their default action: a supervisor may signal the daemon the instant the
    // parent returns. The runtime's threads inherit the mask; `run` unblocks them once handled.
    stop_signals()
        .thread_block()
        .context("cannot block signals during start-up")?;
    let log_file = match config.settings.log.file.as_str() {
        "" => None,
        path => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot open {path} (log.file)"))?,
        ),
    };
    if let Some(pidfile) = &daemon {
        let mut daemon = Daemonize::new()
            .pid_file(pidfile)
            .working_directory("/")
            .umask(0o027);
        if let Some(file) = &log_file {
            daemon = daemon.stderr(file.try_clone()?);
        }
        daemon.start().with_context(|| {
            format!(
                "cannot go to the background (pid file {})",
                pidfile.display()
            )
        })?;
    } else if let Some(file) = &log_file {
        nix::unistd::dup2_stderr(file).context("cannot send logs to log.file")?;
    }
    let set_log_level =
        chatd::server::logging::init(&config.settings.log.level, &config.settings.log.format);
    let options = ReloadOptions {
        overrides,
        set_log_level: Some(set_log_level),
    };
    let result = run(config, options, sockets, control);
    if let Some(pidfile) = &daemon {
        let _ = std::fs::remove_file(pidfile);
    }
    result
}

/// The TCP ports, bound before the fork.
struct Sockets {
    client: std::net::TcpListener,
    web: Option<std::net::TcpListener>,
    metrics: Option<std::net::TcpListener>,
    irc: Option<std::net::TcpListener>,
    irc_tls: Option<std::net::TcpListener>,
}

fn run(
    config: Config,
    options: ReloadOptions,
    sockets: Sockets,
    control: chatd::server::control::server::ControlSocket,
) -> anyhow::Result<()> {
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if config.settings.server.worker_threads > 0 {
        runtime.worker_threads(config.settings.server.worker_threads);
    }
    let runtime = runtime
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        let tokio =
            |l: Option<std::net::TcpListener>| l.map(tokio::net::TcpListener::from_std).transpose();
        let listeners = chatd::server::node::Listeners {
            client: tokio::net::TcpListener::from_std(sockets.client)?,
            web: tokio(sockets.web)?,
            metrics: tokio(sockets.metrics)?,
            irc: tokio(sockets.irc)?,
            irc_tls: tokio(sockets.irc_tls)?,
            control: Some(control),
        };
        let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
        let mut interrupt = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
        // Registered now so that a SIGHUP during start-up is caught; the node watches it later.
        let _hangup = signal(SignalKind::hangup()).context("cannot watch SIGHUP")?;
        // The handlers are in place: what arrived while blocked is delivered now (to this
        // thread, the only one that unblocks them).
        stop_signals()
            .thread_unblock()
            .context("cannot unblock signals")?;
        let shutdown = async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = interrupt.recv() => {}
            }
        };
        chatd::server::node::run(config, options, listeners, shutdown).await?;
        Ok(())
    })
}

/// The signals that stop (TERM, INT) or reload (HUP) the daemon.
fn stop_signals() -> SigSet {
    let mut set = SigSet::empty();
    for signal in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
        set.add(signal);
    }
    set
}
