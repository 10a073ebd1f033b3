//! The history writer: one thread per store that collects the messages rooms hand over and
//! commits them in batches — at least every `history.batch_ms` after the first, at once when
//! someone waits for the commit — retrying failed commits while chat goes on. Purges and
//! retention run here too, between batches, so that every write goes through one connection.
//! A backend supplies the [`Writing`] of one batch, one purge, one step of retention.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::error::StoreError;
use crate::protocol::{ChatMessage, now_ms};
use crate::server::config::Retention;

/// The most messages one transaction holds.
const MAX_BATCH: usize = 10_000;
/// The most messages kept for a retry while writes fail; past it they are dropped (counted).
const MAX_PENDING: usize = 100_000;
/// How long the writer waits before retrying a failed commit.
const RETRY: Duration = Duration::from_secs(1);
/// How often retention runs while nothing else needs the writer.
const RETENTION_EVERY: Duration = Duration::from_secs(60);
/// The most messages one step of retention deletes.
pub const RETENTION_BATCH: u64 = 1_000;
/// The pause between steps while retention has more to delete.
const RETENTION_PAUSE: Duration = Duration::from_millis(10);

/// A private message, as stored (`history.private = true`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateMessage {
    /// The sender's nick.
    pub from: String,
    /// The recipient's nick.
    pub to: String,
    /// The text.
    pub text: String,
    /// Milliseconds since the Unix epoch.
    pub ts: u64,
}

/// How far a room may number its messages. A room reserves numbers ahead before it uses them, so
/// that after its node crashes (which may lose the last batch) it numbers on after every number
/// it could have delivered, never reusing one a client has seen; a clean stop gives back what it
/// did not use. Reservations are per node: a room that fails over to another node numbers on
/// from what the survivors received, not from the dead node's reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mark {
    /// The room, hosted on `node`, may number up to `upto`.
    Reserve {
        /// The room.
        room: String,
        /// The node hosting it.
        node: String,
        /// The highest number it may use.
        upto: u64,
    },
    /// The room is unlisted (a room by code): it stays so when it is created again after a
    /// restart.
    Unlisted {
        /// The room.
        room: String,
    },
    /// `node` stops cleanly, everything committed: each of its reservations goes back to the
    /// last number its room stored, or past the last message it could not store (`floors`:
    /// those were delivered all the same).
    Release {
        /// The node.
        node: String,
        /// Rooms and the last number of a gap in their stored history.
        floors: Vec<(String, u64)>,
    },
}

/// What a backend's writing connection does, on the writer's thread.
pub trait Writing {
    /// Stores a batch in one transaction (a message whose room and number are stored already
    /// is left as it was).
    fn commit(
        &mut self,
        messages: &[ChatMessage],
        private: &[PrivateMessage],
    ) -> Result<(), String>;
    /// Deletes `room`'s messages numbered below `before` (all of them for `None`); how many.
    fn purge(&mut self, room: &str, before: Option<u64>) -> Result<u64, String>;
    /// Records how far rooms may number: a reservation raises a room's mark; a release sets it
    /// back to what was used, if the mark is still the releaser's.
    fn mark(&mut self, marks: &[Mark]) -> Result<(), String>;
    /// Leaves the database tidy at a clean stop (SQLite: the write-ahead log checkpointed, so
    /// that the file needs no recovery, even read-only).
    fn tidy(&mut self) -> Result<(), String> {
        Ok(())
    }
    /// Deletes at most `limit` messages past `retention` (older than the age limit, or beyond
    /// the count per room, oldest first) as of `now_ms`; how many.
    fn retain(&mut self, retention: &Retention, now_ms: u64, limit: u64) -> Result<u64, String>;
}

/// What the writer is handed.
pub enum Write {
    /// Store this message with the next batch.
    Message(ChatMessage),
    /// Store this private message with the next batch.
    Private(PrivateMessage),
    /// Store this message and answer once it is committed.
    Durable(ChatMessage, oneshot::Sender<Result<(), StoreError>>),
    /// Answer once everything handed over so far is committed.
    Flush(oneshot::Sender<()>),
    /// Commit everything, tidy the database, answer, and stop.
    Close(oneshot::Sender<()>),
    /// Record a room's numbering mark; answer once it is committed (for a reservation).
    Mark(Mark, Option<oneshot::Sender<Result<(), StoreError>>>),
    /// Delete a room's messages below a number (all without one), after what was handed over
    /// before; answer how many.
    Purge {
        /// The room.
        room: String,
        /// Only messages numbered below this.
        before: Option<u64>,
        /// The answer.
        done: oneshot::Sender<Result<u64, StoreError>>,
    },
}

/// What the handles and the writer share.
pub struct Shared {
    /// Where the database is, for messages.
    pub place: String,
    /// The error of the episode in progress, if writes are failing.
    pub trouble: Mutex<Option<String>>,
    /// Messages not stored because the writer's queue was full.
    pub dropped: AtomicU64,
    /// Messages committed.
    pub written: AtomicU64,
    /// The latest runs of room messages that could not be stored.
    pub gaps: Mutex<VecDeque<Gap>>,
}

/// A run of a room's messages that could not be stored: a hole in its stored history.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Gap {
    /// The room.
    pub room: String,
    /// The first message number missing.
    pub first: u64,
    /// The last message number missing.
    pub last: u64,
}

/// Gaps remembered for `chatctl status` (the oldest forgotten first).
const MAX_GAPS: usize = 100;

impl Shared {
    /// Records that `message` could not be stored: counted, and its number joins the gap it
    /// continues (or starts a new one, logged).
    pub fn lost(&self, message: &ChatMessage) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
        let Ok(mut gaps) = self.gaps.lock() else {
            return;
        };
        if let Some(gap) = gaps
            .iter_mut()
            .rev()
            .find(|g| g.room == message.room && g.last + 1 == message.seq)
        {
            gap.last = message.seq;
            return;
        }
        tracing::error!(store = %self.place, room = %message.room, seq = message.seq, "history message not stored (the writer is behind); the room's stored history has a gap from here");
        if gaps.len() == MAX_GAPS {
            gaps.pop_front();
        }
        gaps.push_back(Gap {
            room: message.room.clone(),
            first: message.seq,
            last: message.seq,
        });
    }

    /// Records a failing write: logged at the start of an episode only.
    pub fn failing(&self, error: &str) {
        if let Ok(mut trouble) = self.trouble.lock() {
            if trouble.is_none() {
                tracing::error!(store = %self.place, %error, "history writes are failing; chat goes on, writes are retried");
            }
            *trouble = Some(error.to_string());
        }
    }

    /// Records a write that succeeded: ends an episode of failures.
    pub fn healthy(&self) {
        if let Ok(mut trouble) = self.trouble.lock()
            && trouble.take().is_some()
        {
            tracing::warn!(store = %self.place, "history writes work again");
        }
    }
}

/// What the writer holds between commits.
#[derive(Default)]
struct Batch {
    messages: Vec<ChatMessage>,
    private: Vec<PrivateMessage>,
    durable: Vec<oneshot::Sender<Result<(), StoreError>>>,
    flushes: Vec<oneshot::Sender<()>>,
    closing: Option<oneshot::Sender<()>>,
    purges: Vec<PurgeRequest>,
    marks: Vec<Mark>,
    marked: Vec<oneshot::Sender<Result<(), StoreError>>>,
}

/// A purge waiting for the batch before it to be committed.
struct PurgeRequest {
    room: String,
    before: Option<u64>,
    done: oneshot::Sender<Result<u64, StoreError>>,
}

impl Batch {
    fn take(&mut self, write: Write) {
        match write {
            Write::Message(m) => self.messages.push(m),
            Write::Private(m) => self.private.push(m),
            Write::Durable(m, done) => {
                self.messages.push(m);
                self.durable.push(done);
            }
            Write::Flush(done) => self.flushes.push(done),
            Write::Close(done) => self.closing = Some(done),
            Write::Mark(mark, done) => {
                self.marks.push(mark);
                self.marked.extend(done);
            }
            Write::Purge { room, before, done } => {
                self.purges.push(PurgeRequest { room, before, done })
            }
        }
    }

    /// Whether the batch holds nothing to write.
    fn is_empty(&self) -> bool {
        self.messages.is_empty() && self.private.is_empty() && self.marks.is_empty()
    }

    /// Messages of both kinds to write.
    fn len(&self) -> usize {
        self.messages.len() + self.private.len()
    }

    /// Whether someone waits for this batch's commit (it should not wait for the window).
    fn urgent(&self) -> bool {
        !self.durable.is_empty()
            || !self.flushes.is_empty()
            || self.closing.is_some()
            || !self.purges.is_empty()
            || !self.marked.is_empty()
    }

    /// Commits the messages, then the marks (a reservation after the messages it follows).
    fn commit(&mut self, writing: &mut impl Writing) -> Result<(), String> {
        writing.commit(&self.messages, &self.private)?;
        if !self.marks.is_empty() {
            writing.mark(&self.marks)?;
        }
        Ok(())
    }

    /// Runs the purges asked for, after the batch they followed was committed.
    fn purge(&mut self, writing: &mut impl Writing) {
        for PurgeRequest { room, before, done } in self.purges.drain(..) {
            let result = writing.purge(&room, before).map_err(StoreError::Query);
            if let Ok(n) = &result {
                tracing::info!(%room, ?before, purged = n, "history purged");
            }
            let _ = done.send(result);
        }
    }

    fn answer(&mut self, result: Result<(), StoreError>) {
        for done in self.durable.drain(..).chain(self.marked.drain(..)) {
            let _ = done.send(result.clone());
        }
        for done in self.flushes.drain(..) {
            let _ = done.send(());
        }
    }
}

/// The writer: collects messages for at most `window` after the first one (less when someone
/// waits for the commit), commits them in one transaction, and retries a failed commit while
/// chat goes on. Ends when every [`super::Store`] handle is gone, after a last commit.
pub fn write_loop(
    mut writing: impl Writing,
    rx: Receiver<Write>,
    window: Duration,
    retention: Retention,
    shared: Arc<Shared>,
) {
    let mut batch = Batch::default();
    let mut open = true;
    let mut next_retention = Instant::now() + RETENTION_EVERY;
    loop {
        if batch.is_empty() && !batch.urgent() {
            if !open {
                break;
            }
            if !retention.is_active() {
                match rx.recv() {
                    Ok(write) => batch.take(write),
                    Err(_) => break,
                }
            } else {
                let idle = next_retention.saturating_duration_since(Instant::now());
                match rx.recv_timeout(idle) {
                    Ok(write) => batch.take(write),
                    Err(RecvTimeoutError::Timeout) => {
                        let more = retain(&mut writing, &retention, &shared);
                        next_retention = Instant::now()
                            + if more {
                                RETENTION_PAUSE
                            } else {
                                RETENTION_EVERY
                            };
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            }
        }
        let deadline = Instant::now() + window;
        while open && !batch.urgent() && batch.len() < MAX_BATCH {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            match rx.recv_timeout(deadline - now) {
                Ok(write) => batch.take(write),
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => open = false,
            }
        }
        while open && batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(write) => batch.take(write),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => open = false,
            }
        }
        match batch.commit(&mut writing) {
            Ok(()) => {
                shared
                    .written
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                batch.messages.clear();
                batch.private.clear();
                batch.marks.clear();
                batch.answer(Ok(()));
                batch.purge(&mut writing);
                shared.healthy();
                if let Some(done) = batch.closing.take() {
                    if let Err(error) = writing.tidy() {
                        tracing::warn!(store = %shared.place, %error, "history store not tidied");
                    }
                    let _ = done.send(());
                    break;
                }
            }
            Err(error) => {
                shared.failing(&error);
                batch.answer(Err(StoreError::Query(error.clone())));
                if let Some(done) = batch.closing.take() {
                    // Stopping with writes failing: what is held is lost (counted).
                    for message in batch.messages.drain(..) {
                        shared.lost(&message);
                    }
                    let _ = done.send(());
                    break;
                }
                for purge in batch.purges.drain(..) {
                    let _ = purge.done.send(Err(StoreError::Query(error.clone())));
                }
                if !open || batch.len() > MAX_PENDING {
                    for message in batch.messages.drain(..) {
                        shared.lost(&message);
                    }
                    let private = batch.private.len() as u64;
                    shared.dropped.fetch_add(private, Ordering::Relaxed);
                    batch.private.clear();
                    if !open {
                        break;
                    }
                }
                std::thread::sleep(RETRY);
            }
        }
    }
}

/// One step of retention; whether there is more to delete.
fn retain(writing: &mut impl Writing, retention: &Retention, shared: &Shared) -> bool {
    match writing.retain(retention, now_ms(), RETENTION_BATCH) {
        Ok(deleted) => {
            if deleted > 0 {
                tracing::debug!(store = %shared.place, deleted, "history retention");
            }
            deleted >= RETENTION_BATCH
        }
        Err(error) => {
            shared.failing(&error);
            false
        }
    }
}
