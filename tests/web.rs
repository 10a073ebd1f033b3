//! The web front: HTTP, and the JSON protocol over a real WebSocket (tokio-tungstenite) against
//! the real binary, beside netcat users.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream as AsyncTcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::util::{Server, WAIT};

type Ws = WebSocketStream<MaybeTlsStream<AsyncTcpStream>>;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn connect(addr: SocketAddr) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .expect("WebSocket handshake");
    ws
}

/// Any WebSocket stream, plain or over TLS.
trait Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin {}
impl<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin> Stream for S {}

async fn send(ws: &mut WebSocketStream<impl Stream>, value: Value) {
    ws.send(Message::text(value.to_string())).await.unwrap();
}

/// Reads events until one has `type` and satisfies `pred`; returns it.
async fn expect(
    ws: &mut WebSocketStream<impl Stream>,
    kind: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(WAIT, async {
        while let Some(message) = ws.next().await {
            if let Ok(Message::Text(text)) = message {
                let value: Value = serde_json::from_str(&text).expect("JSON from the server");
                if value["type"] == kind && pred(&value) {
                    return Some(value);
                }
                seen.push(value);
            }
        }
        None
    })
    .await;
    match found {
        Ok(Some(value)) => value,
        _ => panic!("never got a {kind:?} event; got {seen:?}"),
    }
}

/// Reads (and drops) messages until the server's close frame, within `within`.
async fn close_frame(ws: &mut Ws, within: Duration) -> CloseFrame {
    let close = tokio::time::timeout(within, async {
        while let Some(message) = ws.next().await {
            match message {
                Ok(Message::Close(frame)) => return frame,
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
        None
    })
    .await
    .expect("the connection closes");
    close.expect("a close frame")
}

/// A WebSocket user with a nick, in `room`.
async fn user(addr: SocketAddr, nick: &str, room: &str) -> Ws {
    let mut ws = connect(addr).await;
    expect(&mut ws, "welcome", |_| true).await;
    send(&mut ws, json!({"type": "nick", "nick": nick})).await;
    expect(&mut ws, "nick_ok", |_| true).await;
    send(&mut ws, json!({"type": "join", "room": room})).await;
    expect(&mut ws, "joined", |_| true).await;
    ws
}

/// The whole HTTP response to `GET path`.
fn get(addr: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn the_page_and_the_health_check_are_served() {
    let server = Server::start("");
    let web = server.web_addr();
    let health = get(web, "/healthz");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let page = get(web, "/");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    for label in ["Nick", "Room", "Message"] {
        assert!(
            page.contains(&format!(">{label}</label>")),
            "no {label} field"
        );
    }
    assert!(!page.contains("innerHTML"), "text is inserted as text");
    let not_websocket = get(web, "/ws");
    assert!(not_websocket.starts_with("HTTP/1.1 426"), "{not_websocket}");
}

#[test]
fn a_browser_user_and_a_netcat_user_chat_both_ways() {
    let server = Server::start("");
    let mut netcat = server.user("bob", "general");
    runtime().block_on(async {
        let mut alice = user(server.web_addr(), "alice", "general").await;
        send(
            &mut alice,
            json!({"type": "msg", "text": "hello from the web"}),
        )
        .await;
        let echo = expect(&mut alice, "message", |m| m["text"] == "hello from the web").await;
        assert_eq!(echo["from"], "alice");
        assert_eq!(echo["room"], "general");
        assert!(echo["seq"].as_u64().is_some_and(|s| s > 0));
        netcat.expect("#general <alice> hello from the web");
        netcat.send("hi browser");
        let heard = expect(&mut alice, "message", |m| m["text"] == "hi browser").await;
        assert_eq!(heard["from"], "bob");
        send(
            &mut alice,
            json!({"type": "private_msg", "to": "bob", "text": "psst"}),
        )
        .await;
        netcat.expect("*alice -> bob* psst");
        // A room by code, from the browser.
        send(&mut alice, json!({"type": "create"})).await;
        let joined = expect(&mut alice, "joined", |_| true).await;
        assert_eq!(joined["room"].as_str().map(str::len), Some(6), "{joined}");
        send(&mut alice, json!({"type": "quit", "reason": "bye"})).await;
        netcat.expect("alice left (quit: bye)");
        let frame = close_frame(&mut alice, WAIT).await;
        assert_eq!(frame.code, CloseCode::Normal, "{frame:?}");
    });
}

#[test]
fn bad_messages_get_an_error_and_the_session_continues() {
    let server = Server::start("[limits]\nmax_frame_bytes = 1000\n");
    runtime().block_on(async {
        let mut ws = user(server.web_addr(), "mallory", "general").await;
        let bad_frame = |e: &Value| e["code"] == "bad_frame";
        ws.send(Message::text("not json")).await.unwrap();
        expect(&mut ws, "error", bad_frame).await;
        send(&mut ws, json!({"type": "frobnicate"})).await;
        expect(&mut ws, "error", bad_frame).await;
        ws.send(Message::binary(vec![0u8, 1, 2])).await.unwrap();
        expect(&mut ws, "error", bad_frame).await;
        send(&mut ws, json!({"type": "msg", "text": "\u{1b}[2Jforged"})).await;
        expect(&mut ws, "error", |e| e["code"] == "invalid_character").await;
        send(&mut ws, json!({"type": "ping", "token": "alive"})).await;
        expect(&mut ws, "pong", |e| e["token"] == "alive").await;
        // A WebSocket ping is answered with its pong, in line with the events.
        ws.send(Message::Ping(b"still there?".to_vec().into()))
            .await
            .unwrap();
        let pong = tokio::time::timeout(WAIT, async {
            loop {
                match ws.next().await {
                    Some(Ok(Message::Pong(data))) => return data,
                    Some(Ok(_)) => continue,
                    other => panic!("no pong: {other:?}"),
                }
            }
        })
        .await
        .expect("a pong");
        assert_eq!(&pong[..], b"still there?");
        // Past limits.max_frame_bytes: closed with 1009.
        ws.send(Message::text("x".repeat(5000))).await.unwrap();
        let frame = close_frame(&mut ws, WAIT).await;
        assert_eq!(frame.code, CloseCode::Size, "{frame:?}");
    });
}

#[test]
fn a_foreign_origin_is_refused_and_per_address_limits_apply() {
    let server = Server::start(
        "[limits]\nmax_connections_per_ip = 1\nexempt_addresses = []\n[web]\nlisten = \"127.0.0.1:0\"\n",
    );
    let web = server.web_addr();
    runtime().block_on(async {
        let mut request = format!("ws://{web}/ws").into_client_request().unwrap();
        request
            .headers_mut()
            .insert("Origin", "http://evil.example".parse().unwrap());
        match tokio_tungstenite::connect_async(request).await {
            Err(WsError::Http(response)) => assert_eq!(response.status(), 403),
            other => panic!("a foreign origin was let in: {other:?}"),
        }
        let mut own = format!("ws://{web}/ws").into_client_request().unwrap();
        own.headers_mut()
            .insert("Origin", format!("http://{web}").parse().unwrap());
        let (_first, _) = tokio_tungstenite::connect_async(own)
            .await
            .expect("own origin");
        // The address holds its one connection: the next WebSocket is refused.
        match tokio_tungstenite::connect_async(format!("ws://{web}/ws")).await {
            Err(WsError::Http(response)) => assert_eq!(response.status(), 503),
            other => panic!("the per-address limit did not apply: {other:?}"),
        }
    });
}

#[test]
fn a_browser_that_never_reads_is_closed_with_1008() {
    let server = Server::start("[limits]\nsend_queue = 16\n");
    let addr = server.addr;
    runtime().block_on(async {
        let mut sleeper = user(server.web_addr(), "sleeper", "general").await;
        // The sleeper reads nothing while the room fills its queue and its socket. Flooders
        // read their own echoes all along; on a loaded machine one may fall behind and be cut
        // off itself (its queue is 16 messages too), so another takes over until the sleeper
        // is closed.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flooding = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                use std::io::Write as _;
                let line = format!("{}\n", "y".repeat(1000));
                for n in 0.. {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        return;
                    }
                    let mut flooder = crate::util::LineClient::connect(addr);
                    flooder.send(&format!("/nick flood{n}"));
                    flooder.send("/join general");
                    let mut echoes = flooder.clone_reader();
                    std::thread::spawn(move || while echoes.next_line().is_some() {});
                    let mut writer = flooder.writer();
                    for _ in 0..3000 {
                        if stop.load(std::sync::atomic::Ordering::Relaxed)
                            || writer.write_all(line.as_bytes()).is_err()
                        {
                            break;
                        }
                    }
                }
            })
        };
        let frame = close_frame(&mut sleeper, Duration::from_secs(30)).await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = flooding.join();
        assert_eq!(frame.code, CloseCode::Policy, "{frame:?}");
        assert!(frame.reason.contains("send_queue_exceeded"), "{frame:?}");
    });
}

#[test]
fn a_browser_user_on_one_node_and_a_netcat_user_on_another_share_a_room() {
    let nodes = crate::cluster::mesh(&["alpha", "bravo"]);
    let mut netcat = nodes[1].user("bob", "lobby");
    runtime().block_on(async {
        let mut alice = user(nodes[0].web_addr(), "alice", "lobby").await;
        netcat.expect("alice joined");
        send(&mut alice, json!({"type": "msg", "text": "across nodes"})).await;
        netcat.expect("#lobby <alice> across nodes");
        netcat.send("received");
        let heard = expect(&mut alice, "message", |m| m["text"] == "received").await;
        assert_eq!(heard["from"], "bob");
        send(&mut alice, json!({"type": "list_users"})).await;
        let users = expect(&mut alice, "user_list", |_| true).await;
        assert_eq!(users["users"], json!(["alice", "bob"]));
    });
}

#[test]
fn behind_a_trusted_proxy_the_forwarded_address_is_the_clients() {
    let server = Server::start(
        "[limits]\nmax_connections_per_ip = 1\nexempt_addresses = []\n\
         [web]\nlisten = \"127.0.0.1:0\"\ntrusted_proxies = [\"127.0.0.0/8\"]\n",
    );
    let web = server.web_addr();
    let via_proxy = |client: &str| {
        let mut request = format!("ws://{web}/ws").into_client_request().unwrap();
        request
            .headers_mut()
            .insert("X-Forwarded-For", client.parse().unwrap());
        tokio_tungstenite::connect_async(request)
    };
    runtime().block_on(async {
        let (mut first, _) = via_proxy("203.0.113.9").await.expect("the first client");
        expect(&mut first, "welcome", |_| true).await;
        send(&mut first, json!({"type": "nick", "nick": "proxied"})).await;
        expect(&mut first, "nick_ok", |_| true).await;
        // The limit is the forwarded address's, not the proxy's.
        match via_proxy("203.0.113.9").await {
            Err(WsError::Http(response)) => assert_eq!(response.status(), 503),
            other => panic!("the same client got a second connection: {other:?}"),
        }
        let (_other, _) = via_proxy("203.0.113.10").await.expect("another client");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_chatctl"))
            .arg("--socket")
            .arg(&server.socket)
            .arg("users")
            .output()
            .unwrap();
        crate::util::assert_success(&out);
        let users = String::from_utf8_lossy(&out.stdout);
        assert!(users.contains("203.0.113.9"), "{users}");
    });
}

#[test]
fn a_flooding_browser_is_rate_limited_and_stays_connected() {
    let server = Server::start("[limits]\nrate = 1\nburst = 3\n");
    runtime().block_on(async {
        let mut ws = connect(server.web_addr()).await;
        expect(&mut ws, "welcome", |_| true).await;
        for i in 0..10 {
            send(&mut ws, json!({"type": "ping", "token": format!("p{i}")})).await;
        }
        expect(&mut ws, "error", |e| e["code"] == "rate_limited").await;
        // The bucket refills at one command a second: the connection is still served.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        send(&mut ws, json!({"type": "ping", "token": "later"})).await;
        expect(&mut ws, "pong", |e| e["token"] == "later").await;
    });
}

/// Every event up to and including the first `type` that satisfies `pred`.
async fn events_until(ws: &mut Ws, kind: &str, pred: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(WAIT, async {
        while let Some(message) = ws.next().await {
            if let Ok(Message::Text(text)) = message {
                let value: Value = serde_json::from_str(&text).expect("JSON from the server");
                let last = value["type"] == kind && pred(&value);
                seen.push(value);
                if last {
                    return true;
                }
            }
        }
        false
    })
    .await;
    assert_eq!(found, Ok(true), "never got a {kind:?} event; got {seen:?}");
    seen
}

#[test]
fn typing_reaches_the_others_throttled_and_ends_by_expiry_message_or_leave() {
    let server = Server::start("");
    let mut bob = server.user("bob", "general");
    bob.send("/typing on");
    bob.expect("typing indicators on");
    let mut dave = server.user("dave", "general");
    runtime().block_on(async {
        let mut alice = user(server.web_addr(), "alice", "general").await;
        let mut carol = user(server.web_addr(), "carol", "general").await;
        let typing = |active: bool| json!({"type": "typing", "room": "general", "active": active});
        let alice_typing = |e: &Value| e["nick"] == "alice";

        // A start is passed on; a refresh at once is throttled; with no more refreshes the
        // state expires after about 6 s and the others are told.
        let start = tokio::time::Instant::now();
        send(&mut alice, typing(true)).await;
        send(&mut alice, typing(true)).await;
        let on = expect(&mut carol, "typing", alice_typing).await;
        assert_eq!(
            on,
            json!({"type": "typing", "room": "general", "nick": "alice", "active": true})
        );
        bob.expect("#general -- alice is typing");
        let until_off = events_until(&mut carol, "typing", alice_typing).await;
        let elapsed = start.elapsed();
        assert_eq!(until_off.last().unwrap()["active"], false, "{until_off:?}");
        assert!(
            elapsed >= Duration::from_millis(5500),
            "expired after {elapsed:?}, before the 6 s expiry"
        );
        bob.expect("#general -- alice stopped typing");

        // A message ends it: the others hear the stop, then the message.
        send(&mut alice, typing(true)).await;
        expect(&mut carol, "typing", |e| e["active"] == true).await;
        send(&mut alice, json!({"type": "msg", "text": "done typing"})).await;
        let seen = events_until(&mut carol, "message", |m| m["text"] == "done typing").await;
        let kinds: Vec<&str> = seen.iter().filter_map(|e| e["type"].as_str()).collect();
        assert_eq!(kinds, ["typing", "message"], "{seen:?}");
        assert_eq!(seen[0]["active"], false);

        // An explicit stop, and leaving, end it too.
        send(&mut alice, typing(true)).await;
        expect(&mut carol, "typing", |e| e["active"] == true).await;
        send(&mut alice, typing(false)).await;
        expect(&mut carol, "typing", |e| e["active"] == false).await;
        send(&mut alice, typing(true)).await;
        expect(&mut carol, "typing", |e| e["active"] == true).await;
        send(&mut alice, json!({"type": "leave"})).await;
        let seen = events_until(&mut carol, "user_left", |e| e["nick"] == "alice").await;
        assert_eq!(seen[0]["type"], "typing", "{seen:?}");
        assert_eq!(seen[0]["active"], false);

        // Typing in a room one is not in is refused; the typist never hears herself.
        send(&mut alice, typing(true)).await;
        let seen = events_until(&mut alice, "error", |e| e["code"] == "not_in_room").await;
        assert!(
            !seen.iter().any(|e| e["type"] == "typing"),
            "alice heard her own typing: {seen:?}"
        );
    });
    // Netcat users who did not ask see none of it.
    dave.sync();
    assert!(
        !dave
            .seen
            .iter()
            .any(|l| l.contains(" is typing") || l.contains("stopped typing")),
        "{:?}",
        dave.seen
    );
}

/// The value of the sample `name` (with its labels) in a Prometheus exposition.
fn sample(exposition: &str, name: &str) -> Option<f64> {
    exposition
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn metrics_count_sessions_by_front_messages_and_cut_offs() {
    let server = Server::start("[metrics]\nlisten = \"127.0.0.1:0\"\n");
    let metrics = server.metrics_addr();
    let mut bob = server.user("bob", "general");
    runtime().block_on(async {
        let mut alice = user(server.web_addr(), "alice", "general").await;
        send(&mut alice, json!({"type": "msg", "text": "counted"})).await;
        expect(&mut alice, "message", |m| m["text"] == "counted").await;
        bob.expect("<alice> counted");
        let expected = [
            ("chatd_sessions{protocol=\"line\"}", 1.0),
            ("chatd_sessions{protocol=\"web\"}", 1.0),
            ("chatd_sessions{protocol=\"frame\"}", 0.0),
            ("chatd_rooms_hosted", 1.0),
            ("chatd_messages_in_total", 1.0),
            ("chatd_messages_out_total", 2.0),
            ("chatd_cluster_peers_up", 0.0),
            ("chatd_room_failovers_total", 0.0),
        ];
        // The counters are updated by the actors as they go: a scrape may come a moment early.
        let mut response = String::new();
        let deadline = std::time::Instant::now() + WAIT;
        while std::time::Instant::now() < deadline {
            response = get(metrics, "/metrics");
            if expected
                .iter()
                .all(|(name, value)| sample(&response, name) == Some(*value))
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(
            response.contains("application/openmetrics-text"),
            "{response}"
        );
        for (name, value) in expected {
            assert_eq!(
                sample(&response, name),
                Some(value),
                "{name} in\n{response}"
            );
        }
        assert!(sample(&response, "chatd_send_queue_bytes").is_some());
        assert!(sample(&response, "chatd_resident_memory_bytes").is_some_and(|b| b > 0.0));
        // An administrator's kick is a cut-off, by its reason.
        let kicked = std::process::Command::new(env!("CARGO_BIN_EXE_chatctl"))
            .arg("--socket")
            .arg(&server.socket)
            .args(["kick", "alice"])
            .output()
            .unwrap();
        crate::util::assert_success(&kicked);
        close_frame(&mut alice, WAIT).await;
        crate::util::eventually(WAIT, "the kick counted", || {
            sample(
                &get(metrics, "/metrics"),
                "chatd_cut_offs_total{reason=\"kicked\"}",
            ) == Some(1.0)
        });
    });
}

/// A self-signed certificate for 127.0.0.1, as `[web.tls]` lines, and its DER for a client.
fn web_certificate(dir: &std::path::Path) -> (String, Vec<u8>) {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let (cert_path, key_path) = (dir.join("web.pem"), dir.join("web.key"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    let lines = format!(
        "[web.tls]\ncert = \"{}\"\nkey = \"{}\"\n",
        cert_path.display(),
        key_path.display()
    );
    (lines, cert.der().to_vec())
}

/// A TLS connection to `addr` that trusts only `cert`.
async fn tls_connect(
    addr: SocketAddr,
    cert: &[u8],
) -> tokio_rustls::client::TlsStream<AsyncTcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(cert.to_vec()))
        .unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = AsyncTcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    connector.connect(name, tcp).await.expect("TLS handshake")
}

#[test]
fn with_web_tls_the_page_and_the_websocket_are_served_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let (tls, cert) = web_certificate(dir.path());
    let server = Server::start(&tls);
    let web = server.web_addr();
    assert!(
        server.log().contains(&format!("https://{web}/")),
        "{}",
        server.log()
    );
    let mut bob = server.user("bob", "general");
    runtime().block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tls_connect(web, &cert).await;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");

        let stream = tls_connect(web, &cert).await;
        let (mut wss, _) = tokio_tungstenite::client_async(format!("wss://{web}/ws"), stream)
            .await
            .expect("WebSocket over TLS");
        expect(&mut wss, "welcome", |_| true).await;
        send(&mut wss, json!({"type": "nick", "nick": "alice"})).await;
        send(&mut wss, json!({"type": "join", "room": "general"})).await;
        expect(&mut wss, "joined", |_| true).await;
        send(&mut wss, json!({"type": "msg", "text": "encrypted hello"})).await;
        bob.expect("#general <alice> encrypted hello");
        bob.send("and back");
        expect(&mut wss, "message", |m| m["text"] == "and back").await;
    });
    // Plain http on the TLS port gets no page.
    let mut plain = TcpStream::connect(web).unwrap();
    plain.set_read_timeout(Some(WAIT)).unwrap();
    write!(plain, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(
        !answer.starts_with(b"HTTP/1.1 200"),
        "plain http was served"
    );
}
