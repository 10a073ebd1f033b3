//! The IRC front against the real daemon, in raw IRC: registration, every command and numeric,
//! malformed lines, limits, and IRC users meeting netcat and framed users in the same rooms.

use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::Server;

#[test]
fn registration_waits_for_cap_end_and_welcomes_with_isupport_and_motd() {
    let dir = tempfile::tempdir().unwrap();
    let motd = dir.path().join("motd.txt");
    std::fs::write(&motd, "Be nice.\nNo spam.\n").unwrap();
    let server = Server::start(&format!(
        "[irc]\nlisten = \"127.0.0.1:0\"\nnetwork = \"TestNet\"\nmotd_file = \"{}\"\n",
        motd.display()
    ));
    let mut c = server.irc();
    c.send("CAP LS 302");
    let ls = c.expect(" CAP * LS ");
    for cap in [
        "server-time",
        "echo-message",
        "message-tags",
        "multi-prefix",
    ] {
        assert!(ls.contains(cap), "{ls}");
    }
    c.send("NICK alice");
    c.send("USER alice 0 * :Alice Liddell");
    c.send("CAP REQ :server-time nonsense");
    c.expect(" CAP * NAK :server-time nonsense");
    c.send("CAP REQ :server-time");
    c.expect(" CAP * ACK :server-time");
    // Nothing is welcomed before CAP END.
    let before = c.drain();
    assert!(!before.iter().any(|l| l.contains(" 001 ")), "{before:?}");
    c.send("CAP END");
    c.expect(":chatd 001 alice :Welcome to the TestNet IRC Network alice!alice@chatd");
    c.expect(" 002 alice ");
    c.expect(" 003 alice ");
    c.expect(" 004 alice chatd chatd-");
    let isupport = c.expect(" 005 alice ");
    for token in [
        "CASEMAPPING=ascii",
        "CHANTYPES=#",
        "NICKLEN=32",
        "CHANNELLEN=51",
        "NETWORK=TestNet",
        "PREFIX=(o)@",
        "MAXTARGETS=4",
    ] {
        assert!(isupport.contains(token), "{token} missing: {isupport}");
    }
    c.expect(" 375 alice :- chatd Message of the day");
    c.expect(" 372 alice :- Be nice.");
    c.expect(" 372 alice :- No spam.");
    c.expect(" 376 alice :End of /MOTD command.");
    c.send("CAP LIST");
    c.expect(" CAP alice LIST :server-time");
    c.send("MOTD");
    c.expect(" 372 alice :- Be nice.");
    c.send("USER again 0 * :x");
    c.expect(" 462 alice :You may not reregister");
}

#[test]
fn commands_before_registration_and_bad_nicks_get_their_numerics() {
    let server = Server::start("");
    let mut c = server.irc();
    c.send("JOIN #general");
    c.expect(":chatd 451 * :You have not registered");
    c.send("NICK");
    c.expect(" 431 * :No nickname given");
    c.send("USER x");
    c.expect(" 461 * USER :Not enough parameters");
    let _taken = server.user("bob", "general");
    c.send("NICK Bob");
    c.send("USER bob 0 * :Bob");
    c.expect(" 433 * Bob :Nickname is already in use");
    c.send("NICK 9lives");
    c.expect(" 432 * 9lives :Erroneous nickname");
    c.send("NICK bobby");
    c.expect(" 001 bobby ");
    c.send("NICK bob");
    c.expect(" 433 bobby bob ");
}

#[test]
fn a_wrong_password_is_refused_and_the_right_one_admitted() {
    let server = Server::start("[irc]\nlisten = \"127.0.0.1:0\"\npassword = \"sesame\"\n");
    let mut wrong = server.irc();
    wrong.send("PASS open");
    wrong.send("NICK eve");
    wrong.send("USER eve 0 * :Eve");
    let last = wrong.expect_closed();
    assert!(
        last.iter()
            .any(|l| l.contains(" 464 * :Password incorrect")),
        "{last:?}"
    );
    assert!(
        last.last()
            .is_some_and(|l| l.starts_with("ERROR :Closing Link")),
        "{last:?}"
    );
    let mut none = server.irc();
    none.send("NICK eve");
    none.send("USER eve 0 * :Eve");
    assert!(none.expect_closed().iter().any(|l| l.contains(" 464 ")));
    let mut right = server.irc();
    right.send("PASS sesame");
    right.register("alice");
}

#[test]
fn irc_and_netcat_users_chat_in_the_same_room() {
    let server = Server::start("");
    let mut alice = server.irc_user("alice");
    alice.send("JOIN #General");
    alice.expect(":alice!alice@chatd JOIN #general");
    alice.expect(" 353 alice = #general :@alice");
    alice.expect(" 366 alice #general :End of /NAMES list.");
    let mut bob = server.user("bob", "general");
    alice.expect(":bob!bob@chatd JOIN #general");
    alice.send("PRIVMSG #general :hello \u{2}bob\u{2}, how are you?");
    bob.expect("#general <alice> hello bob, how are you?");
    bob.send("fine, thanks");
    alice.expect(":bob!bob@chatd PRIVMSG #general :fine, thanks");
    alice.send("PRIVMSG #general :\u{1}ACTION waves\u{1}");
    bob.expect("#general * alice waves");
    bob.send("/me bows");
    alice.expect(":bob!bob@chatd PRIVMSG #general :\u{1}ACTION bows\u{1}");
    // Private messages both ways, several targets at once.
    alice.send("PRIVMSG bob,#general :both");
    bob.expect("*alice -> bob* both");
    bob.expect("#general <alice> both");
    bob.send("/msg alice psst");
    alice.expect(":bob!bob@chatd PRIVMSG alice :psst");
    // Her own messages do not come back without echo-message.
    let echoes = alice.drain();
    assert!(!echoes.iter().any(|l| l.contains(":alice!")), "{echoes:?}");
    // Nick changes, parts and quits, both ways.
    alice.send("NICK alicia");
    alice.expect(":alice!alice@chatd NICK alicia");
    bob.expect("alice is now known as alicia");
    let own = alice.drain();
    assert!(
        !own.iter().any(|l| l.contains("NICK")),
        "one NICK only: {own:?}"
    );
    bob.send("/nick robert");
    alice.expect(":bob!bob@chatd NICK robert");
    bob.send("/leave");
    alice.expect(":robert!robert@chatd PART #general");
    bob.send("/join general");
    alice.expect(":robert!robert@chatd JOIN #general");
    bob.send("/quit gone fishing");
    alice.expect(":robert!robert@chatd QUIT :Quit: gone fishing");
    let mut carol = server.user("carol", "general");
    alice.send("PART #general :see you");
    alice.expect(":alicia!alicia@chatd PART #general");
    carol.expect("alicia left");
    alice.send("QUIT :bye now");
    let last = alice.expect_closed();
    assert!(
        last.iter().any(|l| l.starts_with("ERROR :Closing Link")),
        "{last:?}"
    );
}

#[test]
fn echo_message_and_server_time_are_honoured() {
    let server = Server::start("");
    let mut c = server.irc();
    c.send("CAP LS 302");
    c.send("CAP REQ :echo-message server-time");
    c.send("CAP END");
    c.register("tagger");
    c.send("JOIN #t");
    c.expect("JOIN #t");
    c.send("PRIVMSG #t :with tags");
    let echo = c.expect("PRIVMSG #t :with tags");
    assert!(echo.starts_with("@time=20"), "{echo}");
    assert!(!echo.contains("msgid"), "msgid needs message-tags: {echo}");
    c.send("PRIVMSG tagger :note to self");
    c.expect(":tagger!tagger@chatd PRIVMSG tagger :note to self");
    c.send("CAP REQ :message-tags");
    c.expect("ACK :message-tags");
    c.send("PRIVMSG #t :with an id");
    let echo = c.expect("PRIVMSG #t :with an id");
    assert!(echo.contains(";msgid=t-"), "{echo}");
    c.send("CAP REQ :-echo-message");
    c.expect("ACK :-echo-message");
    c.send("PRIVMSG #t :silent");
    assert!(!c.drain().iter().any(|l| l.contains("silent")));
}

#[test]
fn history_is_replayed_after_the_join_with_its_times() {
    let server = Server::start("");
    let mut bob = server.user("bob", "archive");
    bob.send("first words");
    bob.send("second words");
    bob.sync();
    let mut plain = server.irc_user("plain");
    plain.send("JOIN #archive");
    plain.expect(":plain!plain@chatd JOIN #archive");
    plain.expect(" 366 plain #archive ");
    let first = plain.expect("first words");
    assert!(
        first.starts_with(":bob!bob@chatd PRIVMSG #archive :[") && first.ends_with("] first words"),
        "{first}"
    );
    plain.expect("second words");
    let mut timed = server.irc();
    timed.send("CAP REQ server-time");
    timed.send("CAP END");
    timed.register("timed");
    timed.send("JOIN #archive");
    timed.expect(" 366 timed #archive ");
    let first = timed.expect("first words");
    assert!(
        first.starts_with("@time=") && first.ends_with("PRIVMSG #archive :first words"),
        "{first}"
    );
}

#[test]
fn queries_lists_and_errors_answer_with_the_standard_numerics() {
    let server = Server::start("");
    let mut c = server.irc_user("quinn");
    let _bob = server.user("bob", "lobby");
    c.send("JOIN #lobby,#second");
    c.expect(" 366 quinn #lobby ");
    c.expect(" 366 quinn #second ");
    c.send("NAMES #lobby");
    let names = c.expect(" 353 quinn = #lobby ");
    assert!(names.ends_with(":@bob quinn"), "{names}");
    c.expect(" 366 quinn #lobby :End of /NAMES list.");
    c.send("WHO #lobby");
    c.expect(" 352 quinn #lobby bob chatd chatd bob H@ :0 bob");
    c.expect(" 315 quinn #lobby :End of /WHO list.");
    c.send("LIST");
    c.expect(" 321 quinn Channel :Users  Name");
    c.expect(" 322 quinn #lobby 2 :");
    c.expect(" 322 quinn #second 1 :");
    c.expect(" 323 quinn :End of /LIST");
    c.send("MODE #lobby");
    c.expect(" 324 quinn #lobby :+nt");
    c.send("MODE #lobby b");
    c.expect(" 368 quinn #lobby ");
    c.send("MODE quinn +i");
    c.expect(" 221 quinn :+");
    c.send("MODE bob");
    c.expect(" 502 quinn ");
    c.send("VERSION");
    c.expect(" 351 quinn chatd-");
    c.send("TIME");
    c.expect(" 391 quinn chatd ");
    c.send("PING :are you there");
    c.expect(":chatd PONG chatd :are you there");
    c.send("PING");
    c.expect(" 409 quinn ");
    c.send("FROBNICATE now");
    c.expect(" 421 quinn FROBNICATE :Unknown command");
    c.send("PRIVMSG");
    c.expect(" 411 quinn :No recipient given (PRIVMSG)");
    c.send("PRIVMSG #lobby");
    c.expect(" 412 quinn :No text to send");
    c.send("PRIVMSG #lobby :\u{3}4\u{2}");
    c.expect(" 412 quinn ");
    c.send("PRIVMSG nobody :hello");
    c.expect(" 401 quinn nobody ");
    c.send("PRIVMSG #elsewhere :hello");
    c.expect(" 404 quinn #elsewhere ");
    c.send("PRIVMSG a,b,c,d,e :hello");
    c.expect(" 407 quinn a,b,c,d,e ");
    c.send("PART #elsewhere");
    c.expect(" 442 quinn #elsewhere ");
    c.send("JOIN nohash");
    c.expect(" 403 quinn nohash :No such channel");
    c.send("JOIN #bad!name");
    c.expect(" 403 quinn #bad!name ");
    c.send("JOIN");
    c.expect(" 461 quinn JOIN :Not enough parameters");
    // NOTICE never gets an automatic reply.
    c.send("NOTICE nobody :hello");
    c.send("NOTICE #elsewhere :hello");
    let quiet = c.drain();
    assert!(quiet.is_empty(), "{quiet:?}");
    c.send("JOIN 0");
    let mut parts = vec![c.expect(" PART #"), c.expect(" PART #")];
    parts.sort();
    assert_eq!(
        parts,
        [
            ":quinn!quinn@chatd PART #lobby",
            ":quinn!quinn@chatd PART #second"
        ]
    );
}

#[test]
fn malformed_lines_are_answered_and_the_connection_carries_on() {
    let server = Server::start("");
    let mut c = server.irc_user("mal");
    c.send(":prefix.only");
    c.send("@tags=only");
    c.send(&format!("PRIVMSG {}", "a ".repeat(20)));
    c.expect(" 461 mal * :Too many parameters");
    c.send_raw(b"PRIVMSG #x :\xff\xfe\r\n");
    c.expect("not valid UTF-8");
    c.send_raw(b"PRIVMSG #x :a\0b\r\n");
    c.expect("NUL");
    c.send(&format!("PRIVMSG #x :{}", "y".repeat(600)));
    c.expect(" 417 mal :Input line was too long");
    c.send(&format!("PRIVMSG #x :{}", "z".repeat(20_000)));
    c.expect(" 417 mal :Input line was too long");
    c.send("1234 x");
    c.expect(" 421 mal 1234 ");
    c.send("JOIN #still-here");
    c.expect(":mal!mal@chatd JOIN #still-here");
}

#[test]
fn long_messages_from_other_fronts_are_split_to_fit_irc_lines() {
    let server = Server::start("");
    let mut irc = server.irc_user("reader");
    irc.send("JOIN #long");
    irc.expect(" 366 reader #long ");
    let mut writer = server.user("writer", "long");
    let text: String = (0..300).map(|i| format!("w{i} ")).collect();
    writer.send(text.trim_end());
    let mut got = String::new();
    while got.split_whitespace().count() < 300 {
        let line = irc.expect(":writer!writer@chatd PRIVMSG #long :");
        assert!(line.len() + 2 <= 512, "{} bytes: {line}", line.len());
        let piece = line.split_once(" :").unwrap().1;
        got.push_str(piece);
        got.push(' ');
    }
    assert_eq!(
        got.split_whitespace().collect::<Vec<_>>().join(" "),
        text.trim_end()
    );
}

#[test]
fn a_silent_client_is_pinged_and_then_timed_out() {
    let server = Server::start(
        "[irc]\nlisten = \"127.0.0.1:0\"\nping_interval_secs = 1\nping_timeout_secs = 1\n",
    );
    let mut c = server.irc_user("sleepy");
    c.expect("PING chatd");
    c.send("PONG chatd");
    c.expect("PING chatd");
    let last = c.expect_closed();
    assert!(
        last.iter()
            .any(|l| l == "ERROR :Closing Link: Ping timeout: 2 seconds"),
        "{last:?}"
    );
}

#[test]
fn a_flood_is_delayed_first_and_cut_off_only_when_it_goes_on() {
    let server = Server::start(
        "[limits]\nrate = 5.0\nburst = 5\n[irc]\nlisten = \"127.0.0.1:0\"\nmax_fakelag_secs = 2\n",
    );
    let mut c = server.irc_user("paced");
    // Ten at once: five go through, the rest wait their turn; all are answered.
    std::thread::sleep(Duration::from_secs(2));
    let start = Instant::now();
    for i in 0..10 {
        c.send(&format!("PING :p{i}"));
    }
    c.expect("PONG chatd :p9");
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(700), "not delayed: {took:?}");
    let mut flooder = server.irc_user("flooder");
    let mut writer = flooder.writer();
    let _ = writer.write_all("PING :x\r\n".repeat(100).as_bytes());
    let last = flooder.expect_closed();
    assert!(
        last.iter()
            .any(|l| l.starts_with("ERROR :Closing Link: Excess Flood")),
        "{last:?}"
    );
    // The paced client is still there.
    c.sync();
}

#[test]
fn a_client_that_does_not_read_is_cut_off_with_sendq_exceeded() {
    let server = Server::start("[limits]\nsend_queue = 16\n");
    let mut sleeper = server.irc_user("sleeper");
    sleeper.send("JOIN #busy");
    sleeper.expect(" 366 sleeper #busy ");
    // An IRC talker gets no echoes, so that only the sleeper falls behind.
    let mut talker = server.irc_user("talker");
    talker.send("JOIN #busy");
    talker.expect(" 366 talker #busy ");
    // The sleeper's queue holds 16 messages; its socket buffers hold more for a while.
    let text = "x".repeat(400);
    let mut cut = false;
    for _ in 0..1_000 {
        for _ in 0..200 {
            talker.send(&format!("PRIVMSG #busy :{text}"));
        }
        if server.log().contains("send queue exceeded") {
            cut = true;
            break;
        }
    }
    assert!(cut, "never cut off:\n{}", server.log());

    let mut lines = Vec::new();
    while let Some(line) = sleeper.next_line() {
        lines.push(line);
    }
    assert!(
        lines
            .last()
            .is_some_and(|l| l == "ERROR :Closing Link: SendQ exceeded"),
        "{:?}",
        lines.last()
    );
}

#[test]
fn chatctl_kick_kills_and_users_shows_the_protocol() {
    let server = Server::start("");
    let mut c = server.irc_user("victim");
    let chatctl = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_chatctl"))
            .arg("--socket")
            .arg(&server.socket)
            .args(args)
            .output()
            .unwrap()
    };
    let users = String::from_utf8(chatctl(&["users"]).stdout).unwrap();
    let row = users
        .lines()
        .find(|l| l.contains("victim"))
        .unwrap_or_default();
    assert!(row.contains("irc"), "{users}");
    assert!(
        chatctl(&["kick", "victim", "--reason", "spam"])
            .status
            .success()
    );
    let last = c.expect_closed();
    assert!(
        last.iter()
            .any(|l| l.starts_with(":chatd KILL victim :") && l.contains("spam")),
        "{last:?}"
    );
    assert!(
        last.last()
            .is_some_and(|l| l.starts_with("ERROR :Closing Link")),
        "{last:?}"
    );
}

#[test]
fn a_registration_that_never_completes_times_out() {
    let server = Server::start("[limits]\nregistration_timeout_secs = 1\n");
    let mut c = server.irc();
    c.send("NICK halfway");
    let last = c.expect_closed();
    assert!(
        last.iter().any(|l| l.starts_with("ERROR :Closing Link")),
        "{last:?}"
    );
}

#[test]
fn irc_users_on_two_nodes_meet_each_other_and_netcat_users() {
    let servers = crate::cluster::mesh_with(&["alpha", "bravo"], "");
    let mut ann = servers[0].irc_user("ann");
    ann.send("JOIN #across");
    ann.expect(" 366 ann #across ");
    let mut ben = servers[1].irc_user("ben");
    ben.send("JOIN #across");
    let names = ben.expect(" 353 ben = #across ");
    assert!(names.contains("ann") && names.contains("ben"), "{names}");
    ann.expect(":ben!ben@chatd JOIN #across");
    let mut cid = servers[1].user("cid", "across");
    ann.expect(":cid!cid@chatd JOIN #across");
    ann.send("PRIVMSG #across :from alpha");
    ben.expect(":ann!ann@chatd PRIVMSG #across :from alpha");
    cid.expect("<ann> from alpha");
    cid.send("from netcat on bravo");
    ann.expect(":cid!cid@chatd PRIVMSG #across :from netcat on bravo");
    ben.send("PRIVMSG ann :private across");
    ann.expect(":ben!ben@chatd PRIVMSG ann :private across");
    ben.send("QUIT :later");
    ann.expect(":ben!ben@chatd QUIT :Quit: later");
}

#[test]
fn topics_operators_and_kicks_are_the_rooms_and_every_front_sees_them() {
    let server = Server::start("");
    let mut alice = server.irc_user("alice");
    alice.send("JOIN #ops");
    alice.expect(" 353 alice = #ops :@alice");
    alice.send("TOPIC #ops");
    alice.expect(" 331 alice #ops :No topic is set");
    alice.send("TOPIC #ops :Welcome \u{2}all\u{2}");
    alice.expect(":alice!alice@chatd TOPIC #ops :Welcome all");
    let mut bob = server.irc_user("bob");
    bob.send("JOIN #ops");
    bob.expect(" 332 bob #ops :Welcome all");
    bob.expect(" 333 bob #ops alice!alice@chatd ");
    bob.expect(" 353 bob = #ops :@alice bob");
    let mut carl = server.user("carl", "ops");
    let state = carl.expect("#ops -- topic: Welcome all (set by alice");
    assert!(state.ends_with("; operators: alice"), "{state}");
    // Only operators set the topic, give operator status and kick.
    bob.send("TOPIC #ops :mine now");
    bob.expect(" 482 bob #ops ");
    carl.send("/kick alice");
    carl.expect("! not_operator: you are not an operator of #ops");
    alice.send("MODE #ops +o bob");
    alice.expect(":alice!alice@chatd MODE #ops +o :bob");
    bob.expect(":alice!alice@chatd MODE #ops +o :bob");
    carl.expect("#ops -- alice made bob an operator");
    bob.send("NAMES #ops");
    bob.expect(" 353 bob = #ops :@alice @bob carl");
    bob.send("WHO #ops");
    bob.expect(" 352 bob #ops bob chatd chatd bob H@ :0 bob");
    bob.send("TOPIC #ops :");
    carl.expect("#ops -- bob cleared the topic");
    carl.send("/topic");
    carl.expect("#ops -- no topic; operators: alice bob");
    bob.send("MODE #ops -o alice");
    alice.expect(":bob!bob@chatd MODE #ops -o :alice");
    alice.send("MODE #ops +o carl");
    alice.expect(" 482 alice #ops ");
    bob.send("MODE #ops +x");
    bob.expect(" 472 bob x ");
    bob.send("KICK #ops nobody");
    bob.expect(" 441 bob nobody #ops ");
    bob.send("KICK #ops carl :behave");
    bob.expect(":bob!bob@chatd KICK #ops carl :behave");
    carl.expect("#ops -- bob removed carl (behave)");
    carl.send("hello?");
    carl.expect("! no_current_room");
    bob.send("KICK #ops alice");
    alice.expect(":bob!bob@chatd KICK #ops alice :bob");
    alice.send("PRIVMSG #ops :still here?");
    alice.expect(" 404 alice #ops ");
    // A kicked member may join again.
    alice.send("JOIN #ops");
    alice.expect(" 353 alice = #ops :alice @bob");
}

#[test]
fn away_whois_ison_userhost_and_lusers_answer_as_irc_clients_expect() {
    let server = Server::start("");
    let mut ann = server.irc_user("ann");
    ann.send("JOIN #here");
    ann.expect(" 366 ann #here ");
    let mut ben = server.user("ben", "here");
    ben.send("/away at lunch");
    ben.expect("-- ben is away: at lunch");
    ann.send("PRIVMSG ben :are you there?");
    ann.expect(" 301 ann ben :at lunch");
    ann.send("WHOIS ben");
    ann.expect(" 311 ann ben ben chatd * :ben");
    ann.expect(" 319 ann ben :#here");
    ann.expect(" 312 ann ben chatd :chatd node chatd");
    ann.expect(" 301 ann ben :at lunch");
    ann.expect(" 318 ann ben :End of /WHOIS list.");
    ann.send("WHOIS nobody");
    ann.expect(" 401 ann nobody ");
    ann.send("WHO ben");
    ann.expect(" 352 ann * ben chatd chatd ben G :0 ben");
    ann.expect(" 315 ann ben :End of /WHO list.");
    ann.send("WHO #here");
    ann.expect(" 352 ann #here ann chatd chatd ann H@ :0 ann");
    ann.expect(" 352 ann #here ben chatd chatd ben G :0 ben");
    ann.expect(" 315 ann #here :End of /WHO list.");
    ben.send("/users");
    ben.expect("#here -- users (2): ann ben (away)");
    ann.send("ISON ben nobody ANN");
    ann.expect(" 303 ann :ben ann");
    ann.send("USERHOST ben");
    ann.expect(" 302 ann :ben=+ben@chatd");
    ann.send("LUSERS");
    ann.expect(" 251 ann :There are 2 users and 0 invisible on 1 servers");
    ann.expect(" 254 ann 2 :channels formed");
    ann.send("AWAY :brb");
    ann.expect(" 306 ann :You have been marked as being away");
    ben.send("/msg ann hi");
    ben.expect("-- ann is away: brb");
    ben.send("/whois ann");
    ben.expect("-- ann: on node chatd since ");
    ann.send("AWAY");
    ann.expect(" 305 ann :You are no longer marked as being away");
    ann.send("PART #here :off to lunch");
    ben.expect("#here -- ann left (part: off to lunch)");
    let mut cat = server.irc_user("cat");
    cat.send("JOIN #here");
    cat.expect(" 366 cat #here ");
    ben.send("/leave here gone now");
    cat.expect(":ben!ben@chatd PART #here :gone now");
}

/// WeeChat (Debian's `weechat-headless`) as an IRC user would run it: it connects, negotiates
/// capabilities, joins, says something and reads what a netcat user says; its logs show what
/// it understood.
#[test]
fn weechat_joins_and_chats_with_a_netcat_user() {
    let server = Server::start("");
    let dir = tempfile::tempdir().unwrap();
    let irc = server.irc_addr();
    let commands = format!(
        "/set logger.file.auto_log on; /set logger.file.flush_delay 0; \
         /server add chatd {}/{} -notls -nicks=weezy -username=weezy -realname=Weezy \
         -autojoin=#general; /connect chatd; \
         /wait 3 /msg -server chatd #general hello from weechat",
        irc.ip(),
        irc.port()
    );
    let mut weechat = Command::new("weechat-headless")
        .arg("--dir")
        .arg(dir.path())
        .arg("-r")
        .arg(&commands)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("weechat-headless (make test installs it)");
    let mut nc = server.user("ncuser", "general");
    nc.expect("#general -- weezy joined");
    nc.expect("#general <weezy> hello from weechat");
    nc.send("hello weezy, from netcat");
    nc.send("/me waves");
    let log = dir.path().join("logs/irc.chatd.#general.weechatlog");
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(10);
    let seen = |text: &str| {
        // ncuser opened the room: weechat shows it as @ncuser.
        text.contains("\t@ncuser\thello weezy, from netcat") && text.contains("\t *\tncuser waves")
    };
    while !seen(&read()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let text = read();
    assert!(seen(&text), "{text}");
    assert!(
        text.contains("weezy (weezy@chatd) has joined #general"),
        "{text}"
    );
    assert!(
        text.contains("Channel #general: 2 nicks (1 op, 1 normal)"),
        "{text}"
    );
    let server_log = std::fs::read_to_string(dir.path().join("logs/irc.server.chatd.weechatlog"))
        .unwrap_or_default();
    assert!(
        server_log.contains("Welcome to the chatd IRC Network weezy!weezy@chatd"),
        "{server_log}"
    );
    assert!(server_log.contains("server-time"), "{server_log}");
    nc.send("/quit");
    let _ = weechat.kill();
    let _ = weechat.wait();
}

#[test]
fn irc_over_tls_registers_and_chats() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let (cert_path, key_path) = (dir.path().join("irc.pem"), dir.path().join("irc.key"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    let server = Server::start(&format!(
        "[irc]\nlisten = \"127.0.0.1:0\"\ntls_listen = \"127.0.0.1:0\"\n[irc.tls]\ncert = \"{}\"\nkey = \"{}\"\n",
        cert_path.display(),
        key_path.display()
    ));
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(cert.der().to_vec()))
        .unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let tls = rustls::ClientConnection::new(std::sync::Arc::new(config), name).unwrap();
    let tcp = std::net::TcpStream::connect(server.irc_tls_addr()).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut stream = rustls::StreamOwned::new(tls, tcp);
    stream
        .write_all(b"NICK secure\r\nUSER secure 0 * :Secure\r\nJOIN #vault\r\n")
        .unwrap();
    let mut lines = BufReader::new(stream);
    fn expect<R: BufRead>(lines: &mut R, needle: &str) {
        loop {
            let mut line = String::new();
            assert!(
                lines.read_line(&mut line).unwrap() > 0,
                "closed before {needle:?}"
            );
            if line.contains(needle) {
                return;
            }
        }
    }
    expect(&mut lines, " 001 secure ");
    expect(&mut lines, " 366 secure #vault ");
    let mut nc = server.user("plain", "vault");
    expect(&mut lines, ":plain!plain@chatd JOIN #vault");
    lines
        .get_mut()
        .write_all(b"PRIVMSG #vault :over TLS\r\n")
        .unwrap();
    nc.expect("#vault <secure> over TLS");
    nc.send("and back in clear");
    expect(
        &mut lines,
        ":plain!plain@chatd PRIVMSG #vault :and back in clear",
    );
}

#[test]
fn away_notify_and_typing_tags_reach_the_clients_that_asked_for_them() {
    let server = Server::start("");
    let mut watcher = server.irc();
    watcher.send("CAP REQ :away-notify message-tags");
    watcher.send("CAP END");
    watcher.register("watcher");
    watcher.send("JOIN #room");
    watcher.expect(" 366 watcher #room ");
    let mut plain = server.irc_user("plain");
    plain.send("JOIN #room");
    plain.expect(" 366 plain #room ");
    let mut typist = server.irc();
    typist.send("CAP REQ message-tags");
    typist.send("CAP END");
    typist.register("typist");
    typist.send("JOIN #room");
    typist.expect(" 366 typist #room ");
    watcher.expect(":typist!typist@chatd JOIN #room");
    typist.send("@+typing=active TAGMSG #room");
    watcher.expect("@+typing=active :typist!typist@chatd TAGMSG #room");
    typist.send("AWAY :coffee");
    typist.expect(" 306 typist ");
    watcher.expect(":typist!typist@chatd AWAY :coffee");
    typist.send("AWAY");
    watcher.expect(":typist!typist@chatd AWAY");
    // Someone who is away when joining is announced as away after the JOIN, and shows so in
    // WHO #channel.
    typist.send("AWAY :tea");
    typist.expect(" 306 typist ");
    typist.send("PART #room");
    watcher.expect(":typist!typist@chatd PART #room");
    typist.send("JOIN #room");
    watcher.expect(":typist!typist@chatd JOIN #room");
    watcher.expect(":typist!typist@chatd AWAY :tea");
    watcher.send("WHO #room");
    watcher.expect(" 352 watcher #room typist chatd chatd typist G :0 typist");
    watcher.expect(" 315 watcher #room ");
    // Neither reaches a client that did not ask.
    let seen = plain.drain();
    assert!(
        !seen
            .iter()
            .any(|l| l.contains("TAGMSG") || l.contains(" AWAY")),
        "{seen:?}"
    );
}

#[test]
fn chathistory_answers_from_the_rooms_history_in_a_batch() {
    let server = Server::start("");
    let mut bob = server.user("bob", "log");
    for i in 1..=5 {
        bob.send(&format!("line {i}"));
    }
    bob.sync();
    let mut c = server.irc();
    c.send("CAP LS 302");
    let ls = c.expect(" CAP * LS ");
    assert!(
        ls.contains("draft/chathistory") && ls.contains("batch"),
        "{ls}"
    );
    c.send("CAP REQ :batch draft/chathistory message-tags server-time");
    c.send("CAP END");
    c.register("reader");
    let isupport = c
        .seen
        .iter()
        .find(|l| l.contains(" 005 reader "))
        .cloned()
        .unwrap_or_default();
    assert!(isupport.contains("CHATHISTORY=100"), "{isupport}");
    c.send("CHATHISTORY LATEST #log * 2");
    c.expect("FAIL CHATHISTORY INVALID_TARGET #log :");
    c.send("JOIN #log");
    c.expect(" 366 reader #log ");
    c.drain();
    c.send("CHATHISTORY LATEST #log * 2");
    c.expect(":chatd BATCH +history-log chathistory :#log");
    let first = c.expect("PRIVMSG #log :line 4");
    assert!(
        first.starts_with("@batch=history-log;time=") && first.contains(";msgid=log-4 "),
        "{first}"
    );
    c.expect("PRIVMSG #log :line 5");
    c.expect(":chatd BATCH -history-log");
    c.send("CHATHISTORY BEFORE #log msgid=log-3 5");
    c.expect("msgid=log-1 :bob!bob@chatd PRIVMSG #log :line 1");
    c.expect("msgid=log-2 :bob!bob@chatd PRIVMSG #log :line 2");
    c.expect("BATCH -history-log");
    c.send("CHATHISTORY AFTER #log msgid=log-4 5");
    c.expect("msgid=log-5 :bob!bob@chatd PRIVMSG #log :line 5");
    c.expect("BATCH -history-log");
    c.send("CHATHISTORY BEFORE #log timestamp=2026-01-01T00:00:00.000Z 5");
    c.expect("FAIL CHATHISTORY INVALID_PARAMS :references are * or msgid=");
    c.send("CHATHISTORY LATEST #log");
    c.expect("FAIL CHATHISTORY NEED_MORE_PARAMS");
}

/// irssi (Debian's) in a real terminal: it connects, joins, shows the room's operator, the
/// netcat user's message and action, and says something the netcat user reads.
#[test]
fn irssi_in_a_terminal_chats_with_a_netcat_user() {
    let server = Server::start("");
    let mut nc = server.user("ncu", "general");
    let home = tempfile::tempdir().unwrap();
    let irc = server.irc_addr();
    let irssi = crate::util::tmux::Tmux::start(
        120,
        30,
        &format!(
            "TERM=xterm irssi --home={} -c {} -p {} -n irsi",
            home.path().display(),
            irc.ip(),
            irc.port()
        ),
    );
    irssi.wait_for("MOTD File is missing");
    irssi.type_line("/join #general");
    irssi.wait_for("irsi [irsi@chatd] has joined #general");
    irssi.wait_for("[@ncu]");
    nc.expect("#general -- irsi joined");
    nc.send("hi irssi, from netcat");
    nc.send("/me waves");
    irssi.wait_for("<@ncu> hi irssi, from netcat");
    irssi.wait_for("* ncu waves");
    irssi.type_line("hello from irssi");
    nc.expect("#general <irsi> hello from irssi");
    irssi.type_line("/quit see you");
    nc.expect("#general -- irsi left (quit: see you)");
}
