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

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    use super::*;

    /// Runs the connection task against a peer that writes `bytes` after accepting; returns
    /// what the task reported after connecting.
    async fn against(bytes: Vec<u8>) -> NetEvent {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let _ = socket.write_all(&bytes).await;
            // Keep the socket open: the client must judge the bytes, not the close.
            tokio::time::sleep(Duration::from_secs(5)).await;
        });
        let (control, control_rx) = mpsc::channel(8);
        let (events_tx, mut events) = mpsc::channel(8);
        tokio::spawn(run(control_rx, events_tx, Duration::from_secs(30)));
        control
            .send(Control::Connect {
                server: server.clone(),
                delay: Duration::ZERO,
            })
            .await
            .unwrap();
        assert_eq!(events.recv().await, Some(NetEvent::Connected { server }));
        tokio::time::timeout(Duration::from_secs(3), events.recv())
            .await
            .expect("the task reports within 3 s")
            .expect("an event")
    }

    fn lost(event: &NetEvent) -> &str {
        match event {
            NetEvent::Disconnected { reason, .. } => reason,
            other => panic!("expected a disconnection, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_garbage_frame_drops_the_connection_with_a_reason() {
        let mut bytes = b"hello from something\n".to_vec();
        bytes.extend_from_slice(&[0, 0, 0, 3, 0xff, 0xff, 0xff]);
        let event = against(bytes).await;
        assert!(lost(&event).contains("undecodable frame"), "{event:?}");
    }

    #[tokio::test]
    async fn an_oversized_frame_is_refused_before_it_is_read() {
        let mut bytes = b"banner\n".to_vec();
        bytes.extend_from_slice(&u32::MAX.to_be_bytes());
        let event = against(bytes).await;
        assert!(lost(&event).contains("frame size too big"), "{event:?}");
    }

    #[tokio::test]
    async fn a_peer_that_never_ends_its_banner_is_not_chatd() {
        let event = against(vec![b'x'; MAX_BANNER + 10]).await;
        assert!(
            lost(&event).contains("did not greet like chatd"),
            "{event:?}"
        );
    }

    #[tokio::test]
    async fn a_valid_event_passes_and_keepalive_pongs_do_not() {
        let mut bytes = b"banner\n".to_vec();
        for event in [
            Event::Pong {
                token: KEEPALIVE.into(),
            },
            Event::notice("hi"),
        ] {
            bytes.extend_from_slice(&frame::encode_event(&event).unwrap());
        }
        assert_eq!(against(bytes).await, NetEvent::Event(Event::notice("hi")));
    }
}
