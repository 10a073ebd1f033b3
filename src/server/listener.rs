//! The client port: accepts connections, enforces `limits.max_connections`, greets each client
//! with a banner line, and decides the front from the first byte the client sends — `0x00`
//! (the high byte of a frame length) means framed, anything else means lines. Then it queues the
//! front's greeting, starts the session actor and hands the socket to the connection task.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ractor::Actor;
use socket2::{Domain, Protocol as SocketProtocol, Socket, Type};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::protocol::{ErrorCode, Event, Protocol, line, now_ms};
use crate::server::connection;
use crate::server::context::NodeContext;
use crate::server::front;
use crate::server::outbound;
use crate::server::session::{Session, SessionArgs};

/// How long a banner or refusal may take to write.
const GREETING_TIMEOUT: Duration = Duration::from_secs(2);

/// Binds the client port with a listen backlog of `backlog` (std's default of 128 makes a burst
/// of connecting clients wait a second for a SYN retransmit). Called before the runtime exists,
/// so that an unusable address is reported before anything starts.
pub fn bind(addr: SocketAddr, backlog: u32) -> std::io::Result<std::net::TcpListener> {
    let socket = Socket::new(
        Domain::for_address(addr),
        Type::STREAM,
        Some(SocketProtocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog.min(i32::MAX as u32) as i32)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// Accepts connections until `stop` is cancelled; every connection runs as a task on `tracker`.
pub async fn run(
    listener: TcpListener,
    ctx: Arc<NodeContext>,
    stop: CancellationToken,
    tracker: TaskTracker,
) {
    let permits = Arc::new(Semaphore::new(ctx.max_connections));
    let mut backoff = Duration::from_millis(10);
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => {
                backoff = Duration::from_millis(10);
                accepted
            }
            Err(e) => {
                // Out of file descriptors and the like: wait a little instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        match permits.clone().try_acquire_owned() {
            Ok(permit) => {
                tracker.spawn(handle(stream, peer, permit, ctx.clone(), stop.clone()));
            }
            Err(_) => {
                tracing::warn!(%peer, max = ctx.max_connections, "refused a connection: server full");
                tracker.spawn(refuse(stream, ctx.max_connections));
            }
        }
    }
}

/// The banner a client gets first. It ends in `\n`; framed clients skip it.
fn banner(node: &str) -> String {
    format!(
        "{} -- welcome to chatd {} on node {node}; set a nick with /nick NAME, then /join ROOM; /help lists the commands\n",
        line::clock(now_ms()),
        env!("CARGO_PKG_VERSION"),
    )
}

async fn refuse(mut stream: TcpStream, max: usize) {
    let event = Event::error(
        ErrorCode::ServerFull,
        format!("the server is full ({max} connections); try again later"),
    );
    let _ = timeout(GREETING_TIMEOUT, async {
        stream.write_all(&line::render(&event)).await?;
        stream.shutdown().await
    })
    .await;
}

async fn handle(
    mut stream: TcpStream,
    peer: SocketAddr,
    permit: OwnedSemaphorePermit,
    ctx: Arc<NodeContext>,
    stop: CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    match timeout(
        GREETING_TIMEOUT,
        stream.write_all(banner(&ctx.local.node).as_bytes()),
    )
    .await
    {
        Ok(Ok(())) => {}
        _ => return,
    }
    let mut first = [0u8; 1];
    let idle = ctx
        .tunables()
        .connection
        .idle_timeout
        .unwrap_or(Duration::MAX);
    let peeked = tokio::select! {
        _ = stop.cancelled() => {
            let goodbye = line::render(&Event::Shutdown { reason: "the server is shutting down".into() });
            let _ = timeout(GREETING_TIMEOUT, stream.write_all(&goodbye)).await;
            return;
        }
        peeked = timeout(idle, stream.peek(&mut first)) => peeked,
    };
    let protocol = match peeked {
        Ok(Ok(1..)) if first[0] == 0 => Protocol::Frame,
        Ok(Ok(1..)) => Protocol::Line,
        _ => return,
    };
    let tunables = ctx.tunables();
    let (outbound, rx) = outbound::channel(tunables.send_queue, protocol);
    if let Some(greeting) = front::greeting(protocol, &ctx.local.node) {
        outbound.send_event(&greeting);
    }
    let args = SessionArgs {
        ctx: ctx.clone(),
        peer,
        outbound: outbound.clone(),
    };
    let session =
        match Actor::spawn_linked(None, Session, args, ctx.local.registry.get_cell()).await {
            Ok((session, _)) => session,
            Err(e) => {
                tracing::error!(%peer, error = %e, "cannot start a session");
                return;
            }
        };
    connection::serve(
        stream,
        peer,
        protocol,
        outbound,
        rx,
        session,
        tunables.connection.clone(),
    )
    .await;
    drop(permit);
}
