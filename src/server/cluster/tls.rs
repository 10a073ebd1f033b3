//! TLS between nodes (mutual: every node presents a certificate signed by the cluster's CA and
//! accepts only peers that do). ractor_cluster's cookie authenticates peers but leaves traffic
//! in the clear; with `[cluster.tls]` set, node-to-node connections are encrypted too.
//!
//! A node's certificate must name the host part of its `cluster.advertise` address (a DNS name or
//! an IP address SAN), since peers dial that address and check the name.

use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::server::config::TlsConfig;
use crate::server::pem::{TlsError, certificates, file_error, private_key, rustls_error};

/// Both sides of node-to-node TLS.
#[derive(Clone)]
pub struct Tls {
    /// Accepts peers that dial this node.
    pub acceptor: TlsAcceptor,
    /// Dials peers.
    pub connector: TlsConnector,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls")
    }
}

/// Loads the certificate, key and CA, and builds both sides.
pub fn load(config: &TlsConfig) -> Result<Tls, TlsError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let chain = certificates(&config.cert)?;
    let key = private_key(&config.key)?;
    let mut roots = RootCertStore::empty();
    for ca in certificates(&config.ca)? {
        roots.add(ca).map_err(|e| file_error(&config.ca, e))?;
    }
    let roots = Arc::new(roots);
    let verifier = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
        .build()
        .map_err(rustls_error)?;
    let server = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(rustls_error)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain.clone(), key.clone_key())
        .map_err(rustls_error)?;
    let client = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(rustls_error)?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(rustls_error)?;
    Ok(Tls {
        acceptor: TlsAcceptor::from(Arc::new(server)),
        connector: TlsConnector::from(Arc::new(client)),
    })
}

/// The name a peer's certificate must carry when dialled at `address` (`HOST:PORT`).
pub fn server_name(address: &str) -> Result<ServerName<'static>, TlsError> {
    let host = address.rsplit_once(':').map_or(address, |(host, _)| host);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_string()).map_err(rustls_error)
}
