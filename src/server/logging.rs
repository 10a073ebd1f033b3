//! Where logs go. Under systemd (when `$JOURNAL_STREAM` names this process's stderr) they go to
//! the journal natively, with structured fields; otherwise to stderr as text (colours only on a
//! terminal), or as JSON lines with `log.format = "json"`. The level can be changed later
//! (`log.level` on reload).
//!
//! One target is capped at `error` unless `log.level` names it: ractor_cluster's node sessions
//! warn about every remote actor that stops (a harmless double report inside ractor_cluster: one
//! line on every node for each room closed anywhere), which floods the journal of a busy
//! cluster — thousands of lines a second under churn.

use std::io::IsTerminal;
use std::os::fd::AsFd;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::server::reload::SetLogLevel;

/// Whether `journal_stream` (`"DEV:INODE"`, from `$JOURNAL_STREAM`) names the file `dev`/`ino`.
pub fn names_file(journal_stream: &str, dev: u64, ino: u64) -> bool {
    journal_stream
        .split_once(':')
        .and_then(|(d, i)| Some((d.parse::<u64>().ok()?, i.parse::<u64>().ok()?)))
        == Some((dev, ino))
}

/// Whether stderr is connected to the journal (systemd's convention for upgrading to native
/// journal logging: compare `$JOURNAL_STREAM` with stderr's device and inode).
fn stderr_is_journal() -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(stream) = std::env::var("JOURNAL_STREAM") else {
        return false;
    };
    let Ok(fd) = std::io::stderr().as_fd().try_clone_to_owned() else {
        return false;
    };
    match std::fs::File::from(fd).metadata() {
        Ok(meta) => names_file(&stream, meta.dev(), meta.ino()),
        Err(_) => false,
    }
}

/// The directives that come before `log.level` (which may override them).
const QUIET: &str = "ractor_cluster::node::node_session=error";

/// `log.level` with [`QUIET`] first.
fn directives(level: &str) -> String {
    format!("{QUIET},{level}")
}

/// Sets up logging; returns how to change the level later.
pub fn init(level: &str, format: &str) -> SetLogLevel {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(directives(level)));
    let (filter, handle) = tracing_subscriber::reload::Layer::new(filter);
    let journald = stderr_is_journal()
        .then(|| tracing_journald::layer().ok())
        .flatten()
        .map(|layer| layer.with_syslog_identifier("chatd".into()));
    let ansi = std::io::stderr().is_terminal();
    let json = (journald.is_none() && format == "json").then(|| {
        tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
    });
    let text = (journald.is_none() && format != "json").then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(ansi)
    });
    tracing_subscriber::registry()
        .with(filter)
        .with(journald)
        .with(json)
        .with(text)
        .init();
    Box::new(move |level| {
        let filter = EnvFilter::try_new(directives(level)).map_err(|e| e.to_string())?;
        handle.reload(filter).map_err(|e| e.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many of a node-session warning and a chatd warning pass `level`.
    fn passing(level: &str) -> (usize, usize) {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        struct Count(Arc<[AtomicUsize; 2]>);
        impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Count {
            fn on_event(
                &self,
                event: &tracing::Event<'_>,
                _: tracing_subscriber::layer::Context<'_, S>,
            ) {
                let i = usize::from(event.metadata().target() == "chatd");
                self.0[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        let counts = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
        let subscriber = tracing_subscriber::registry()
            .with(EnvFilter::new(directives(level)))
            .with(Count(counts.clone()));
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(target: "ractor_cluster::node::node_session", "unknown child exit");
            tracing::warn!(target: "chatd", "something");
        });
        (
            counts[0].load(Ordering::Relaxed),
            counts[1].load(Ordering::Relaxed),
        )
    }

    #[test]
    fn the_node_session_noise_is_capped_unless_the_level_names_it() {
        assert_eq!(passing("info"), (0, 1));
        assert_eq!(passing("warn"), (0, 1));
        assert_eq!(
            passing("info,ractor_cluster::node::node_session=warn"),
            (1, 1)
        );
    }

    #[test]
    fn journal_stream_must_name_the_same_file() {
        assert!(names_file("8:1234", 8, 1234));
        assert!(!names_file("8:1234", 8, 1235));
        assert!(!names_file("garbage", 8, 1234));
        assert!(!names_file("", 0, 0));
    }
}
