//! The client's connection task: dials a server when told to, speaks the framed protocol, pings a
//! quiet server, and reports everything as [`NetEvent`]s. Which server to dial and when is decided
//! by the app ([`super::app::App`]); this task only carries it out.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::codec::FramedRead;

use super::app::NetEvent;
use crate::protocol::{Command, Event, frame};
use crate::wire::DECODE_LIMIT;

/// The ping token of keepalives; their pongs are not shown.
const KEEPALIVE: &str = "chat-client-keepalive";
/// How long a TCP connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest banner line accepted before frames start.
const MAX_BANNER: usize = 4096;

/// What the app tells the connection task.
#[derive(Debug)]
pub enum Control {
    /// Drop any connection, wait, then dial this server.
    Connect {
        /// `host:port`.
        server: String,
        /// Wait first.
        delay: Duration,
    },
    /// Send a command on the current connection (dropped when there is none).
    Send(Command),
    /// Send this last command (if connected), close, and end the task.
    Close(Option<Command>),
}

/// Runs the connection task until [`Control::Close`] or until the app goes away.
pub async fn run(
    mut control: mpsc::Receiver<Control>,
    events: mpsc::Sender<NetEvent>,
    ping_interval: Duration,
) {
    let mut next = None;
    loop {
        let (server, delay) = match next.take() {
            Some(target) => target,
            None => match control.recv().await {
                Some(Control::Connect { server, delay }) => (server, delay),
                Some(Control::Send(_)) => continue,
                Some(Control::Close(_)) | None => return,
            },
        };
        // Wait, but let a newer instruction win.
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        let stream = loop {
            tokio::select! {
                _ = &mut sleep => break Some(connect(&server).await),
                message = control.recv() => match message {
                    Some(Control::Connect { server, delay }) => {
                        next = Some((server, delay));
                        break None;
                    }
                    Some(Control::Send(_)) => {}
                    Some(Control::Close(_)) | None => return,
                },
            }
        };
        let stream = match stream {
            None => continue,
            Some(Ok(stream)) => stream,
            Some(Err(reason)) => {
                let failed = NetEvent::ConnectFailed { server, reason };
                if events.send(failed).await.is_err() {
                    return;
                }
                continue;
            }
        };
        if events
            .send(NetEvent::Connected {
                server: server.clone(),
            })
            .await
            .is_err()
        {
            return;
        }
        match session(stream, &mut control, &events, ping_interval).await {
            Ended::Lost(reason) => {
                if events
                    .send(NetEvent::Disconnected { server, reason })
                    .await
                    .is_err()
                {
                    return;
                }
            }
            Ended::Redial(server, delay) => next = Some((server, delay)),
            Ended::Closed => return,
        }
    }
}

async fn connect(server: &str) -> Result<TcpStream, String> {
    match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(server)).await {
        Ok(Ok(stream)) => {
            let _ = stream.set_nodelay(true);
            Ok(stream)
        }
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer in {}s", CONNECT_TIMEOUT.as_secs())),
    }
}

enum Ended {
    Lost(String),
    Redial(String, Duration),
    Closed,
}

async fn session(
    stream: TcpStream,
    control: &mut mpsc::Receiver<Control>,
    events: &mpsc::Sender<NetEvent>,
    ping_interval: Duration,
) -> Ended {
    let (read, mut writer) = stream.into_split();
    // A framed client speaks first: the first byte (0x00) selects the framed protocol.
    if let Err(e) = send(&mut writer, &Command::Ping(KEEPALIVE.into())).await {
        return Ended::Lost(e);
    }
    let mut read = BufReader::new(read);
    let mut banner = Vec::new();
    match (&mut read)
        .take(MAX_BANNER as u64)
        .read_until(b'\n', &mut banner)
        .await
    {
        Ok(_) if banner.ends_with(b"\n") => {}
        Ok(0) => return Ended::Lost("the server closed the connection".into()),
        Ok(_) => return Ended::Lost("the server did not greet like chatd".into()),
        Err(e) => return Ended::Lost(e.to_string()),
    }
    let mut reader = FramedRead::new(read, frame::codec(DECODE_LIMIT));
    let mut ticker = tokio::time::interval(ping_interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticker.reset();
    let mut heard = Instant::now();
    loop {
        tokio::select! {
            frame = reader.next() => {
                let payload = match frame {
                    Some(Ok(payload)) => payload,
                    Some(Err(e)) => return Ended::Lost(e.to_string()),
                    None => return Ended::Lost("the server closed the connection".into()),
                };
                heard = Instant::now();
                let event = match frame::decode_event(&payload) {
                    Ok(event) => event,
                    Err(e) => return Ended::Lost(format!("undecodable frame from the server: {e}")),
                };
                if matches!(&event, Event::Pong { token } if token == KEEPALIVE) {
                    continue;
                }
                if events.send(NetEvent::Event(event)).await.is_err() {
                    return Ended::Closed;
                }
            }
            message = control.recv() => match message {
                Some(Control::Send(command)) => {
                    if let Err(e) = send(&mut writer, &command).await {
                        return Ended::Lost(e);
                    }
                }
                Some(Control::Connect { server, delay }) => return Ended::Redial(server, delay),
                Some(Control::Close(last)) => {
                    if let Some(command) = last {
                        let _ = send(&mut writer, &command).await;
                    }
                    let _ = writer.shutdown().await;
                    return Ended::Closed;
                }
                None => return Ended::Closed,
            },
            _ = ticker.tick() => {
                if heard.elapsed() > ping_interval * 2 {
                    return Ended::Lost(format!(
                        "the server did not answer for {}s",
                        heard.elapsed().as_secs()
                    ));
                }
                if let Err(e) = send(&mut writer, &Command::Ping(KEEPALIVE.into())).await {
                    return Ended::Lost(e);
                }
            }
        }
    }
}

async fn send(writer: &mut OwnedWriteHalf, command: &Command) -> Result<(), String> {
    let frame = frame::encode_command(command).map_err(|e| e.to_string())?;
    writer.write_all(&frame).await.map_err(|e| e.to_string())
}
