//! Durable history (`[history] store`): every room message, numbered by its room, kept in a
//! database so that a restart continues the numbering, a joiner's replay survives it, and a
//! client that was away catches up exactly by sequence number.
//!
//! The store is never on a room's critical path: a room hands each message to the store's
//! writer without waiting ([`Store::append`]), and the writer commits in batches — at least every
//! `history.batch_ms` (`sync = "batch"`), or before the room delivers (`sync = "always"`, where
//! the room waits for [`Store::append_durable`]). The promise:
//!
//! - after a clean stop nothing is lost (the writer commits what it holds before the node exits);
//! - after `kill -9`, at most the last batch window (`history.batch_ms`) is lost;
//! - with `sync = "always"`, nothing any member received is lost.
//!
//! A write that fails (full disk, read-only file) is retried; chat goes on meanwhile, the error
//! is logged once per episode and shown by `chatctl status`, and messages the writer could not
//! keep (its queue full, `history.write_queue`) are counted as dropped: their sequence numbers
//! show the gap to any client that fetches them. Reads run on their own connection off the
//! runtime's threads.
//!
//! [`sqlite`] is the embedded backend: one file in WAL mode, schema versioned by SQLite's
//! `user_version` and marked with its `application_id`, so a file that is not a chatd database
//! (or has a newer schema) stops the start with a message naming it.

pub mod error;
pub mod postgres;
pub mod range;
pub mod reader;
pub mod sqlite;
pub mod writer;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::protocol::ChatMessage;
use crate::server::config::{Backend, HistoryConfig, SyncMode};
pub use error::StoreError;
pub use range::Range;
use reader::Reader;
pub use writer::{Gap, Mark, PrivateMessage};
use writer::{Shared, Write};

/// The node's history store: cheap to clone, shared by its rooms and the control socket.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
    /// `sync = "always"`: rooms wait for the commit before delivering.
    durable: bool,
    /// This node's name (its rooms' reservations are its own).
    node: String,
    /// Where rooms of this process stood when they closed cleanly (see [`Store::remember`]).
    closed: Arc<Mutex<Closed>>,
    writer: std::sync::mpsc::SyncSender<Write>,
    reader: Arc<Mutex<Reader>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.shared.place)
    }
}

/// Where a room's numbering stood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Numbering {
    /// The last number used.
    pub used: u64,
    /// The highest number reserved in the store.
    pub reserved: u64,
}

/// Rooms that closed cleanly in this process, the oldest forgotten first past [`MAX_CLOSED`].
#[derive(Debug, Default)]
struct Closed {
    rooms: std::collections::HashMap<String, Numbering>,
    order: std::collections::VecDeque<String>,
}

/// Closed rooms remembered (a forgotten one takes the store's slower way back).
const MAX_CLOSED: usize = 10_000;

impl Closed {
    fn insert(&mut self, room: &str, numbering: Numbering) {
        if self.rooms.insert(room.to_string(), numbering).is_none() {
            self.order.push_back(room.to_string());
        }
        while self.order.len() > MAX_CLOSED {
            if let Some(old) = self.order.pop_front() {
                self.rooms.remove(&old);
            }
        }
    }

    fn take(&mut self, room: &str) -> Option<Numbering> {
        let numbering = self.rooms.remove(room)?;
        self.order.retain(|r| r != room);
        Some(numbering)
    }
}

/// How the store is doing, for `chatctl status` and the metrics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Where the history is.
    pub place: String,
    /// Messages committed since the start.
    pub written: u64,
    /// Messages not stored because the writer fell behind.
    pub dropped: u64,
    /// The latest gaps those left in rooms' stored histories.
    pub gaps: Vec<Gap>,
    /// The error writes are failing with now, if they are.
    pub error: Option<String>,
}

impl Store {
    /// Opens the store `config` names (creating or upgrading its schema); `None` for `memory`.
    /// A database that is not chatd's, or that a newer chatd wrote, is refused. This blocks
    /// (files, a database server): call it off the runtime's threads, as [`Store::connect`] does.
    pub fn open(config: &HistoryConfig) -> Result<Option<Store>, StoreError> {
        let durable = config.sync == SyncMode::Always;
        match &config.backend {
            Backend::Memory => Ok(None),
            Backend::Sqlite(path) => {
                let (writer, reader) = sqlite::open(path, durable)?;
                let place = path.display().to_string();
                Self::start(place, writer, Reader::Sqlite(reader), config).map(Some)
            }
            Backend::Postgres(settings) => {
                let (writer, reader) = postgres::open(settings)?;
                let place = postgres::place(settings);
                Self::start(place, writer, Reader::Postgres(Box::new(reader)), config).map(Some)
            }
        }
    }

    /// [`Store::open`] on a blocking thread.
    pub async fn connect(config: HistoryConfig) -> Result<Option<Store>, StoreError> {
        tokio::task::spawn_blocking(move || Store::open(&config))
            .await
            .map_err(|e| StoreError::Query(e.to_string()))?
    }

    /// Starts the writer thread on `writing` and builds the handle.
    fn start(
        place: String,
        writing: impl writer::Writing + Send + 'static,
        reader: Reader,
        config: &HistoryConfig,
    ) -> Result<Store, StoreError> {
        let durable = config.sync == SyncMode::Always;
        let shared = Arc::new(Shared {
            place,
            trouble: Mutex::new(None),
            dropped: AtomicU64::new(0),
            gaps: Mutex::new(Default::default()),
            written: AtomicU64::new(0),
        });
        let (tx, rx) = std::sync::mpsc::sync_channel(config.write_queue);
        let batch = config.batch;
        let retention = config.retention;
        let writer_shared = shared.clone();
        std::thread::Builder::new()
            .name("chatd-history".into())
            .spawn(move || writer::write_loop(writing, rx, batch, retention, writer_shared))
            .map_err(|e| StoreError::Open {
                path: shared.place.clone(),
                message: format!("cannot start the writer: {e}"),
            })?;
        Ok(Store {
            shared,
            durable,
            node: config.node.clone(),
            closed: Arc::new(Mutex::new(Closed::default())),
            writer: tx,
            reader: Arc::new(Mutex::new(reader)),
        })
    }

    /// Whether rooms wait for each message's commit before delivering it (`sync = "always"`).
    pub fn durable(&self) -> bool {
        self.durable
    }

    /// Hands a message to the writer without waiting. If the writer's queue is full the
    /// message is delivered but not stored, and counted.
    pub fn append(&self, message: ChatMessage) {
        use std::sync::mpsc::TrySendError;
        if let Err(TrySendError::Full(Write::Message(message)))
        | Err(TrySendError::Disconnected(Write::Message(message))) =
            self.writer.try_send(Write::Message(message))
        {
            self.shared.lost(&message);
        }
    }

    /// Hands a private message to the writer without waiting (`history.private = true`).
    pub fn append_private(&self, message: PrivateMessage) {
        if self.writer.try_send(Write::Private(message)).is_err() {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Hands `write` to the writer, waiting (off the runtime's threads) for room in its queue:
    /// for requests whose caller waits for the answer anyway.
    async fn hand_over(&self, write: Write) -> Result<(), StoreError> {
        let writer = self.writer.clone();
        tokio::task::spawn_blocking(move || writer.send(write))
            .await
            .map_err(|e| StoreError::Query(e.to_string()))?
            .map_err(|_| StoreError::Stopped)
    }

    /// Stores a message and waits until it is committed (`sync = "always"`).
    pub async fn append_durable(&self, message: ChatMessage) -> Result<(), StoreError> {
        let (tx, rx) = oneshot::channel();
        self.hand_over(Write::Durable(message, tx)).await?;
        rx.await.map_err(|_| StoreError::Stopped)?
    }

    /// Reserves numbers up to `upto` for `room`; the answer comes once that is committed (the
    /// room must not use them before). Never waits itself.
    pub fn reserve(&self, room: &str, upto: u64) -> oneshot::Receiver<Result<(), StoreError>> {
        let (done, answer) = oneshot::channel();
        let mark = Mark::Reserve {
            room: room.to_string(),
            node: self.node.clone(),
            upto,
        };
        let store = self.clone();
        tokio::spawn(async move {
            let _ = store.hand_over(Write::Mark(mark, Some(done))).await;
        });
        answer
    }

    /// Records that `room` is unlisted (a room by code), so that it stays unlisted when it is
    /// created again after a restart.
    pub fn mark_unlisted(&self, room: &str) {
        let mark = Mark::Unlisted {
            room: room.to_string(),
        };
        let _ = self.writer.try_send(Write::Mark(mark, None));
    }

    /// Whether `room` was made unlisted.
    pub async fn unlisted(&self, room: &str) -> Result<bool, StoreError> {
        let room = room.to_string();
        self.read(move |r| r.unlisted(&room)).await
    }

    /// Waits until everything handed over so far is committed.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.hand_over(Write::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// A clean stop: commits everything handed over, then gives back the numbers this node's
    /// rooms reserved and did not use, so that a restart numbers on without a gap.
    pub async fn close(&self) {
        let floors = self
            .health()
            .gaps
            .into_iter()
            .map(|gap| (gap.room, gap.last))
            .collect();
        let release = Mark::Release {
            node: self.node.clone(),
            floors,
        };
        let _ = self.hand_over(Write::Mark(release, None)).await;
        let (tx, rx) = oneshot::channel();
        if self.hand_over(Write::Close(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// Deletes `room`'s stored messages numbered below `before` (all of them for `None`), after
    /// everything handed over before; how many.
    pub async fn purge(&self, room: &str, before: Option<u64>) -> Result<u64, StoreError> {
        let (done, answer) = oneshot::channel();
        let purge = Write::Purge {
            room: room.to_string(),
            before,
            done,
        };
        self.hand_over(purge).await?;
        answer.await.map_err(|_| StoreError::Stopped)?
    }

    /// Runs `query` on the reading connection, off the runtime's threads.
    async fn read<T: Send + 'static>(
        &self,
        query: impl FnOnce(&mut Reader) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let reader = self.reader.clone();
        tokio::task::spawn_blocking(move || {
            let mut reader = reader
                .lock()
                .map_err(|_| StoreError::Query("the reader is poisoned".into()))?;
            query(&mut reader)
        })
        .await
        .map_err(|e| StoreError::Query(e.to_string()))?
    }

    /// A room closes cleanly (it was empty) having used numbers up to `used` with `reserved`
    /// reserved: remembered, so that when it is created again in this process it numbers on
    /// from there without a reservation to wait for. (After a crash nothing is remembered and
    /// the store's reservation applies.)
    pub fn remember(&self, room: &str, used: u64, reserved: u64) {
        if let Ok(mut closed) = self.closed.lock() {
            closed.insert(room, Numbering { used, reserved });
        }
    }

    /// What [`Store::remember`] kept of `room`, taken.
    pub fn recall(&self, room: &str) -> Option<Numbering> {
        self.closed.lock().ok()?.take(room)
    }

    /// What a room starting needs, in one read: the number to go on from (with this node's
    /// reservation counted if `reserved`, see [`Store::last_seq`]), and its last `limit`
    /// messages.
    pub async fn resume(
        &self,
        room: &str,
        limit: u32,
        reserved: bool,
    ) -> Result<(u64, Vec<ChatMessage>), StoreError> {
        let room = room.to_string();
        // No node's reservation counts for an empty node name (node names are never empty).
        let node = if reserved {
            self.node.clone()
        } else {
            String::new()
        };
        self.read(move |r| {
            Ok((
                r.last_seq(&room, &node)?,
                r.fetch(&room, Range::last(limit))?,
            ))
        })
        .await
    }

    /// The number `room` numbers on from on this node: its last message ever stored, or the
    /// numbers this node reserved for it (it may have delivered them before a crash).
    pub async fn last_seq(&self, room: &str) -> Result<u64, StoreError> {
        let room = room.to_string();
        let node = self.node.clone();
        self.read(move |r| r.last_seq(&room, &node)).await
    }

    /// The stored messages of `room` in `range`, oldest first.
    pub async fn fetch(&self, room: &str, range: Range) -> Result<Vec<ChatMessage>, StoreError> {
        let room = room.to_string();
        self.read(move |r| r.fetch(&room, range)).await
    }

    /// How many messages of `room` are stored.
    pub async fn count(&self, room: &str) -> Result<u64, StoreError> {
        let room = room.to_string();
        self.read(move |r| r.count(&room)).await
    }

    /// How the store is doing.
    pub fn health(&self) -> Health {
        Health {
            place: self.shared.place.clone(),
            written: self.shared.written.load(Ordering::Relaxed),
            dropped: self.shared.dropped.load(Ordering::Relaxed),
            gaps: self
                .shared
                .gaps
                .lock()
                .map(|g| g.iter().cloned().collect())
                .unwrap_or_default(),
            error: self.shared.trouble.lock().ok().and_then(|t| t.clone()),
        }
    }

    /// Where the history is.
    pub fn place(&self) -> PathBuf {
        PathBuf::from(&self.shared.place)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn message(seq: u64) -> ChatMessage {
        ChatMessage {
            room: "r".into(),
            seq,
            from: "a".into(),
            text: format!("m{seq}"),
            action: false,
            ts: seq,
        }
    }

    fn config(path: &Path) -> HistoryConfig {
        HistoryConfig {
            backend: Backend::Sqlite(path.to_path_buf()),
            sync: SyncMode::Batch,
            batch: std::time::Duration::from_millis(5),
            write_queue: 1000,
            retention: crate::server::config::Retention::default(),
            node: "n".into(),
        }
    }

    fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open(&config(path)).map(|store| store.expect("a sqlite store"))
    }

    #[tokio::test]
    async fn messages_are_stored_fetched_by_range_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("n.db");
        let store = open(&path).unwrap();
        assert_eq!(store.last_seq("r").await.unwrap(), 0);
        for seq in 1..=10 {
            store.append(message(seq));
        }
        store
            .append_durable(ChatMessage {
                room: "other".into(),
                ..message(1)
            })
            .await
            .unwrap();
        store.flush().await;
        assert_eq!(store.last_seq("r").await.unwrap(), 10);
        assert_eq!(store.count("r").await.unwrap(), 10);
        assert_eq!(store.count("other").await.unwrap(), 1);
        let seqs = |ms: Vec<ChatMessage>| ms.iter().map(|m| m.seq).collect::<Vec<_>>();
        let after = Range {
            after: Some(7),
            before: None,
            limit: 100,
        };
        assert_eq!(seqs(store.fetch("r", after).await.unwrap()), [8, 9, 10]);
        assert_eq!(
            seqs(store.fetch("r", Range::last(2)).await.unwrap()),
            [9, 10]
        );
        let before = Range {
            after: None,
            before: Some(4),
            limit: 2,
        };
        assert_eq!(seqs(store.fetch("r", before).await.unwrap()), [2, 3]);
        assert_eq!(
            store.fetch("r", Range::last(1)).await.unwrap()[0],
            message(10)
        );
        // The same number twice keeps the first.
        store.append(ChatMessage {
            text: "again".into(),
            ..message(10)
        });
        store.flush().await;
        assert_eq!(
            store.fetch("r", Range::last(1)).await.unwrap()[0].text,
            "m10"
        );
        assert_eq!(store.health().written, 12);
        drop(store);
        let store = open(&path).unwrap();
        assert_eq!(store.last_seq("r").await.unwrap(), 10);
        assert_eq!(store.health().error, None);
    }

    #[test]
    fn files_that_are_not_chatd_databases_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("garbage.db");
        std::fs::write(&garbage, vec![0x5a; 8192]).unwrap();
        let e = open(&garbage).unwrap_err().to_string();
        assert!(e.contains("garbage.db") && e.contains("not a chatd"), "{e}");

        let other = dir.path().join("other.db");
        rusqlite::Connection::open(&other)
            .unwrap()
            .execute_batch("CREATE TABLE accounts (id INTEGER);")
            .unwrap();
        let e = open(&other).unwrap_err().to_string();
        assert!(
            e.contains("other.db") && e.contains("something else"),
            "{e}"
        );

        let newer = dir.path().join("newer.db");
        drop(open(&newer).unwrap());
        rusqlite::Connection::open(&newer)
            .unwrap()
            .execute_batch("PRAGMA user_version = 99;")
            .unwrap();
        let e = open(&newer).unwrap_err().to_string();
        assert!(e.contains("newer.db") && e.contains("newer chatd"), "{e}");
    }
}
