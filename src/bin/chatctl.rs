//! `chatctl`: administer a running chatd over its control socket.
//!
//! Exit status: 0 success, 1 the daemon reported an error, 2 usage error, 3 the daemon could not
//! be reached.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use chatd::server::config::{Config, Overrides, default_control_socket};
use chatd::server::control::protocol::{Request, Response, request_line};
use clap::{Parser, Subcommand};
use serde_json::Value;

/// Administer a running chatd.
#[derive(Debug, Parser)]
#[command(name = "chatctl", version)]
struct Cli {
    /// The control socket (default: read from --config, else the first of
    /// /run/chatd/control.sock, $XDG_RUNTIME_DIR/chatd/chatd.sock, ./chatd-chatd.sock that exists).
    #[arg(long, global = true, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Read `control.socket` from this chatd configuration file.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print the daemon's answer as JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Version, node, uptime, sessions, rooms, message counts and rate, memory, peers.
    Status,
    /// Every room in the cluster (without the unlisted rooms by code, unless --all).
    Rooms {
        /// Also list the unlisted rooms (rooms by code).
        #[arg(long)]
        all: bool,
    },
    /// Every user in the cluster, or in ROOM.
    Users {
        /// Only this room's users.
        room: Option<String>,
    },
    /// Disconnect a user, wherever it is connected.
    Kick {
        /// The user's nick.
        nick: String,
        /// Shown to the user and its rooms.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Send a system message to every connected user.
    Announce {
        /// The text.
        text: String,
    },
    /// The cluster's nodes and their state.
    Nodes,
    /// A room's last messages, from its history.
    History {
        /// The room.
        room: String,
        /// How many (the daemon's history.replay by default).
        limit: Option<u32>,
    },
    /// Delete a room's stored messages (moderation): all of them, or those before a number.
    Purge {
        /// The room.
        room: String,
        /// Only the messages numbered below SEQ.
        #[arg(long, value_name = "SEQ")]
        before: Option<u64>,
    },
    /// Re-read the daemon's configuration (like SIGHUP); report what changed and what needs a
    /// restart.
    Reload,
    /// Print shell completions for chatctl (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Announce, wait, then shut the daemon down gracefully.
    Shutdown {
        /// Seconds between the announcement and the shutdown.
        #[arg(long, default_value_t = 0)]
        delay: u64,
        /// The announcement.
        #[arg(long)]
        message: Option<String>,
    },
}

/// The socket to use: `--socket`, else `control.socket` from `--config`, else a default.
fn socket_path(cli: &Cli) -> Result<PathBuf, String> {
    if let Some(socket) = &cli.socket {
        return Ok(socket.clone());
    }
    if let Some(file) = &cli.config {
        return Config::load(Some(file), &Overrides::default())
            .map(|c| c.control.socket)
            .map_err(|e| format!("cannot read {}: {e}", file.display()));
    }
    let candidates = [
        PathBuf::from("/run/chatd/control.sock"),
        default_control_socket("chatd"),
        PathBuf::from("chatd-chatd.sock"),
    ];
    Ok(candidates
        .iter()
        .find(|p| p.exists())
        .unwrap_or(&candidates[0])
        .clone())
}

/// The request for a daemon command; `None` for commands answered locally.
fn request(cmd: &Cmd) -> Option<Request> {
    Some(match cmd {
        Cmd::Status => Request::Status,
        Cmd::Rooms { all } => Request::Rooms { all: *all },
        Cmd::Users { room } => Request::Users { room: room.clone() },
        Cmd::Kick { nick, reason } => Request::Kick {
            nick: nick.clone(),
            reason: reason.clone(),
        },
        Cmd::Announce { text } => Request::Announce { text: text.clone() },
        Cmd::Nodes => Request::Nodes,
        Cmd::History { room, limit } => Request::History {
            room: room.clone(),
            limit: *limit,
        },
        Cmd::Purge { room, before } => Request::Purge {
            room: room.clone(),
            before: *before,
        },
        Cmd::Reload => Request::Reload,
        Cmd::Shutdown { delay, message } => Request::Shutdown {
            delay_secs: Some(*delay),
            message: message.clone(),
        },
        Cmd::Completions { .. } => return None,
    })
}

/// Sends one request and reads one response; the error is the message and exit status.
fn exchange(path: &Path, request: &Request) -> Result<Response, (String, u8)> {
    let unreachable = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => (
            format!("chatd is not running (no socket at {})", path.display()),
            3,
        ),
        std::io::ErrorKind::PermissionDenied => (
            format!(
                "permission denied on {} (are you in group chatd?)",
                path.display()
            ),
            3,
        ),
        _ => (format!("cannot reach chatd at {}: {e}", path.display()), 3),
    };
    let mut stream = UnixStream::connect(path).map_err(unreachable)?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    stream
        .write_all(request_line(request).as_bytes())
        .map_err(unreachable)?;
    let mut line = String::new();
    BufReader::new(stream)
        .read_line(&mut line)
        .map_err(unreachable)?;
    serde_json::from_str(&line).map_err(|e| {
        (
            format!("unexpected answer from chatd ({e}): {}", line.trim()),
            1,
        )
    })
}

/// Prints rows as aligned columns under a header.
fn table(header: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.iter().map(|h| h.to_uppercase()).collect());
    for row in rows {
        line(row);
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

fn time(ms: &Value) -> String {
    let secs = ms.as_u64().unwrap_or(0) / 1000;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}Z",
        rest / 3600,
        (rest / 60) % 60,
        rest % 60
    )
}

fn human(cmd: &Cmd, data: &Value) {
    let rows = |keys: &[&str], time_keys: &[&str]| -> Vec<Vec<String>> {
        data.as_array()
            .into_iter()
            .flatten()
            .map(|item| {
                keys.iter()
                    .map(|k| {
                        if time_keys.contains(k) {
                            time(&item[*k])
                        } else {
                            text(&item[*k])
                        }
                    })
                    .collect()
            })
            .collect()
    };
    match cmd {
        Cmd::Status => {
            if let Some(fields) = data.as_object() {
                let width = fields.keys().map(String::len).max().unwrap_or(0);
                for (key, value) in fields {
                    let shown = match (key.as_str(), value) {
                        ("history", Value::Object(h)) => {
                            let mut shown = text(&h["place"]);
                            if let Some(written) = h.get("written") {
                                shown.push_str(&format!(
                                    " ({} written, {} dropped)",
                                    text(written),
                                    text(&h["dropped"])
                                ));
                            }
                            if let Some(Value::Array(gaps)) = h.get("gaps")
                                && !gaps.is_empty()
                            {
                                let gaps: Vec<String> = gaps
                                    .iter()
                                    .map(|g| {
                                        format!(
                                            "#{} {}-{}",
                                            text(&g["room"]),
                                            text(&g["first"]),
                                            text(&g["last"])
                                        )
                                    })
                                    .collect();
                                shown.push_str(&format!("; not stored: {}", gaps.join(", ")));
                            }
                            if let Some(error) = h.get("error").filter(|e| !e.is_null()) {
                                shown.push_str(&format!(" — writes failing: {}", text(error)));
                            }
                            shown
                        }
                        ("cluster_peers", Value::Array(peers)) if peers.is_empty() => "none".into(),
                        ("cluster_peers", Value::Array(peers)) => peers
                            .iter()
                            .map(|p| format!("{} ({})", text(&p["name"]), text(&p["status"])))
                            .collect::<Vec<_>>()
                            .join(", "),
                        _ => text(value),
                    };
                    println!("{key:<width$}  {shown}");
                }
            }
        }
        Cmd::Rooms { .. } => table(
            &["room", "members", "node", "messages", "stored", "created"],
            rows(
                &[
                    "name",
                    "members",
                    "node",
                    "messages",
                    "stored",
                    "created_ms",
                ],
                &["created_ms"],
            ),
        ),
        Cmd::Users { .. } => table(
            &[
                "nick", "node", "protocol", "address", "since", "sendq", "rooms",
            ],
            rows(
                &[
                    "nick", "node", "protocol", "address", "since_ms", "sendq", "rooms",
                ],
                &["since_ms"],
            ),
        ),
        Cmd::Nodes => table(
            &["node", "status", "address"],
            rows(&["name", "status", "address"], &[]),
        ),
        Cmd::Kick { nick, .. } => println!("kicked {nick}"),
        Cmd::History { .. } => table(
            &["seq", "time", "from", "text"],
            rows(&["seq", "ts", "from", "text"], &["ts"]),
        ),
        Cmd::Purge { .. } => println!(
            "purged {} messages from #{}",
            text(&data["purged"]),
            text(&data["room"])
        ),
        Cmd::Announce { .. } => println!("announced on {} node(s)", text(&data["nodes"])),
        Cmd::Completions { .. } => {}
        Cmd::Reload => {
            println!("applied: {}", text(&data["applied"]));
            println!("needs restart: {}", text(&data["needs_restart"]));
        }
        Cmd::Shutdown { .. } => {
            println!("chatd shuts down in {} s", text(&data["shutdown_in_secs"]))
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(request) = request(&cli.command) else {
        if let Cmd::Completions { shell } = cli.command {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "chatctl", &mut std::io::stdout());
        }
        return ExitCode::SUCCESS;
    };
    let path = match socket_path(&cli) {
        Ok(path) => path,
        Err(message) => {
            eprintln!("chatctl: {message}");
            return ExitCode::from(2);
        }
    };
    let response = match exchange(&path, &request) {
        Ok(response) => response,
        Err((message, status)) => {
            eprintln!("chatctl: {message}");
            return ExitCode::from(status);
        }
    };
    if cli.json {
        let shown = if response.ok {
            response.data.clone().unwrap_or(Value::Null)
        } else {
            serde_json::to_value(&response.error).unwrap_or(Value::Null)
        };
        println!("{shown}");
    }
    match (response.ok, response.data, response.error) {
        (true, Some(data), _) => {
            if !cli.json {
                human(&cli.command, &data);
            }
            ExitCode::SUCCESS
        }
        (_, _, Some(error)) => {
            eprintln!("chatctl: {}: {}", error.code, error.message);
            ExitCode::FAILURE
        }
        _ => {
            eprintln!("chatctl: chatd gave an empty answer");
            ExitCode::FAILURE
        }
    }
}
