//! Drawing the client's screen from the app state; nothing here changes state.
//!
//! ```text
//! title bar:    #lobby — 3 users
//! body:         sidebar │ messages                      │ users
//! status bar:   [ann] [2:#lobby] [act: 3,4@] [node a · 127.0.0.1:9999]
//! input:        #lobby> hello_
//! ```
//!
//! Below 50 columns the sidebar folds into the title bar (`[2/4] #lobby`); the user list shows
//! from 80 columns (F2 shows or hides it at any width).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use unicode_width::UnicodeWidthStr;

use super::app::{App, CLIENT_COMMANDS, ConnState, KEYS, Viewport, users_text};
use super::buffer::Target;
use super::view;
use crate::protocol::line;

/// The narrowest terminal that shows the sidebar.
pub const SIDEBAR_MIN_WIDTH: u16 = 50;
/// The narrowest terminal that shows the user list unless F2 says otherwise.
pub const USERS_MIN_WIDTH: u16 = 80;

/// Draws the whole screen and returns where things went.
pub fn draw(frame: &mut Frame, app: &App) -> Viewport {
    let area = frame.area();
    if area.width < 10 || area.height < 4 {
        frame.render_widget(Paragraph::new("too small"), area);
        return Viewport::default();
    }
    let [title, body, status, input] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);

    let show_sidebar = area.width >= SIDEBAR_MIN_WIDTH;
    let buffer = app.current_buffer();
    let show_users = matches!(buffer.target, Target::Room(_))
        && app.users_toggle.unwrap_or(area.width >= USERS_MIN_WIDTH);
    let sidebar_width = if show_sidebar { sidebar_width(app) } else { 0 };
    let users_width = if show_users {
        users_width(app, area.width)
    } else {
        0
    };
    let [sidebar, messages, users] = Layout::horizontal([
        Constraint::Length(sidebar_width),
        Constraint::Min(1),
        Constraint::Length(users_width),
    ])
    .areas(body);

    draw_title(frame, app, title, !show_sidebar);
    let sidebar_inner = show_sidebar.then(|| draw_sidebar(frame, app, sidebar));
    let users_inner = show_users.then(|| draw_users(frame, app, users));
    draw_messages(frame, app, messages);
    if let Some(top) = app.help {
        draw_help(frame, app, body, top);
    }
    draw_status(frame, app, status);
    draw_input(frame, app, input);
    Viewport {
        messages,
        sidebar: sidebar_inner,
        users: users_inner,
    }
}

fn bar_style(app: &App) -> Style {
    let theme = app.theme();
    Style::new().fg(theme.bar_fg).bg(theme.bar_bg)
}

fn draw_title(frame: &mut Frame, app: &App, area: Rect, with_position: bool) {
    let buffer = app.current_buffer();
    let mut text = String::from(" ");
    if with_position {
        text.push_str(&format!("[{}/{}] ", app.current + 1, app.buffers.len()));
    }
    text.push_str(&buffer.target.label());
    match &buffer.target {
        Target::Server => match (&app.server_version, &app.node) {
            (Some(version), Some(node)) => text.push_str(&format!(" — {version} on node {node}")),
            _ => text.push_str(" — not connected"),
        },
        Target::Room(_) if buffer.joined => {
            text.push_str(&format!(" — {}", users_text(buffer.users.len())));
        }
        Target::Room(_) => text.push_str(" — not joined"),
        Target::Private(_) => text.push_str(" — private conversation"),
    }
    frame.render_widget(
        Paragraph::new(text).style(bar_style(app).add_modifier(Modifier::BOLD)),
        area,
    );
}

fn sidebar_label(app: &App, idx: usize) -> (String, String) {
    let buffer = &app.buffers[idx];
    let name = format!("{:>2} {}", idx + 1, buffer.target.label());
    let count = match (buffer.unread, buffer.mentioned) {
        (0, _) => String::new(),
        (n, true) => format!(" (@{n})"),
        (n, false) => format!(" ({n})"),
    };
    (name, count)
}

fn sidebar_width(app: &App) -> u16 {
    let widest = (0..app.buffers.len())
        .map(|i| {
            let (name, count) = sidebar_label(app, i);
            name.width() + count.width()
        })
        .max()
        .unwrap_or(0);
    (widest as u16 + 1).clamp(10, 20)
}

/// Draws the sidebar; returns its inner area (row i is buffer i).
fn draw_sidebar(frame: &mut Frame, app: &App, area: Rect) -> Rect {
    let theme = app.theme();
    let block = Block::new()
        .borders(Borders::RIGHT)
        .border_style(Style::new().fg(theme.border));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lines: Vec<Line> = (0..app.buffers.len())
        .map(|i| {
            let buffer = &app.buffers[i];
            let (name, count) = sidebar_label(app, i);
            let mut style = Style::new().fg(theme.sidebar);
            if buffer.unread > 0 {
                style = style.fg(theme.unread).add_modifier(Modifier::BOLD);
            }
            if buffer.mentioned {
                style = style.fg(theme.mention).add_modifier(Modifier::BOLD);
            }
            if i == app.current {
                style = Style::new()
                    .fg(theme.current)
                    .add_modifier(Modifier::BOLD | Modifier::REVERSED);
            }
            Line::from(vec![Span::styled(name, style), Span::styled(count, style)])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
    inner
}

fn users_width(app: &App, total: u16) -> u16 {
    let widest = app
        .current_buffer()
        .users
        .iter()
        .map(|u| u.width())
        .max()
        .unwrap_or(0);
    (widest as u16 + 2).clamp(9, 18).min(total / 3)
}

fn draw_users(frame: &mut Frame, app: &App, area: Rect) -> Rect {
    let theme = app.theme();
    let buffer = app.current_buffer();
    let block = Block::new()
        .borders(Borders::LEFT)
        .border_style(Style::new().fg(theme.border));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut lines = vec![Line::styled(
        users_text(buffer.users.len()),
        Style::new().fg(theme.system),
    )];
    lines.extend(buffer.users.iter().map(|nick| {
        let own = app
            .nick
            .as_deref()
            .is_some_and(|me| me.eq_ignore_ascii_case(nick));
        let style = if own {
            Style::new().fg(theme.own_nick).add_modifier(Modifier::BOLD)
        } else {
            Style::new().fg(theme.nick_color(nick))
        };
        Line::styled(nick.clone(), style)
    }));
    frame.render_widget(Paragraph::new(lines), inner);
    inner
}

fn draw_messages(frame: &mut Frame, app: &App, area: Rect) {
    let buffer = app.current_buffer();
    let look = app.look();
    let width = area.width as usize;
    let height = area.height as usize;
    // Wrap from the newest line back, only as far as the view reaches.
    let mut rows: Vec<Line> = Vec::with_capacity(height + buffer.scroll);
    for entry in buffer.entries.iter().rev() {
        if rows.len() >= height + buffer.scroll {
            break;
        }
        rows.extend(view::lines(entry, &look, width).into_iter().rev());
    }
    // Scrolled past the oldest line: show the top of the buffer.
    let scroll = buffer.scroll.min(rows.len().saturating_sub(height));
    let mut rows: Vec<Line> = rows.into_iter().skip(scroll).take(height).collect();
    rows.reverse();
    if scroll > 0 && height > 1 {
        let more = match buffer.unseen_below {
            0 => " ▼ more below — PgDn, Ctrl-End ".to_string(),
            n => format!(" ▼ more below ({n} new) — PgDn, Ctrl-End "),
        };
        let marker = Line::styled(more, bar_style(app).add_modifier(Modifier::BOLD));
        if rows.len() == height {
            rows.pop();
        }
        rows.push(marker);
    }
    frame.render_widget(Paragraph::new(rows), area);
}

fn draw_help(frame: &mut Frame, app: &App, area: Rect, top: usize) {
    let theme = app.theme();
    let heading = Style::new().fg(theme.current).add_modifier(Modifier::BOLD);
    let key_style = Style::new().fg(theme.own_nick).add_modifier(Modifier::BOLD);
    let block = Block::bordered()
        .title(" help — Esc closes, PgUp/PgDn scroll ")
        .border_style(Style::new().fg(theme.border));
    let inner = block.inner(area);
    let width = inner.width as usize;
    let column = (width / 2).clamp(8, 26);
    // Descriptions wrap under themselves.
    let row = |key: &str, what: &str| {
        let pad = column.saturating_sub(key.width());
        let spans = [
            Span::styled(format!("  {key}{} ", " ".repeat(pad)), key_style),
            Span::raw(what.to_string()),
        ];
        view::wrap(&spans, width, column + 3)
    };
    let mut lines = vec![Line::styled("Keys", heading)];
    lines.extend(KEYS.iter().flat_map(|(k, w)| row(k, w)));
    lines.push(Line::raw(""));
    lines.push(Line::styled("Commands", heading));
    lines.extend(line::HELP.iter().flat_map(|(k, w)| row(k, w)));
    lines.extend(CLIENT_COMMANDS.iter().flat_map(|(k, w)| row(k, w)));
    let top = top.min(lines.len().saturating_sub(inner.height as usize));
    frame.render_widget(Clear, area);
    frame.render_widget(block, area);
    frame.render_widget(Paragraph::new(lines.split_off(top)), inner);
}

fn conn_text(app: &App) -> String {
    let server = app.server();
    match &app.conn {
        ConnState::Connecting => format!("connecting to {server}…"),
        ConnState::Online => match &app.node {
            Some(node) => format!("node {node} · {server}"),
            None => server.to_string(),
        },
        ConnState::Waiting(delay) => format!(
            "reconnecting to {server} in {:.1}s (attempt {})",
            delay.as_secs_f64(),
            app.attempt()
        ),
        ConnState::Offline { reason } => format!("offline: {reason} — /reconnect"),
    }
}

/// Status bar: nick, current buffer (when wide), activity, connection — the connection last, as
/// it is the longest and, while online, the least urgent.
fn draw_status(frame: &mut Frame, app: &App, area: Rect) {
    let style = bar_style(app);
    let nick = app.shown_nick().unwrap_or("no nick");
    let mut spans = vec![Span::styled(
        format!(" [{nick}]"),
        style.add_modifier(Modifier::BOLD),
    )];
    if area.width >= 60 {
        spans.push(Span::styled(
            format!(
                " [{}:{}]",
                app.current + 1,
                app.current_buffer().target.label()
            ),
            style,
        ));
    }
    let active: Vec<String> = app
        .buffers
        .iter()
        .enumerate()
        .filter(|(_, b)| b.unread > 0)
        .map(|(i, b)| {
            if b.mentioned {
                format!("{}@", i + 1)
            } else {
                (i + 1).to_string()
            }
        })
        .collect();
    if !active.is_empty() {
        spans.push(Span::styled(
            format!(" [act: {}]", active.join(",")),
            style.add_modifier(Modifier::BOLD),
        ));
    }
    if let Some(typing) = app.typing_text() {
        spans.push(Span::styled(format!(" [{typing}]"), style));
    }
    let conn_style = if app.online() {
        style
    } else {
        style.add_modifier(Modifier::BOLD | Modifier::REVERSED)
    };
    spans.push(Span::styled(" [", style));
    spans.push(Span::styled(conn_text(app), conn_style));
    spans.push(Span::styled("]", style));
    frame.render_widget(Paragraph::new(Line::from(spans)).style(style), area);
}

fn draw_input(frame: &mut Frame, app: &App, area: Rect) {
    let theme = app.theme();
    let prompt = match app.shown_nick() {
        None => "nick: ".to_string(),
        Some(_) => format!("{}> ", app.current_buffer().target.label()),
    };
    // Keep at least half the line for the text.
    let prompt: String = if prompt.width() * 2 > area.width as usize {
        "> ".into()
    } else {
        prompt
    };
    let prompt_width = prompt.width() as u16;
    let text_width = area.width.saturating_sub(prompt_width).max(1) as usize;
    let scroll = app.input.visual_scroll(text_width);
    let visible = skip_columns(app.input.value(), scroll);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(
                prompt,
                Style::new().fg(theme.current).add_modifier(Modifier::BOLD),
            ),
            Span::styled(visible, Style::new().fg(theme.text)),
        ])),
        area,
    );
    if app.help.is_none() {
        let x = area.x + prompt_width + (app.input.visual_cursor().saturating_sub(scroll)) as u16;
        frame.set_cursor_position((x.min(area.right().saturating_sub(1)), area.y));
    }
}

/// The text after its first `columns` display columns.
fn skip_columns(text: &str, columns: usize) -> String {
    let mut skipped = 0;
    let mut out = String::new();
    for c in text.chars() {
        if skipped < columns {
            skipped += unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    use super::*;
    use crate::client::app::NetEvent;
    use crate::client::config::ClientConfig;
    use crate::protocol::{ChatMessage, Event, PROTOCOL_VERSION};

    const T0: u64 = 1_700_000_000_000;

    fn msg(room: &str, seq: u64, from: &str, text: &str, action: bool) -> ChatMessage {
        ChatMessage {
            room: room.into(),
            seq,
            from: from.into(),
            text: text.into(),
            action,
            ts: T0 + seq * 60_000,
        }
    }

    fn key(app: &mut App, code: KeyCode) {
        app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
    }

    /// ann in #lobby (with history, live lines, wide characters), #rust unread, bob mentioning
    /// her privately.
    fn chatting() -> App {
        let mut app = App::new(ClientConfig::default());
        app.use_utc();
        app.now = || T0;
        app.on_net(NetEvent::Connected {
            server: "127.0.0.1:9999".into(),
        });
        app.on_event(Event::Welcome {
            server: "chatd 0.1.0".into(),
            protocol: PROTOCOL_VERSION,
            node: "n1".into(),
        });
        for c in "ann".chars() {
            key(&mut app, KeyCode::Char(c));
        }
        key(&mut app, KeyCode::Enter);
        app.on_event(Event::NickOk { nick: "ann".into() });
        for c in "/join lobby".chars() {
            key(&mut app, KeyCode::Char(c));
        }
        key(&mut app, KeyCode::Enter);
        app.on_event(Event::History {
            room: "lobby".into(),
            messages: vec![
                msg("lobby", 1, "bob", "is anyone here?", false),
                msg("lobby", 2, "cy", "morning", false),
            ],
        });
        app.on_event(Event::Joined {
            room: "lobby".into(),
            users: vec!["ann".into(), "bob".into(), "cy".into(), "李雷".into()],
        });
        app.on_event(Event::Message(msg(
            "lobby",
            3,
            "bob",
            "ann: 你好 👋 welcome back, this line is long enough to wrap under its text",
            false,
        )));
        app.on_event(Event::Message(msg("lobby", 4, "ann", "thanks!", false)));
        app.on_event(Event::UserJoined {
            room: "lobby".into(),
            nick: "dee".into(),
            ts: T0 + 300_000,
        });
        app.on_event(Event::Message(msg("lobby", 5, "cy", "waves", true)));
        app.on_event(Event::Joined {
            room: "rust".into(),
            users: vec!["ann".into(), "cy".into()],
        });
        app.on_event(Event::Message(msg(
            "rust",
            1,
            "cy",
            "borrowck says no",
            false,
        )));
        app.on_event(Event::Private {
            from: "bob".into(),
            to: "ann".into(),
            text: "psst".into(),
            ts: T0 + 400_000,
        });
        app.switch_to(1);
        for c in "typing…".chars() {
            key(&mut app, KeyCode::Char(c));
        }
        app
    }

    fn screen(app: &mut App, width: u16, height: u16) -> Terminal<TestBackend> {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
        // Twice: the first draw tells the app the layout, as the real loop does.
        for _ in 0..2 {
            let mut viewport = Viewport::default();
            terminal
                .draw(|frame| viewport = draw(frame, app))
                .expect("draw");
            app.set_viewport(viewport);
        }
        terminal
    }

    #[test]
    fn main_screen() {
        let mut app = chatting();
        insta::assert_snapshot!(screen(&mut app, 80, 24).backend());
    }

    #[test]
    fn narrow_screen() {
        let mut app = chatting();
        insta::assert_snapshot!(screen(&mut app, 40, 10).backend());
    }

    #[test]
    fn help_screen() {
        let mut app = chatting();
        key(&mut app, KeyCode::F(1));
        insta::assert_snapshot!(screen(&mut app, 80, 24).backend());
    }

    #[test]
    fn long_scrollback_scrolled_up() {
        let mut app = chatting();
        for seq in 6..200 {
            app.on_event(Event::Message(msg(
                "lobby",
                seq,
                "bob",
                &format!("line {seq}"),
                false,
            )));
        }
        screen(&mut app, 80, 24);
        key(&mut app, KeyCode::PageUp);
        key(&mut app, KeyCode::PageUp);
        app.on_event(Event::Message(msg("lobby", 200, "cy", "new below", false)));
        insta::assert_snapshot!(screen(&mut app, 80, 24).backend());
    }

    #[test]
    fn disconnected_status_and_user_list_toggle() {
        let mut app = chatting();
        screen(&mut app, 80, 12);
        key(&mut app, KeyCode::F(2));
        app.on_net(NetEvent::Disconnected {
            server: "127.0.0.1:9999".into(),
            reason: "the server closed the connection".into(),
        });
        insta::assert_snapshot!(screen(&mut app, 80, 12).backend());
    }

    #[test]
    fn every_size_down_to_the_minimum_draws_within_bounds() {
        for (w, h) in [(40, 10), (41, 11), (50, 12), (79, 24), (120, 40), (9, 3)] {
            let mut app = chatting();
            let terminal = screen(&mut app, w, h);
            let area = terminal.backend().buffer().area;
            assert_eq!((area.width, area.height), (w, h));
            if w >= 40 {
                let input = (0..w)
                    .map(|x| terminal.backend().buffer()[(x, h - 1)].symbol())
                    .collect::<String>();
                assert!(input.contains("typing…"), "{w}x{h}: {input:?}");
            }
        }
    }
}
