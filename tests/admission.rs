//! What a stranger can spend: connections per address, connections that never register, a
//! client that never reads, rooms, message sizes. Each bound answers with an error naming it.

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr};
use std::process::Command as Process;
use std::time::Duration;

use chatd::protocol::{ChatMessage, Command, ErrorCode, Event};

use crate::util::{FrameClient, Server, connect_from, eventually};

const OTHER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
const HERE: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

#[test]
fn silent_connections_are_closed_and_never_lock_out_another_address() {
    let server = Server::start(
        "[limits]\nregistration_timeout_secs = 2\nmax_connections_per_ip = 3\nexempt_addresses = []\n",
    );
    // Three sockets that never send a byte, and one that never sets a nick.
    let mut silent: Vec<_> = (0..2).map(|_| server.line_from(HERE)).collect();
    let mut nickless = server.line_from(HERE);
    nickless.send("/ping still-here");
    nickless.expect("pong still-here");
    // The address is at its limit: a fourth connection from it is refused, naming the limit.
    let mut fourth = String::new();
    let mut stream = connect_from(HERE, server.addr);
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.read_to_string(&mut fourth).unwrap();
    let lines: Vec<&str> = fourth.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("! server_full:") && l.contains("max_connections_per_ip")),
        "{lines:?}"
    );
    // Another address is not locked out.
    let mut other = server.line_from(OTHER);
    other.send("/nick visitor");
    other.expect("you are now known as visitor");
    // The silent ones are closed with a reason once the registration time is up.
    for client in silent.iter_mut().chain([&mut nickless]) {
        let lines = client.expect_closed();
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("! registration_timeout:")),
            "{lines:?}"
        );
    }
    // Their places are free again; the registered visitor stays.
    let mut again = server.line_from(HERE);
    again.send("/nick local");
    again.expect("you are now known as local");
    other.sync();
}

#[test]
fn client_sockets_have_tcp_keepalive() {
    let server = Server::start("[limits]\ntcp_keepalive_secs = 7\n");
    let mut client = server.user("kept", "general");
    client.sync();
    // Once nothing is in flight, the socket's timer is the keepalive one.
    let mut out = String::new();
    eventually(Duration::from_secs(5), "a keepalive timer", || {
        let ss = Process::new("ss")
            .args(["-tnoH", "state", "established"])
            .arg(format!("( sport = :{} )", server.addr.port()))
            .output()
            .expect("ss (iproute2)");
        out = String::from_utf8_lossy(&ss.stdout).into_owned();
        out.contains("timer:(keepalive,")
    });
}

#[test]
fn a_client_that_never_reads_is_cut_off_by_bytes_and_memory_stays_bounded() {
    let server = Server::start(
        "[limits]\nsend_queue_bytes = 4194304\nrate = 100\nburst = 100\n\
         [history]\nreplay = 50\nmax_message_bytes = 65000\nmax_fetch = 50\n",
    );
    // A room whose history is 50 messages of 60 KB: each /history reply is 3 MB.
    let mut writer = FrameClient::connect(server.addr, &Command::Nick("writer".into()));
    writer.expect("NickOk", |e| matches!(e, Event::NickOk { .. }));
    writer.send(&Command::Join("big".into()));
    writer.expect("Joined", |e| matches!(e, Event::Joined { .. }));
    for i in 0..50 {
        writer.send(&Command::Msg {
            room: None,
            text: format!("{i:02}{}", "x".repeat(60_000)),
        });
    }
    writer.expect("the 50th message", |e| {
        matches!(e, Event::Message(ChatMessage { seq: 50, .. }))
    });
    let before = server.rss_kib();
    // A line client joins and asks for the history over and over, never reading.
    let mut sink = server.line();
    sink.send("/nick sink");
    sink.send("/join big");
    for _ in 0..40 {
        sink.send("/history");
    }
    // It is cut off (its connection ends) and the server did not keep 40 replies of 3 MB.
    server.wait_log("send queue exceeded");
    let grown = server.rss_kib().saturating_sub(before);
    assert!(grown < 32 * 1024, "the server grew by {grown} KiB");
    sink.expect_closed();
    // Everyone else carries on.
    writer.send(&Command::Msg {
        room: None,
        text: "still here".into(),
    });
    writer.expect(
        "its own echo",
        |e| matches!(e, Event::Message(m) if m.text == "still here"),
    );
}

#[test]
fn long_messages_and_rooms_past_the_limit_are_refused_by_name() {
    let server = Server::start("[history]\nmax_message_bytes = 100\n[limits]\nmax_rooms = 2\n");
    let mut line = server.user("ann", "general");
    line.send(&"x".repeat(101));
    line.expect("! message_too_long:");
    line.send(&format!("/me {}", "y".repeat(101)));
    line.expect("! message_too_long:");
    line.send(&"z".repeat(100));
    line.expect(&format!("<ann> {}", "z".repeat(100)));
    let mut frame = FrameClient::connect(server.addr, &Command::Nick("fay".into()));
    frame.expect("NickOk", |e| matches!(e, Event::NickOk { .. }));
    frame.send(&Command::PrivateMsg {
        to: "ann".into(),
        text: "p".repeat(101),
    });
    frame.expect("message_too_long", |e| {
        matches!(
            e,
            Event::Error {
                code: ErrorCode::MessageTooLong,
                ..
            }
        )
    });
    // The default room and one more fill the node; a third room is refused.
    line.send("/join second");
    line.expect("you joined #second");
    line.send("/join third");
    line.expect("! too_many_rooms:");
    // Once a room closes (empty), there is room for another.
    line.send("/leave second");
    eventually(Duration::from_secs(10), "room for a new room", || {
        line.send("/join third");
        loop {
            let reply = line.next_line().expect("connected");
            if reply.contains("you joined #third") {
                return true;
            }
            if reply.starts_with("! too_many_rooms:") {
                std::thread::sleep(Duration::from_millis(50));
                return false;
            }
        }
    });
}
