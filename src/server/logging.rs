//! Where logs go. Under systemd (when `$JOURNAL_STREAM` names this process's stderr) they go to
//! the journal natively, with structured fields; otherwise to stderr as text (colours only on a
//! terminal), or as JSON lines with `log.format = "json"`. The level can be changed later
//! (`log.level` on reload).

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

/// Sets up logging; returns how to change the level later.
pub fn init(level: &str, format: &str) -> SetLogLevel {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
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
        let filter = EnvFilter::try_new(level).map_err(|e| e.to_string())?;
        handle.reload(filter).map_err(|e| e.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_stream_must_name_the_same_file() {
        assert!(names_file("8:1234", 8, 1234));
        assert!(!names_file("8:1234", 8, 1235));
        assert!(!names_file("garbage", 8, 1234));
        assert!(!names_file("", 0, 0));
    }
}
