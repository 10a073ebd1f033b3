//! The control socket server: one task per admin connection, one response line per request line.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::{UnixListener, UnixStream};
use tokio_util::codec::{FramedRead, LinesCodec, LinesCodecError};
use tokio_util::sync::CancellationToken;

use super::access::{self, AllowedGroup, Peer};
use super::protocol::{ControlError, MAX_REQUEST_BYTES, Request, Response, parse};
use crate::names::canonical_room;
use crate::protocol::{Event, NodeInfo, NodeStatus, now_ms};
use crate::server::cluster::{directory, presence};
use crate::server::config::ControlConfig;
use crate::server::context::NodeContext;
use crate::server::msg::admin::{RoomRow, UserRow};
use crate::server::msg::gateway::{GatewayMsg, KickRequest};
use crate::server::msg::membership::MembershipMsg;
use crate::server::msg::registry::{NickHolder, RegistryMsg};
use crate::server::msg::relay::RelayMsg;
use crate::server::msg::room::{Purge, Purged, RoomMsg};
use crate::server::reload::Reloader;
use crate::server::store::Range;
use crate::server::timeouts::ADMIN_CALL_MS;

/// How many one-second samples the message rate averages over.
const RATE_WINDOW: usize = 10;

/// Why the control socket could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// A running chatd answers on the socket.
    #[error("another chatd is running on the control socket {0} (stop it, or set control.socket)")]
    InUse(PathBuf),
    /// Creating, binding or setting up the socket failed.
    #[error("control socket {path}: {message}")]
    Io {
        /// The socket's path.
        path: PathBuf,
        /// What failed.
        message: String,
    },
}

/// A bound control socket, ready to serve.
#[derive(Debug)]
pub struct ControlSocket {
    listener: std::os::unix::net::UnixListener,
    path: PathBuf,
    group: Option<AllowedGroup>,
}

/// Binds the control socket before anything else starts. A socket file that no daemon answers
/// on is left over from a crash and is replaced; one that answers means another chatd runs.
pub fn bind(config: &ControlConfig) -> Result<ControlSocket, BindError> {
    let path = config.socket.clone();
    let io = |e: &dyn std::fmt::Display| BindError::Io {
        path: path.clone(),
        message: e.to_string(),
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| io(&e))?;
    }
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(&path).is_ok() {
            return Err(BindError::InUse(path));
        }
        std::fs::remove_file(&path).map_err(|e| io(&e))?;
    }
    let listener = std::os::unix::net::UnixListener::bind(&path).map_err(|e| io(&e))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(config.mode))
        .map_err(|e| io(&e))?;
    let group = match &config.group {
        Some(name) => {
            let group = access::resolve_group(name).map_err(|e| io(&e))?;
            access::chown_group(&path, &group).map_err(|e| io(&e))?;
            Some(group)
        }
        // The socket file belongs to the daemon's group, and so does the permission.
        None => access::daemon_group(),
    };
    listener.set_nonblocking(true).map_err(|e| io(&e))?;
    Ok(ControlSocket {
        listener,
        path,
        group,
    })
}

/// What control requests work with.
pub struct ControlContext {
    /// The node's shared context (name, registry, relay, membership, counters).
    pub node: Arc<NodeContext>,
    /// The client port.
    pub listen: SocketAddr,
    /// Cancelled to shut the node down (`shutdown`).
    pub shutdown: CancellationToken,
    /// Carries out `reload`.
    pub reloader: Arc<Reloader>,
    started: Instant,
    rate: Mutex<VecDeque<(Instant, u64)>>,
}

impl ControlContext {
    /// A context for a node started now.
    pub fn new(
        node: Arc<NodeContext>,
        listen: SocketAddr,
        shutdown: CancellationToken,
        reloader: Arc<Reloader>,
    ) -> Self {
        ControlContext {
            node,
            listen,
            shutdown,
            reloader,
            started: Instant::now(),
            rate: Mutex::new(VecDeque::new()),
        }
    }

    fn sample_rate(&self) {
        if let Ok(mut samples) = self.rate.lock() {
            samples.push_back((Instant::now(), self.node.stats.totals().0));
            while samples.len() > RATE_WINDOW + 1 {
                samples.pop_front();
            }
        }
    }

    /// Messages per second said on this node, over the last ten seconds.
    fn message_rate(&self) -> f64 {
        let Ok(samples) = self.rate.lock() else {
            return 0.0;
        };
        match (samples.front(), samples.back()) {
            (Some((t0, n0)), Some((t1, n1))) if t1 > t0 => {
                (n1 - n0) as f64 / t1.duration_since(*t0).as_secs_f64()
            }
            _ => 0.0,
        }
    }
}

/// Serves the control socket until `stop` is cancelled; removes the socket file at the end.
pub async fn run(socket: ControlSocket, ctx: Arc<ControlContext>, stop: CancellationToken) {
    let ControlSocket {
        listener,
        path,
        group,
    } = socket;
    let listener = match UnixListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!(error = %e, "control socket unusable");
            return;
        }
    };
    tracing::info!(path = %path.display(), "control socket open");
    let group = Arc::new(group);
    let daemon_uid = access::daemon_uid();
    let mut sampler = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = sampler.tick() => ctx.sample_rate(),
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let (ctx, group) = (ctx.clone(), group.clone());
                    tokio::spawn(async move {
                        serve(stream, ctx, daemon_uid, group.as_ref().as_ref()).await;
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "control accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
    let _ = std::fs::remove_file(&path);
}

async fn reply(stream: &mut tokio::net::unix::OwnedWriteHalf, response: &Response) -> bool {
    let mut line = serde_json::to_string(response).unwrap_or_else(|_| "{\"ok\":false}".into());
    line.push('\n');
    stream.write_all(line.as_bytes()).await.is_ok()
}

async fn serve(
    stream: UnixStream,
    ctx: Arc<ControlContext>,
    daemon_uid: u32,
    group: Option<&AllowedGroup>,
) {
    let peer = stream.peer_cred().map(|c| Peer {
        uid: c.uid(),
        gid: c.gid(),
    });
    let (read, mut write) = stream.into_split();
    let permitted = match peer {
        Ok(peer) => {
            let name = access::user_name(peer.uid);
            let ok = access::allowed(peer, daemon_uid, group, name.as_deref());
            if !ok {
                tracing::warn!(
                    uid = peer.uid,
                    gid = peer.gid,
                    "control socket: permission denied"
                );
            }
            ok
        }
        Err(e) => {
            tracing::warn!(error = %e, "control socket: peer credentials unavailable");
            false
        }
    };
    if !permitted {
        let _ = reply(
            &mut write,
            &Response::error("permission_denied", "you may not administer this chatd"),
        )
        .await;
        return;
    }
    let mut lines = FramedRead::new(read, LinesCodec::new_with_max_length(MAX_REQUEST_BYTES));
    while let Some(line) = lines.next().await {
        let response = match line {
            Ok(line) if line.trim().is_empty() => continue,
            Ok(line) => match parse(&line) {
                Ok(request) => execute(&ctx, request).await,
                Err(error) => error.into(),
            },
            Err(LinesCodecError::MaxLineLengthExceeded) => {
                let _ = reply(
                    &mut write,
                    &Response::error(
                        "request_too_large",
                        format!("a request line may have at most {MAX_REQUEST_BYTES} bytes"),
                    ),
                )
                .await;
                return;
            }
            Err(e) => {
                let _ = reply(&mut write, &Response::error("bad_request", e.to_string())).await;
                return;
            }
        };
        if !reply(&mut write, &response).await {
            return;
        }
    }
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> Response {
    Response::error("unavailable", format!("{what} did not answer: {e}"))
}

async fn nodes(ctx: &ControlContext) -> Vec<NodeInfo> {
    match &ctx.node.membership {
        Some(m) => ractor::call_t!(m, MembershipMsg::Nodes, ADMIN_CALL_MS).unwrap_or_default(),
        None => vec![NodeInfo {
            name: ctx.node.local.node.clone(),
            status: NodeStatus::This,
            address: String::new(),
        }],
    }
}

/// The room named `room` (its canonical name and actor), wherever it is in the cluster.
fn room_of(room: &str) -> Result<(String, ractor::ActorRef<RoomMsg>), ControlError> {
    let name = canonical_room(room).map_err(|e| ControlError::new("bad_request", e.0))?;
    match directory::room_winner(&name) {
        Some(actor) => Ok((name, actor)),
        None => Err(ControlError::new("not_found", format!("no room #{name}"))),
    }
}

async fn rooms() -> Vec<RoomRow> {
    let mut rows = Vec::new();
    for name in directory::rooms() {
        if let Some(room) = directory::room_winner(&name)
            && let Ok(row) = ractor::call_t!(room, RoomMsg::Info, ADMIN_CALL_MS)
        {
            rows.push(row);
        }
    }
    rows.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    rows
}

async fn users(ctx: &ControlContext) -> Vec<UserRow> {
    let mut rows = Vec::new();
    for node in directory::reachable_nodes() {
        if let Some(route) = ctx.node.local.route(&node)
            && let Ok(users) = route.users(ADMIN_CALL_MS).await
        {
            rows.extend(users);
        }
    }
    rows.sort_unstable_by(|a, b| {
        a.nick
            .to_ascii_lowercase()
            .cmp(&b.nick.to_ascii_lowercase())
    });
    rows
}

/// A node as `status` and `nodes` show it.
fn node_json(n: &NodeInfo) -> Value {
    json!({
        "name": n.name,
        "status": format!("{:?}", n.status).to_lowercase(),
        "address": n.address,
    })
}

async fn execute(ctx: &ControlContext, request: Request) -> Response {
    match request {
        Request::Status => {
            let (messages_in, messages_out) = ctx.node.stats.totals();
            let sessions = ractor::call_t!(ctx.node.local.relay, RelayMsg::Sessions, ADMIN_CALL_MS)
                .map(|s| s.len())
                .unwrap_or(0);
            let local_rooms = ractor::call_t!(
                ctx.node.local.registry,
                RegistryMsg::ListRooms,
                ADMIN_CALL_MS
            )
            .map(|r| r.len())
            .unwrap_or(0);
            let nodes = nodes(ctx).await;
            Response::ok(json!({
                "version": env!("CARGO_PKG_VERSION"),
                "node": ctx.node.local.node,
                "uptime_secs": ctx.started.elapsed().as_secs(),
                "listen": ctx.listen.to_string(),
                "sessions": sessions,
                "rooms_hosted": local_rooms,
                "messages_in": messages_in,
                "messages_out": messages_out,
                "message_rate_per_sec": (ctx.message_rate() * 10.0).round() / 10.0,
                "rss_kib": crate::server::stats::rss_kib(std::process::id()),
                "history": match &ctx.node.store {
                    Some(store) => json!(store.health()),
                    None => json!({"place": "memory"}),
                },
                "cluster_peers": nodes.iter().filter(|n| n.status != NodeStatus::This).map(node_json).collect::<Vec<Value>>(),
            }))
        }
        Request::Rooms { all } => {
            let mut rows = rooms().await;
            rows.retain(|row| all || !row.unlisted);
            Response::ok(json!(rows))
        }
        Request::History { room, limit } => {
            let room = match room_of(&room) {
                Ok((_, room)) => room,
                Err(e) => return e.into(),
            };
            let limit = limit.unwrap_or(ctx.node.tunables().rooms.history as u32);
            match ractor::call_t!(room, RoomMsg::History, ADMIN_CALL_MS, Range::last(limit)) {
                Ok(messages) => Response::ok(json!(messages.0)),
                Err(e) => unavailable("the room", e),
            }
        }
        Request::Purge { room, before } => {
            let (name, room) = match room_of(&room) {
                Ok(found) => found,
                Err(e) => return e.into(),
            };
            match ractor::call_t!(room, RoomMsg::Purge, ADMIN_CALL_MS, Purge { before }) {
                Ok(Purged(purged)) => {
                    tracing::info!(room = %name, ?before, purged, "history purged by an administrator");
                    Response::ok(json!({ "room": name, "purged": purged }))
                }
                Err(e) => unavailable("the room", e),
            }
        }
        Request::Users { room } => {
            let room = match room.map(|r| canonical_room(&r)).transpose() {
                Ok(room) => room,
                Err(e) => return Response::error("bad_request", e.0),
            };
            let mut rows = users(ctx).await;
            if let Some(room) = room {
                rows.retain(|u| u.rooms.contains(&room));
            }
            Response::ok(json!(rows))
        }
        Request::Kick { nick, reason } => {
            let holder = match ractor::call_t!(
                ctx.node.local.registry,
                RegistryMsg::LookupNick,
                ADMIN_CALL_MS,
                nick.clone()
            ) {
                Ok(holder) => presence::resolve(holder, &nick, ADMIN_CALL_MS).await,
                Err(e) => return unavailable("the registry", e),
            };
            let node = match holder {
                NickHolder::Local(_) => Some(ctx.node.local.node.clone()),
                NickHolder::Remote(node) => Some(node),
                NickHolder::Missing | NickHolder::AskHome(_) => None,
            };
            let request = KickRequest {
                nick: nick.clone(),
                reason: reason.clone(),
            };
            let kicked = match node.as_deref().and_then(|n| ctx.node.local.route(n)) {
                Some(route) => route.kick(request, ADMIN_CALL_MS).await.unwrap_or(false),
                None => false,
            };
            if kicked {
                Response::ok(json!({ "kicked": nick, "reason": reason }))
            } else {
                Response::error("not_found", format!("no user is called {nick}"))
            }
        }
        Request::Announce { text } => {
            let gateways: Vec<_> = directory::reachable_nodes()
                .iter()
                .filter_map(|node| directory::gateway_of(node))
                .collect();
            for gateway in &gateways {
                let _ = gateway.cast(GatewayMsg::Announce(text.clone()));
            }
            Response::ok(json!({ "nodes": gateways.len() }))
        }
        Request::Nodes => Response::ok(json!(
            nodes(ctx)
                .await
                .iter()
                .map(node_json)
                .collect::<Vec<Value>>()
        )),
        Request::Reload => match ctx.reloader.reload().await {
            Ok(report) => Response::ok(json!(report)),
            Err(e) => Response::error("bad_config", e.to_string()),
        },
        Request::Shutdown {
            delay_secs,
            message,
        } => {
            let delay = delay_secs.unwrap_or(0);
            let text = message.unwrap_or_else(|| format!("this server shuts down in {delay} s"));
            let _ = ctx
                .node
                .local
                .relay
                .cast(RelayMsg::Broadcast(Event::notice(format!(
                    "announcement: {text}"
                ))));
            tracing::info!(delay, "shutdown requested over the control socket");
            let shutdown = ctx.shutdown.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(delay)).await;
                shutdown.cancel();
            });
            Response::ok(json!({ "shutdown_in_secs": delay, "at_ms": now_ms() + delay * 1000 }))
        }
    }
}
