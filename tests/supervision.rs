//! Supervision: a panicking session kills only its connection; a panicking room is restarted and
//! keeps its members. (`/debug-panic` exists only in debug builds, which the tests use.)

use chatd::protocol::{Command, Event};

use crate::util::{FrameClient, Server};

#[test]
fn a_panicking_session_kills_only_its_connection() {
    let server = Server::start("");
    let mut victim = server.user("victim", "general");
    let mut other = server.user("other", "general");
    victim.send("/debug-panic");
    victim.expect_closed();
    other.expect("#general -- victim left (session failed)");
    other.send("/ping fine");
    other.expect("pong fine");
    let mut again = server.line();
    again.send("/nick victim");
    again.expect("you are now known as victim");
    server.wait_log("session failed");
}

#[test]
fn a_panicking_room_is_restarted_with_its_members() {
    let server = Server::start("");
    let mut alice = server.user("alice", "#crashy");
    let mut fred = FrameClient::connect(server.addr, &Command::Nick("fred".into()));
    fred.send(&Command::Join("crashy".into()));
    fred.expect("Joined", |e| matches!(e, Event::Joined { .. }));
    alice.send("before the crash");
    fred.expect(
        "first message",
        |e| matches!(e, Event::Message(m) if m.seq == 1),
    );

    alice.send("/debug-panic crashy");
    alice.expect("#crashy -- this room was restarted after a failure");
    fred.expect(
        "restart notice",
        |e| matches!(e, Event::Notice { room: Some(r), .. } if r == "crashy"),
    );

    // Both are still members and messages flow; numbering continues after the last one seen.
    alice.send("after the crash");
    alice.expect("#crashy <alice> after the crash");
    let Event::Message(m) =
        fred.expect("message after restart", |e| matches!(e, Event::Message(_)))
    else {
        unreachable!()
    };
    assert_eq!((m.seq, m.text.as_str()), (2, "after the crash"));
    alice.send("/users");
    alice.expect("#crashy -- users (2): alice fred");
    server.wait_log("room failed");
}

#[test]
fn a_room_that_keeps_failing_is_closed_and_its_members_told() {
    let server = Server::start("");
    let mut alice = server.user("alice", "#doomed");
    let mut bob = server.user("bob", "#doomed");
    for _ in 0..chatd::server::room_supervisor::MAX_RESTARTS {
        alice.send("/debug-panic doomed");
        bob.expect("restarted after a failure");
    }
    alice.send("/debug-panic doomed");
    bob.expect("#doomed -- you left #doomed");
    bob.expect("#doomed -- this room failed repeatedly and was closed");
    bob.send("anyone?");
    bob.expect("! no_current_room:");
    // The name can be used again: a fresh room.
    bob.send("/join doomed");
    bob.expect("you joined #doomed; users (1): bob");
}
