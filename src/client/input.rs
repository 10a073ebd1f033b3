//! The input line: editing (via `tui-input`: cursor movement, Ctrl-W word delete, Ctrl-U, ...),
//! the history of sent lines (Up/Down), and Tab completion that cycles through candidates.

use ratatui::crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use tui_input::backend::crossterm::EventHandler;
use tui_input::{Input, InputRequest};

/// The longest input line, in characters; longer pastes are cut.
pub const MAX_INPUT_CHARS: usize = 4000;

/// An in-progress Tab completion, so the next Tab moves to the next candidate.
#[derive(Debug, Clone)]
struct Completion {
    /// Char index where the completed word starts.
    start: usize,
    /// What was inserted for the current candidate, in chars.
    inserted: usize,
    /// What follows the completed word (kept as is).
    tail: String,
    candidates: Vec<String>,
    index: usize,
}

/// The input line with its history.
#[derive(Debug, Default)]
pub struct InputLine {
    input: Input,
    history: Vec<String>,
    history_cap: usize,
    /// Position in `history` while browsing with Up/Down.
    browsing: Option<usize>,
    /// The line being typed before browsing started.
    draft: String,
    completion: Option<Completion>,
}

impl InputLine {
    /// An empty line remembering at most `history_cap` sent lines.
    pub fn new(history_cap: usize) -> InputLine {
        InputLine {
            history_cap,
            ..InputLine::default()
        }
    }

    /// The text.
    pub fn value(&self) -> &str {
        self.input.value()
    }

    /// Cursor position in characters.
    pub fn cursor(&self) -> usize {
        self.input.cursor()
    }

    /// Cursor column (display width of the text before the cursor).
    pub fn visual_cursor(&self) -> usize {
        self.input.visual_cursor()
    }

    /// First visible column when the line is shown in `width` columns.
    pub fn visual_scroll(&self, width: usize) -> usize {
        self.input.visual_scroll(width)
    }

    /// Replaces the text, cursor at the end.
    pub fn set(&mut self, text: &str) {
        self.input = Input::new(text.chars().take(MAX_INPUT_CHARS).collect());
    }

    /// An editing key (anything but Enter, Tab, Up, Down). Returns whether the text changed.
    pub fn edit(&mut self, key: KeyEvent) -> bool {
        self.completion = None;
        // Terminals send Alt-B/Alt-F as Alt; tui-input only maps them for Meta.
        if key.modifiers == KeyModifiers::ALT {
            let request = match key.code {
                KeyCode::Char('b') => InputRequest::GoToPrevWord,
                KeyCode::Char('f') => InputRequest::GoToNextWord,
                _ => return false,
            };
            self.input.handle(request);
            return false;
        }
        let before = self.input.value().chars().count();
        let changed = self
            .input
            .handle_event(&TermEvent::Key(key))
            .is_some_and(|c| c.value);
        if changed && before >= MAX_INPUT_CHARS && self.input.value().chars().count() > before {
            self.input.handle(InputRequest::DeletePrevChar);
            return false;
        }
        changed
    }

    /// Inserts pasted text at the cursor (line breaks become spaces).
    pub fn paste(&mut self, text: &str) {
        self.completion = None;
        let room = MAX_INPUT_CHARS.saturating_sub(self.input.value().chars().count());
        for c in text.chars().take(room) {
            let c = if c == '\n' || c == '\r' || c == '\t' {
                ' '
            } else {
                c
            };
            if !c.is_control() {
                self.input.handle(InputRequest::InsertChar(c));
            }
        }
    }

    /// Takes the line for sending: clears it and remembers it in the history.
    pub fn take(&mut self) -> String {
        let line = self.input.value().to_string();
        self.input.reset();
        self.browsing = None;
        self.draft.clear();
        self.completion = None;
        if !line.trim().is_empty() && self.history_cap > 0 && self.history.last() != Some(&line) {
            if self.history.len() == self.history_cap {
                self.history.remove(0);
            }
            self.history.push(line.clone());
        }
        line
    }

    /// Up: the previous line of the history.
    pub fn older(&mut self) {
        self.completion = None;
        let at = match self.browsing {
            None if self.history.is_empty() => return,
            None => {
                self.draft = self.input.value().to_string();
                self.history.len() - 1
            }
            Some(0) => return,
            Some(i) => i - 1,
        };
        self.browsing = Some(at);
        let line = self.history[at].clone();
        self.set(&line);
    }

    /// Down: the next line of the history, then the draft.
    pub fn newer(&mut self) {
        self.completion = None;
        let Some(at) = self.browsing else { return };
        if at + 1 < self.history.len() {
            self.browsing = Some(at + 1);
            let line = self.history[at + 1].clone();
            self.set(&line);
        } else {
            self.browsing = None;
            let draft = std::mem::take(&mut self.draft);
            self.set(&draft);
        }
    }

    /// Tab: completes the word before the cursor. `candidates(word, first)` lists what the word
    /// may become (`first`: it is the line's first word). A second Tab moves to the next
    /// candidate. A nick completed as the first word gets `": "` appended, anything else `" "`.
    pub fn complete(&mut self, candidates: impl FnOnce(&str, bool) -> Vec<String>) {
        if let Some(mut c) = self.completion.take() {
            c.index = (c.index + 1) % c.candidates.len();
            self.apply(&mut c);
            self.completion = Some(c);
            return;
        }
        let chars: Vec<char> = self.input.value().chars().collect();
        let cursor = self.input.cursor().min(chars.len());
        let start = chars[..cursor]
            .iter()
            .rposition(|c| c.is_whitespace())
            .map_or(0, |i| i + 1);
        let word: String = chars[start..cursor].iter().collect();
        let first = chars[..start].iter().all(|c| c.is_whitespace());
        let lower = word.to_lowercase();
        let mut found: Vec<String> = candidates(&word, first)
            .into_iter()
            .filter(|c| c.to_lowercase().starts_with(&lower))
            .collect();
        found.sort_by_key(|c| c.to_lowercase());
        found.dedup();
        if found.is_empty() {
            return;
        }
        let mut c = Completion {
            start,
            inserted: cursor - start,
            tail: chars[cursor..].iter().collect(),
            candidates: found
                .into_iter()
                .map(|w| {
                    let nick_at_start = first && !w.starts_with('/') && !w.starts_with('#');
                    if nick_at_start {
                        format!("{w}: ")
                    } else {
                        format!("{w} ")
                    }
                })
                .collect(),
            index: 0,
        };
        self.apply(&mut c);
        self.completion = Some(c);
    }

    fn apply(&mut self, c: &mut Completion) {
        let head: String = self.input.value().chars().take(c.start).collect();
        let word = &c.candidates[c.index];
        let text = format!("{head}{word}{}", c.tail);
        c.inserted = word.chars().count();
        let cursor = c.start + c.inserted;
        self.input = Input::new(text).with_cursor(cursor);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(line: &mut InputLine, text: &str) {
        for c in text.chars() {
            line.edit(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        }
    }

    #[test]
    fn history_goes_back_and_returns_to_the_draft() {
        let mut line = InputLine::new(10);
        typed(&mut line, "one");
        line.take();
        typed(&mut line, "two");
        line.take();
        typed(&mut line, "dra");
        line.older();
        assert_eq!(line.value(), "two");
        line.older();
        assert_eq!(line.value(), "one");
        line.older();
        assert_eq!(line.value(), "one");
        line.newer();
        assert_eq!(line.value(), "two");
        line.newer();
        assert_eq!(line.value(), "dra");
    }

    #[test]
    fn history_is_bounded_and_skips_repeats() {
        let mut line = InputLine::new(2);
        for text in ["a", "b", "b", "c"] {
            typed(&mut line, text);
            line.take();
        }
        line.older();
        assert_eq!(line.value(), "c");
        line.older();
        assert_eq!(line.value(), "b");
        line.older();
        assert_eq!(line.value(), "b", "a fell off the bounded history");
    }

    #[test]
    fn word_delete_and_cursor_movement() {
        let mut line = InputLine::new(10);
        typed(&mut line, "hello big world");
        line.edit(KeyEvent::new(KeyCode::Char('w'), KeyModifiers::CONTROL));
        assert_eq!(line.value(), "hello big ");
        line.edit(KeyEvent::new(KeyCode::Home, KeyModifiers::NONE));
        typed(&mut line, ">");
        assert_eq!(line.value(), ">hello big ");
        assert_eq!(line.cursor(), 1);
        line.edit(KeyEvent::new(KeyCode::Char('f'), KeyModifiers::ALT));
        assert_eq!(line.cursor(), 7, "Alt-F: to the next word");
        line.edit(KeyEvent::new(KeyCode::Char('b'), KeyModifiers::ALT));
        assert_eq!(line.cursor(), 1, "Alt-B: back to its start");
    }

    #[test]
    fn tab_completes_and_cycles() {
        let nicks = || vec!["anna".to_string(), "ann".to_string(), "bob".to_string()];
        let mut line = InputLine::new(10);
        typed(&mut line, "an");
        line.complete(|_, first| {
            assert!(first);
            nicks()
        });
        assert_eq!(line.value(), "ann: ");
        line.complete(|_, _| unreachable!("a second Tab cycles without asking"));
        assert_eq!(line.value(), "anna: ");
        line.complete(|_, _| unreachable!());
        assert_eq!(line.value(), "ann: ");

        let mut line = InputLine::new(10);
        typed(&mut line, "hi BO");
        line.complete(|word, first| {
            assert_eq!((word, first), ("BO", false));
            nicks()
        });
        assert_eq!(line.value(), "hi bob ");

        let mut line = InputLine::new(10);
        typed(&mut line, "/jo");
        line.complete(|_, _| vec!["/join".into(), "/nick".into()]);
        assert_eq!(line.value(), "/join ");
        typed(&mut line, "#r");
        line.complete(|_, _| vec!["#rust".into()]);
        assert_eq!(line.value(), "/join #rust ");
    }

    #[test]
    fn completion_keeps_the_text_after_the_cursor() {
        let mut line = InputLine::new(10);
        typed(&mut line, "b said hi");
        line.edit(KeyEvent::new(KeyCode::Home, KeyModifiers::NONE));
        line.edit(KeyEvent::new(KeyCode::Right, KeyModifiers::NONE));
        line.complete(|_, _| vec!["bob".into()]);
        assert_eq!(line.value(), "bob:  said hi");
        assert_eq!(line.cursor(), 5);
    }

    #[test]
    fn paste_is_one_line_and_bounded() {
        let mut line = InputLine::new(10);
        line.paste("a\nb");
        assert_eq!(line.value(), "a b");
        line.paste(&"x".repeat(MAX_INPUT_CHARS * 2));
        assert_eq!(line.value().chars().count(), MAX_INPUT_CHARS);
    }
}
