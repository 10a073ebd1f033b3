//! Cluster admission: chatd, not ractor_cluster, owns the node-to-node port, so that a stranger
//! who connects to it can hold at most a few bytes and a few seconds.
//!
//! Before ractor_cluster sees a connection (and its frame buffers of up to 16 MiB), both ends run
//! a fixed-size handshake that proves knowledge of the cluster cookie: each sends a magic string
//! and a random nonce, then `SHA-256("chatd-node-proof" | role | own nonce | peer nonce |
//! cookie)`. Exactly 60 bytes are read from the peer, within `cluster.handshake_timeout_ms`, with
//! at most `cluster.max_pending_connections` handshakes (TLS included) at once; anything else is
//! closed. An admitted stream is handed to ractor_cluster as an external transport, where its
//! own cookie authentication runs as before. ractor_cluster's own listener is moved to an
//! ephemeral loopback port that nothing dials.
//!
//! With `[cluster.tls]`, the TLS handshake happens here too, per connection (ractor_cluster does
//! it inside its single accept loop), and the proof is exchanged inside TLS.

use std::sync::Arc;
use std::time::Duration;

use ractor::ActorRef;
use ractor_cluster::{BoxRead, BoxWrite, ClusterBidiStream, NodeServerMessage};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::tls::Tls;

/// What a node says first.
const MAGIC: &[u8; 12] = b"chatd-node/1";
const NONCE_LEN: usize = 16;
const PROOF_LEN: usize = 32;

/// Why a peer was not admitted.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// It does not speak the chatd node handshake.
    #[error("not a chatd node")]
    NotANode,
    /// It does not know the cluster cookie.
    #[error("wrong cluster cookie")]
    WrongCookie,
    /// It took longer than `cluster.handshake_timeout_ms`.
    #[error("no handshake within {0:?}")]
    Timeout(Duration),
    /// The connection or TLS failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Who may talk to ractor_cluster, and how long they have to show it.
#[derive(Debug)]
pub struct Gate {
    /// The cluster cookie.
    pub cookie: String,
    /// Node-to-node TLS, when configured.
    pub tls: Option<Tls>,
    /// `cluster.handshake_timeout_ms`
    pub timeout: Duration,
    /// `cluster.max_pending_connections`
    pub max_pending: usize,
}

fn proof(cookie: &str, role: &[u8], own: &[u8], peer: &[u8]) -> [u8; PROOF_LEN] {
    let mut hash = Sha256::new();
    hash.update(b"chatd-node-proof");
    hash.update(role);
    hash.update(own);
    hash.update(peer);
    hash.update(cookie.as_bytes());
    hash.finalize().into()
}

/// Compares without stopping at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Runs the handshake on `stream` as the dialling end or the listening end.
async fn prove<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    cookie: &str,
    dialer: bool,
) -> Result<(), Refused> {
    let (mine, theirs): (&[u8], &[u8]) = if dialer {
        (b"dialer", b"listener")
    } else {
        (b"listener", b"dialer")
    };
    let nonce: [u8; NONCE_LEN] = rand::random();
    let mut hello = MAGIC.to_vec();
    hello.extend_from_slice(&nonce);
    stream.write_all(&hello).await?;
    stream.flush().await?;
    let mut peer = [0u8; MAGIC.len() + NONCE_LEN];
    stream.read_exact(&mut peer).await?;
    if !same(&peer[..MAGIC.len()], MAGIC) {
        return Err(Refused::NotANode);
    }
    let peer_nonce = &peer[MAGIC.len()..];
    stream
        .write_all(&proof(cookie, mine, &nonce, peer_nonce))
        .await?;
    stream.flush().await?;
    let mut claimed = [0u8; PROOF_LEN];
    stream.read_exact(&mut claimed).await?;
    if same(&claimed, &proof(cookie, theirs, peer_nonce, &nonce)) {
        Ok(())
    } else {
        Err(Refused::WrongCookie)
    }
}

/// An admitted connection, as ractor_cluster takes it.
struct Admitted<S> {
    stream: S,
    peer: String,
}

impl<S: AsyncRead + AsyncWrite + Send + Unpin + 'static> ClusterBidiStream for Admitted<S> {
    fn split(self: Box<Self>) -> (BoxRead, BoxWrite) {
        let (read, write) = tokio::io::split(self.stream);
        (Box::new(read), Box::new(write))
    }

    fn peer_label(&self) -> Option<String> {
        Some(self.peer.clone())
    }
}

impl Gate {
    /// Dials `addr` (whose TLS name is `address`'s host), proves this node, and hands the
    /// connection to ractor_cluster.
    pub async fn dial(
        &self,
        server: &ActorRef<NodeServerMessage>,
        addr: std::net::SocketAddr,
        address: &str,
    ) -> Result<(), Refused> {
        let admitted = tokio::time::timeout(self.timeout, async {
            let mut stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let peer = addr.to_string();
            let stream: Box<dyn ClusterBidiStream> = match &self.tls {
                Some(tls) => {
                    let name = super::tls::server_name(address)
                        .map_err(|e| std::io::Error::other(e.to_string()))?;
                    let mut stream = tls.connector.connect(name, stream).await?;
                    prove(&mut stream, &self.cookie, true).await?;
                    Box::new(Admitted { stream, peer })
                }
                None => {
                    prove(&mut stream, &self.cookie, true).await?;
                    Box::new(Admitted { stream, peer })
                }
            };
            Ok::<_, Refused>(stream)
        })
        .await
        .map_err(|_| Refused::Timeout(self.timeout))??;
        ractor_cluster::client_connect_external(server, admitted)
            .await
            .map_err(|e| Refused::Io(std::io::Error::other(e.to_string())))
    }

    /// Admits one accepted connection: TLS (when configured) and the proof, within the deadline.
    async fn admit(
        &self,
        stream: TcpStream,
        peer: String,
    ) -> Result<Box<dyn ClusterBidiStream>, Refused> {
        let _ = stream.set_nodelay(true);
        tokio::time::timeout(self.timeout, async {
            let admitted: Box<dyn ClusterBidiStream> = match &self.tls {
                Some(tls) => {
                    let mut stream = tls.acceptor.accept(stream).await?;
                    prove(&mut stream, &self.cookie, false).await?;
                    Box::new(Admitted { stream, peer })
                }
                None => {
                    let mut stream = stream;
                    prove(&mut stream, &self.cookie, false).await?;
                    Box::new(Admitted { stream, peer })
                }
            };
            Ok(admitted)
        })
        .await
        .map_err(|_| Refused::Timeout(self.timeout))?
    }
}

/// Accepts node connections on `listener` until `stop`: at most `gate.max_pending` handshakes at
/// once (more are closed at once), each admitted one handed to ractor_cluster's `server`.
pub async fn serve(
    listener: TcpListener,
    gate: Arc<Gate>,
    server: ActorRef<NodeServerMessage>,
    stop: CancellationToken,
) {
    let pending = Arc::new(Semaphore::new(gate.max_pending));
    loop {
        let (stream, peer) = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "cluster port: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = pending.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "cluster port: too many handshakes at once; closed");
            continue;
        };
        let gate = gate.clone();
        let server = server.clone();
        tokio::spawn(async move {
            let admitted = gate.admit(stream, peer.to_string()).await;
            drop(permit);
            match admitted {
                Ok(stream) => {
                    let opened = NodeServerMessage::ConnectionOpenedExternal {
                        stream,
                        is_server: true,
                    };
                    if server.cast(opened).is_err() {
                        tracing::warn!(%peer, "cluster port: the node server is gone");
                    }
                }
                Err(e) => tracing::debug!(%peer, error = %e, "cluster port: refused a connection"),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn pair(a: &'static str, b: &'static str) -> (Result<(), Refused>, Result<(), Refused>) {
        let (mut x, mut y) = tokio::io::duplex(256);
        tokio::join!(prove(&mut x, a, true), prove(&mut y, b, false))
    }

    #[tokio::test]
    async fn the_same_cookie_is_admitted_both_ways() {
        let (dialer, listener) = pair("secret", "secret").await;
        assert!(dialer.is_ok() && listener.is_ok());
    }

    #[tokio::test]
    async fn a_wrong_cookie_is_refused_on_both_ends() {
        let (dialer, listener) = pair("secret", "guess").await;
        assert!(matches!(dialer, Err(Refused::WrongCookie)));
        assert!(matches!(listener, Err(Refused::WrongCookie)));
    }

    #[tokio::test]
    async fn a_stranger_is_refused_after_reading_a_few_bytes() {
        let (mut node, mut stranger) = tokio::io::duplex(1 << 20);
        let junk = tokio::spawn(async move {
            let _ = stranger.write_all(&vec![b'x'; 100_000]).await;
            stranger
        });
        assert!(matches!(
            prove(&mut node, "secret", false).await,
            Err(Refused::NotANode)
        ));
        drop(junk);
    }

    #[test]
    fn proofs_depend_on_role_nonces_and_cookie() {
        let base = proof("c", b"dialer", b"n1", b"n2");
        assert_ne!(base, proof("c", b"listener", b"n1", b"n2"));
        assert_ne!(base, proof("c", b"dialer", b"n2", b"n1"));
        assert_ne!(base, proof("d", b"dialer", b"n1", b"n2"));
        assert!(same(&base, &proof("c", b"dialer", b"n1", b"n2")));
        assert!(!same(&base[..31], &base));
    }
}
