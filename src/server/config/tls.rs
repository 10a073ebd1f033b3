//! The certificate and key files of a TLS listener (`[web.tls]`, `[irc.tls]`): as written, and
//! validated.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// `[web.tls]` or `[irc.tls]`: set both keys to serve over TLS (both empty: no TLS).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebTlsSettings {
    /// The certificate chain (PEM).
    pub cert: String,
    /// Its private key (PEM).
    pub key: String,
}

/// A validated `[web.tls]` or `[irc.tls]` section.
#[derive(Debug, Clone)]
pub struct WebTlsConfig {
    /// Certificate chain file.
    pub cert: PathBuf,
    /// Private key file.
    pub key: PathBuf,
}
