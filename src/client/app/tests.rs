//! The state machine fed by hand: keys, network events and server events in, state and actions out.

use std::time::Duration;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;

use super::*;
use crate::client::buffer::{EntryKind, Target};
use crate::client::config::ClientConfig;
use crate::protocol::{ChatMessage, Command, ErrorCode, Event};

fn config() -> ClientConfig {
    ClientConfig {
        servers: vec!["a:1".into(), "b:2".into()],
        rooms: vec!["lobby".into()],
        reconnect_initial: Duration::from_millis(100),
        reconnect_max: Duration::from_millis(1000),
        ..ClientConfig::default()
    }
}

fn app() -> App {
    let mut app = App::new(config());
    app.now = || 1_000;
    app.set_viewport(Viewport {
        messages: Rect::new(10, 1, 40, 10),
        sidebar: Some(Rect::new(0, 1, 9, 10)),
        users: None,
    });
    app
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

fn alt(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::ALT)
}

fn type_line(app: &mut App, text: &str) -> Vec<Action> {
    for c in text.chars() {
        app.on_key(key(KeyCode::Char(c)));
    }
    app.on_key(key(KeyCode::Enter))
}

fn welcome() -> Event {
    Event::Welcome {
        server: "chatd 0.1.0".into(),
        protocol: crate::protocol::PROTOCOL_VERSION,
        node: "n1".into(),
    }
}

fn msg(room: &str, seq: u64, from: &str, text: &str) -> ChatMessage {
    ChatMessage {
        room: room.into(),
        seq,
        from: from.into(),
        text: text.into(),
        action: false,
        ts: 1_000 + seq,
    }
}

fn joined(room: &str, users: &[&str]) -> Event {
    Event::Joined {
        room: room.into(),
        users: users.iter().map(|u| u.to_string()).collect(),
    }
}

/// An app connected as `ann`, in #lobby (buffer 2, current) and #rust (buffer 3).
fn chatting() -> App {
    let mut app = app();
    app.start();
    app.on_net(NetEvent::Connected {
        server: "a:1".into(),
    });
    app.on_event(welcome());
    type_line(&mut app, "ann");
    app.on_event(Event::NickOk { nick: "ann".into() });
    app.on_event(joined("lobby", &["ann", "bob"]));
    type_line(&mut app, "/join #rust");
    app.on_event(joined("rust", &["ann", "cy"]));
    app.switch_to(1);
    app
}

fn texts(app: &App, idx: usize) -> Vec<String> {
    app.buffers[idx]
        .entries
        .iter()
        .map(|e| match &e.kind {
            EntryKind::Message { from, text, .. } => format!("<{from}> {text}"),
            EntryKind::System(t) => format!("-- {t}"),
            EntryKind::Error(t) => format!("! {t}"),
        })
        .collect()
}

#[test]
fn first_contact_asks_for_a_nick_then_joins_the_configured_rooms() {
    let mut app = app();
    assert_eq!(
        app.start(),
        vec![Action::Connect {
            server: "a:1".into(),
            delay: Duration::ZERO
        }]
    );
    app.on_net(NetEvent::Connected {
        server: "a:1".into(),
    });
    assert!(app.on_event(welcome()).is_empty(), "no nick configured");
    assert_eq!(app.node.as_deref(), Some("n1"));
    assert_eq!(
        type_line(&mut app, "bad nick"),
        vec![],
        "an invalid nick is refused locally"
    );
    assert!(texts(&app, 0).last().unwrap().starts_with("! "));
    assert_eq!(
        type_line(&mut app, "ann"),
        vec![Action::Send(Command::Nick("ann".into()))]
    );
    assert_eq!(
        app.on_event(Event::NickOk { nick: "ann".into() }),
        vec![Action::Send(Command::Join("lobby".into()))]
    );
    app.on_event(joined("lobby", &["ann"]));
    assert_eq!(app.current, 1, "the first configured room becomes current");
    assert_eq!(app.current_buffer().target, Target::Room("lobby".into()));
}

#[test]
fn a_configured_nick_that_is_taken_gets_underscores() {
    let mut app = App::new(ClientConfig {
        nick: Some("ann".into()),
        ..config()
    });
    app.start();
    app.on_net(NetEvent::Connected {
        server: "a:1".into(),
    });
    assert_eq!(
        app.on_event(welcome()),
        vec![Action::Send(Command::Nick("ann".into()))]
    );
    let taken = |nick: &str| Event::NickError {
        nick: nick.into(),
        code: ErrorCode::NickTaken,
        message: format!("{nick} is taken"),
    };
    for next in ["ann_", "ann__", "ann___"] {
        let actions = app.on_event(taken("x"));
        assert_eq!(actions, vec![Action::Send(Command::Nick(next.into()))]);
    }
    assert!(app.on_event(taken("ann___")).is_empty(), "gives up");
    assert!(texts(&app, 0).last().unwrap().contains("type another nick"));
}

#[test]
fn failed_connections_rotate_servers_with_doubling_capped_backoff() {
    let mut app = app();
    app.start();
    let mut seen = Vec::new();
    for _ in 0..6 {
        let actions = app.on_net(NetEvent::ConnectFailed {
            server: app.server().to_string(),
            reason: "refused".into(),
        });
        match actions.as_slice() {
            [Action::Connect { server, delay }] => seen.push((server.clone(), delay.as_millis())),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        seen,
        vec![
            ("b:2".to_string(), 100),
            ("a:1".to_string(), 200),
            ("b:2".to_string(), 400),
            ("a:1".to_string(), 800),
            ("b:2".to_string(), 1000),
            ("a:1".to_string(), 1000),
        ]
    );
    assert_eq!(app.conn, ConnState::Waiting(Duration::from_millis(1000)));
    assert_eq!(app.attempt(), 6);
    app.on_net(NetEvent::Connected {
        server: "a:1".into(),
    });
    app.on_event(welcome());
    let actions = app.on_net(NetEvent::Disconnected {
        server: "a:1".into(),
        reason: "reset".into(),
    });
    assert_eq!(
        actions,
        vec![Action::Connect {
            server: "b:2".into(),
            delay: Duration::from_millis(100)
        }],
        "a welcome resets the backoff; a lost connection moves to the next server"
    );
}

#[test]
fn reconnecting_restores_the_nick_and_rejoins_every_room_without_moving() {
    let mut app = chatting();
    app.switch_to(2);
    let actions = app.on_net(NetEvent::Disconnected {
        server: "a:1".into(),
        reason: "reset".into(),
    });
    assert!(matches!(actions.as_slice(), [Action::Connect { .. }]));
    assert!(!app.buffers[1].joined && !app.buffers[2].joined);
    assert_eq!(app.nick, None, "the server no longer knows us");
    assert_eq!(
        app.shown_nick(),
        Some("ann"),
        "but the status bar still says who we are"
    );
    assert!(app.buffers[1].users.is_empty());
    assert_eq!(
        type_line(&mut app, "anyone?"),
        vec![],
        "nothing is sent while offline"
    );
    assert!(texts(&app, 2).last().unwrap().contains("not connected"));
    app.on_net(NetEvent::Connected {
        server: "b:2".into(),
    });
    assert_eq!(
        app.on_event(welcome()),
        vec![Action::Send(Command::Nick("ann".into()))]
    );
    assert_eq!(
        app.on_event(Event::NickOk { nick: "ann".into() }),
        vec![
            Action::Send(Command::Join("lobby".into())),
            Action::Send(Command::Join("rust".into()))
        ]
    );
    app.on_event(joined("lobby", &["ann", "bob"]));
    app.on_event(joined("rust", &["ann"]));
    assert_eq!(app.current, 2, "the user stays where they were");
    assert!(app.buffers[1].joined);
    assert!(texts(&app, 1).last().unwrap().contains("rejoined #lobby"));
}

#[test]
fn a_reconnect_whose_nick_is_lost_asks_for_one_again() {
    let mut app = chatting();
    app.on_net(NetEvent::Disconnected {
        server: "a:1".into(),
        reason: "reset".into(),
    });
    app.on_net(NetEvent::Connected {
        server: "b:2".into(),
    });
    app.on_event(welcome());
    let taken = Event::NickError {
        nick: "ann".into(),
        code: ErrorCode::NickTaken,
        message: "taken".into(),
    };
    for _ in 0..3 {
        assert_eq!(app.on_event(taken.clone()).len(), 1);
    }
    assert!(app.on_event(taken).is_empty());
    assert_eq!(
        type_line(&mut app, "ann2"),
        vec![Action::Send(Command::Nick("ann2".into()))],
        "with no nick, a typed line claims one"
    );
    assert_eq!(
        app.on_event(Event::NickOk {
            nick: "ann2".into()
        })
        .len(),
        2,
        "then both rooms are rejoined"
    );
    assert!(
        texts(&app, 0)
            .iter()
            .any(|t| t == "-- you are now known as ann2")
    );
}

#[test]
fn history_after_a_reconnect_fills_the_gap_and_shows_what_is_lost() {
    let mut app = chatting();
    for seq in 1..=3 {
        app.on_event(Event::Message(msg("lobby", seq, "bob", &format!("m{seq}"))));
    }
    // Back from a reconnect: the replay holds 2..=5; 2 and 3 were seen already.
    app.on_event(Event::History {
        room: "lobby".into(),
        messages: (2..=5)
            .map(|s| msg("lobby", s, "bob", &format!("m{s}")))
            .collect(),
    });
    let shown: Vec<String> = texts(&app, 1)
        .into_iter()
        .filter(|t| t.starts_with('<'))
        .collect();
    assert_eq!(
        shown,
        vec!["<bob> m1", "<bob> m2", "<bob> m3", "<bob> m4", "<bob> m5"]
    );
    assert_eq!(app.buffers[1].last_seq, Some(5));
    // A replay that starts after a gap: the gap is asked for; what the server's history no
    // longer has is announced, then the replay shows.
    let ask = app.on_event(Event::History {
        room: "lobby".into(),
        messages: vec![msg("lobby", 8, "bob", "m8")],
    });
    assert_eq!(ask, vec![gap("lobby", 5, 8)]);
    app.on_event(Event::History {
        room: "lobby".into(),
        messages: Vec::new(),
    });
    assert!(
        texts(&app, 1)
            .iter()
            .any(|t| t == "! 2 messages missed (no longer in the room's history)")
    );
    assert_eq!(texts(&app, 1).last().unwrap(), "<bob> m8");
    // So does a live message after a gap.
    app.on_event(Event::Message(msg("lobby", 10, "bob", "m10")));
    assert!(
        texts(&app, 1)
            .iter()
            .any(|t| t.starts_with("! 1 message missed"))
    );
    // A room that restarted numbers from 1 again: shown, not swallowed.
    app.on_event(Event::Message(msg("lobby", 1, "bob", "fresh")));
    assert_eq!(texts(&app, 1).last().unwrap(), "<bob> fresh");
    assert!(texts(&app, 1).iter().any(|t| t.contains("restarted")));
}

fn gap(room: &str, after: u64, before: u64) -> Action {
    Action::Send(Command::HistoryRange {
        room: Some(room.into()),
        after: Some(after),
        before: Some(before),
        limit: None,
    })
}

#[test]
fn a_long_absence_is_caught_up_page_by_page_in_order() {
    let mut app = chatting();
    app.on_event(Event::Message(msg("lobby", 1, "bob", "m1")));
    // Back after 100 messages: the replay holds 52..=101.
    let ask = app.on_event(Event::History {
        room: "lobby".into(),
        messages: (52..=101)
            .map(|s| msg("lobby", s, "bob", &format!("m{s}")))
            .collect(),
    });
    assert_eq!(ask, vec![gap("lobby", 1, 52)]);
    // A live message during the catch-up waits for the gap.
    app.on_event(Event::Message(msg("lobby", 102, "cy", "live")));
    let page = |from: u64, to: u64| Event::History {
        room: "lobby".into(),
        messages: (from..=to)
            .map(|s| msg("lobby", s, "bob", &format!("m{s}")))
            .collect(),
    };
    assert_eq!(app.on_event(page(2, 30)), vec![gap("lobby", 30, 52)]);
    assert!(app.on_event(page(31, 51)).is_empty(), "the gap is filled");
    let shown: Vec<String> = texts(&app, 1)
        .into_iter()
        .filter(|t| t.starts_with('<'))
        .collect();
    let mut expected: Vec<String> = (1..=101).map(|s| format!("<bob> m{s}")).collect();
    expected.push("<cy> live".into());
    assert_eq!(shown, expected, "everything once, in order");
    assert!(!texts(&app, 1).iter().any(|t| t.contains("missed")));
    assert_eq!(app.buffers[1].last_seq, Some(102));
}

#[test]
fn an_explicit_history_request_shows_everything_again() {
    let mut app = chatting();
    app.switch_to(1);
    app.on_event(Event::Message(msg("lobby", 1, "bob", "m1")));
    assert_eq!(
        type_line(&mut app, "/history 5"),
        vec![Action::Send(Command::History {
            room: Some("lobby".into()),
            limit: Some(5)
        })]
    );
    app.on_event(Event::History {
        room: "lobby".into(),
        messages: vec![msg("lobby", 1, "bob", "m1")],
    });
    let repeats = texts(&app, 1).iter().filter(|t| *t == "<bob> m1").count();
    assert_eq!(repeats, 2);
    assert_eq!(app.buffers[1].last_seq, Some(1));
}

#[test]
fn unread_counts_and_mentions_follow_the_current_buffer() {
    let mut app = chatting();
    app.switch_to(0);
    app.on_event(Event::Message(msg("lobby", 1, "bob", "hello")));
    app.on_event(Event::Message(msg(
        "lobby",
        2,
        "bob",
        "ann: are you there?",
    )));
    app.on_event(Event::Message(msg("rust", 1, "ann", "my own line")));
    app.on_event(Event::Message(msg(
        "rust",
        2,
        "cy",
        "annie is not ann's nick",
    )));
    assert_eq!(app.buffers[1].unread, 2);
    assert!(app.buffers[1].mentioned);
    assert_eq!(app.buffers[2].unread, 1, "own messages are not unread");
    assert!(app.buffers[2].mentioned, "ann's counts as a word");
    app.on_key(alt('2'));
    assert_eq!(app.current, 1);
    assert_eq!(
        (app.buffers[1].unread, app.buffers[1].mentioned),
        (0, false)
    );
    app.on_event(Event::Message(msg("lobby", 3, "bob", "seen at once")));
    assert_eq!(app.buffers[1].unread, 0);
    app.on_event(Event::Message(msg("rust", 3, "cy", "nothing for annie")));
    assert_eq!(app.buffers[2].unread, 2);
}

#[test]
fn switching_with_keys_and_join() {
    let mut app = chatting();
    assert_eq!(app.current, 1);
    app.on_key(ctrl('n'));
    assert_eq!(app.current, 2);
    app.on_key(ctrl('n'));
    assert_eq!(app.current, 0, "wraps around");
    app.on_key(ctrl('p'));
    assert_eq!(app.current, 2);
    app.on_key(alt('9'));
    assert_eq!(app.current, 2, "no buffer 9: stays");
    assert_eq!(type_line(&mut app, "/join #LOBBY"), vec![], "already in it");
    assert_eq!(app.current, 1);
}

#[test]
fn typed_lines_go_to_the_current_room_or_conversation() {
    let mut app = chatting();
    assert_eq!(
        type_line(&mut app, "hi all"),
        vec![Action::Send(Command::Msg {
            room: Some("lobby".into()),
            text: "hi all".into()
        })]
    );
    assert_eq!(
        type_line(&mut app, "//etc is a path"),
        vec![Action::Send(Command::Msg {
            room: Some("lobby".into()),
            text: "/etc is a path".into()
        })]
    );
    assert_eq!(
        type_line(&mut app, "/me waves"),
        vec![Action::Send(Command::Me {
            room: Some("lobby".into()),
            text: "waves".into()
        })]
    );
    assert_eq!(
        type_line(&mut app, "/users"),
        vec![Action::Send(Command::ListUsers(Some("lobby".into())))]
    );
    assert_eq!(type_line(&mut app, "/frobnicate"), vec![]);
    assert!(texts(&app, 1).last().unwrap().contains("unknown command"));
    app.switch_to(0);
    assert_eq!(type_line(&mut app, "hello?"), vec![]);
    assert!(texts(&app, 0).last().unwrap().contains("not in a room"));
    assert_eq!(
        type_line(&mut app, "/query bob hi there"),
        vec![Action::Send(Command::PrivateMsg {
            to: "bob".into(),
            text: "hi there".into()
        })]
    );
    assert_eq!(app.current_buffer().target, Target::Private("bob".into()));
    assert_eq!(
        type_line(&mut app, "and more"),
        vec![Action::Send(Command::PrivateMsg {
            to: "bob".into(),
            text: "and more".into()
        })]
    );
    assert_eq!(type_line(&mut app, "/me waves"), vec![]);
    assert!(texts(&app, 3).last().unwrap().contains("rooms only"));
    assert_eq!(type_line(&mut app, "/close"), vec![]);
    assert_eq!(app.buffers.len(), 3);
}

#[test]
fn private_messages_open_their_own_buffer() {
    let mut app = chatting();
    app.on_event(Event::Private {
        from: "bob".into(),
        to: "ann".into(),
        text: "psst".into(),
        ts: 5,
    });
    let idx = app.buffers.len() - 1;
    assert_eq!(app.buffers[idx].target, Target::Private("bob".into()));
    assert_eq!(app.buffers[idx].unread, 1);
    assert!(app.buffers[idx].mentioned, "a private message is a mention");
    // The echo of our own reply lands in the same buffer.
    app.on_event(Event::Private {
        from: "ann".into(),
        to: "BOB".into(),
        text: "yes?".into(),
        ts: 6,
    });
    assert_eq!(app.buffers.len(), idx + 1);
    assert_eq!(texts(&app, idx), vec!["<bob> psst", "<ann> yes?"]);
    // A room joined later goes before the private conversations.
    app.on_event(joined("zeta", &["ann"]));
    assert_eq!(app.buffers[idx].target, Target::Room("zeta".into()));
}

#[test]
fn membership_events_update_the_user_list() {
    let mut app = chatting();
    let ts = 7;
    app.on_event(Event::UserJoined {
        room: "lobby".into(),
        nick: "dee".into(),
        ts,
    });
    app.on_event(Event::NickChanged {
        room: "lobby".into(),
        old: "bob".into(),
        new: "rob".into(),
        ts,
    });
    app.on_event(Event::UserLeft {
        room: "lobby".into(),
        nick: "dee".into(),
        reason: Some("bye".into()),
        ts,
    });
    assert_eq!(app.buffers[1].users, vec!["ann", "rob"]);
    assert_eq!(
        texts(&app, 1)[texts(&app, 1).len() - 3..],
        [
            "-- dee joined",
            "-- bob is now known as rob",
            "-- dee left (bye)"
        ]
    );
    app.on_event(Event::Left {
        room: "lobby".into(),
    });
    assert!(
        app.buffers
            .iter()
            .all(|b| b.target != Target::Room("lobby".into()))
    );
}

#[test]
fn tab_completes_nicks_commands_and_rooms() {
    let mut app = chatting();
    for c in "b".chars() {
        app.on_key(key(KeyCode::Char(c)));
    }
    app.on_key(key(KeyCode::Tab));
    assert_eq!(app.input.value(), "bob: ");
    app.input.take();
    for c in "/hi".chars() {
        app.on_key(key(KeyCode::Char(c)));
    }
    app.on_key(key(KeyCode::Tab));
    assert_eq!(app.input.value(), "/history ");
    app.input.take();
    for c in "/join #ru".chars() {
        app.on_key(key(KeyCode::Char(c)));
    }
    app.on_key(key(KeyCode::Tab));
    assert_eq!(app.input.value(), "/join #rust ");
    app.input.take();
    for c in "a".chars() {
        app.on_key(key(KeyCode::Char(c)));
    }
    app.on_key(key(KeyCode::Tab));
    assert_eq!(app.input.value(), "a", "your own nick is not offered");
}

#[test]
fn input_history_with_up_and_down() {
    let mut app = chatting();
    type_line(&mut app, "first");
    type_line(&mut app, "second");
    app.on_key(key(KeyCode::Up));
    assert_eq!(app.input.value(), "second");
    app.on_key(key(KeyCode::Up));
    assert_eq!(app.input.value(), "first");
    app.on_key(key(KeyCode::Down));
    app.on_key(key(KeyCode::Down));
    assert_eq!(app.input.value(), "");
}

#[test]
fn a_kick_stops_reconnecting_until_asked() {
    let mut app = chatting();
    app.on_event(Event::Error {
        code: ErrorCode::Kicked,
        message: "kicked by an administrator".into(),
    });
    let actions = app.on_net(NetEvent::Disconnected {
        server: "a:1".into(),
        reason: "closed".into(),
    });
    assert!(actions.is_empty());
    assert!(matches!(app.conn, ConnState::Offline { .. }));
    assert_eq!(
        type_line(&mut app, "/reconnect"),
        vec![Action::Connect {
            server: "a:1".into(),
            delay: Duration::ZERO
        }],
        "the same server again, at once"
    );
}

#[test]
fn quitting_says_goodbye_and_does_not_reconnect() {
    let mut app = chatting();
    assert_eq!(
        type_line(&mut app, "/quit see you"),
        vec![Action::Quit(Some("see you".into()))]
    );
    assert!(app.quitting);
    assert!(
        app.on_net(NetEvent::Disconnected {
            server: "a:1".into(),
            reason: "closed".into()
        })
        .is_empty()
    );
    let mut app = chatting();
    assert_eq!(app.on_key(ctrl('c')), vec![Action::Quit(None)]);
}

#[test]
fn scrolling_keeps_the_view_still_while_lines_arrive() {
    let mut app = chatting();
    app.switch_to(1);
    for seq in 1..=30 {
        app.on_event(Event::Message(msg("lobby", seq, "bob", "x")));
    }
    app.on_key(key(KeyCode::PageUp));
    assert_eq!(
        app.buffers[1].scroll, 9,
        "a page is the height less one row"
    );
    app.on_event(Event::Message(msg("lobby", 31, "bob", "new")));
    assert_eq!(app.buffers[1].scroll, 10);
    assert_eq!(app.buffers[1].unseen_below, 1);
    for _ in 0..10 {
        app.on_key(key(KeyCode::PageUp));
    }
    let top = app.buffers[1].scroll;
    assert!(top < 40, "scrolling stops at the top ({top})");
    app.on_key(KeyEvent::new(KeyCode::End, KeyModifiers::CONTROL));
    assert_eq!((app.buffers[1].scroll, app.buffers[1].unseen_below), (0, 0));
}

#[test]
fn help_opens_and_closes() {
    let mut app = chatting();
    app.on_key(key(KeyCode::F(1)));
    assert_eq!(app.help, Some(0));
    app.on_key(key(KeyCode::PageDown));
    assert_eq!(app.help, Some(5));
    app.on_key(key(KeyCode::Esc));
    assert_eq!(app.help, None);
    assert_eq!(type_line(&mut app, "/help"), vec![]);
    assert_eq!(app.help, Some(0));
}

#[test]
fn mouse_wheel_scrolls_and_a_click_switches() {
    use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut app = chatting();
    for seq in 1..=30 {
        app.on_event(Event::Message(msg("rust", seq, "cy", "x")));
    }
    app.switch_to(2);
    let mouse = |kind, column, row| MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    };
    app.on_mouse(mouse(MouseEventKind::ScrollUp, 20, 5));
    assert_eq!(app.buffers[2].scroll, 3);
    app.on_mouse(mouse(MouseEventKind::Down(MouseButton::Left), 2, 2));
    assert_eq!(
        app.current, 1,
        "row 2 of the screen is the sidebar's second entry"
    );
}

#[test]
fn typing_is_announced_throttled_and_shown_until_it_ends() {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NOW: AtomicU64 = AtomicU64::new(1_000);
    let mut app = chatting();
    app.now = || NOW.load(Ordering::Relaxed);
    let typing = |active| {
        vec![Action::Send(Command::Typing {
            room: "lobby".into(),
            active,
        })]
    };
    assert_eq!(app.on_key(key(KeyCode::Char('h'))), typing(true));
    assert!(app.on_key(key(KeyCode::Char('i'))).is_empty(), "throttled");
    NOW.store(1_000 + TYPING_REFRESH_MS, Ordering::Relaxed);
    assert_eq!(
        app.on_key(key(KeyCode::Char('!'))),
        typing(true),
        "refreshed"
    );
    for _ in 0..2 {
        assert!(app.on_key(key(KeyCode::Backspace)).is_empty());
    }
    assert_eq!(
        app.on_key(key(KeyCode::Backspace)),
        typing(false),
        "an emptied line stops it"
    );
    assert!(
        app.on_key(key(KeyCode::Char('/'))).is_empty(),
        "commands are private"
    );

    // Others typing show in the status line until they stop, say something, or expire.
    let now = NOW.load(Ordering::Relaxed);
    let bob = |active| Event::Typing {
        room: "lobby".into(),
        nick: "bob".into(),
        active,
    };
    app.on_event(bob(true));
    assert_eq!(app.typing_text().as_deref(), Some("bob is typing…"));
    app.on_event(Event::Message(msg("lobby", 1, "bob", "hi")));
    assert_eq!(app.typing_text(), None, "a message ends it");
    app.on_event(bob(true));
    app.on_event(bob(false));
    assert_eq!(app.typing_text(), None);
    app.on_event(bob(true));
    NOW.store(now + TYPING_EXPIRY_MS, Ordering::Relaxed);
    assert_eq!(app.typing_text(), None, "expired");
}
