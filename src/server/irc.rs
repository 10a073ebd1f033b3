//! The IRC front's listeners: `irc.listen` (plain, 6667) and `irc.tls_listen` (TLS, 6697,
//! with `[irc.tls]`). Each accepted client is admitted under the same connection limits as the
//! client port and the web front (counted together), gets TCP keepalive, and becomes a session
//! like any other: its input read by [`crate::server::front::irc::Reader`] through the shared
//! rate, idle and registration deadlines ([`crate::server::connection::read_commands`]), its
//! output written from the same bounded queue.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWrite;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::protocol::ErrorCode;
use crate::server::admission::{Admissions, Ticket};
use crate::server::config::WebTlsConfig;
use crate::server::connection::{self, Ends, Finish};
use crate::server::context::NodeContext;
use crate::server::front::irc::{IrcConn, IrcServer, Pace, ReadHalf, Reader, last_words};
use crate::server::listener::{accept, tune};
use crate::server::outbound;
use crate::server::pem::{TlsError, certificates, private_key, rustls_error};
use crate::server::session;

/// How long a client may take over its TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What the IRC listeners share.
pub struct IrcState {
    /// The node.
    pub ctx: Arc<NodeContext>,
    /// The connection limits, shared with the client port and the web front.
    pub admissions: Arc<Admissions>,
    /// The server as IRC clients see it.
    pub server: Arc<IrcServer>,
    /// Where connections are tracked for a graceful shutdown.
    pub tracker: TaskTracker,
}

/// The TLS setup of `[irc.tls]`.
pub fn tls(config: &WebTlsConfig) -> Result<TlsAcceptor, TlsError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(rustls_error)?
        .with_no_client_auth()
        .with_single_cert(certificates(&config.cert)?, private_key(&config.key)?)
        .map_err(rustls_error)?;
    Ok(TlsAcceptor::from(Arc::new(server)))
}

/// Accepts IRC clients on `listener` (over TLS with `tls`) until `stop`.
pub async fn run(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    state: Arc<IrcState>,
    stop: CancellationToken,
) {
    let refusal = |message: &str| last_words(None, ErrorCode::ServerFull, message);
    let serve = |stream, peer, ticket| handle(stream, peer, ticket, state.clone(), tls.clone());
    let (ctx, admissions) = (&state.ctx, &state.admissions);
    accept(
        &listener,
        ctx,
        admissions,
        &stop,
        &state.tracker,
        refusal,
        serve,
    )
    .await;
}

/// Splits a connection, after the TLS handshake when there is one; how its writing side ends.
async fn open(
    stream: TcpStream,
    tls: Option<TlsAcceptor>,
) -> std::io::Result<(ReadHalf, Box<dyn AsyncWrite + Send + Unpin>, Finish)> {
    match tls {
        None => {
            // Halves that do not shut the socket down when dropped (see `Finish::Close`).
            let (read, write) = tokio::io::split(stream);
            Ok((Box::new(read), Box::new(write), Finish::Close))
        }
        Some(acceptor) => {
            let stream = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream))
                .await
                .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
            let (read, write) = tokio::io::split(stream);
            Ok((Box::new(read), Box::new(write), Finish::Shutdown))
        }
    }
}

/// Serves one admitted IRC client; `_ticket` is given back when it ends.
async fn handle(
    stream: TcpStream,
    peer: SocketAddr,
    _ticket: Ticket,
    state: Arc<IrcState>,
    tls: Option<TlsAcceptor>,
) {
    let accepted = Instant::now();
    let tunables = state.ctx.tunables();
    let limits = tunables.connection.clone();
    if let Err(e) = tune(&stream, state.ctx.listener_keepalive, limits.tcp_keepalive) {
        tracing::debug!(%peer, error = %e, "cannot set TCP keepalive");
    }
    let (read, write, finish) = match open(stream, tls).await {
        Ok(halves) => halves,
        Err(e) => {
            tracing::debug!(%peer, error = %e, "IRC TLS handshake failed");
            return;
        }
    };
    let conn = Arc::new(IrcConn::new(state.server.clone()));
    let (outbound, rx) = outbound::irc_channel(tunables.send_queue, conn.clone());
    let Some(opened) = session::start(&state.ctx, peer, outbound, rx).await else {
        return;
    };
    let pace = Pace {
        rate: limits.rate,
        burst: limits.burst,
    };
    let input = Reader::new(read, conn, pace);
    let ends = Ends {
        registered_by: accepted + limits.registration_timeout,
        peer,
        finish,
    };
    connection::run(input, write, opened, &limits, ends).await;
}
