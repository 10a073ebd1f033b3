//! A node: the root of the supervision tree, the client port, and graceful shutdown.
//!
//! ```text
//! root
//! ├── relay            delivery to local sessions
//! ├── room supervisor  restarts failed rooms
//! │   └── room …
//! ├── registry         rooms and nicks by name; parent of the sessions
//! │   └── session …    one per connection (its socket is served by a connection task)
//! ├── gateway          this node's remotable entry point (room events from other nodes)
//! └── node server, membership   (when clustered) ractor_cluster, and staying connected
//! ```
//!
//! The relay, room supervisor and registry are the node's core: if one of them fails, the node
//! shuts down with an error (under systemd, `Restart=on-failure` starts it again), because their
//! state — every session's queue, every room's address — cannot be rebuilt in place.
//!
//! [`run`] serves a bound listener until a shutdown future resolves: it then stops accepting,
//! sends every client a `Shutdown` event, lets connections flush for up to
//! `server.shutdown_grace_secs`, and stops the actors.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use ractor_cluster::RactorMessage;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::server::admission::Admissions;
use crate::server::cluster::route::LocalNode;
use crate::server::config::Config;
use crate::server::context::{Live, NodeContext, Tunables};
use crate::server::control::{self, server::ControlContext, server::ControlSocket};
use crate::server::listener;
use crate::server::msg::membership::MembershipMsg;
use crate::server::msg::registry::RegistryMsg;
use crate::server::msg::relay::RelayMsg;
use crate::server::registry::{Registry, RegistryArgs};
use crate::server::relay::{Relay, RelayArgs};
use crate::server::reload::{ReloadOptions, Reloader};
use crate::server::room_supervisor::RoomSupervisor;
use crate::server::stats::Stats;
use crate::server::store::Store;
use crate::server::timeouts::{NODE_CALL_MS, SHUTDOWN_CALL_MS};
use crate::server::web::WebState;

/// Why a node stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The actor tree could not be built.
    #[error("cannot start the node: {0}")]
    Start(String),
    /// A core actor failed while serving.
    #[error("a core actor failed: {0}")]
    CoreFailed(String),
}

/// Reloads the configuration on every SIGHUP until `stop`.
async fn reload_on_sighup(reloader: Arc<Reloader>, stop: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = match signal(SignalKind::hangup()) {
        Ok(hangups) => hangups,
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch SIGHUP; reload with chatctl reload");
            return;
        }
    };
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = hangups.recv() => {
                // The outcome is logged by the reloader.
                let _ = reloader.reload().await;
            }
        }
    }
}

/// The core actors a node's connections use.
#[derive(Clone)]
struct Core {
    relay: ActorRef<RelayMsg>,
    registry: ActorRef<RegistryMsg>,
    membership: Option<ActorRef<MembershipMsg>>,
}

/// The root actor's messages.
#[derive(RactorMessage)]
enum RootMsg {
    /// The core actors' references.
    Core(RpcReplyPort<Core>),
}

struct Root;

struct RootArgs {
    config: Config,
    /// The cluster cookie, loaded before anything starts.
    cookie: Option<String>,
    /// Node-to-node TLS, loaded before anything starts.
    tls: Option<crate::server::cluster::tls::Tls>,
    stats: Arc<Stats>,
    /// The history store, opened before anything starts (`None`: memory only).
    store: Option<Store>,
    /// The bounds in force, shared with the registry and the node context.
    tunables: Arc<Live>,
    failed: CancellationToken,
    failure: Arc<std::sync::Mutex<Option<String>>>,
}

struct RootState {
    core: Core,
    failed: CancellationToken,
    failure: Arc<std::sync::Mutex<Option<String>>>,
}

impl Actor for Root {
    type Msg = RootMsg;
    type State = RootState;
    type Arguments = RootArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<RootMsg>,
        args: RootArgs,
    ) -> Result<RootState, ActorProcessingErr> {
        let node = args.config.node_name().to_string();
        let cell = myself.get_cell();
        let relay_args = RelayArgs {
            stats: args.stats.clone(),
            node: node.clone(),
            history: args.config.settings.history.replay,
        };
        let (relay, _) = Actor::spawn_linked(None, Relay, relay_args, cell.clone()).await?;
        let (room_supervisor, _) =
            Actor::spawn_linked(None, RoomSupervisor, (), cell.clone()).await?;
        let registry_args = RegistryArgs {
            node,
            store: args.store.clone(),
            tunables: args.tunables,
            relay: relay.clone(),
            room_supervisor,
            clustered: args.config.cluster.is_some(),
        };
        let (registry, _) =
            Actor::spawn_linked(None, Registry, registry_args, cell.clone()).await?;
        let node = args.config.node_name();
        let membership = match (&args.config.cluster, args.cookie) {
            (Some(cluster), Some(cookie)) => Some(
                crate::server::cluster::start(
                    cluster,
                    node,
                    cookie,
                    args.tls,
                    relay.clone(),
                    cell.clone(),
                )
                .await?,
            ),
            _ => None,
        };
        crate::server::cluster::start_gateway(
            node,
            membership.clone(),
            relay.clone(),
            registry.clone(),
            cell,
        )
        .await?;
        Ok(RootState {
            core: Core {
                relay,
                registry,
                membership,
            },
            failed: args.failed,
            failure: args.failure,
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<RootMsg>,
        message: RootMsg,
        state: &mut RootState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            RootMsg::Core(reply) => {
                let _ = reply.send(state.core.clone());
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        _myself: ActorRef<RootMsg>,
        event: SupervisionEvent,
        state: &mut RootState,
    ) -> Result<(), ActorProcessingErr> {
        let failure = match event {
            SupervisionEvent::ActorFailed(cell, error) => format!("{cell:?} failed: {error}"),
            SupervisionEvent::ActorTerminated(cell, _, reason) => {
                format!("{cell:?} stopped: {}", reason.unwrap_or_default())
            }
            _ => return Ok(()),
        };
        tracing::error!(%failure, "core actor ended; shutting the node down");
        if let Ok(mut slot) = state.failure.lock() {
            slot.get_or_insert(failure);
        }
        state.failed.cancel();
        Ok(())
    }
}

/// The node's sockets, bound before it starts (before a daemon forks, so that a port in use is
/// reported on the terminal).
pub struct Listeners {
    /// The client port (`server.listen`).
    pub client: TcpListener,
    /// The web front (`web.listen`), when enabled.
    pub web: Option<TcpListener>,
    /// The metrics endpoint (`metrics.listen`), when set.
    pub metrics: Option<TcpListener>,
    /// The IRC front (`irc.listen`), when enabled and set.
    pub irc: Option<TcpListener>,
    /// The IRC front over TLS (`irc.tls_listen`), when enabled and set.
    pub irc_tls: Option<TcpListener>,
    /// The control socket, when wanted.
    pub control: Option<ControlSocket>,
}

/// Serves the client port (and the web front, the metrics endpoint and the control socket, when
/// given) with the actor tree built from `config` until `shutdown` resolves, `chatctl shutdown`
/// asks, or a core actor fails; then shuts down gracefully. SIGHUP (and `chatctl reload`) reload
/// the configuration.
pub async fn run(
    config: Config,
    options: ReloadOptions,
    listeners: Listeners,
    shutdown: impl Future<Output = ()>,
) -> Result<(), NodeError> {
    let Listeners {
        client: listener,
        web,
        metrics,
        irc,
        irc_tls,
        control,
    } = listeners;
    let failed = CancellationToken::new();
    let failure = Arc::new(std::sync::Mutex::new(None));
    let grace = Duration::from_secs(config.settings.server.shutdown_grace_secs);
    let tunables = Tunables::of(&config);
    let max_connections = config.settings.limits.max_connections;
    let reload_config = config.clone();
    let (allowed_origins, trusted_proxies) = config
        .web
        .as_ref()
        .map(|w| (w.allowed_origins.clone(), w.trusted_proxies.clone()))
        .unwrap_or_default();
    let web_tls = match config.web.as_ref().and_then(|w| w.tls.as_ref()) {
        Some(tls) => Some(
            crate::server::web::tls(tls).map_err(|e| NodeError::Start(format!("web TLS: {e}")))?,
        ),
        None => None,
    };
    let irc_tls_acceptor = match config.irc.as_ref().and_then(|i| i.tls.as_ref()) {
        Some(tls) => Some(
            crate::server::irc::tls(tls).map_err(|e| NodeError::Start(format!("IRC TLS: {e}")))?,
        ),
        None => None,
    };
    let irc_server = config
        .irc
        .as_ref()
        .map(|i| Arc::new(crate::server::front::irc::IrcServer::new(i)));
    let node = config.node_name().to_string();
    let cookie = match &config.cluster {
        Some(cluster) => Some(
            crate::server::cluster::cookie::load(&cluster.cookie)
                .map_err(|e| NodeError::Start(format!("cluster cookie: {e}")))?,
        ),
        None => None,
    };
    let tls = match config.cluster.as_ref().and_then(|c| c.tls.as_ref()) {
        Some(tls) => Some(
            crate::server::cluster::tls::load(tls)
                .map_err(|e| NodeError::Start(format!("cluster TLS: {e}")))?,
        ),
        None => None,
    };
    let stats = Arc::new(Stats::default());
    let store = Store::connect(config.history.clone())
        .await
        .map_err(|e| NodeError::Start(e.to_string()))?;
    if let Some(store) = &store {
        tracing::info!(path = %store.place().display(), "history store open");
    }
    let tunables = Arc::new(Live::new(tunables));
    let store_at_exit = store.clone();
    let root_args = RootArgs {
        store: store.clone(),
        tunables: tunables.clone(),
        config,
        cookie,
        tls,
        stats: stats.clone(),
        failed: failed.clone(),
        failure: failure.clone(),
    };
    let (root, root_handle) = Actor::spawn(None, Root, root_args)
        .await
        .map_err(|e| NodeError::Start(e.to_string()))?;
    let Core {
        relay,
        registry,
        membership,
    } = ractor::call_t!(root, RootMsg::Core, NODE_CALL_MS)
        .map_err(|e| NodeError::Start(e.to_string()))?;
    let local = LocalNode {
        node: node.clone(),
        relay: relay.clone(),
        registry,
    };
    let listener_keepalive = tunables.get().connection.tcp_keepalive;
    let ctx = Arc::new(NodeContext {
        local,
        membership,
        max_connections,
        listener_keepalive,
        stats,
        store,
        tunables,
    });
    let reloader = Arc::new(Reloader::new(reload_config, options, ctx.clone()));

    let stop = CancellationToken::new();
    let tracker = TaskTracker::new();
    let listen = listener
        .local_addr()
        .map_err(|e| NodeError::Start(format!("listener: {e}")))?;
    tracing::info!(addr = %listen, node = %node, "listening");
    let requested = CancellationToken::new();
    if let Some(control) = control {
        let control_ctx = Arc::new(ControlContext::new(
            ctx.clone(),
            listen,
            requested.clone(),
            reloader.clone(),
        ));
        tracker.spawn(control::server::run(control, control_ctx, stop.clone()));
    }
    tracker.spawn(crate::server::systemd::keep_informed(
        ctx.clone(),
        stop.clone(),
    ));
    let admissions = Arc::new(Admissions::new(ctx.max_connections));
    if let Some(web) = web {
        let addr = web
            .local_addr()
            .map_err(|e| NodeError::Start(format!("web front: {e}")))?;
        let scheme = if web_tls.is_some() { "https" } else { "http" };
        tracing::info!(addr = %addr, "web front open: {scheme}://{addr}/");
        let state = Arc::new(WebState {
            ctx: ctx.clone(),
            admissions: admissions.clone(),
            allowed_origins: allowed_origins.clone(),
            trusted_proxies: trusted_proxies.clone(),
            tracker: tracker.clone(),
        });
        tracker.spawn(crate::server::web::run(web, web_tls, state, stop.clone()));
    }
    if let Some(server) = irc_server {
        let state = Arc::new(crate::server::irc::IrcState {
            ctx: ctx.clone(),
            admissions: admissions.clone(),
            server,
            tracker: tracker.clone(),
        });
        for (listener, tls) in [(irc, None), (irc_tls, irc_tls_acceptor)] {
            let Some(listener) = listener else { continue };
            if let Ok(addr) = listener.local_addr() {
                let scheme = if tls.is_some() { "ircs" } else { "irc" };
                tracing::info!(addr = %addr, "IRC front open: {scheme}://{addr}/");
            }
            tracker.spawn(crate::server::irc::run(
                listener,
                tls,
                state.clone(),
                stop.clone(),
            ));
        }
    }
    if let Some(metrics) = metrics {
        if let Ok(addr) = metrics.local_addr() {
            tracing::info!(addr = %addr, "metrics at http://{addr}/metrics");
        }
        tracker.spawn(crate::server::metrics::run(
            metrics,
            ctx.clone(),
            stop.clone(),
        ));
    }
    tracker.spawn(listener::run(
        listener,
        ctx,
        admissions,
        stop.clone(),
        tracker.clone(),
    ));
    tracker.spawn(reload_on_sighup(reloader, stop.clone()));
    crate::server::systemd::ready(&format!("serving on {listen}"));

    tokio::select! {
        _ = shutdown => tracing::info!("shutting down"),
        _ = requested.cancelled() => tracing::info!("shutting down (chatctl shutdown)"),
        _ = failed.cancelled() => {}
    }
    crate::server::systemd::stopping();
    stop.cancel();
    match ractor::call_t!(
        relay,
        RelayMsg::Shutdown,
        SHUTDOWN_CALL_MS,
        "the server is shutting down".to_string()
    ) {
        Ok(sessions) => tracing::info!(sessions, "told every session to close"),
        Err(e) => tracing::warn!(error = %e, "relay unavailable at shutdown"),
    }
    tracker.close();
    if tokio::time::timeout(grace + Duration::from_secs(1), tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not close within the grace period");
    }
    root.stop(Some("shutdown".into()));
    let _ = root_handle.await;
    // Everything the rooms handed over is committed before the process ends.
    if let Some(store) = store_at_exit {
        if tokio::time::timeout(grace + Duration::from_secs(1), store.close())
            .await
            .is_err()
        {
            tracing::error!("the history writer did not finish in time");
        }
        let health = store.health();
        tracing::info!(
            written = health.written,
            dropped = health.dropped,
            "history committed"
        );
    }
    let failure = failure.lock().ok().and_then(|mut f| f.take());
    match failure {
        Some(failure) => Err(NodeError::CoreFailed(failure)),
        None => {
            tracing::info!("stopped");
            Ok(())
        }
    }
}
