//! `/help`: the commands and what they do, one notice each (the list is the line protocol's
//! [`HELP`], which the terminal client shows too).

use super::super::state::SessionState;
use crate::protocol::Event;
use crate::protocol::line::HELP;

/// The lines `/help` sends.
pub fn lines() -> impl Iterator<Item = String> {
    HELP.iter()
        .map(|(usage, what)| format!("{usage:<22} {what}"))
}

/// Sends the list.
pub fn run(state: &SessionState) {
    for line in lines() {
        state.send(Event::notice(line));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_is_listed_in_a_column() {
        let lines: Vec<String> = lines().collect();
        assert_eq!(lines.len(), HELP.len());
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("/nick NAME (/n, /name)"))
        );
        assert!(lines.iter().all(|l| l.len() > 23));
    }
}
