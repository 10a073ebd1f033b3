//! The client's main loop: terminal input, network events and signals go into the app; the app's
//! actions go to the connection task; the screen is redrawn after each batch of changes.

use std::time::Duration;

use futures_util::StreamExt;
use ratatui::crossterm::event::{Event as TermEvent, EventStream};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use super::app::{Action, App, Viewport};
use super::config::ClientConfig;
use super::net::{self, Control};
use super::terminal::TerminalGuard;
use super::ui;
use crate::protocol::Command;

/// Network events handled before the screen is redrawn: a burst of messages costs one redraw.
const EVENT_BATCH: usize = 256;
/// How long a goodbye may take to reach the server on exit.
const QUIT_GRACE: Duration = Duration::from_secs(1);

/// Runs the client until the user quits or a termination signal arrives. The terminal is
/// restored on every way out.
pub async fn run(config: ClientConfig) -> std::io::Result<()> {
    let mouse = config.mouse;
    let (control, control_rx) = mpsc::channel(256);
    let (events_tx, mut events) = mpsc::channel(1024);
    let connection = tokio::spawn(net::run(control_rx, events_tx, config.ping_interval));
    let mut app = App::new(config);
    let mut terms = signal(SignalKind::terminate())?;
    let mut hangups = signal(SignalKind::hangup())?;
    // Raw mode turns Ctrl-C into a key; this is for `kill -INT`.
    let mut interrupts = signal(SignalKind::interrupt())?;
    let mut guard = TerminalGuard::enter(mouse)?;
    let mut input = EventStream::new();
    let mut actions = app.start();
    loop {
        for action in actions.drain(..) {
            match action {
                Action::Send(command) => {
                    if control.try_send(Control::Send(command)).is_err() {
                        app.on_local_error("too many commands waiting to be sent; slow down");
                    }
                }
                Action::Connect { server, delay } => {
                    if control
                        .send(Control::Connect { server, delay })
                        .await
                        .is_err()
                    {
                        return Ok(());
                    }
                }
                Action::Quit(reason) => {
                    let _ = control
                        .send(Control::Close(Some(Command::Quit(reason))))
                        .await;
                    let _ = tokio::time::timeout(QUIT_GRACE, connection).await;
                    return Ok(());
                }
                Action::Redraw => guard.terminal.clear()?,
            }
        }
        let mut viewport = Viewport::default();
        guard
            .terminal
            .draw(|frame| viewport = ui::draw(frame, &app))?;
        app.set_viewport(viewport);
        tokio::select! {
            event = input.next() => match event {
                Some(Ok(TermEvent::Key(key))) => actions = app.on_key(key),
                Some(Ok(TermEvent::Mouse(mouse))) => app.on_mouse(mouse),
                Some(Ok(TermEvent::Paste(text))) => app.on_paste(&text),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => actions = app.terminate("the terminal went away"),
            },
            event = events.recv() => match event {
                Some(event) => {
                    actions = app.on_net(event);
                    for _ in 1..EVENT_BATCH {
                        match events.try_recv() {
                            Ok(event) => actions.extend(app.on_net(event)),
                            Err(_) => break,
                        }
                    }
                }
                None => return Ok(()),
            },
            _ = terms.recv() => actions = app.terminate("terminated"),
            _ = hangups.recv() => actions = app.terminate("the terminal hung up"),
            _ = interrupts.recv() => actions = app.terminate("interrupted"),
        }
    }
}
