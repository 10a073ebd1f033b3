//! Every line-protocol command, its short form, and its errors.

use crate::util::Server;

#[test]
fn nick_rules() {
    let server = Server::start("");
    let mut a = server.line();
    a.send("hello?");
    a.expect("! nick_required: set a nick first");
    a.send("/join general");
    a.expect("! nick_required:");
    a.send("/nick 9lives");
    a.expect("! invalid_nick:");
    a.send(&format!("/nick {}", "x".repeat(33)));
    a.expect("! invalid_nick:");
    a.send("/n Alice");
    a.expect("you are now known as Alice");

    let mut b = server.line();
    b.send("/nick alice");
    b.expect("! nick_taken: nick \"alice\" is already in use");
    b.send("/nick bob");
    b.expect("you are now known as bob");

    // Renames are announced in shared rooms and free the old nick.
    a.send("/join general");
    b.send("/join general");
    b.expect("you joined");
    a.send("/nick alicia");
    b.expect("#general -- Alice is now known as alicia");
    let mut c = server.line();
    c.send("/nick alice");
    c.expect("you are now known as alice");
}

#[test]
fn join_leave_rooms_users() {
    let server = Server::start("");
    let mut a = server.user("alice", "#rust");
    a.send("/j general");
    a.expect("you joined #general");
    a.send("/r");
    let rooms = a.expect("-- rooms (2)");
    assert!(
        rooms.contains("#general (1, chatd)") && rooms.contains("#rust (1, chatd)"),
        "{rooms}"
    );
    // Joining a room you are in makes it current.
    a.send("/join rust");
    a.expect("#rust is now your current room");
    a.send("to rust");
    a.expect("#rust <alice> to rust");
    let mut b = server.user("bob", "rust");
    a.send("/u");
    a.expect("#rust -- users (2): alice bob");
    b.send("/users #general");
    b.expect("#general -- users (1): alice");
    b.send("/users nowhere");
    b.expect("! room_not_found:");
    b.send("/join bad room");
    b.expect("! bad_arguments:");
    b.send("/join #bad!");
    b.expect("! invalid_room:");

    // Leaving: the current room by default; the room is told.
    a.send("/leave");
    a.expect("#rust -- you left #rust");
    b.expect("#rust -- alice left");
    a.send("/l rust");
    a.expect("! not_in_room:");
    // alice's current room is now #general.
    a.send("still here");
    a.expect("#general <alice> still here");

    // An empty room disappears; a default room stays.
    b.send("/leave rust");
    b.expect("you left #rust");
    a.send("/leave general");
    a.expect("you left #general");
    a.send("/rooms");
    let rooms = a.expect("-- rooms (");
    assert!(rooms.contains("rooms (1): #general (0, chatd)"), "{rooms}");
    a.send("talking to nobody");
    a.expect("! no_current_room:");
}

#[test]
fn private_messages_actions_history_ping_help_quit() {
    let server = Server::start("");
    let mut a = server.user("alice", "general");
    let mut b = server.user("bob", "general");
    a.send("/msg bob hi there");
    a.expect("*alice -> bob* hi there");
    b.expect("*alice -> bob* hi there");
    a.send("/m nobody hi");
    a.expect("! user_not_found: no user is called nobody");
    a.send("/msg bob");
    a.expect("! bad_arguments:");

    a.send("/me waves");
    b.expect("#general * alice waves");
    a.send("one");
    a.send("two");
    a.sync();
    b.send("/history 2");
    b.expect("#general [history] <alice> one");
    b.expect("#general [history] <alice> two");
    b.send("/history x");
    b.expect("! bad_arguments:");

    b.send("/ping abc");
    b.expect("-- pong abc");
    b.send("/help");
    for cmd in [
        "/nick", "/join", "/leave", "/rooms", "/users", "/msg", "/me", "/history", "/ping",
        "/quit", "/help",
    ] {
        b.expect(cmd);
    }
    b.send("/frobnicate");
    b.expect("! unknown_command:");

    b.send("/quit gone fishing");
    b.expect("-- bye");
    b.expect_closed();
    a.expect("#general -- bob left (quit: gone fishing)");
    // The nick is free again.
    let mut c = server.line();
    c.send("/nick bob");
    c.expect("you are now known as bob");
}

#[test]
fn rooms_per_session_are_limited() {
    let server = Server::start("[limits]\nmax_rooms_per_session = 2\n");
    let mut a = server.user("alice", "one");
    a.send("/join two");
    a.expect("you joined #two");
    a.send("/join three");
    a.expect("! too_many_rooms:");
}

#[test]
fn big_rooms_stop_announcing_joins_and_leaves() {
    let server = Server::start("[limits]\npresence_max_members = 2\n");
    let mut a = server.user("alice", "big");
    let _b = server.user("bob", "big");
    a.expect("#big -- bob joined");
    let mut c = server.line();
    c.send("/nick carol");
    c.send("/join big");
    c.expect("#big -- you joined #big");
    c.expect("#big -- 3 users here; /users lists them");
    c.send("/users");
    c.expect("#big -- users (3): alice bob carol");
    c.send("hello all");
    // alice heard nothing of carol's join: the next line is carol's message.
    let next = a.next_line().unwrap();
    assert!(next.ends_with("#big <carol> hello all"), "{next}");
}

#[test]
fn a_room_by_code_is_unlisted_and_joinable_with_its_code() {
    let server = Server::start("");
    let mut ann = server.user("ann", "general");
    ann.send("/create");
    let joined = ann.expect("you joined #");
    let code = joined
        .split("you joined #")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .expect("the room's code")
        .to_string();
    assert_eq!(code.len(), 6, "{joined}");
    ann.send("/rooms");
    let rooms = ann.expect("rooms (");
    assert!(!rooms.contains(&code), "{rooms}");
    // Anyone with the code joins it.
    let mut bob = server.user("bob", &code);
    ann.expect(&format!("#{code} -- bob joined"));
    bob.send("found it");
    ann.expect(&format!("#{code} <bob> found it"));
    // Administrators see it with --all only.
    let list = |all: bool| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_chatctl"));
        command.arg("--socket").arg(&server.socket).arg("rooms");
        if all {
            command.arg("--all");
        }
        let out = command.output().unwrap();
        crate::util::assert_success(&out);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(!list(false).contains(&code));
    assert!(list(true).contains(&code));
}
