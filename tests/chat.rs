//! Chatting across clients and protocols.

use chatd::protocol::{Command, Event};

use crate::util::{FrameClient, Server};

#[test]
fn two_netcat_clients_chat() {
    let server = Server::start("");
    let mut alice = server.user("alice", "#general");
    let mut bob = server.user("bob", "general");
    alice.expect("#general -- bob joined");
    alice.send("hello bob");
    let line = bob.expect("<alice>");
    assert!(line.ends_with("#general <alice> hello bob"), "{line}");
    // Lines start with the time.
    assert_eq!(line.as_bytes()[2], b':');
    // The sender sees its own message too, in room order.
    alice.expect("#general <alice> hello bob");
    bob.send("hi alice");
    alice.expect("#general <bob> hi alice");
}

#[test]
fn framed_and_netcat_clients_share_a_room() {
    let server = Server::start("");
    let mut framed = FrameClient::connect(server.addr, &Command::Nick("fred".into()));
    match framed.next_event() {
        Some(Event::Welcome { protocol, node, .. }) => {
            assert_eq!(protocol, chatd::protocol::PROTOCOL_VERSION);
            assert_eq!(node, "chatd");
        }
        other => panic!("expected Welcome, got {other:?}"),
    }
    framed.expect(
        "NickOk",
        |e| matches!(e, Event::NickOk { nick } if nick == "fred"),
    );
    framed.send(&Command::Join("#general".into()));
    framed.expect(
        "Joined",
        |e| matches!(e, Event::Joined { room, .. } if room == "general"),
    );

    let mut nc = server.user("nancy", "#general");
    framed.expect(
        "UserJoined",
        |e| matches!(e, Event::UserJoined { nick, .. } if nick == "nancy"),
    );
    nc.send("hello from netcat");
    let got = framed.expect("Message", |e| matches!(e, Event::Message(_)));
    let Event::Message(m) = got else {
        unreachable!()
    };
    assert_eq!(
        (m.room.as_str(), m.from.as_str(), m.text.as_str()),
        ("general", "nancy", "hello from netcat")
    );
    assert_eq!(m.seq, 1);
    assert!(m.ts > 0);

    framed.send(&Command::Msg {
        room: Some("general".into()),
        text: "hello from frames".into(),
    });
    nc.expect("#general <fred> hello from frames");
    let Event::Message(m) = framed.expect("own Message", |e| matches!(e, Event::Message(_))) else {
        unreachable!()
    };
    assert_eq!(m.seq, 2, "sequence numbers count up without gaps");

    framed.send(&Command::PrivateMsg {
        to: "NANCY".into(),
        text: "psst".into(),
    });
    nc.expect("*fred -> nancy* psst");
}

#[test]
fn joiner_gets_history_before_live_messages() {
    let server = Server::start("[history]\nreplay = 3\n");
    let mut alice = server.user("alice", "#lobby");
    for i in 1..=5 {
        alice.send(&format!("message {i}"));
    }
    alice.sync();
    let mut bob = server.line();
    bob.send("/nick bob");
    bob.send("/join lobby");
    let mut lines = Vec::new();
    loop {
        let line = bob.next_line().expect("join output");
        let done = line.contains("you joined #lobby");
        lines.push(line);
        if done {
            break;
        }
    }
    let history: Vec<&String> = lines.iter().filter(|l| l.contains("[history]")).collect();
    assert_eq!(history.len(), 3, "{lines:?}");
    for (line, i) in history.iter().zip(3..=5) {
        assert!(
            line.ends_with(&format!("#lobby [history] <alice> message {i}")),
            "{line}"
        );
    }
    alice.send("live one");
    let live = bob.expect("live one");
    assert!(!live.contains("[history]"));

    // Framed joiners get the same history as one event, with sequence numbers.
    let mut fred = FrameClient::connect(server.addr, &Command::Nick("fred".into()));
    fred.send(&Command::Join("lobby".into()));
    let Event::History { messages, .. } =
        fred.expect("History", |e| matches!(e, Event::History { .. }))
    else {
        unreachable!()
    };
    let seqs: Vec<u64> = messages.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, vec![4, 5, 6]);
}

#[test]
fn thousand_clients_in_one_room_all_receive_a_broadcast() {
    let server = Server::start("[limits]\nmax_connections = 2000\n");
    let mut clients: Vec<_> = (0..1000)
        .map(|i| {
            let mut c = server.line();
            c.send(&format!("/nick u{i}"));
            c.send("/join crowd");
            c
        })
        .collect();
    for c in &mut clients {
        c.expect("you joined #crowd");
    }
    clients[0].send("hello everyone");
    for (i, c) in clients.iter_mut().enumerate() {
        let line = c.expect("hello everyone");
        assert!(
            line.ends_with("#crowd <u0> hello everyone"),
            "client {i}: {line}"
        );
    }
}

#[test]
fn framed_errors_carry_stable_codes() {
    use chatd::protocol::ErrorCode;
    let server = Server::start("");
    let _alice = server.user("alice", "general");
    let mut f = FrameClient::connect(server.addr, &Command::Join("general".into()));
    f.expect("nick_required", |e| {
        matches!(
            e,
            Event::JoinError {
                code: ErrorCode::NickRequired,
                ..
            }
        )
    });
    f.send(&Command::Nick("ALICE".into()));
    f.expect("nick_taken", |e| {
        matches!(
            e,
            Event::NickError {
                code: ErrorCode::NickTaken,
                ..
            }
        )
    });
    f.send(&Command::Nick("fred".into()));
    f.send(&Command::Join("#no way".into()));
    f.expect("invalid_room", |e| {
        matches!(
            e,
            Event::JoinError {
                code: ErrorCode::InvalidRoom,
                ..
            }
        )
    });
    f.send(&Command::PrivateMsg {
        to: "ghost".into(),
        text: "boo".into(),
    });
    f.expect("user_not_found", |e| {
        matches!(
            e,
            Event::Error {
                code: ErrorCode::UserNotFound,
                ..
            }
        )
    });
    f.send(&Command::ListUsers(Some("nowhere".into())));
    f.expect("room_not_found", |e| {
        matches!(
            e,
            Event::Error {
                code: ErrorCode::RoomNotFound,
                ..
            }
        )
    });
    f.send(&Command::ListRooms);
    let Event::RoomList { rooms } = f.expect("RoomList", |e| matches!(e, Event::RoomList { .. }))
    else {
        unreachable!()
    };
    assert_eq!(rooms.len(), 1);
    assert_eq!(
        (
            rooms[0].name.as_str(),
            rooms[0].members,
            rooms[0].node.as_str()
        ),
        ("general", 1, "chatd")
    );
}

/// Everything a line client reads while joining `room`, up to the confirmation.
fn join_lines(client: &mut crate::util::LineClient, room: &str) -> Vec<String> {
    client.send(&format!("/join {room}"));
    let mut lines = Vec::new();
    loop {
        let line = client.next_line().expect("join output");
        let done = line.contains(&format!("you joined #{room}"));
        lines.push(line);
        if done {
            return lines;
        }
    }
}

#[test]
fn an_emptied_room_lingers_as_new_then_closes() {
    // History in memory: a room closed and opened again starts without it, one that lingered
    // still has it.
    let server =
        Server::start("[server]\nempty_room_linger_ms = 400\n[history]\nstore = \"memory\"\n");
    let mut ann = server.user("ann", "linger");
    ann.send("/topic #linger kept warm");
    ann.expect("ann set the topic: kept warm");
    ann.send("warm words");
    ann.sync();
    ann.send("/leave linger");
    ann.expect("you left #linger");
    ann.send("/rooms");
    let rooms = ann.expect("-- rooms (");
    assert!(
        !rooms.contains("#linger"),
        "an empty room is not listed: {rooms}"
    );

    // Back within the linger: the history is there, the topic and the operators are not, and
    // the joiner opens it as its first operator.
    let mut bob = server.line();
    bob.send("/nick bob");
    bob.expect("you are now known as bob");
    let lines = join_lines(&mut bob, "linger");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("[history] <ann> warm words")),
        "{lines:?}"
    );
    assert!(!lines.iter().any(|l| l.contains("kept warm")), "{lines:?}");
    bob.send("/topic");
    bob.expect("#linger -- no topic; operators: bob");
    bob.send("/leave linger");
    bob.expect("you left #linger");

    // Past the linger the room closed: opened again, it starts afresh.
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let lines = join_lines(&mut bob, "linger");
    assert!(!lines.iter().any(|l| l.contains("warm words")), "{lines:?}");
}
