//! The web front's HTTP listener (`[web]`): `GET /` serves the web page embedded in the binary,
//! `GET /healthz` answers 200 once the node serves, and `GET /ws` upgrades to a WebSocket that
//! speaks the JSON front ([`crate::server::front::json`]); with `[web.tls]` all of it is served
//! over TLS (https, wss) through axum-server's rustls acceptor.
//!
//! A WebSocket is a session like any other: admitted under the same connection limits as the
//! client port (counted together), greeted with `welcome`, read through the same rate limit,
//! idle and registration deadlines ([`crate::server::connection::read_commands`]), written from
//! the same bounded queue. What is WebSocket's own: a browser's `Origin` must be this server's
//! or listed in `web.allowed_origins` (else 403, against cross-site WebSocket hijacking); a
//! message above `limits.max_frame_bytes` closes with 1009; a client that does not read, or is
//! cut off for another reason, gets its error event and close code 1008.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::time::{Instant, timeout};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::protocol::{ErrorCode, Refusal};
use crate::server::admission::{Admissions, Ticket};
use crate::server::config::{Network, WebTlsConfig};
use crate::server::connection::{drive, read_commands};
use crate::server::context::NodeContext;
use crate::server::front::{Format, Input, Source, json};
use crate::server::outbound::{Close, OutboundRx};
use crate::server::pem::{TlsError, certificates, private_key, rustls_error};
use crate::server::session;

/// The web page, embedded: no build step, no CDN, works offline and from a `.deb`.
const PAGE: &str = include_str!("web/index.html");
/// How long the last error and the close frame may take to reach a client being cut off.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// What the web front's handlers share.
pub struct WebState {
    /// The node.
    pub ctx: Arc<NodeContext>,
    /// The connection limits, shared with the client port.
    pub admissions: Arc<Admissions>,
    /// `web.allowed_origins`: origins besides this server's own whose pages may connect.
    pub allowed_origins: Vec<String>,
    /// `web.trusted_proxies`: peers whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<Network>,
    /// Where WebSocket connections are tracked for a graceful shutdown.
    pub tracker: TaskTracker,
}

/// How long a client may take over its TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The TLS setup of `[web.tls]`: its certificate chain and key, HTTP/1.1 only.
pub fn tls(config: &WebTlsConfig) -> Result<RustlsConfig, TlsError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(rustls_error)?
        .with_no_client_auth()
        .with_single_cert(certificates(&config.cert)?, private_key(&config.key)?)
        .map_err(rustls_error)?;
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(RustlsConfig::from_config(Arc::new(server)))
}

/// Serves HTTP on `listener` (HTTPS with `tls`) until `stop`.
pub async fn run(
    listener: TcpListener,
    tls: Option<RustlsConfig>,
    state: Arc<WebState>,
    stop: CancellationToken,
) {
    let app = Router::new()
        .route("/", get(page))
        .route("/healthz", get(healthz))
        .route("/ws", get(upgrade))
        .with_state(state);
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    let served = match tls {
        None => {
            axum::serve(listener, service)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await
        }
        Some(tls) => {
            let handle = axum_server::Handle::new();
            let stopper = handle.clone();
            tokio::spawn(async move {
                stop.cancelled().await;
                stopper.graceful_shutdown(Some(CLOSE_TIMEOUT));
            });
            let acceptor = RustlsAcceptor::new(tls).handshake_timeout(TLS_HANDSHAKE_TIMEOUT);
            match listener.into_std().and_then(axum_server::from_tcp) {
                Ok(server) => {
                    server
                        .acceptor(acceptor)
                        .handle(handle)
                        .serve(service)
                        .await
                }
                Err(e) => Err(e),
            }
        }
    };
    if let Err(e) = served {
        tracing::error!(error = %e, "the web front stopped");
    }
}

async fn page() -> Html<&'static str> {
    Html(PAGE)
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// Whether a browser page from `origin` may open a WebSocket here: this server's own origin (the
/// `Host` it was reached by), or one of `allowed`. Programs that send no `Origin` may.
fn origin_allowed(origin: Option<&str>, host: Option<&str>, allowed: &[String]) -> bool {
    let Some(origin) = origin else {
        return true;
    };
    if allowed.iter().any(|a| a == origin) {
        return true;
    }
    let own = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    own.is_some() && own == host
}

/// The client's address: the peer's, or, when the peer is a trusted proxy, the last address in
/// `X-Forwarded-For` that is not itself a trusted proxy (the one the proxies vouch for).
fn client_address(peer: SocketAddr, forwarded: Option<&str>, trusted: &[Network]) -> SocketAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(peer.ip()) {
        return peer;
    }
    let client = forwarded.and_then(|list| {
        list.rsplit(',')
            .filter_map(|hop| hop.trim().parse::<IpAddr>().ok())
            .find(|ip| !is_trusted(*ip))
    });
    match client {
        Some(ip) => SocketAddr::new(ip, peer.port()),
        None => peer,
    }
}

async fn upgrade(
    State(state): State<Arc<WebState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let forwarded = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
    let peer = client_address(peer, forwarded, &state.trusted_proxies);
    if !origin_allowed(
        text(header::ORIGIN),
        text(header::HOST),
        &state.allowed_origins,
    ) {
        tracing::debug!(%peer, origin = ?text(header::ORIGIN), "refused a WebSocket from a foreign origin");
        return (StatusCode::FORBIDDEN, "this origin may not connect\n").into_response();
    }
    let tunables = state.ctx.tunables();
    let ticket = match state.admissions.admit(peer.ip(), &tunables.admission) {
        Ok(ticket) => ticket,
        Err(denied) => {
            return (StatusCode::SERVICE_UNAVAILABLE, denied.message() + "\n").into_response();
        }
    };
    let accepted = Instant::now();
    let max = tunables.connection.max_frame_bytes;
    let tracker = state.tracker.clone();
    ws.max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| {
            tracker.track_future(serve(socket, peer, state, ticket, accepted))
        })
}

/// Serves one WebSocket until it closes, then tells the session why.
async fn serve(
    socket: WebSocket,
    peer: SocketAddr,
    state: Arc<WebState>,
    _ticket: Ticket,
    accepted: Instant,
) {
    let limits = state.ctx.tunables().connection.clone();
    let Some(opened) = session::open(&state.ctx, peer, Format::Json).await else {
        return;
    };
    let (sink, stream) = socket.split();
    let input = Messages {
        stream,
        max: limits.max_frame_bytes,
    };
    let registered_by = accepted + limits.registration_timeout;
    let reader = read_commands(
        input,
        &opened.outbound,
        &opened.session,
        &limits,
        registered_by,
    );
    let writer = write_messages(sink, opened.rx, limits.grace);
    drive(reader, writer, &opened.outbound, &opened.session, peer).await;
}

/// A WebSocket's incoming messages as front input.
struct Messages {
    stream: SplitStream<WebSocket>,
    max: usize,
}

impl Source for Messages {
    async fn next(&mut self) -> Input {
        loop {
            return match self.stream.next().await {
                None | Some(Ok(Message::Close(_))) => Input::Closed("connection closed".into()),
                Some(Ok(Message::Text(text))) => json::decode(&text),
                Some(Ok(Message::Binary(_))) => json::binary(),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Err(e)) => match e.into_inner().downcast::<tungstenite::Error>() {
                    Ok(e) if matches!(*e, tungstenite::Error::Capacity(_)) => {
                        Input::Fatal(Refusal::new(
                            ErrorCode::FrameTooLarge,
                            format!(
                                "message larger than {} bytes; closing the connection",
                                self.max
                            ),
                        ))
                    }
                    Ok(e) => Input::Closed(format!("read error: {e}")),
                    Err(e) => Input::Closed(format!("read error: {e}")),
                },
            };
        }
    }
}

fn text(bytes: Bytes) -> Option<Message> {
    Utf8Bytes::try_from(bytes).ok().map(Message::Text)
}

/// Sends queued events, one message each and one flush per batch, until the queue is closed;
/// then the close frame. Returns why the connection ended, and whether the client was cut off.
async fn write_messages(
    mut sink: SplitSink<WebSocket, Message>,
    mut rx: OutboundRx,
    grace: Duration,
) -> (String, bool) {
    let mut batch = VecDeque::new();
    'sending: loop {
        if rx.recv_all(&mut batch).await == 0 {
            break;
        }
        // Everything queued goes into the socket's buffer, then one flush: one write for the
        // batch, as on the client port.
        let sent = async {
            for bytes in batch.drain(..) {
                if let Some(message) = text(bytes) {
                    sink.feed(message).await?;
                }
            }
            sink.flush().await
        };
        tokio::select! {
            sent = sent => if let Err(e) = sent {
                return (format!("write error: {e}"), false);
            },
            _ = rx.closing() => break 'sending,
        }
    }
    let (code, reason, last, aborted) = match rx.close_mode() {
        Close::Drain => {
            rx.drain_into(&mut batch);
            let _ = timeout(grace, async {
                for bytes in batch.drain(..) {
                    if let Some(message) = text(bytes) {
                        sink.send(message).await?;
                    }
                }
                Ok::<_, axum::Error>(())
            })
            .await;
            (
                close_code::NORMAL,
                "connection closed".to_string(),
                None,
                false,
            )
        }
        Close::Abort {
            code,
            last_words,
            reason,
        } => {
            let close = match code {
                ErrorCode::FrameTooLarge => close_code::SIZE,
                _ => close_code::POLICY,
            };
            (close, format!("{code}: {reason}"), text(last_words), true)
        }
    };
    let _ = timeout(CLOSE_TIMEOUT, async {
        if let Some(last) = last {
            sink.send(last).await?;
        }
        // A close reason has at most 123 bytes.
        let mut short = reason.clone();
        while short.len() > 123 {
            short.pop();
        }
        sink.send(Message::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from(short),
        })))
        .await
    })
    .await;
    (reason, aborted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trusted_proxy_names_the_client_and_others_cannot() {
        let proxy: SocketAddr = "10.0.0.2:5000".parse().unwrap();
        let trusted = vec![Network::parse("10.0.0.0/24").unwrap()];
        let client = |peer, forwarded| client_address(peer, forwarded, &trusted).ip().to_string();
        assert_eq!(client(proxy, Some("203.0.113.9")), "203.0.113.9");
        // The last hop the proxies did not add; what a client wrote in front is not believed.
        assert_eq!(
            client(proxy, Some("1.1.1.1, 203.0.113.9, 10.0.0.3")),
            "203.0.113.9"
        );
        assert_eq!(client(proxy, Some("garbage")), "10.0.0.2");
        assert_eq!(client(proxy, None), "10.0.0.2");
        let stranger: SocketAddr = "198.51.100.1:1".parse().unwrap();
        assert_eq!(client(stranger, Some("203.0.113.9")), "198.51.100.1");
    }

    #[test]
    fn only_this_servers_own_or_allowed_origins_may_connect() {
        let host = Some("127.0.0.1:8080");
        assert!(origin_allowed(None, host, &[]));
        assert!(origin_allowed(Some("http://127.0.0.1:8080"), host, &[]));
        assert!(origin_allowed(Some("https://127.0.0.1:8080"), host, &[]));
        assert!(!origin_allowed(Some("http://evil.example"), host, &[]));
        assert!(!origin_allowed(Some("http://127.0.0.1:8081"), host, &[]));
        assert!(!origin_allowed(Some("null"), host, &[]));
        let allowed = vec!["https://chat.example".to_string()];
        assert!(origin_allowed(Some("https://chat.example"), host, &allowed));
    }
}
