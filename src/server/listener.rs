//! The client port: accepts connections, enforces `limits.max_connections` and
//! `limits.max_connections_per_ip`, turns on TCP keepalive, greets each client with a banner
//! line, and decides the front from the first byte the client sends (within
//! `limits.registration_timeout_secs`) — `0x00`
//! (the high byte of a frame length) means framed, anything else means lines. Then it queues the
//! front's greeting, starts the session actor and hands the socket to the connection task.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use socket2::{Domain, Protocol as SocketProtocol, SockRef, Socket, TcpKeepalive, Type};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, timeout};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::protocol::{ErrorCode, Event, Protocol, line, now_ms};
use crate::server::admission::{Admissions, Denied, Ticket};
use crate::server::connection::{self, Accepted};
use crate::server::context::NodeContext;
use crate::server::session;

/// How long a banner or refusal may take to write.
const GREETING_TIMEOUT: Duration = Duration::from_secs(2);

/// Binds a client port (the line and framed port, the IRC ports) with a listen backlog of
/// `backlog` (std's default of 128 makes a burst of connecting clients wait a second for a SYN
/// retransmit). Called before the runtime exists, so that an unusable address is reported
/// before anything starts.
///
/// `TCP_NODELAY` and the keepalive settings (`keepalive`: `limits.tcp_keepalive_secs`) are set
/// on the listening socket: Linux copies them to every socket it accepts, which saves five
/// system calls per connection ([`tune`] sets them only when a reload changed them since).
pub fn bind(
    addr: SocketAddr,
    backlog: u32,
    keepalive: Option<Duration>,
) -> std::io::Result<std::net::TcpListener> {
    let socket = Socket::new(
        Domain::for_address(addr),
        Type::STREAM,
        Some(SocketProtocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    socket.set_tcp_nodelay(true)?;
    if let Some(idle) = keepalive {
        socket.set_tcp_keepalive(&keepalive_params(idle))?;
    }
    socket.bind(&addr.into())?;
    socket.listen(backlog.min(i32::MAX as u32) as i32)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// Accepts connections until `stop` is cancelled, admitted by `admissions` (shared with the web
/// front); every connection runs as a task on `tracker`.
pub async fn run(
    listener: TcpListener,
    ctx: Arc<NodeContext>,
    admissions: Arc<Admissions>,
    stop: CancellationToken,
    tracker: TaskTracker,
) {
    let refusal = |message: &str| line::render(&Event::error(ErrorCode::ServerFull, message));
    let serve = |stream, peer, ticket| handle(stream, peer, ticket, ctx.clone(), stop.clone());
    accept(
        &listener,
        &ctx,
        &admissions,
        &stop,
        &tracker,
        refusal,
        serve,
    )
    .await;
}

/// Accepts connections on `listener` until `stop` (any client port's loop): each is admitted
/// under `admissions` and the limits in force and served by `serve` as a task on `tracker`, or
/// told `refusal` of why not and closed. Accept errors (out of file descriptors, say) are
/// waited out, 10 ms doubling to 1 s, instead of spinning.
pub async fn accept<F>(
    listener: &TcpListener,
    ctx: &NodeContext,
    admissions: &Admissions,
    stop: &CancellationToken,
    tracker: &TaskTracker,
    refusal: impl Fn(&str) -> Bytes,
    serve: impl Fn(TcpStream, SocketAddr, Ticket) -> F,
) where
    F: Future<Output = ()> + Send + 'static,
{
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
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        match admissions.admit(peer.ip(), &ctx.tunables().admission) {
            Ok(ticket) => {
                tracker.spawn(serve(stream, peer, ticket));
            }
            Err(denied) => {
                // A full server is worth a warning; refusals per address are the attack a log
                // must not amplify.
                match denied {
                    Denied::ServerFull(_) => {
                        tracing::warn!(%peer, "refused a connection: server full")
                    }
                    Denied::TooManyFromAddress(_) => {
                        tracing::debug!(%peer, "refused a connection: too many from its address")
                    }
                }
                tracker.spawn(refuse(stream, refusal(&denied.message())));
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

/// Tells a client it was not admitted (`words`, in its front's format), and closes.
async fn refuse(mut stream: TcpStream, words: Bytes) {
    let _ = timeout(GREETING_TIMEOUT, async {
        stream.write_all(&words).await?;
        stream.shutdown().await
    })
    .await;
}

/// TCP keepalive, so that a client whose host vanished is found: probes start after `idle` of
/// silence and repeat three times a third of that apart.
fn keepalive_params(idle: Duration) -> TcpKeepalive {
    let interval = (idle / 3).max(Duration::from_secs(1));
    TcpKeepalive::new()
        .with_time(idle)
        .with_interval(interval)
        .with_retries(3)
}

/// Gives an accepted connection the keepalive in force (`wanted`) when it differs from what it
/// inherited from its listening socket (`inherited`: a reload changed
/// `limits.tcp_keepalive_secs` since the port was bound). `TCP_NODELAY` is always inherited.
pub fn tune(
    stream: &TcpStream,
    inherited: Option<Duration>,
    wanted: Option<Duration>,
) -> std::io::Result<()> {
    if inherited == wanted {
        return Ok(());
    }
    let socket = SockRef::from(stream);
    match wanted {
        Some(idle) => socket.set_tcp_keepalive(&keepalive_params(idle)),
        None => socket.set_keepalive(false),
    }
}

/// Serves one admitted connection; `_ticket` (its place under `limits.max_connections` and its
/// address's) is given back when it ends.
async fn handle(
    mut stream: TcpStream,
    peer: SocketAddr,
    _ticket: Ticket,
    ctx: Arc<NodeContext>,
    stop: CancellationToken,
) {
    let accepted = Instant::now();
    let tunables = ctx.tunables();
    if let Err(e) = tune(
        &stream,
        ctx.listener_keepalive,
        tunables.connection.tcp_keepalive,
    ) {
        tracing::debug!(%peer, error = %e, "cannot set TCP keepalive");
    }
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
    let registration = tunables.connection.registration_timeout;
    let peeked = tokio::select! {
        _ = stop.cancelled() => {
            let goodbye = line::render(&Event::Shutdown { reason: "the server is shutting down".into() });
            let _ = timeout(GREETING_TIMEOUT, stream.write_all(&goodbye)).await;
            return;
        }
        peeked = timeout(registration, stream.peek(&mut first)) => peeked,
    };
    let protocol = match peeked {
        Ok(Ok(1..)) if first[0] == 0 => Protocol::Frame,
        Ok(Ok(1..)) => Protocol::Line,
        Ok(_) => return,
        Err(_) => {
            let event = Event::error(
                ErrorCode::RegistrationTimeout,
                format!(
                    "nothing received within {} s; closing",
                    registration.as_secs()
                ),
            );
            let _ = timeout(GREETING_TIMEOUT, async {
                stream.write_all(&line::render(&event)).await?;
                stream.shutdown().await
            })
            .await;
            return;
        }
    };
    let Some(opened) = session::open(&ctx, peer, protocol.into()).await else {
        return;
    };
    let client = Accepted {
        stream,
        peer,
        protocol,
        registered_by: accepted + registration,
    };
    connection::serve(client, opened, tunables.connection.clone()).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn accepted_sockets_inherit_nodelay_and_keepalive_and_tune_follows_a_reload() {
        let idle = Duration::from_secs(77);
        let std = bind("127.0.0.1:0".parse().unwrap(), 16, Some(idle)).unwrap();
        let listener = TcpListener::from_std(std).unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (accepted, _) = listener.accept().await.unwrap();
        let socket = SockRef::from(&accepted);
        assert!(socket.tcp_nodelay().unwrap());
        assert!(socket.keepalive().unwrap());
        assert_eq!(socket.tcp_keepalive_time().unwrap(), idle);
        // A reload turned keepalive off, then set another idle time.
        tune(&accepted, Some(idle), None).unwrap();
        assert!(!socket.keepalive().unwrap());
        tune(&accepted, None, Some(Duration::from_secs(30))).unwrap();
        assert_eq!(
            socket.tcp_keepalive_time().unwrap(),
            Duration::from_secs(30)
        );
    }
}
