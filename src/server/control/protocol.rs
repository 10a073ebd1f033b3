//! The control protocol: newline-delimited JSON over the control socket, one request object per
//! line and one response object per line.
//!
//! Request: `{"v": 1, "cmd": "kick", "nick": "alice", "reason": "spam"}` (`v` may be left out).
//! Response: `{"ok": true, "data": ...}` or `{"ok": false, "error": {"code": "...", "message":
//! "..."}}`. Commands: `status`, `rooms`, `users` (`room`), `kick` (`nick`, `reason`),
//! `announce` (`text`), `nodes`, `history` (`room`, `limit`), `purge` (`room`, `before`),
//! `reload`, `shutdown` (`delay_secs`, `message`). Error codes:
//! `bad_request`, `unknown_command`, `request_too_large`, `unsupported_version`, `not_found`,
//! `permission_denied`, `unavailable`, `bad_config`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Version of the control protocol.
pub const CONTROL_VERSION: u32 = 1;

/// Longest request line, in bytes.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// An admin request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Node and cluster summary.
    Status,
    /// Every listed room in the cluster; with `all`, rooms by code too.
    Rooms {
        /// Also the unlisted rooms (rooms by code).
        #[serde(default)]
        all: bool,
    },
    /// Every user in the cluster, or in one room.
    Users {
        /// Only the users of this room.
        #[serde(default)]
        room: Option<String>,
    },
    /// Disconnect a user, wherever it is connected.
    Kick {
        /// Whom.
        nick: String,
        /// Shown to the user and its rooms.
        #[serde(default)]
        reason: Option<String>,
    },
    /// A system message to every connected user in the cluster.
    Announce {
        /// The text.
        text: String,
    },
    /// The cluster's nodes.
    Nodes,
    /// A room's last messages, from its history.
    History {
        /// The room.
        room: String,
        /// How many (`history.replay` by default).
        #[serde(default)]
        limit: Option<u32>,
    },
    /// Delete a room's stored messages (moderation): all, or those numbered below `before`.
    Purge {
        /// The room.
        room: String,
        /// Only messages numbered below this.
        #[serde(default)]
        before: Option<u64>,
    },
    /// Re-read the configuration; apply what can change at runtime.
    Reload,
    /// Announce, wait, then shut this node down gracefully.
    Shutdown {
        /// Seconds to wait after the announcement.
        #[serde(default)]
        delay_secs: Option<u64>,
        /// The announcement (a default one otherwise).
        #[serde(default)]
        message: Option<String>,
    },
}

/// A request line as `chatctl` sends it: the protocol version and the request.
pub fn request_line(request: &Request) -> String {
    let mut value = serde_json::to_value(request).unwrap_or(Value::Null);
    if let Value::Object(fields) = &mut value {
        fields.insert("v".into(), Value::from(CONTROL_VERSION));
    }
    format!("{value}\n")
}

/// A failed request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlError {
    /// Stable code: `bad_request`, `unknown_command`, `request_too_large`, `unsupported_version`,
    /// `not_found`, `permission_denied`, `unavailable`.
    pub code: String,
    /// For people.
    pub message: String,
}

/// A response line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// Whether the request succeeded.
    pub ok: bool,
    /// The result, when `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    /// The failure, when not `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ControlError>,
}

impl ControlError {
    /// An error with this code and text.
    pub fn new(code: &str, message: impl Into<String>) -> ControlError {
        ControlError {
            code: code.to_string(),
            message: message.into(),
        }
    }
}

impl From<ControlError> for Response {
    fn from(error: ControlError) -> Response {
        Response {
            ok: false,
            data: None,
            error: Some(error),
        }
    }
}

impl Response {
    /// A success carrying `data`.
    pub fn ok(data: Value) -> Response {
        Response {
            ok: true,
            data: Some(data),
            error: None,
        }
    }

    /// A failure.
    pub fn error(code: &str, message: impl Into<String>) -> Response {
        ControlError::new(code, message).into()
    }
}

/// Parses a request line.
pub fn parse(line: &str) -> Result<Request, ControlError> {
    let value: Value = serde_json::from_str(line)
        .map_err(|e| ControlError::new("bad_request", format!("not JSON: {e}")))?;
    let Some(cmd) = value.get("cmd").and_then(Value::as_str).map(str::to_string) else {
        return Err(ControlError::new(
            "bad_request",
            "a request needs a \"cmd\"",
        ));
    };
    // Each command and the fields it takes (besides `cmd` and `v`).
    const COMMANDS: &[(&str, &[&str])] = &[
        ("status", &[]),
        ("rooms", &["all"]),
        ("users", &["room"]),
        ("kick", &["nick", "reason"]),
        ("announce", &["text"]),
        ("nodes", &[]),
        ("history", &["room", "limit"]),
        ("purge", &["room", "before"]),
        ("reload", &[]),
        ("shutdown", &["delay_secs", "message"]),
    ];
    let Some((_, takes)) = COMMANDS.iter().find(|(name, _)| *name == cmd) else {
        let known: Vec<&str> = COMMANDS.iter().map(|(name, _)| *name).collect();
        return Err(ControlError::new(
            "unknown_command",
            format!("unknown command {cmd:?}; known: {}", known.join(", ")),
        ));
    };
    if let Some(extra) = value.as_object().and_then(|fields| {
        fields
            .keys()
            .find(|k| !["cmd", "v"].contains(&k.as_str()) && !takes.contains(&k.as_str()))
    }) {
        return Err(ControlError::new(
            "bad_request",
            format!("{cmd} takes no field {extra:?}"),
        ));
    }
    // `v` is taken off by hand: serde cannot deny unknown fields through `flatten`.
    let Value::Object(mut fields) = value else {
        return Err(ControlError::new(
            "bad_request",
            "a request is a JSON object",
        ));
    };
    let version = match fields.remove("v") {
        None => CONTROL_VERSION,
        Some(v) => v.as_u64().unwrap_or(0) as u32,
    };
    if version != CONTROL_VERSION {
        return Err(ControlError::new(
            "unsupported_version",
            format!(
                "control protocol version {version} is not supported (this is {CONTROL_VERSION})"
            ),
        ));
    }
    serde_json::from_value(Value::Object(fields))
        .map_err(|e| ControlError::new("bad_request", format!("bad {cmd} request: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_and_errors_have_codes() {
        assert_eq!(parse(r#"{"cmd":"status"}"#).unwrap(), Request::Status);
        assert_eq!(
            parse(r#"{"v":1,"cmd":"kick","nick":"al","reason":"spam"}"#).unwrap(),
            Request::Kick {
                nick: "al".into(),
                reason: Some("spam".into())
            }
        );
        let code = |line: &str| parse(line).unwrap_err().code;
        assert_eq!(code("{nope"), "bad_request");
        assert_eq!(code(r#"{"cmd":"dance"}"#), "unknown_command");
        assert_eq!(code(r#"{"cmd":"kick"}"#), "bad_request");
        assert_eq!(code(r#"{"cmd":"status","extra":1}"#), "bad_request");
        assert_eq!(code(r#"{"v":2,"cmd":"status"}"#), "unsupported_version");
        let kick = Request::Kick {
            nick: "n".into(),
            reason: None,
        };
        assert_eq!(parse(request_line(&kick).trim()).unwrap(), kick);
    }

    mod fuzz {
        //! Properties over arbitrary request lines (`PROPTEST_CASES` sets how many).
        use super::*;
        use proptest::prelude::*;

        const CODES: &[&str] = &["bad_request", "unknown_command", "unsupported_version"];

        fn arb_value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                any::<f64>().prop_map(Value::from),
                "\\PC{0,12}".prop_map(Value::from),
            ];
            leaf.prop_recursive(3, 16, 4, |inner| {
                prop_oneof![
                    proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                    proptest::collection::btree_map(
                        prop_oneof![
                            Just("cmd".to_string()),
                            Just("v".to_string()),
                            Just("nick".to_string()),
                            "[a-z_]{1,8}",
                        ],
                        inner,
                        0..4
                    )
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #[test]
            fn any_line_parses_or_fails_with_a_known_code(line in any::<String>()) {
                if let Err(e) = parse(&line) {
                    prop_assert!(CODES.contains(&e.code.as_str()), "{e:?}");
                }
            }

            #[test]
            fn any_json_parses_or_fails_with_a_known_code(value in arb_value(), cmd in prop_oneof![
                Just("status"), Just("kick"), Just("users"), Just("shutdown"), Just("nope"),
            ]) {
                let mut value = value;
                if let Value::Object(fields) = &mut value {
                    fields.insert("cmd".into(), Value::from(cmd));
                }
                if let Err(e) = parse(&value.to_string()) {
                    prop_assert!(CODES.contains(&e.code.as_str()), "{e:?}");
                }
            }
        }
    }
}
