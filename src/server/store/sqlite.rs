//! The embedded history backend: one SQLite file (rusqlite, SQLite bundled) in WAL mode, so the
//! writer's commits and the readers' queries do not wait for each other.
//!
//! The file is marked as chatd's with SQLite's `application_id` and versioned with its
//! `user_version`; [`MIGRATIONS`] bring an older file up to date at start, in one transaction
//! each. A file that is not a SQLite database, a SQLite database of something else, or one a
//! newer chatd wrote is refused with a message naming it.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use super::error::StoreError;
use super::range::Range;
use crate::protocol::ChatMessage;

/// `PRAGMA application_id` of a chatd database: "chat".
const APPLICATION_ID: i64 = 0x6368_6174;

/// The schema, one step per version: a file at `user_version` N gets steps N.. applied.
const MIGRATIONS: &[&str] = &[
    // 1: room messages, by room and number.
    "CREATE TABLE messages (
        room TEXT NOT NULL,
        seq INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        sender TEXT NOT NULL,
        text TEXT NOT NULL,
        action INTEGER NOT NULL,
        PRIMARY KEY (room, seq)
    ) WITHOUT ROWID;",
];

/// How long a connection waits for a lock held by the other.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

fn open_error(path: &Path, message: impl std::fmt::Display) -> StoreError {
    StoreError::Open {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

fn query_error(e: rusqlite::Error) -> StoreError {
    StoreError::Query(e.to_string())
}

/// Opens (creating if needed) the database at `path`, checks it is chatd's, brings its schema up
/// to date, and returns the writer's connection and a reader. With `durable`, every commit
/// reaches the disk before it returns (`synchronous = FULL`); otherwise a commit survives a
/// crash of the process but not of the machine (`NORMAL`, WAL's usual setting).
pub fn open(path: &Path, durable: bool) -> Result<(Connection, Reader), StoreError> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|e| open_error(dir, e))?;
    }
    let conn = Connection::open(path).map_err(|e| open_error(path, e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| open_error(path, e))?;
    let version = check(&conn, path)?;
    conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
        .map_err(|e| open_error(path, e))?;
    let synchronous = if durable { "FULL" } else { "NORMAL" };
    conn.pragma_update(None, "synchronous", synchronous)
        .map_err(|e| open_error(path, e))?;
    migrate(&conn, version).map_err(|e| open_error(path, e))?;
    let reader = Connection::open(path).map_err(|e| open_error(path, e))?;
    reader
        .busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| open_error(path, e))?;
    Ok((conn, Reader { conn: reader }))
}

/// The schema version of a chatd database (0 for a new, empty file); refuses anything else.
fn check(conn: &Connection, path: &Path) -> Result<usize, StoreError> {
    let pragma = |name: &str| -> Result<i64, StoreError> {
        conn.query_row(&format!("PRAGMA {name}"), [], |row| row.get(0))
            .map_err(|e| open_error(path, format!("not a chatd history database ({e})")))
    };
    let application = pragma("application_id")?;
    let version = pragma("user_version")?;
    if application == 0 && version == 0 {
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get(0))
            .map_err(|e| open_error(path, format!("not a chatd history database ({e})")))?;
        if tables > 0 {
            return Err(open_error(
                path,
                "a SQLite database of something else, not a chatd history database",
            ));
        }
        return Ok(0);
    }
    if application != APPLICATION_ID {
        return Err(open_error(path, "not a chatd history database"));
    }
    let known = MIGRATIONS.len();
    match usize::try_from(version) {
        Ok(version) if version <= known => Ok(version),
        _ => Err(open_error(
            path,
            format!(
                "written by a newer chatd (schema {version}; this one knows up to {known}); \
                 upgrade chatd or point history.path elsewhere"
            ),
        )),
    }
}

/// Applies the migrations after `version`, each in its own transaction with its version.
fn migrate(conn: &Connection, version: usize) -> rusqlite::Result<()> {
    for (step, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let target = step + 1;
        conn.execute_batch(&format!(
            "BEGIN; {sql} PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {target}; COMMIT;"
        ))?;
        tracing::info!(schema = target, "history database schema updated");
    }
    Ok(())
}

/// Writes one batch in one transaction. A message already stored (the same room and number) is
/// left as it is.
pub fn commit(conn: &mut Connection, messages: &[ChatMessage]) -> rusqlite::Result<()> {
    if messages.is_empty() {
        return Ok(());
    }
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT OR IGNORE INTO messages (room, seq, ts, sender, text, action)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for m in messages {
            insert.execute(params![
                m.room,
                m.seq as i64,
                m.ts as i64,
                m.from,
                m.text,
                m.action
            ])?;
        }
    }
    tx.commit()
}

/// A connection for queries.
pub struct Reader {
    conn: Connection,
}

fn message(row: &rusqlite::Row<'_>) -> rusqlite::Result<ChatMessage> {
    Ok(ChatMessage {
        room: row.get(0)?,
        seq: row.get::<_, i64>(1)? as u64,
        ts: row.get::<_, i64>(2)? as u64,
        from: row.get(3)?,
        text: row.get(4)?,
        action: row.get(5)?,
    })
}

/// A sequence number as SQLite stores it (they never come near `i64::MAX`).
fn number(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

impl Reader {
    /// The number of the last stored message of `room` (0 if none).
    pub fn last_seq(&self, room: &str) -> Result<u64, StoreError> {
        self.conn
            .query_row(
                "SELECT max(seq) FROM messages WHERE room = ?1",
                [room],
                |row| row.get::<_, Option<i64>>(0),
            )
            .optional()
            .map(|seq| seq.flatten().unwrap_or(0) as u64)
            .map_err(query_error)
    }

    /// The stored messages of `room` in `range`, oldest first.
    pub fn fetch(&self, room: &str, range: Range) -> Result<Vec<ChatMessage>, StoreError> {
        let after = number(range.after.unwrap_or(0));
        let before = number(range.before.unwrap_or(u64::MAX));
        let limit = i64::from(range.limit);
        let mut messages = if range.after.is_some() {
            let mut query = self
                .conn
                .prepare_cached(
                    "SELECT room, seq, ts, sender, text, action FROM messages
                     WHERE room = ?1 AND seq > ?2 AND seq < ?3 ORDER BY seq LIMIT ?4",
                )
                .map_err(query_error)?;
            query
                .query_map(params![room, after, before, limit], message)
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(query_error)?
        } else {
            let mut query = self
                .conn
                .prepare_cached(
                    "SELECT room, seq, ts, sender, text, action FROM messages
                     WHERE room = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3",
                )
                .map_err(query_error)?;
            let mut newest_first = query
                .query_map(params![room, before, limit], message)
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(query_error)?;
            newest_first.reverse();
            newest_first
        };
        messages.shrink_to_fit();
        Ok(messages)
    }

    /// How many messages of `room` are stored.
    pub fn count(&self, room: &str) -> Result<u64, StoreError> {
        self.conn
            .query_row(
                "SELECT count(*) FROM messages WHERE room = ?1",
                [room],
                |row| row.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(query_error)
    }
}
