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
//! cut off for another reason, gets its error event and close code 1008. WebSocket frames are
//! read and written with tungstenite's framing; the HTTP is hyper's (through axum).

use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use bytes::Bytes;
use futures_util::StreamExt;
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf, ReadHalf};
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tungstenite::Message;
use tungstenite::handshake::derive_accept_key;
use tungstenite::protocol::{Role, WebSocketConfig};

use crate::protocol::{ErrorCode, Refusal};
use crate::server::admission::{Admissions, Ticket};
use crate::server::config::{Network, WebTlsConfig};
use crate::server::connection::{self, Ends, Finish};
use crate::server::context::NodeContext;
use crate::server::front::{Format, Input, Source, json};
use crate::server::outbound::Outbound;
use crate::server::pem::{TlsError, certificates, private_key, rustls_error};
use crate::server::session;

/// The web page, embedded: no build step, no CDN, works offline and from a `.deb`.
const PAGE: &str = include_str!("web/index.html");
/// The WebSocket read buffer. tungstenite zeroes the buffer's spare capacity before every read
/// attempt, and the reading half is polled again whenever the writing half lets go of the
/// shared stream: with its 128 KiB default, zeroing took 30% of the server's time in a
/// fan-out, and every idle browser held 128 KiB. Commands are small; a larger message grows
/// the buffer for as long as it needs.
const READ_BUFFER: usize = 4096;
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

/// The response header that accepts a WebSocket upgrade, or why the request is not one.
fn accept_key(headers: &HeaderMap) -> Result<String, &'static str> {
    let has = |name, token: &str| {
        headers.get_all(name).iter().any(|value| {
            value
                .to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    if !has(header::CONNECTION, "upgrade") || !has(header::UPGRADE, "websocket") {
        return Err("this is the WebSocket endpoint: connect with a WebSocket client\n");
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|v| v != "13")
    {
        return Err("only WebSocket version 13 is spoken here\n");
    }
    match headers.get(header::SEC_WEBSOCKET_KEY) {
        Some(key) => Ok(derive_accept_key(key.as_bytes())),
        None => Err("the WebSocket key is missing\n"),
    }
}

/// Upgrades `GET /ws` to a WebSocket: the origin check, the connection limits, then the
/// handshake. The upgrade is done here rather than by axum's `WebSocketUpgrade` so that the
/// connection's byte stream is this server's: events arrive as whole frames encoded once per
/// event ([`json::encode`]) and are written with the same batched writes as the client port.
async fn upgrade(
    State(state): State<Arc<WebState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
) -> Response {
    let headers = request.headers();
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
    let accept = match accept_key(headers) {
        Ok(accept) => accept,
        Err(why) => return (StatusCode::UPGRADE_REQUIRED, why).into_response(),
    };
    let Some(on_upgrade) = request.extensions_mut().remove::<OnUpgrade>() else {
        return (
            StatusCode::UPGRADE_REQUIRED,
            "this connection cannot be upgraded\n",
        )
            .into_response();
    };
    let tunables = state.ctx.tunables();
    let ticket = match state.admissions.admit(peer.ip(), &tunables.admission) {
        Ok(ticket) => ticket,
        Err(denied) => {
            return (StatusCode::SERVICE_UNAVAILABLE, denied.message() + "\n").into_response();
        }
    };
    let accepted = Instant::now();
    let tracker = state.tracker.clone();
    tracker.spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => serve(TokioIo::new(upgraded), peer, state, ticket, accepted).await,
            Err(e) => tracing::debug!(%peer, error = %e, "WebSocket upgrade failed"),
        }
    });
    let mut response = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(accept) = HeaderValue::from_str(&accept) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    response
}

/// Serves one WebSocket until it closes, then tells the session why.
async fn serve(
    socket: TokioIo<Upgraded>,
    peer: SocketAddr,
    state: Arc<WebState>,
    _ticket: Ticket,
    accepted: Instant,
) {
    let limits = state.ctx.tunables().connection.clone();
    let Some(opened) = session::open(&state.ctx, peer, Format::Json).await else {
        return;
    };
    let (read, write) = tokio::io::split(socket);
    let config = WebSocketConfig::default()
        .max_message_size(Some(limits.max_frame_bytes))
        .max_frame_size(Some(limits.max_frame_bytes))
        .read_buffer_size(READ_BUFFER);
    let replies = Replies {
        read,
        outbound: opened.outbound.clone(),
    };
    let stream = WebSocketStream::from_raw_socket(replies, Role::Server, Some(config)).await;
    let input = Messages {
        stream,
        max: limits.max_frame_bytes,
    };
    let ends = Ends {
        registered_by: accepted + limits.registration_timeout,
        peer,
        finish: Finish::Shutdown,
    };
    connection::run(input, write, opened, &limits, ends).await;
}

/// The reading side of a WebSocket, as tungstenite sees it: it reads the socket, and what it
/// writes by itself (pongs) joins the session's queue, in order with the events.
struct Replies {
    read: ReadHalf<TokioIo<Upgraded>>,
    outbound: Outbound,
}

impl AsyncRead for Replies {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.read).poll_read(cx, buf)
    }
}

impl AsyncWrite for Replies {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.outbound.send(Bytes::copy_from_slice(buf));
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A WebSocket's incoming messages as front input. A close from the client ends the input; the
/// session's goodbye ([`json::goodbye`]) answers it.
struct Messages {
    stream: WebSocketStream<Replies>,
    max: usize,
}

impl Source for Messages {
    async fn next(&mut self) -> Input {
        loop {
            return match self.stream.next().await {
                None | Some(Ok(Message::Close(_))) => Input::Closed("connection closed".into()),
                Some(Ok(Message::Text(text))) => json::decode(&text),
                Some(Ok(Message::Binary(_))) => json::binary(),
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                Some(Err(tungstenite::Error::Capacity(_))) => Input::Fatal(Refusal::new(
                    ErrorCode::FrameTooLarge,
                    format!(
                        "message larger than {} bytes; closing the connection",
                        self.max
                    ),
                )),
                Some(Err(e)) => Input::Closed(format!("read error: {e}")),
            };
        }
    }
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
