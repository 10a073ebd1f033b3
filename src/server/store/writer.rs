//! The history writer: one thread per store that collects the messages rooms hand over and
//! commits them in batches — at least every `history.batch_ms` after the first, at once when
//! someone waits for the commit — retrying failed commits while chat goes on. The backend only
//! supplies the commit of one batch.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::error::StoreError;
use crate::protocol::ChatMessage;

/// The most messages one transaction holds.
const MAX_BATCH: usize = 10_000;
/// The most messages kept for a retry while writes fail; past it they are dropped (counted).
const MAX_PENDING: usize = 100_000;
/// How long the writer waits before retrying a failed commit.
const RETRY: Duration = Duration::from_secs(1);

/// What the writer is handed.
pub enum Write {
    /// Store this message with the next batch.
    Message(ChatMessage),
    /// Store this message and answer once it is committed.
    Durable(ChatMessage, oneshot::Sender<Result<(), StoreError>>),
    /// Answer once everything handed over so far is committed.
    Flush(oneshot::Sender<()>),
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
}

impl Shared {
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
    durable: Vec<oneshot::Sender<Result<(), StoreError>>>,
    flushes: Vec<oneshot::Sender<()>>,
}

impl Batch {
    fn take(&mut self, write: Write) {
        match write {
            Write::Message(m) => self.messages.push(m),
            Write::Durable(m, done) => {
                self.messages.push(m);
                self.durable.push(done);
            }
            Write::Flush(done) => self.flushes.push(done),
        }
    }

    /// Whether someone waits for this batch's commit (it should not wait for the window).
    fn urgent(&self) -> bool {
        !self.durable.is_empty() || !self.flushes.is_empty()
    }

    fn answer(&mut self, result: Result<(), StoreError>) {
        for done in self.durable.drain(..) {
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
    mut commit: impl FnMut(&[ChatMessage]) -> Result<(), String>,
    rx: Receiver<Write>,
    window: Duration,
    shared: Arc<Shared>,
) {
    let mut batch = Batch::default();
    let mut open = true;
    loop {
        if batch.messages.is_empty() && !batch.urgent() {
            if !open {
                break;
            }
            match rx.recv() {
                Ok(write) => batch.take(write),
                Err(_) => break,
            }
        }
        let deadline = Instant::now() + window;
        while open && !batch.urgent() && batch.messages.len() < MAX_BATCH {
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
        while open && batch.messages.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(write) => batch.take(write),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => open = false,
            }
        }
        match commit(&batch.messages) {
            Ok(()) => {
                shared
                    .written
                    .fetch_add(batch.messages.len() as u64, Ordering::Relaxed);
                batch.messages.clear();
                batch.answer(Ok(()));
                shared.healthy();
            }
            Err(error) => {
                shared.failing(&error);
                batch.answer(Err(StoreError::Query(error)));
                if !open || batch.messages.len() > MAX_PENDING {
                    let lost = batch.messages.len() as u64;
                    shared.dropped.fetch_add(lost, Ordering::Relaxed);
                    tracing::error!(store = %shared.place, lost, "history messages could not be stored");
                    batch.messages.clear();
                    if !open {
                        break;
                    }
                }
                std::thread::sleep(RETRY);
            }
        }
    }
}
