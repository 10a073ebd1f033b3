//! The embedded history backend: one SQLite file (rusqlite, SQLite bundled) in WAL mode, so the
//! writer's commits and the readers' queries do not wait for each other.
//!
//! The file is marked as chatd's with SQLite's `application_id` and versioned with its
//! `user_version`; its migrations bring an older file up to date at start, in one transaction
//! each. A file that is not a SQLite database, a SQLite database of something else, or one a
//! newer chatd wrote is refused with a message naming it.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::error::StoreError;
use super::range::Range;
use super::writer::{Mark, PrivateMessage, Writing};
use crate::protocol::ChatMessage;
use crate::server::config::Retention;

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
    // 2: every room that had messages, with its last number (kept when messages are purged or
    // expire, so that numbering never restarts), for retention to walk; and the numbers each
    // node's copy of a room reserved ahead.
    "CREATE TABLE rooms (name TEXT PRIMARY KEY, last_seq INTEGER NOT NULL) WITHOUT ROWID;
     INSERT INTO rooms SELECT room, max(seq) FROM messages GROUP BY room;
     CREATE TABLE reservations (
        room TEXT NOT NULL,
        node TEXT NOT NULL,
        upto INTEGER NOT NULL,
        PRIMARY KEY (room, node)
     ) WITHOUT ROWID;",
    // 3: private messages, when history.private is on.
    "CREATE TABLE private_messages (
        ts INTEGER NOT NULL,
        sender TEXT NOT NULL,
        recipient TEXT NOT NULL,
        text TEXT NOT NULL
    );
    CREATE INDEX private_messages_ts ON private_messages (ts);",
    // 4: rooms by code, which stay unlisted across restarts.
    "CREATE TABLE unlisted_rooms (name TEXT PRIMARY KEY) WITHOUT ROWID;",
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
pub fn open(path: &Path, durable: bool) -> Result<(Writer, Reader), StoreError> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|e| open_error(dir, e))?;
    }
    // A file that exists and cannot be written (a read-only file system) is opened for reading
    // only, as immutable (SQLite cannot otherwise read a WAL file it may not write beside): the
    // history is served, chat goes on, and every commit fails (shown by `chatctl status`).
    let read_only = path.exists() && std::fs::OpenOptions::new().append(true).open(path).is_err();
    let connect = || -> rusqlite::Result<Connection> {
        let conn = if read_only {
            Connection::open_with_flags(
                format!("file:{}?immutable=1", path.display()),
                OpenFlags::SQLITE_OPEN_READ_ONLY
                    | OpenFlags::SQLITE_OPEN_URI
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?
        } else {
            Connection::open(path)?
        };
        conn.busy_timeout(BUSY_TIMEOUT)?;
        Ok(conn)
    };
    let conn = connect().map_err(|e| open_error(path, e))?;
    let version = check(&conn, path)?;
    if read_only {
        tracing::error!(path = %path.display(), "the history database is read-only: history is served, new messages are not stored");
    } else {
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .map_err(|e| open_error(path, e))?;
        let synchronous = if durable { "FULL" } else { "NORMAL" };
        conn.pragma_update(None, "synchronous", synchronous)
            .map_err(|e| open_error(path, e))?;
    }
    migrate(&conn, version).map_err(|e| open_error(path, e))?;
    let reader = connect().map_err(|e| open_error(path, e))?;
    Ok((Writer { conn }, Reader { conn: reader }))
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

/// The writer's connection.
pub struct Writer {
    conn: Connection,
}

impl Writer {
    /// Writes one batch in one transaction. A message already stored (the same room and number)
    /// is left as it is.
    fn insert(
        &mut self,
        messages: &[ChatMessage],
        private: &[PrivateMessage],
    ) -> rusqlite::Result<()> {
        if messages.is_empty() && private.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO private_messages (ts, sender, recipient, text) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for m in private {
                insert.execute(params![number(m.ts), m.from, m.to, m.text])?;
            }
        }
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO messages (room, seq, ts, sender, text, action)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            let mut last: HashMap<&str, u64> = HashMap::new();
            for m in messages {
                insert.execute(params![
                    m.room,
                    m.seq as i64,
                    m.ts as i64,
                    m.from,
                    m.text,
                    m.action
                ])?;
                let seq = last.entry(&m.room).or_default();
                *seq = (*seq).max(m.seq);
            }
            let mut room = tx.prepare_cached(
                "INSERT INTO rooms (name, last_seq) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq)",
            )?;
            for (name, seq) in last {
                room.execute(params![name, number(seq)])?;
            }
        }
        tx.commit()
    }

    /// Deletes up to `limit` of `room`'s messages numbered at most `through`, oldest first.
    fn delete_through(&self, room: &str, through: i64, limit: u64) -> rusqlite::Result<u64> {
        self.conn
            .prepare_cached(
                "DELETE FROM messages WHERE room = ?1 AND seq IN
                 (SELECT seq FROM messages WHERE room = ?1 AND seq <= ?2 ORDER BY seq LIMIT ?3)",
            )?
            .execute(params![room, through, limit as i64])
            .map(|n| n as u64)
    }

    fn retain_step(
        &mut self,
        retention: &Retention,
        now_ms: u64,
        limit: u64,
    ) -> rusqlite::Result<u64> {
        let rooms: Vec<String> = self
            .conn
            .prepare_cached("SELECT name FROM rooms")?
            .query_map([], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut deleted = 0;
        if let Some(age) = retention.max_age {
            let cutoff = number(now_ms.saturating_sub(age.as_millis() as u64));
            deleted += self
                .conn
                .prepare_cached(
                    "DELETE FROM private_messages WHERE rowid IN
                     (SELECT rowid FROM private_messages WHERE ts < ?1 LIMIT ?2)",
                )?
                .execute(params![cutoff, limit as i64])? as u64;
        }
        for room in rooms {
            if deleted >= limit {
                break;
            }
            if let Some(keep) = retention.max_messages {
                let last: Option<i64> = self.conn.query_row(
                    "SELECT max(seq) FROM messages WHERE room = ?1",
                    [&room],
                    |row| row.get(0),
                )?;
                let through = last.unwrap_or(0) - number(keep);
                if through > 0 {
                    deleted += self.delete_through(&room, through, limit - deleted)?;
                }
            }
            if let Some(age) = retention.max_age {
                let cutoff = number(now_ms.saturating_sub(age.as_millis() as u64));
                // Numbers grow with time in a room: the messages to go are a prefix.
                let through: Option<i64> = self
                    .conn
                    .query_row(
                        "SELECT max(seq) FROM (SELECT seq FROM messages WHERE room = ?1 AND ts < ?2
                         ORDER BY seq LIMIT ?3)",
                        params![room, cutoff, (limit - deleted) as i64],
                        |row| row.get(0),
                    )
                    .optional()?
                    .flatten();
                if let Some(through) = through {
                    deleted += self.delete_through(&room, through, limit - deleted)?;
                }
            }
        }
        Ok(deleted)
    }
}

impl Writing for Writer {
    fn commit(
        &mut self,
        messages: &[ChatMessage],
        private: &[PrivateMessage],
    ) -> Result<(), String> {
        self.insert(messages, private).map_err(|e| e.to_string())
    }

    fn purge(&mut self, room: &str, before: Option<u64>) -> Result<u64, String> {
        self.conn
            .execute(
                "DELETE FROM messages WHERE room = ?1 AND seq < ?2",
                params![room, number(before.unwrap_or(u64::MAX))],
            )
            .map(|n| n as u64)
            .map_err(|e| e.to_string())
    }

    fn retain(&mut self, retention: &Retention, now_ms: u64, limit: u64) -> Result<u64, String> {
        self.retain_step(retention, now_ms, limit)
            .map_err(|e| e.to_string())
    }

    fn tidy(&mut self) -> Result<(), String> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(|e| e.to_string())
    }

    fn mark(&mut self, marks: &[Mark]) -> Result<(), String> {
        let apply = |conn: &mut Connection| -> rusqlite::Result<()> {
            let tx = conn.transaction()?;
            for mark in marks {
                match mark {
                    Mark::Reserve { room, node, upto } => tx.execute(
                        "INSERT INTO reservations (room, node, upto) VALUES (?1, ?2, ?3)
                         ON CONFLICT (room, node) DO UPDATE SET upto = excluded.upto",
                        params![room, node, number(*upto)],
                    )?,
                    Mark::Unlisted { room } => tx.execute(
                        "INSERT OR IGNORE INTO unlisted_rooms (name) VALUES (?1)",
                        [room],
                    )?,
                    Mark::Release { node, floors } => {
                        let released = tx.execute(
                            "UPDATE reservations SET upto = coalesce(
                               (SELECT last_seq FROM rooms WHERE name = reservations.room), 0)
                             WHERE node = ?1",
                            [node],
                        )?;
                        for (room, floor) in floors {
                            tx.execute(
                                "UPDATE reservations SET upto = max(upto, ?3)
                                 WHERE room = ?1 AND node = ?2",
                                params![room, node, number(*floor)],
                            )?;
                        }
                        released
                    }
                };
            }
            tx.commit()
        };
        apply(&mut self.conn).map_err(|e| e.to_string())
    }
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
    /// The number `room` numbers on from when `node` hosts it: the last message ever stored
    /// (even if purged or expired since), or the numbers `node` reserved for it, whichever is
    /// higher.
    pub fn last_seq(&self, room: &str, node: &str) -> Result<u64, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT max(coalesce((SELECT max(seq) FROM messages WHERE room = ?1), 0),
                            coalesce((SELECT last_seq FROM rooms WHERE name = ?1), 0),
                            coalesce((SELECT upto FROM reservations
                                      WHERE room = ?1 AND node = ?2), 0))",
            )
            .and_then(|mut query| query.query_row([room, node], |row| row.get::<_, i64>(0)))
            .map(|seq| seq as u64)
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

    /// Whether `room` was made unlisted (a room by code).
    pub fn unlisted(&self, room: &str) -> Result<bool, StoreError> {
        self.conn
            .prepare_cached("SELECT count(*) FROM unlisted_rooms WHERE name = ?1")
            .and_then(|mut query| query.query_row([room], |row| row.get::<_, i64>(0)))
            .map(|n| n > 0)
            .map_err(query_error)
    }

    /// How many messages of `room` are stored.
    pub fn count(&self, room: &str) -> Result<u64, StoreError> {
        self.conn
            .prepare_cached("SELECT count(*) FROM messages WHERE room = ?1")
            .and_then(|mut query| query.query_row([room], |row| row.get::<_, i64>(0)))
            .map(|n| n as u64)
            .map_err(query_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(room: &str, seq: u64, ts: u64) -> ChatMessage {
        ChatMessage {
            room: room.into(),
            seq,
            from: "a".into(),
            text: format!("m{seq}"),
            action: false,
            ts,
        }
    }

    fn seqs(reader: &Reader, room: &str) -> Vec<u64> {
        let all = Range {
            after: Some(0),
            before: None,
            limit: 1000,
        };
        reader
            .fetch(room, all)
            .unwrap()
            .iter()
            .map(|m| m.seq)
            .collect()
    }

    #[test]
    fn retention_deletes_the_oldest_a_batch_at_a_time_and_purges_delete_below_a_number() {
        let dir = tempfile::tempdir().unwrap();
        let (mut writer, reader) = open(&dir.path().join("r.db"), false).unwrap();
        let day = 86_400_000;
        let batch: Vec<ChatMessage> = (1..=10)
            .map(|s| message("a", s, s * day))
            .chain((1..=4).map(|s| message("b", s, 20 * day + s)))
            .collect();
        writer.commit(&batch, &[]).unwrap();
        let keep_five = Retention {
            max_messages: Some(5),
            max_age: None,
        };
        // Two messages per step: "a" loses its five oldest in three steps.
        assert_eq!(writer.retain(&keep_five, 0, 2).unwrap(), 2);
        assert_eq!(seqs(&reader, "a"), [3, 4, 5, 6, 7, 8, 9, 10]);
        assert_eq!(writer.retain(&keep_five, 0, 2).unwrap(), 2);
        assert_eq!(writer.retain(&keep_five, 0, 2).unwrap(), 1);
        assert_eq!(writer.retain(&keep_five, 0, 2).unwrap(), 0);
        assert_eq!(seqs(&reader, "a"), [6, 7, 8, 9, 10]);
        assert_eq!(
            seqs(&reader, "b"),
            [1, 2, 3, 4],
            "rooms under the limit keep all"
        );

        // Three days of age at day 11: "a" keeps days 8..=10; "b" is recent.
        let three_days = Retention {
            max_messages: None,
            max_age: Some(Duration::from_secs(3 * 86_400)),
        };
        assert_eq!(writer.retain(&three_days, 11 * day, 100).unwrap(), 2);
        assert_eq!(seqs(&reader, "a"), [8, 9, 10]);
        assert_eq!(seqs(&reader, "b"), [1, 2, 3, 4]);

        assert_eq!(writer.purge("b", Some(3)).unwrap(), 2);
        assert_eq!(seqs(&reader, "b"), [3, 4]);
        assert_eq!(writer.purge("a", None).unwrap(), 3);
        assert!(seqs(&reader, "a").is_empty());
        assert_eq!(
            reader.last_seq("a", "n").unwrap(),
            10,
            "numbering never restarts"
        );
        let reserve = |upto| Mark::Reserve {
            room: "a".into(),
            node: "n".into(),
            upto,
        };
        writer.mark(&[reserve(100)]).unwrap();
        assert_eq!(
            reader.last_seq("a", "n").unwrap(),
            100,
            "after a crash: past the reservation"
        );
        assert_eq!(
            reader.last_seq("a", "other").unwrap(),
            10,
            "another node: what was stored"
        );
        let release = Mark::Release {
            node: "n".into(),
            floors: Vec::new(),
        };
        writer.mark(&[release]).unwrap();
        assert_eq!(
            reader.last_seq("a", "n").unwrap(),
            10,
            "a clean stop gives back the rest"
        );
        writer.mark(&[reserve(100)]).unwrap();
        let release = Mark::Release {
            node: "n".into(),
            floors: vec![("a".into(), 50)],
        };
        writer.mark(&[release]).unwrap();
        assert_eq!(
            reader.last_seq("a", "n").unwrap(),
            50,
            "but never below a message that was delivered and not stored"
        );
    }
}
