//! How a buffer line looks on screen: timestamp, coloured nick and text, wrapped to a width by
//! display width (CJK and emoji take two columns), continuation rows indented under the text.
//!
//! Shared by the drawing code and by the app's scroll bookkeeping, which must agree on how many
//! rows a line takes.

use std::fmt::Write as _;

use chrono::{Local, TimeZone, Utc};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

use super::buffer::{Entry, EntryKind};
use super::theme::Theme;

/// Formats timestamps: a `strftime` format in local time (or UTC, for reproducible tests).
#[derive(Debug, Clone)]
pub struct Clock {
    /// The `strftime` format, already validated.
    pub format: String,
    /// Show UTC instead of local time.
    pub utc: bool,
}

impl Clock {
    /// The time of `ts_ms` (milliseconds since the epoch).
    pub fn format(&self, ts_ms: u64) -> String {
        let ms = i64::try_from(ts_ms).unwrap_or(i64::MAX);
        let mut out = String::new();
        let written = if self.utc {
            Utc.timestamp_millis_opt(ms)
                .single()
                .map(|t| write!(out, "{}", t.format(&self.format)))
        } else {
            Local
                .timestamp_millis_opt(ms)
                .single()
                .map(|t| write!(out, "{}", t.format(&self.format)))
        };
        match written {
            Some(Ok(())) => out,
            _ => "--:--".into(),
        }
    }
}

/// What the rendering of a line depends on besides the line.
pub struct Look<'a> {
    /// Colours.
    pub theme: &'a Theme,
    /// Timestamps.
    pub clock: &'a Clock,
}

/// The styled pieces of a line, and how far continuation rows are indented.
fn pieces(entry: &Entry, look: &Look) -> (Vec<Span<'static>>, usize) {
    let theme = look.theme;
    let time = format!("{} ", look.clock.format(entry.ts));
    let mut time_style = Style::new().fg(theme.timestamp);
    let mut spans = Vec::with_capacity(4);
    let indent;
    match &entry.kind {
        EntryKind::Message {
            from,
            text,
            action,
            own,
            mention,
            history,
        } => {
            let nick_style = if *own {
                Style::new().fg(theme.own_nick).add_modifier(Modifier::BOLD)
            } else {
                Style::new().fg(theme.nick_color(from))
            };
            let mut text_style = Style::new().fg(theme.text);
            if *mention {
                text_style = text_style.fg(theme.mention).add_modifier(Modifier::BOLD);
            }
            if *history {
                time_style = time_style.fg(theme.history).add_modifier(Modifier::ITALIC);
                text_style = text_style.fg(theme.history).add_modifier(Modifier::ITALIC);
            }
            let nick = if *action {
                format!("* {from} ")
            } else {
                format!("<{from}> ")
            };
            indent = time.width() + nick.width();
            spans.push(Span::styled(time, time_style));
            spans.push(Span::styled(nick, nick_style));
            spans.push(Span::styled(clean(text), text_style));
        }
        EntryKind::System(text) => {
            indent = time.width() + 3;
            let style = Style::new().fg(theme.system);
            spans.push(Span::styled(time, time_style));
            spans.push(Span::styled("-- ", style));
            spans.push(Span::styled(clean(text), style));
        }
        EntryKind::Error(text) => {
            indent = time.width() + 2;
            let style = Style::new().fg(theme.error).add_modifier(Modifier::BOLD);
            spans.push(Span::styled(time, time_style));
            spans.push(Span::styled("! ", style));
            spans.push(Span::styled(clean(text), style));
        }
    }
    (spans, indent)
}

/// Control characters would move the cursor: show them as a replacement character.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' => ' ',
            c if c.is_control() => '\u{fffd}',
            c => c,
        })
        .collect()
}

/// The rows a line takes at `width` columns.
pub fn lines(entry: &Entry, look: &Look, width: usize) -> Vec<Line<'static>> {
    let (spans, indent) = pieces(entry, look);
    // A hanging indent only while it leaves room for the text.
    let indent = if indent * 2 <= width { indent } else { 0 };
    wrap(&spans, width, indent)
}

/// How many rows a line takes at `width` columns.
pub fn height(entry: &Entry, look: &Look, width: usize) -> usize {
    lines(entry, look, width).len()
}

struct Cell {
    grapheme: String,
    width: usize,
    style: Style,
}

/// Wraps styled text to `width` columns, breaking after spaces where possible; continuation rows
/// start with `indent` blank columns. Every row is at most `width` columns wide, except a single
/// character wider than the whole row.
pub fn wrap(spans: &[Span<'_>], width: usize, indent: usize) -> Vec<Line<'static>> {
    if width == 0 {
        return Vec::new();
    }
    let mut rows: Vec<Vec<Cell>> = vec![Vec::new()];
    let mut used = 0;
    // Index (in the current row) just after the last space: where a word break can happen.
    let mut last_break: Option<usize> = None;
    for span in spans {
        for g in span.content.graphemes(true) {
            let w = g.width();
            if used + w > width && used > 0 {
                let row = rows.last_mut().map(std::mem::take).unwrap_or_default();
                let (keep, carry) = match last_break {
                    Some(at) if at > indent && at < row.len() => {
                        let mut keep = row;
                        let carry = keep.split_off(at);
                        (keep, carry)
                    }
                    _ => (row, Vec::new()),
                };
                if let Some(last) = rows.last_mut() {
                    *last = keep;
                }
                let carried: usize = carry.iter().map(|c| c.width).sum();
                // Drop the indent when it would leave no room for what must go on the row.
                let pad = if indent + carried + w <= width {
                    indent
                } else {
                    0
                };
                let mut next: Vec<Cell> = (0..pad)
                    .map(|_| Cell {
                        grapheme: " ".into(),
                        width: 1,
                        style: Style::new(),
                    })
                    .collect();
                next.extend(carry);
                used = next.iter().map(|c| c.width).sum();
                rows.push(next);
                last_break = None;
            }
            if let Some(row) = rows.last_mut() {
                row.push(Cell {
                    grapheme: g.to_string(),
                    width: w,
                    style: span.style,
                });
                used += w;
                if g == " " {
                    last_break = Some(row.len());
                }
            }
        }
    }
    rows.into_iter()
        .map(|row| {
            let mut spans: Vec<Span<'static>> = Vec::new();
            for cell in row {
                match spans.last_mut() {
                    Some(last) if last.style == cell.style => {
                        last.content.to_mut().push_str(&cell.grapheme);
                    }
                    _ => spans.push(Span::styled(cell.grapheme, cell.style)),
                }
            }
            Line::from(spans)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(line: &Line) -> String {
        line.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    fn rows(s: &str, width: usize, indent: usize) -> Vec<String> {
        wrap(&[Span::raw(s)], width, indent)
            .iter()
            .map(text)
            .collect()
    }

    #[test]
    fn wraps_at_spaces_and_indents() {
        assert_eq!(
            rows("12:00 <ann> hello there world", 18, 12),
            vec![
                "12:00 <ann> hello ",
                "            there ",
                "            world"
            ]
        );
        assert_eq!(rows("aaa bbb ccc", 6, 0), vec!["aaa ", "bbb ", "ccc"]);
        assert_eq!(rows("aaa bbb ccc", 7, 0), vec!["aaa ", "bbb ccc"]);
        assert_eq!(rows("aaa bbb ccc", 8, 2), vec!["aaa bbb ", "  ccc"]);
        assert_eq!(rows("abcdefghij", 4, 0), vec!["abcd", "efgh", "ij"]);
    }

    #[test]
    fn wide_characters_count_two_columns() {
        let out = rows("日本語のテキスト", 6, 0);
        assert_eq!(out, vec!["日本語", "のテキ", "スト"]);
        for row in &out {
            assert!(row.width() <= 6);
        }
        // An emoji never splits, and a row never exceeds the width.
        let out = rows("ab😀cd", 3, 0);
        assert_eq!(out, vec!["ab", "😀c", "d"]);
    }

    #[test]
    fn never_wider_than_the_width() {
        for width in 1..12 {
            for row in rows("the quick brown fox 日本 jumps😀 over", width, 3) {
                assert!(row.width() <= width.max(2), "{row:?} at {width}");
            }
        }
    }

    #[test]
    fn control_characters_from_the_server_cannot_move_the_cursor() {
        let entry = Entry {
            ts: 0,
            kind: EntryKind::Message {
                from: "bob".into(),
                text: "a\u{1b}[2Jb\tc\rd".into(),
                action: false,
                own: false,
                mention: false,
                history: false,
            },
        };
        let theme = Theme::mono();
        let clock = Clock {
            format: "%H:%M".into(),
            utc: true,
        };
        let look = Look {
            theme: &theme,
            clock: &clock,
        };
        let rows: Vec<String> = lines(&entry, &look, 80).iter().map(text).collect();
        assert_eq!(rows, vec!["00:00 <bob> a\u{fffd}[2Jb c\u{fffd}d"]);
    }

    #[test]
    fn clock_formats_utc() {
        let clock = Clock {
            format: "%H:%M:%S".into(),
            utc: true,
        };
        assert_eq!(clock.format(3_723_000), "01:02:03");
    }
}
