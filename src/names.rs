//! Nick and room-name rules: what is valid, and the case-folded key under which names are unique.
//!
//! Nicks: 1 to 32 characters from `A-Z a-z 0-9 _ - [ ] { } | ^`, not starting with a digit or `-`.
//! They are unique case-insensitively (ASCII folding); the user's spelling is kept for display.
//!
//! Room names: an optional leading `#`, then 1 to 50 characters from `a-z 0-9 _ - .` (upper case is
//! accepted and folded to lower case). Rooms are shown with a leading `#`.

/// Longest nick, in characters (all nick characters are ASCII, so also in bytes).
pub const MAX_NICK_LEN: usize = 32;
/// Longest room name, in characters, without the leading `#`.
pub const MAX_ROOM_LEN: usize = 50;

/// Why a nick or room name was refused; the text is shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NameError(pub String);

fn is_nick_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_-[]{}|^".contains(c)
}

/// Checks a nick and returns it unchanged when it is valid.
pub fn validate_nick(nick: &str) -> Result<&str, NameError> {
    let len = nick.chars().count();
    if len == 0 || len > MAX_NICK_LEN {
        return Err(NameError(format!(
            "a nick has 1 to {MAX_NICK_LEN} characters, not {len}"
        )));
    }
    if let Some(bad) = nick.chars().find(|c| !is_nick_char(*c)) {
        return Err(NameError(format!(
            "{bad:?} is not allowed in a nick (use A-Z a-z 0-9 _ - [ ] {{ }} | ^)"
        )));
    }
    if nick.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
        return Err(NameError("a nick may not start with a digit or '-'".into()));
    }
    Ok(nick)
}

/// The key under which a nick is unique: ASCII lower case.
pub fn nick_key(nick: &str) -> String {
    nick.to_ascii_lowercase()
}

/// Checks a room name and returns its canonical form: no `#`, lower case.
/// Letters and digits of a room code (a room by code's name): lower case, as room names are,
/// without look-alikes.
pub const CODE_ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
/// Characters in a room code: 32^6, about a billion codes.
pub const CODE_LEN: usize = 6;

/// Whether a canonical room name has the shape of a room code (so it may be a room by code).
pub fn may_be_code(room: &str) -> bool {
    room.len() == CODE_LEN && room.bytes().all(|b| CODE_ALPHABET.contains(&b))
}

pub fn canonical_room(name: &str) -> Result<String, NameError> {
    let bare = name.strip_prefix('#').unwrap_or(name);
    let len = bare.chars().count();
    if len == 0 || len > MAX_ROOM_LEN {
        return Err(NameError(format!(
            "a room name has 1 to {MAX_ROOM_LEN} characters after the optional '#', not {len}"
        )));
    }
    if let Some(bad) = bare
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "_-.".contains(*c)))
    {
        return Err(NameError(format!(
            "{bad:?} is not allowed in a room name (use a-z 0-9 _ - .)"
        )));
    }
    Ok(bare.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nicks() {
        assert!(validate_nick("alice").is_ok());
        assert!(validate_nick("A_b-[c]{d}|^").is_ok());
        assert!(validate_nick(&"x".repeat(32)).is_ok());
        assert!(validate_nick(&"x".repeat(33)).is_err());
        assert!(validate_nick("").is_err());
        assert!(validate_nick("9lives").is_err());
        assert!(validate_nick("-dash").is_err());
        assert!(validate_nick("has space").is_err());
        assert!(validate_nick("émile").is_err());
        assert!(validate_nick("a#b").is_err());
        assert_eq!(nick_key("AliCe"), "alice");
    }

    #[test]
    fn rooms() {
        assert_eq!(canonical_room("#General").unwrap(), "general");
        assert_eq!(canonical_room("rust-lang.de_1").unwrap(), "rust-lang.de_1");
        assert!(canonical_room("#").is_err());
        assert!(canonical_room("").is_err());
        assert!(canonical_room("##double").is_err());
        assert!(canonical_room("a b").is_err());
        assert!(canonical_room(&"r".repeat(50)).is_ok());
        assert!(canonical_room(&"r".repeat(51)).is_err());
        assert!(canonical_room("日本").is_err());
    }
}
