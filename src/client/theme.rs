//! Colours of the terminal client: the built-in themes and `[colors]` overrides from the config.

use ratatui::style::Color;
use serde::Deserialize;

/// A `[colors]` value: one colour, or a list (for `nicks`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ColorValue {
    /// A colour name (`red`, `lightblue`), an index (`42`) or `#rrggbb`.
    One(String),
    /// A list of colours.
    Many(Vec<String>),
}

/// Every colour the client draws with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    /// Message text.
    pub text: Color,
    /// Timestamps.
    pub timestamp: Color,
    /// System lines: joins, leaves, nick changes, node events, command answers.
    pub system: Color,
    /// Error lines.
    pub error: Color,
    /// Messages replayed from a room's history.
    pub history: Color,
    /// Your own nick.
    pub own_nick: Color,
    /// Lines that mention your nick, and the sidebar marker of a conversation that has one.
    pub mention: Color,
    /// Palette for other people's nicks; a nick always gets the same entry.
    pub nicks: Vec<Color>,
    /// Title and status bar text.
    pub bar_fg: Color,
    /// Title and status bar background.
    pub bar_bg: Color,
    /// Sidebar entries.
    pub sidebar: Color,
    /// The current conversation in the sidebar.
    pub current: Color,
    /// Conversations with unread messages.
    pub unread: Color,
    /// Panel borders.
    pub border: Color,
}

impl Theme {
    /// Names of the built-in themes.
    pub const NAMES: &'static [&'static str] = &["dark", "light", "mono"];

    /// The `[colors]` keys, for error messages.
    pub const KEYS: &'static [&'static str] = &[
        "text",
        "timestamp",
        "system",
        "error",
        "history",
        "own_nick",
        "mention",
        "nicks",
        "bar_fg",
        "bar_bg",
        "sidebar",
        "current",
        "unread",
        "border",
    ];

    /// For dark terminals (the default).
    pub fn dark() -> Theme {
        Theme {
            text: Color::Reset,
            timestamp: Color::DarkGray,
            system: Color::DarkGray,
            error: Color::LightRed,
            history: Color::Gray,
            own_nick: Color::White,
            mention: Color::LightYellow,
            nicks: vec![
                Color::LightCyan,
                Color::LightGreen,
                Color::LightMagenta,
                Color::LightBlue,
                Color::Yellow,
                Color::Cyan,
                Color::Green,
                Color::Magenta,
                Color::LightRed,
            ],
            bar_fg: Color::White,
            bar_bg: Color::Blue,
            sidebar: Color::Gray,
            current: Color::LightCyan,
            unread: Color::White,
            border: Color::DarkGray,
        }
    }

    /// For light terminals.
    pub fn light() -> Theme {
        Theme {
            text: Color::Reset,
            timestamp: Color::Gray,
            system: Color::Gray,
            error: Color::Red,
            history: Color::DarkGray,
            own_nick: Color::Black,
            mention: Color::Magenta,
            nicks: vec![
                Color::Blue,
                Color::Green,
                Color::Magenta,
                Color::Cyan,
                Color::Red,
                Color::Indexed(94),
                Color::Indexed(25),
                Color::Indexed(28),
            ],
            bar_fg: Color::Black,
            bar_bg: Color::Gray,
            sidebar: Color::DarkGray,
            current: Color::Blue,
            unread: Color::Black,
            border: Color::Gray,
        }
    }

    /// No colours at all: the terminal's own foreground, with bold and reverse for emphasis.
    pub fn mono() -> Theme {
        Theme {
            text: Color::Reset,
            timestamp: Color::Reset,
            system: Color::Reset,
            error: Color::Reset,
            history: Color::Reset,
            own_nick: Color::Reset,
            mention: Color::Reset,
            nicks: vec![Color::Reset],
            bar_fg: Color::Reset,
            bar_bg: Color::Reset,
            sidebar: Color::Reset,
            current: Color::Reset,
            unread: Color::Reset,
            border: Color::Reset,
        }
    }

    /// A built-in theme by name.
    pub fn named(name: &str) -> Option<Theme> {
        match name {
            "dark" => Some(Theme::dark()),
            "light" => Some(Theme::light()),
            "mono" => Some(Theme::mono()),
            _ => None,
        }
    }

    /// The colour of a nick: a stable hash of the nick picks a palette entry.
    pub fn nick_color(&self, nick: &str) -> Color {
        // FNV-1a over the lower-case nick: stable across runs and platforms.
        let hash = nick.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(0x0100_0000_01b3)
        });
        match self.nicks.len() {
            0 => self.text,
            n => self.nicks[(hash % n as u64) as usize],
        }
    }

    /// Overrides one colour from a `[colors]` entry; the error text is shown after the key.
    pub fn set(&mut self, key: &str, value: &ColorValue) -> Result<(), String> {
        if key == "nicks" {
            let names = match value {
                ColorValue::Many(names) => names.clone(),
                ColorValue::One(name) => vec![name.clone()],
            };
            if names.is_empty() {
                return Err("needs at least one colour".into());
            }
            self.nicks = names
                .iter()
                .map(|n| parse_color(n))
                .collect::<Result<_, _>>()?;
            return Ok(());
        }
        let ColorValue::One(name) = value else {
            return Err("takes one colour, not a list".into());
        };
        let color = parse_color(name)?;
        let slot = match key {
            "text" => &mut self.text,
            "timestamp" => &mut self.timestamp,
            "system" => &mut self.system,
            "error" => &mut self.error,
            "history" => &mut self.history,
            "own_nick" => &mut self.own_nick,
            "mention" => &mut self.mention,
            "bar_fg" => &mut self.bar_fg,
            "bar_bg" => &mut self.bar_bg,
            "sidebar" => &mut self.sidebar,
            "current" => &mut self.current,
            "unread" => &mut self.unread,
            "border" => &mut self.border,
            _ => {
                return Err(format!(
                    "unknown colour key; known keys: {}",
                    Theme::KEYS.join(", ")
                ));
            }
        };
        *slot = color;
        Ok(())
    }
}

fn parse_color(name: &str) -> Result<Color, String> {
    name.parse::<Color>().map_err(|_| {
        format!("{name:?} is not a colour (use a name like \"lightblue\", an index 0-255, or \"#rrggbb\")")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nick_colours_are_stable_and_case_blind() {
        let theme = Theme::dark();
        assert_eq!(theme.nick_color("Ann"), theme.nick_color("ann"));
        let spread: std::collections::HashSet<_> = ["ann", "bob", "cy", "dee", "eve", "fay"]
            .iter()
            .map(|n| theme.nick_color(n))
            .collect();
        assert!(spread.len() > 2, "six nicks share {} colours", spread.len());
    }

    #[test]
    fn overrides_parse_names_indexes_and_hex() {
        let mut theme = Theme::dark();
        theme
            .set("text", &ColorValue::One("#102030".into()))
            .unwrap();
        theme.set("error", &ColorValue::One("42".into())).unwrap();
        assert_eq!(theme.text, Color::Rgb(0x10, 0x20, 0x30));
        assert_eq!(theme.error, Color::Indexed(42));
        assert!(theme.set("text", &ColorValue::Many(vec![])).is_err());
        assert!(theme.set("nicks", &ColorValue::Many(vec![])).is_err());
        assert!(theme.set("bogus", &ColorValue::One("red".into())).is_err());
    }
}
