//! Bad input: the offender gets a clear error (and is disconnected where it must be); everyone
//! else carries on.

use chatd::protocol::{Command, ErrorCode, Event};

use crate::util::{FrameClient, Server};

#[test]
fn overlong_line_is_refused_and_disconnects() {
    let server = Server::start("[limits]\nmax_line_bytes = 100\n");
    let mut bystander = server.user("bob", "general");
    let mut a = server.user("alice", "general");
    a.send(&"x".repeat(100));
    a.expect(&format!("<alice> {}", "x".repeat(100)));
    // Far more than the limit, without a newline: refused as soon as the limit is passed.
    a.send_raw(&vec![b'y'; 100_000]);
    let lines = a.expect_closed();
    assert!(
        lines.iter().any(|l| l.starts_with("! line_too_long:")),
        "{lines:?}"
    );
    bystander.expect("#general -- alice left");
    bystander.sync();
}

#[test]
fn invalid_utf8_nul_and_control_characters_are_refused_but_the_connection_survives() {
    let server = Server::start("");
    let mut a = server.user("alice", "general");
    a.send_raw(b"caf\xe9 au lait\n");
    a.expect("! invalid_utf8:");
    a.send_raw(b"nul\0inside\n");
    a.expect("! invalid_character:");
    a.send_raw(b"bell\x07\n");
    a.expect("! invalid_character:");
    a.send_raw(b"crlf works\r\n");
    a.expect("#general <alice> crlf works");
    a.send("caf\u{e9} \u{1F600} \u{65e5}\u{672c}");
    a.expect("<alice> caf\u{e9} \u{1F600} \u{65e5}\u{672c}");
}

#[test]
fn bytes_arriving_one_at_a_time_are_reassembled() {
    let server = Server::start("");
    let mut a = server.user("alice", "general");
    for byte in b"slow typist\n" {
        a.send_raw(&[*byte]);
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    a.expect("#general <alice> slow typist");
}

#[test]
fn oversized_frame_is_refused_and_disconnects() {
    let server = Server::start("[limits]\nmax_frame_bytes = 1000\n");
    let mut f = FrameClient::connect(server.addr, &Command::Nick("fred".into()));
    f.expect("NickOk", |e| matches!(e, Event::NickOk { .. }));
    // A header announcing 1 MB; the body is never sent.
    f.send_raw(&1_000_000u32.to_be_bytes());
    f.expect("frame_too_large", |e| {
        matches!(
            e,
            Event::Error {
                code: ErrorCode::FrameTooLarge,
                ..
            }
        )
    });
    assert!(f.next_event().is_none(), "connection should be closed");
    // The server is fine.
    let mut a = server.line();
    a.send("/ping ok");
    a.expect("pong ok");
}

#[test]
fn garbage_frame_is_refused_and_the_connection_survives() {
    let server = Server::start("");
    let mut f = FrameClient::connect(server.addr, &Command::Nick("fred".into()));
    f.expect("NickOk", |e| matches!(e, Event::NickOk { .. }));
    let garbage = [0xFFu8, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x02];
    let mut frame = (garbage.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(&garbage);
    f.send_raw(&frame);
    f.expect("bad_frame", |e| {
        matches!(
            e,
            Event::Error {
                code: ErrorCode::BadFrame,
                ..
            }
        )
    });
    f.send(&Command::Ping("still".into()));
    f.expect(
        "Pong",
        |e| matches!(e, Event::Pong { token } if token == "still"),
    );
}

#[test]
fn disconnects_mid_frame_half_close_and_reset_clean_up() {
    let server = Server::start("");
    let mut watcher = server.user("watcher", "general");

    // Mid-frame: half a frame, then gone.
    let mut f = FrameClient::connect(server.addr, &Command::Nick("midframe".into()));
    f.send(&Command::Join("general".into()));
    f.expect("Joined", |e| matches!(e, Event::Joined { .. }));
    watcher.expect("midframe joined");
    f.send_raw(&[0, 0, 0, 50, 1, 2, 3]);
    drop(f);
    watcher.expect("midframe left");

    // Half-close: the client stops sending but can still read; its session ends.
    let mut half = server.user("half", "general");
    watcher.expect("half joined");
    half.shutdown_write();
    watcher.expect("half left");
    half.expect_closed();

    // Reset: the client closes with unread data, so the kernel sends RST.
    let reset = server.user("reset", "general");
    watcher.expect("reset joined");
    watcher.send("unread by reset");
    watcher.expect("<watcher> unread by reset");
    drop(reset);
    watcher.expect("reset left");

    // All three nicks are free again.
    for nick in ["midframe", "half", "reset"] {
        let mut c = server.line();
        c.send(&format!("/nick {nick}"));
        c.expect(&format!("you are now known as {nick}"));
    }
}

#[test]
fn framed_text_with_control_characters_is_refused_and_never_reaches_netcat_users() {
    let server = Server::start("");
    let mut netcat = server.user("bob", "general");
    let mut f = FrameClient::connect(server.addr, &Command::Nick("mallory".into()));
    f.expect("NickOk", |e| matches!(e, Event::NickOk { .. }));
    f.send(&Command::Join("general".into()));
    f.expect("Joined", |e| matches!(e, Event::Joined { .. }));
    let forged = [
        "hi\n12:00:00 -- announcement: the server moves, log in at evil.example",
        "hi\r\n! kicked: you were disconnected by an administrator",
        "\u{1b}]0;pwned\u{7}",
        "\u{1b}[2J\u{1b}[H",
        "del\u{7f}",
        "c1\u{9b}31m",
    ];
    let say = |text: &str| Command::Msg {
        room: None,
        text: text.into(),
    };
    for text in forged {
        f.send(&say(text));
        f.expect("invalid_character", |e| {
            matches!(
                e,
                Event::Error {
                    code: ErrorCode::InvalidCharacter,
                    ..
                }
            )
        });
    }
    f.send(&Command::Me {
        room: None,
        text: "waves\u{1b}[31m".into(),
    });
    f.expect("invalid_character for /me", |e| {
        matches!(
            e,
            Event::Error {
                code: ErrorCode::InvalidCharacter,
                ..
            }
        )
    });
    f.send(&Command::PrivateMsg {
        to: "bob".into(),
        text: "psst\n12:00:00 *alice -> bob* trust me".into(),
    });
    f.expect("invalid_character for /msg", |e| {
        matches!(
            e,
            Event::Error {
                code: ErrorCode::InvalidCharacter,
                ..
            }
        )
    });
    f.send(&Command::Quit(Some("bye\n! shutdown: forged".into())));
    f.expect("invalid_character for /quit", |e| {
        matches!(
            e,
            Event::Error {
                code: ErrorCode::InvalidCharacter,
                ..
            }
        )
    });
    // Tabs are text, and the framed client is still connected and heard.
    f.send(&say("a\ttab"));
    let heard = netcat.expect("<mallory> a\ttab");
    assert!(!heard.contains("evil") && !heard.contains('\u{1b}'));
    netcat.sync();
    // Nothing the netcat user received has a control character, nor a forged line.
    f.send(&Command::Quit(None));
    netcat.expect("mallory left");
    for line in &netcat.seen {
        assert!(
            !line.chars().any(|c| c.is_control() && c != '\t'),
            "{line:?}"
        );
        assert!(
            !line.contains("announcement") && !line.contains("kicked"),
            "{line:?}"
        );
    }
}
