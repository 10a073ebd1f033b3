//! The same history-store suite against both backends, real databases only: a SQLite file, and
//! a PostgreSQL server from Debian's packages that the harness starts and stops.

use std::time::Duration;

use chatd::protocol::ChatMessage;
use chatd::server::config::{Backend, HistoryConfig, PostgresConfig, Retention, SyncMode};
use chatd::server::store::writer::Writing;
use chatd::server::store::{PrivateMessage, Range, Store};

use crate::util::postgres::Postgres;

fn config(backend: Backend) -> HistoryConfig {
    HistoryConfig {
        backend,
        sync: SyncMode::Batch,
        batch: Duration::from_millis(5),
        write_queue: 10_000,
        retention: Retention::default(),
        node: "n".into(),
    }
}

fn message(room: &str, seq: u64) -> ChatMessage {
    ChatMessage {
        room: room.into(),
        seq,
        from: "ann".into(),
        text: format!("{room} {seq} — ünïcode"),
        action: seq.is_multiple_of(5),
        ts: 1_700_000_000_000 + seq,
    }
}

fn seqs(messages: &[ChatMessage]) -> Vec<u64> {
    messages.iter().map(|m| m.seq).collect()
}

/// What every backend must do; `reopen` gives a second store on the same database.
async fn suite(store: Store, reopen: impl Fn() -> Store + Send + 'static) {
    assert_eq!(store.last_seq("r").await.unwrap(), 0);
    for seq in 1..=50 {
        store.append(message("r", seq));
    }
    store.append(message("other", 1));
    store.append_durable(message("r", 51)).await.unwrap();
    store.flush().await;
    assert_eq!(store.last_seq("r").await.unwrap(), 51);
    assert_eq!(store.count("r").await.unwrap(), 51);
    assert_eq!(store.count("other").await.unwrap(), 1);
    assert_eq!(store.count("nobody").await.unwrap(), 0);

    let all = store
        .fetch(
            "r",
            Range {
                after: Some(0),
                before: None,
                limit: 1000,
            },
        )
        .await
        .unwrap();
    assert_eq!(all, (1..=51).map(|s| message("r", s)).collect::<Vec<_>>());
    let after = Range {
        after: Some(40),
        before: Some(45),
        limit: 3,
    };
    assert_eq!(seqs(&store.fetch("r", after).await.unwrap()), [41, 42, 43]);
    assert_eq!(
        seqs(&store.fetch("r", Range::last(2)).await.unwrap()),
        [50, 51]
    );
    let before = Range {
        after: None,
        before: Some(10),
        limit: 3,
    };
    assert_eq!(seqs(&store.fetch("r", before).await.unwrap()), [7, 8, 9]);

    // The same number twice keeps the first; a purge leaves the numbering alone.
    store.append(ChatMessage {
        text: "again".into(),
        ..message("r", 51)
    });
    store.flush().await;
    assert_eq!(
        store.fetch("r", Range::last(1)).await.unwrap()[0],
        message("r", 51)
    );
    assert_eq!(store.purge("r", Some(11)).await.unwrap(), 10);
    assert_eq!(store.count("r").await.unwrap(), 41);
    assert_eq!(store.purge("other", None).await.unwrap(), 1);
    assert_eq!(store.last_seq("other").await.unwrap(), 1);
    assert_eq!(store.health().error, None);
    drop(store);

    // Another store on the same database (a restart, or another node) sees it all.
    let again = tokio::task::spawn_blocking(reopen).await.unwrap();
    assert_eq!(again.last_seq("r").await.unwrap(), 51);
    assert_eq!(
        seqs(&again.fetch("r", Range::last(3)).await.unwrap()),
        [49, 50, 51]
    );
}

#[test]
fn the_sqlite_store_passes_the_suite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("suite.db");
    let open = move || {
        Store::open(&config(Backend::Sqlite(path.clone())))
            .unwrap()
            .unwrap()
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(suite(open(), open));
}

#[test]
fn the_postgres_store_passes_the_suite() {
    let server = Postgres::start();
    let backend = Backend::Postgres(PostgresConfig {
        url: server.url(),
        password: None,
    });
    let open = move || Store::open(&config(backend.clone())).unwrap().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(suite(open(), open));
}

/// Retention and purges through a backend's writing connection, as the writer thread uses it.
fn retention_suite(mut writer: impl Writing, count: impl Fn(&str) -> u64) {
    let day = 86_400_000;
    let batch: Vec<ChatMessage> = (1..=10)
        .map(|s| ChatMessage {
            ts: s * day,
            ..message("a", s)
        })
        .chain((1..=4).map(|s| ChatMessage {
            ts: 20 * day,
            ..message("b", s)
        }))
        .collect();
    let private = [PrivateMessage {
        from: "ann".into(),
        to: "bob".into(),
        text: "old".into(),
        ts: day,
    }];
    writer.commit(&batch, &private).unwrap();
    let keep_five = Retention {
        max_messages: Some(5),
        max_age: None,
    };
    assert_eq!(
        writer.retain(&keep_five, 0, 3).unwrap(),
        3,
        "a step at a time"
    );
    assert_eq!(writer.retain(&keep_five, 0, 3).unwrap(), 2);
    assert_eq!(writer.retain(&keep_five, 0, 3).unwrap(), 0);
    assert_eq!((count("a"), count("b")), (5, 4));
    let three_days = Retention {
        max_messages: None,
        max_age: Some(Duration::from_secs(3 * 86_400)),
    };
    // Day 11: "a" keeps days 8..=10, the private message of day 1 goes, "b" stays.
    assert_eq!(writer.retain(&three_days, 11 * day, 100).unwrap(), 3);
    assert_eq!((count("a"), count("b")), (3, 4));
    assert_eq!(writer.purge("b", Some(3)).unwrap(), 2);
    assert_eq!(count("b"), 2);
}

#[test]
fn both_backends_apply_retention_and_purges() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("retention.db");
    let (writer, _) = chatd::server::store::sqlite::open(&path, false).unwrap();
    let count = |room: &str| -> u64 {
        rusqlite::Connection::open(&path)
            .unwrap()
            .query_row(
                "SELECT count(*) FROM messages WHERE room = ?1",
                [room],
                |r| r.get::<_, i64>(0),
            )
            .unwrap() as u64
    };
    retention_suite(writer, count);

    let server = Postgres::start();
    let settings = PostgresConfig {
        url: server.url(),
        password: None,
    };
    let (writer, _) = chatd::server::store::postgres::open(&settings).unwrap();
    let count = |room: &str| -> u64 {
        server
            .connect("chatd")
            .query_one("SELECT count(*) FROM messages WHERE room = $1", &[&room])
            .unwrap()
            .get::<_, i64>(0) as u64
    };
    retention_suite(writer, count);
}
