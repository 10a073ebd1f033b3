//! The store's reading side: one connection per store, used off the runtime's threads, whichever
//! the backend.

use super::error::StoreError;
use super::range::Range;
use super::{postgres, sqlite};
use crate::protocol::ChatMessage;

/// A backend's reading connection.
pub enum Reader {
    /// A SQLite file.
    Sqlite(sqlite::Reader),
    /// A PostgreSQL database (boxed: its client is much bigger than a SQLite connection).
    Postgres(Box<postgres::Reader>),
}

impl Drop for Reader {
    fn drop(&mut self) {
        // Closing a PostgreSQL client blocks on its own runtime, which must not happen on a
        // thread of chatd's: the last handle may go from inside an actor.
        if let Reader::Postgres(reader) = self
            && tokio::runtime::Handle::try_current().is_ok()
        {
            let reader = std::mem::replace(reader, Box::new(postgres::Reader::closed()));
            std::thread::spawn(move || drop(reader));
        }
    }
}

impl Reader {
    /// The number `room` numbers on from when `node` hosts it.
    pub fn last_seq(&mut self, room: &str, node: &str) -> Result<u64, StoreError> {
        match self {
            Reader::Sqlite(r) => r.last_seq(room, node),
            Reader::Postgres(r) => r.last_seq(room, node),
        }
    }

    /// The stored messages of `room` in `range`, oldest first.
    pub fn fetch(&mut self, room: &str, range: Range) -> Result<Vec<ChatMessage>, StoreError> {
        match self {
            Reader::Sqlite(r) => r.fetch(room, range),
            Reader::Postgres(r) => r.fetch(room, range),
        }
    }

    /// Whether `room` was made unlisted (a room by code).
    pub fn unlisted(&mut self, room: &str) -> Result<bool, StoreError> {
        match self {
            Reader::Sqlite(r) => r.unlisted(room),
            Reader::Postgres(r) => r.unlisted(room),
        }
    }

    /// How many messages of `room` are stored.
    pub fn count(&mut self, room: &str) -> Result<u64, StoreError> {
        match self {
            Reader::Sqlite(r) => r.count(room),
            Reader::Postgres(r) => r.count(room),
        }
    }
}
