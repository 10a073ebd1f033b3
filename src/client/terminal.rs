//! Taking over the terminal and always giving it back: raw mode, the alternate screen, mouse
//! capture and bracketed paste are undone on a normal exit, on an error (the guard's drop), and on
//! a panic (a hook that restores before the panic message is printed).

use std::io::{self, Stdout, stdout};
use std::sync::Once;

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::cursor::Show;
use ratatui::crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};

/// The terminal the client draws on.
pub type Tui = Terminal<CrosstermBackend<Stdout>>;

/// Owns the terminal's special modes; dropping it restores the terminal.
pub struct TerminalGuard {
    /// The terminal to draw on.
    pub terminal: Tui,
}

static PANIC_HOOK: Once = Once::new();

/// Restores the terminal: leaves raw mode and the alternate screen, stops mouse capture and
/// bracketed paste, shows the cursor. Safe to call more than once.
pub fn restore() {
    let _ = execute!(
        stdout(),
        DisableMouseCapture,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        Show
    );
    let _ = disable_raw_mode();
}

impl TerminalGuard {
    /// Switches the terminal to full-screen raw mode (with mouse capture if `mouse`).
    pub fn enter(mouse: bool) -> io::Result<TerminalGuard> {
        PANIC_HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                restore();
                previous(info);
            }));
        });
        enable_raw_mode()?;
        let setup = || -> io::Result<Tui> {
            execute!(stdout(), EnterAlternateScreen, EnableBracketedPaste)?;
            if mouse {
                execute!(stdout(), EnableMouseCapture)?;
            }
            Terminal::new(CrosstermBackend::new(stdout()))
        };
        match setup() {
            Ok(terminal) => Ok(TerminalGuard { terminal }),
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}
