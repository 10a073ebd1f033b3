//! The shared history backend for clusters: a PostgreSQL database every node reads and writes
//! (the `postgres` crate's client, one connection for the writer and one for reads, each
//! re-established after it is lost).
//!
//! The schema is versioned in `chatd_meta` and brought up to date at start inside a transaction
//! holding an advisory lock, so nodes starting together migrate once. A database whose schema a
//! newer chatd wrote is refused. Batches go in with one `INSERT ... SELECT FROM unnest(...)`:
//! one round trip per batch however many messages it holds.

use std::collections::HashMap;

use postgres::{Client, NoTls};

use super::error::StoreError;
use super::range::Range;
use super::writer::{Mark, PrivateMessage, Writing};
use crate::protocol::ChatMessage;
use crate::server::config::{PostgresConfig, Retention};

/// The advisory lock migrations hold ("chat").
const MIGRATION_LOCK: i64 = 0x6368_6174;

/// The schema, one step per version.
const MIGRATIONS: &[&str] = &[
    // 1: room messages by room and number; every room's last number, kept when messages are
    // purged or expire, so that numbering never restarts.
    "CREATE TABLE messages (
        room TEXT NOT NULL,
        seq BIGINT NOT NULL,
        ts BIGINT NOT NULL,
        sender TEXT NOT NULL,
        text TEXT NOT NULL,
        action BOOLEAN NOT NULL,
        PRIMARY KEY (room, seq)
    );
    CREATE TABLE rooms (name TEXT PRIMARY KEY, last_seq BIGINT NOT NULL);
    CREATE TABLE reservations (
        room TEXT NOT NULL,
        node TEXT NOT NULL,
        upto BIGINT NOT NULL,
        PRIMARY KEY (room, node)
    );",
    // 2: private messages, when history.private is on.
    "CREATE TABLE private_messages (
        id BIGSERIAL PRIMARY KEY,
        ts BIGINT NOT NULL,
        sender TEXT NOT NULL,
        recipient TEXT NOT NULL,
        text TEXT NOT NULL
    );
    CREATE INDEX private_messages_ts ON private_messages (ts);",
    // 3: rooms by code, which stay unlisted across restarts.
    "CREATE TABLE unlisted_rooms (name TEXT PRIMARY KEY);",
];

/// A connection that is opened again when it was lost.
struct Connection {
    config: postgres::Config,
    client: Option<Client>,
}

impl Connection {
    fn new(config: postgres::Config) -> Connection {
        Connection {
            config,
            client: None,
        }
    }

    /// The client, connecting first if there is none or it was closed.
    fn client(&mut self) -> Result<&mut Client, postgres::Error> {
        let client = match self.client.take() {
            Some(client) if !client.is_closed() => client,
            _ => self.config.connect(NoTls)?,
        };
        Ok(self.client.insert(client))
    }
}

fn sequence(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

fn open_error(place: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Open {
        path: place.to_string(),
        message: e.to_string(),
    }
}

/// The database as logs and `chatctl status` name it: the url, without a password.
pub fn place(config: &PostgresConfig) -> String {
    config.url.clone()
}

/// Connects (twice: writer and reader), checks the schema, migrates, and returns both sides.
pub fn open(config: &PostgresConfig) -> Result<(Writer, Reader), StoreError> {
    let place = place(config);
    let mut settings: postgres::Config = config.url.parse().map_err(|e| open_error(&place, e))?;
    if let Some(password) = &config.password {
        settings.password(password);
    }
    settings.application_name("chatd");
    let mut writer = Connection::new(settings.clone());
    let client = writer.client().map_err(|e| open_error(&place, e))?;
    migrate(client).map_err(|e| open_error(&place, e))?;
    let mut reader = Connection::new(settings);
    reader.client().map_err(|e| open_error(&place, e))?;
    Ok((Writer { conn: writer }, Reader { conn: reader }))
}

/// Brings the schema up to date under the migration lock; refuses a newer one.
fn migrate(client: &mut Client) -> Result<(), String> {
    let mut tx = client.transaction().map_err(|e| e.to_string())?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(|e| e.to_string())?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS chatd_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    )
    .map_err(|e| e.to_string())?;
    let version: usize = tx
        .query_opt("SELECT value FROM chatd_meta WHERE key = 'schema'", &[])
        .map_err(|e| e.to_string())?
        .map(|row| row.get::<_, String>(0))
        .map(|v| v.parse().unwrap_or(usize::MAX))
        .unwrap_or(0);
    if version > MIGRATIONS.len() {
        return Err(format!(
            "written by a newer chatd (schema {version}; this one knows up to {}); upgrade chatd",
            MIGRATIONS.len()
        ));
    }
    for (step, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        tx.batch_execute(sql).map_err(|e| e.to_string())?;
        tx.execute(
            "INSERT INTO chatd_meta (key, value) VALUES ('schema', $1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&(step + 1).to_string()],
        )
        .map_err(|e| e.to_string())?;
        tracing::info!(schema = step + 1, "history database schema updated");
    }
    tx.commit().map_err(|e| e.to_string())
}

/// The writer's connection.
pub struct Writer {
    conn: Connection,
}

impl Writer {
    fn insert(
        &mut self,
        messages: &[ChatMessage],
        private: &[PrivateMessage],
    ) -> Result<(), postgres::Error> {
        let mut last: HashMap<&str, i64> = HashMap::new();
        for m in messages {
            let seq = last.entry(m.room.as_str()).or_default();
            *seq = (*seq).max(sequence(m.seq));
        }
        let rooms: Vec<&str> = messages.iter().map(|m| m.room.as_str()).collect();
        let seqs: Vec<i64> = messages.iter().map(|m| sequence(m.seq)).collect();
        let times: Vec<i64> = messages.iter().map(|m| sequence(m.ts)).collect();
        let senders: Vec<&str> = messages.iter().map(|m| m.from.as_str()).collect();
        let texts: Vec<&str> = messages.iter().map(|m| m.text.as_str()).collect();
        let actions: Vec<bool> = messages.iter().map(|m| m.action).collect();
        let (names, lasts): (Vec<&str>, Vec<i64>) = last.into_iter().unzip();
        let private_ts: Vec<i64> = private.iter().map(|m| sequence(m.ts)).collect();
        let private_from: Vec<&str> = private.iter().map(|m| m.from.as_str()).collect();
        let private_to: Vec<&str> = private.iter().map(|m| m.to.as_str()).collect();
        let private_text: Vec<&str> = private.iter().map(|m| m.text.as_str()).collect();
        let client = self.conn.client()?;
        let mut tx = client.transaction()?;
        if !private.is_empty() {
            tx.execute(
                "INSERT INTO private_messages (ts, sender, recipient, text)
                 SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[])",
                &[&private_ts, &private_from, &private_to, &private_text],
            )?;
        }
        tx.execute(
            "INSERT INTO messages (room, seq, ts, sender, text, action)
             SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::bool[])
             ON CONFLICT DO NOTHING",
            &[&rooms, &seqs, &times, &senders, &texts, &actions],
        )?;
        tx.execute(
            "INSERT INTO rooms (name, last_seq) SELECT * FROM unnest($1::text[], $2::bigint[])
             ON CONFLICT (name) DO UPDATE SET last_seq = greatest(rooms.last_seq, excluded.last_seq)",
            &[&names, &lasts],
        )?;
        tx.commit()
    }

    fn delete_through(
        &mut self,
        room: &str,
        through: i64,
        limit: u64,
    ) -> Result<u64, postgres::Error> {
        self.conn.client()?.execute(
            "DELETE FROM messages WHERE room = $1 AND seq IN
             (SELECT seq FROM messages WHERE room = $1 AND seq <= $2 ORDER BY seq LIMIT $3)",
            &[&room, &through, &sequence(limit)],
        )
    }

    fn retain_step(
        &mut self,
        retention: &Retention,
        now_ms: u64,
        limit: u64,
    ) -> Result<u64, postgres::Error> {
        let rooms: Vec<String> = self
            .conn
            .client()?
            .query("SELECT name FROM rooms", &[])?
            .iter()
            .map(|row| row.get(0))
            .collect();
        let mut deleted = 0;
        if let Some(age) = retention.max_age {
            let cutoff = sequence(now_ms.saturating_sub(age.as_millis() as u64));
            deleted += self.conn.client()?.execute(
                "DELETE FROM private_messages WHERE id IN
                 (SELECT id FROM private_messages WHERE ts < $1 LIMIT $2)",
                &[&cutoff, &sequence(limit)],
            )?;
        }
        for room in rooms {
            if deleted >= limit {
                break;
            }
            if let Some(keep) = retention.max_messages {
                let last: Option<i64> = self
                    .conn
                    .client()?
                    .query_one("SELECT max(seq) FROM messages WHERE room = $1", &[&room])?
                    .get(0);
                let through = last.unwrap_or(0) - sequence(keep);
                if through > 0 {
                    deleted += self.delete_through(&room, through, limit - deleted)?;
                }
            }
            if let Some(age) = retention.max_age {
                let cutoff = sequence(now_ms.saturating_sub(age.as_millis() as u64));
                let through: Option<i64> = self
                    .conn
                    .client()?
                    .query_one(
                        "SELECT max(seq) FROM (SELECT seq FROM messages WHERE room = $1 AND ts < $2
                         ORDER BY seq LIMIT $3) AS old",
                        &[&room, &cutoff, &sequence(limit - deleted)],
                    )?
                    .get(0);
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
        if messages.is_empty() && private.is_empty() {
            return Ok(());
        }
        self.insert(messages, private).map_err(|e| e.to_string())
    }

    fn purge(&mut self, room: &str, before: Option<u64>) -> Result<u64, String> {
        self.conn
            .client()
            .and_then(|client| {
                client.execute(
                    "DELETE FROM messages WHERE room = $1 AND seq < $2",
                    &[&room, &sequence(before.unwrap_or(u64::MAX))],
                )
            })
            .map_err(|e| e.to_string())
    }

    fn retain(&mut self, retention: &Retention, now_ms: u64, limit: u64) -> Result<u64, String> {
        self.retain_step(retention, now_ms, limit)
            .map_err(|e| e.to_string())
    }

    fn mark(&mut self, marks: &[Mark]) -> Result<(), String> {
        let mut apply = || -> Result<(), postgres::Error> {
            let mut tx = self.conn.client()?.transaction()?;
            for mark in marks {
                match mark {
                    Mark::Reserve { room, node, upto } => tx.execute(
                        "INSERT INTO reservations (room, node, upto) VALUES ($1, $2, $3)
                         ON CONFLICT (room, node) DO UPDATE SET upto = excluded.upto",
                        &[room, node, &sequence(*upto)],
                    )?,
                    Mark::Unlisted { room } => tx.execute(
                        "INSERT INTO unlisted_rooms (name) VALUES ($1) ON CONFLICT DO NOTHING",
                        &[room],
                    )?,
                    Mark::Release { node, floors } => {
                        let released = tx.execute(
                            "UPDATE reservations SET upto = coalesce(
                               (SELECT last_seq FROM rooms WHERE name = reservations.room), 0)
                             WHERE node = $1",
                            &[node],
                        )?;
                        for (room, floor) in floors {
                            tx.execute(
                                "UPDATE reservations SET upto = greatest(upto, $3)
                                 WHERE room = $1 AND node = $2",
                                &[room, node, &sequence(*floor)],
                            )?;
                        }
                        released
                    }
                };
            }
            tx.commit()
        };
        apply().map_err(|e| e.to_string())
    }
}

/// A connection for queries.
pub struct Reader {
    conn: Connection,
}

impl Reader {
    /// A reader with no connection (what a dropped one leaves behind).
    pub fn closed() -> Reader {
        Reader {
            conn: Connection::new(postgres::Config::new()),
        }
    }
}

fn message(row: &postgres::Row) -> ChatMessage {
    ChatMessage {
        room: row.get(0),
        seq: row.get::<_, i64>(1) as u64,
        ts: row.get::<_, i64>(2) as u64,
        from: row.get(3),
        text: row.get(4),
        action: row.get(5),
    }
}

fn query_error(e: postgres::Error) -> StoreError {
    StoreError::Query(e.to_string())
}

impl Reader {
    /// The number `room` numbers on from when `node` hosts it (see the SQLite backend's).
    pub fn last_seq(&mut self, room: &str, node: &str) -> Result<u64, StoreError> {
        let row = self
            .conn
            .client()
            .and_then(|client| {
                client.query_one(
                    "SELECT greatest(
                        coalesce((SELECT max(seq) FROM messages WHERE room = $1), 0),
                        coalesce((SELECT last_seq FROM rooms WHERE name = $1), 0),
                        coalesce((SELECT upto FROM reservations WHERE room = $1 AND node = $2), 0))",
                    &[&room, &node],
                )
            })
            .map_err(query_error)?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    /// The stored messages of `room` in `range`, oldest first.
    pub fn fetch(&mut self, room: &str, range: Range) -> Result<Vec<ChatMessage>, StoreError> {
        let after = sequence(range.after.unwrap_or(0));
        let before = sequence(range.before.unwrap_or(u64::MAX));
        let limit = i64::from(range.limit);
        let client = self.conn.client().map_err(query_error)?;
        if range.after.is_some() {
            let rows = client
                .query(
                    "SELECT room, seq, ts, sender, text, action FROM messages
                     WHERE room = $1 AND seq > $2 AND seq < $3 ORDER BY seq LIMIT $4",
                    &[&room, &after, &before, &limit],
                )
                .map_err(query_error)?;
            Ok(rows.iter().map(message).collect())
        } else {
            let rows = client
                .query(
                    "SELECT room, seq, ts, sender, text, action FROM messages
                     WHERE room = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3",
                    &[&room, &before, &limit],
                )
                .map_err(query_error)?;
            Ok(rows.iter().rev().map(message).collect())
        }
    }

    /// Whether `room` was made unlisted (a room by code).
    pub fn unlisted(&mut self, room: &str) -> Result<bool, StoreError> {
        let row = self
            .conn
            .client()
            .and_then(|client| {
                client.query_one(
                    "SELECT count(*) FROM unlisted_rooms WHERE name = $1",
                    &[&room],
                )
            })
            .map_err(query_error)?;
        Ok(row.get::<_, i64>(0) > 0)
    }

    /// How many messages of `room` are stored.
    pub fn count(&mut self, room: &str) -> Result<u64, StoreError> {
        let row = self
            .conn
            .client()
            .and_then(|client| {
                client.query_one("SELECT count(*) FROM messages WHERE room = $1", &[&room])
            })
            .map_err(query_error)?;
        Ok(row.get::<_, i64>(0) as u64)
    }
}
