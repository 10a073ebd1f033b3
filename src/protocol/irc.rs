//! The IRC message grammar (RFC 1459 / 2812 with IRCv3 message tags): parsing one line a client
//! sends into a [`Message`] and writing a [`Message`] as a line. Shared by the server's IRC front
//! and the load generator; what the commands mean is theirs.
//!
//! ```text
//! [@tag=value;tag2 ][:prefix ]COMMAND[ param ...][ :trailing param]
//! ```
//!
//! Limits as IRC servers have them: the message itself (prefix, command, parameters) at most
//! [`MAX_BODY`] bytes with its line ending, the tags at most [`MAX_TAGS`] bytes, at most
//! [`MAX_PARAMS`] parameters. chatd takes UTF-8 only, and never a NUL, CR or LF inside a line.

/// The longest message body, with its CR LF (RFC 1459's 512).
pub const MAX_BODY: usize = 512;
/// The longest tags section, with its `@` and the space after it (IRCv3's 8191).
pub const MAX_TAGS: usize = 8191;
/// The most parameters a message may have (RFC 2812's 15).
pub const MAX_PARAMS: usize = 15;

/// One IRC message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// IRCv3 message tags, in order, with their values unescaped.
    pub tags: Vec<(String, Option<String>)>,
    /// Who it is from (`nick!user@host` or a server name), without the `:`.
    pub prefix: Option<String>,
    /// The command (`PRIVMSG`, `JOIN`, a numeric such as `001`), upper-cased when parsed.
    pub command: String,
    /// The parameters, the trailing one included, without its `:`.
    pub params: Vec<String>,
    /// Whether the last parameter is (or is to be written as) a trailing one, with its `:`,
    /// even where it need not be (`AWAY :lunch`, as servers write it).
    pub trailing: bool,
}

/// Why a line is not an IRC message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Nothing but spaces.
    #[error("empty line")]
    Empty,
    /// Not UTF-8.
    #[error("the line is not valid UTF-8")]
    InvalidUtf8,
    /// A NUL, CR or LF inside the line.
    #[error("the line contains a NUL, CR or LF")]
    ForbiddenByte,
    /// The body (without tags) is longer than [`MAX_BODY`].
    #[error("the line is longer than {MAX_BODY} bytes")]
    BodyTooLong,
    /// The tags are longer than [`MAX_TAGS`].
    #[error("the tags are longer than {MAX_TAGS} bytes")]
    TagsTooLong,
    /// Tags or a prefix, but no command.
    #[error("no command")]
    NoCommand,
    /// A command that is neither letters nor a three-digit numeric.
    #[error("{0:?} is not a command")]
    BadCommand(String),
    /// More than [`MAX_PARAMS`] parameters.
    #[error("more than {MAX_PARAMS} parameters")]
    TooManyParams,
}

/// Parses one line, without its line ending (a trailing CR is taken off).
pub fn parse(line: &[u8]) -> Result<Message, ParseError> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.iter().any(|b| matches!(b, 0 | b'\r' | b'\n')) {
        return Err(ParseError::ForbiddenByte);
    }
    let line = std::str::from_utf8(line).map_err(|_| ParseError::InvalidUtf8)?;
    let mut rest = line.trim_start_matches(' ');
    if rest.is_empty() {
        return Err(ParseError::Empty);
    }
    let mut message = Message::default();
    if let Some(tagged) = rest.strip_prefix('@') {
        let (tags, after) = tagged.split_once(' ').ok_or(ParseError::NoCommand)?;
        if tags.len() + 2 > MAX_TAGS {
            return Err(ParseError::TagsTooLong);
        }
        message.tags = tags
            .split(';')
            .filter(|t| !t.is_empty())
            .map(|tag| match tag.split_once('=') {
                Some((key, value)) => (key.to_string(), Some(unescape(value))),
                None => (tag.to_string(), None),
            })
            .collect();
        rest = after.trim_start_matches(' ');
    }
    if rest.len() + 2 > MAX_BODY {
        return Err(ParseError::BodyTooLong);
    }
    if let Some(prefixed) = rest.strip_prefix(':') {
        let (prefix, after) = prefixed.split_once(' ').ok_or(ParseError::NoCommand)?;
        message.prefix = Some(prefix.to_string());
        rest = after.trim_start_matches(' ');
    }
    let (command, mut params) = match rest.split_once(' ') {
        Some((command, params)) => (command, params),
        None => (rest, ""),
    };
    if command.is_empty() {
        return Err(ParseError::NoCommand);
    }
    let numeric = command.len() == 3 && command.bytes().all(|b| b.is_ascii_digit());
    if !numeric && !command.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(ParseError::BadCommand(command.to_string()));
    }
    message.command = command.to_ascii_uppercase();
    loop {
        params = params.trim_start_matches(' ');
        if params.is_empty() {
            break;
        }
        if message.params.len() == MAX_PARAMS {
            return Err(ParseError::TooManyParams);
        }
        if let Some(trailing) = params.strip_prefix(':') {
            message.params.push(trailing.to_string());
            message.trailing = true;
            break;
        }
        match params.split_once(' ') {
            Some((param, after)) => {
                message.params.push(param.to_string());
                params = after;
            }
            None => {
                message.params.push(params.to_string());
                break;
            }
        }
    }
    Ok(message)
}

/// A tag value as sent, unescaped (`\:` is `;`, `\s` a space, `\\` a backslash, `\r` and `\n`
/// CR and LF; another escaped character stands for itself, a lone trailing `\` for nothing).
fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(':') => out.push(';'),
            Some('s') => out.push(' '),
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// A tag value escaped for sending.
fn escape(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            ';' => out.push_str("\\:"),
            ' ' => out.push_str("\\s"),
            '\\' => out.push_str("\\\\"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

impl Message {
    /// A message with a command and parameters.
    pub fn new(command: &str, params: &[&str]) -> Message {
        Message {
            command: command.to_string(),
            params: params.iter().map(|p| p.to_string()).collect(),
            ..Message::default()
        }
    }

    /// The same message, its last parameter written as a trailing one.
    pub fn trailing(mut self) -> Message {
        self.trailing = true;
        self
    }

    /// The same message from `prefix`.
    pub fn from(mut self, prefix: &str) -> Message {
        self.prefix = Some(prefix.to_string());
        self
    }

    /// The line, with CR LF. The last of two or more parameters is written as a trailing one
    /// (`:`), as servers conventionally do (`PRIVMSG #a :hi`, `CAP * ACK :server-time`); a
    /// single parameter only when it must be (empty, with a space, or starting with `:`).
    /// Earlier parameters must not need it.
    pub fn to_line(&self) -> String {
        let mut out = String::with_capacity(64);
        if !self.tags.is_empty() {
            out.push('@');
            for (i, (key, value)) in self.tags.iter().enumerate() {
                if i > 0 {
                    out.push(';');
                }
                out.push_str(key);
                if let Some(value) = value {
                    out.push('=');
                    escape(value, &mut out);
                }
            }
            out.push(' ');
        }
        write_line(
            &mut out,
            self.prefix.as_deref(),
            &self.command,
            &self.params,
            self.trailing,
        );
        out
    }
}

/// Appends an untagged line to `out`, with CR LF, spelled as [`Message::to_line`] spells it:
/// for lines built from borrowed parts, without a [`Message`] in between (numerics, of which a
/// registration writes a dozen).
pub fn write_line<P: AsRef<str>>(
    out: &mut String,
    prefix: Option<&str>,
    command: &str,
    params: &[P],
    trailing: bool,
) {
    if let Some(prefix) = prefix {
        out.push(':');
        out.push_str(prefix);
        out.push(' ');
    }
    out.push_str(command);
    if let Some((last, first)) = params.split_last() {
        let last = last.as_ref();
        for param in first {
            out.push(' ');
            out.push_str(param.as_ref());
        }
        out.push(' ');
        if trailing
            || !first.is_empty()
            || last.is_empty()
            || last.contains(' ')
            || last.starts_with(':')
        {
            out.push(':');
        }
        out.push_str(last);
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok(line: &str) -> Message {
        parse(line.as_bytes()).unwrap()
    }

    #[test]
    fn messages_parse_as_clients_send_them() {
        let m = ok("PRIVMSG #general :hello there");
        assert_eq!(m.command, "PRIVMSG");
        assert_eq!(m.params, ["#general", "hello there"]);
        assert_eq!(
            ok("nick alice\r").params,
            ["alice"],
            "a CR LF ending, lower case"
        );
        assert_eq!(ok("nick alice").command, "NICK");
        assert_eq!(ok("USER a 0 * :Alice A").params, ["a", "0", "*", "Alice A"]);
        assert_eq!(
            ok("JOIN  #a,#b   key").params,
            ["#a,#b", "key"],
            "runs of spaces"
        );
        assert_eq!(ok("PRIVMSG #a ::-)").params, ["#a", ":-)"]);
        assert_eq!(
            ok("TOPIC #a :").params,
            ["#a", ""],
            "an empty trailing parameter"
        );
        assert!(ok("PING").params.is_empty());
        let m = ok(":irc.example 001 alice :Welcome");
        assert_eq!(m.prefix.as_deref(), Some("irc.example"));
        assert_eq!(m.command, "001");
        let m = ok("@time=2026-11-29T12:00:00.000Z;+draft/x;msgid=a\\sb\\:c :n!u@h PRIVMSG #a :x");
        assert_eq!(
            m.tags,
            [
                ("time".into(), Some("2026-11-29T12:00:00.000Z".into())),
                ("+draft/x".into(), None),
                ("msgid".into(), Some("a b;c".into())),
            ]
        );
    }

    #[test]
    fn bad_lines_are_refused_with_the_reason() {
        assert_eq!(parse(b""), Err(ParseError::Empty));
        assert_eq!(parse(b"   "), Err(ParseError::Empty));
        assert_eq!(parse(b":prefix-only"), Err(ParseError::NoCommand));
        assert_eq!(parse(b"@a=b"), Err(ParseError::NoCommand));
        assert_eq!(parse(b"PRIV MSG"), Ok(Message::new("PRIV", &["MSG"])));
        assert_eq!(
            parse(b"PRIV-MSG x"),
            Err(ParseError::BadCommand("PRIV-MSG".into()))
        );
        assert_eq!(parse(b"1234 x"), Err(ParseError::BadCommand("1234".into())));
        assert_eq!(parse(b"PRIVMSG #a :a\0b"), Err(ParseError::ForbiddenByte));
        assert_eq!(parse(b"PRIVMSG #a :a\rb"), Err(ParseError::ForbiddenByte));
        assert_eq!(parse(b"PRIVMSG #a :\xff"), Err(ParseError::InvalidUtf8));
        let params = vec!["p"; 16].join(" ");
        assert_eq!(
            parse(format!("CMD {params}").as_bytes()),
            Err(ParseError::TooManyParams)
        );
        assert!(parse(format!("CMD {}", vec!["p"; 15].join(" ")).as_bytes()).is_ok());
        let long = format!("PRIVMSG #a :{}", "x".repeat(MAX_BODY));
        assert_eq!(parse(long.as_bytes()), Err(ParseError::BodyTooLong));
        let fits = format!("PRIVMSG #a :{}", "x".repeat(MAX_BODY - 2 - 12));
        assert!(parse(fits.as_bytes()).is_ok(), "510 bytes and CR LF fit");
        let tags = format!("@a={} PING", "x".repeat(MAX_TAGS));
        assert_eq!(parse(tags.as_bytes()), Err(ParseError::TagsTooLong));
    }

    #[test]
    fn lines_are_written_with_a_trailing_parameter_where_needed() {
        let m = Message::new("PRIVMSG", &["#a", "hello there"]).from("alice!a@h");
        assert_eq!(m.to_line(), ":alice!a@h PRIVMSG #a :hello there\r\n");
        assert_eq!(Message::new("JOIN", &["#a"]).to_line(), "JOIN #a\r\n");
        assert_eq!(
            Message::new("TOPIC", &["#a", ""]).to_line(),
            "TOPIC #a :\r\n"
        );
        assert_eq!(Message::new("X", &[":)"]).to_line(), "X ::)\r\n");
        assert_eq!(Message::new("PING", &[]).to_line(), "PING\r\n");
        assert_eq!(
            Message::new("CAP", &["*", "ACK", "x"]).to_line(),
            "CAP * ACK :x\r\n"
        );
        let tagged = Message {
            tags: vec![
                ("time".into(), Some("t".into())),
                ("k".into(), Some("a;b c\\".into())),
                ("flag".into(), None),
            ],
            ..Message::new("PING", &["x"])
        };
        assert_eq!(tagged.to_line(), "@time=t;k=a\\:b\\sc\\\\;flag PING x\r\n");
    }

    proptest! {
        #[test]
        fn fuzz_any_bytes_parse_or_fail_cleanly(line in proptest::collection::vec(any::<u8>(), 0..700)) {
            let _ = parse(&line);
        }

        #[test]
        fn written_messages_parse_back(
            command in "[A-Z]{1,10}",
            middle in proptest::collection::vec("[!-9;-~][!-~]{0,8}", 0..5),
            trailing in proptest::option::of("[ -~]{0,40}"),
            tag in proptest::option::of(("[a-z]{1,8}", "[ -~]{0,20}")),
        ) {
            let mut params = middle.clone();
            params.extend(trailing);
            let message = Message {
                tags: tag.into_iter().map(|(k, v)| (k, Some(v))).collect(),
                prefix: Some("n!u@h".into()),
                command,
                params,
                ..Message::default()
            };
            let line = message.to_line();
            let parsed = parse(line.trim_end_matches("\r\n").as_bytes()).unwrap();
            // Whether the last parameter was written as a trailing one is the writer's choice.
            prop_assert_eq!(Message { trailing: false, ..parsed }, message);
        }
    }
}
