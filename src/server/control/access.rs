//! Who may use the control socket: root, the daemon's own user, and members of `control.group`
//! (the daemon's own primary group when it is not set, which is also the socket file's group).
//! The peer is identified by the kernel (`SO_PEERCRED`), not by anything it says.

use nix::unistd::{Gid, Group, Uid, User};

/// The identity of a peer, from `SO_PEERCRED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
}

/// The allowed group, resolved at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedGroup {
    /// Its id.
    pub gid: u32,
    /// Its members' user names (supplementary members).
    pub members: Vec<String>,
}

/// The access rule, as a pure function: root, the daemon's user, a peer whose primary group is
/// the allowed group, or a peer listed among the group's members.
pub fn allowed(
    peer: Peer,
    daemon_uid: u32,
    group: Option<&AllowedGroup>,
    peer_name: Option<&str>,
) -> bool {
    if peer.uid == 0 || peer.uid == daemon_uid {
        return true;
    }
    match group {
        Some(group) => {
            peer.gid == group.gid
                || peer_name.is_some_and(|name| group.members.iter().any(|m| m == name))
        }
        None => false,
    }
}

/// Resolves `control.group` by name.
pub fn resolve_group(name: &str) -> Result<AllowedGroup, String> {
    match Group::from_name(name) {
        Ok(Some(group)) => Ok(AllowedGroup {
            gid: group.gid.as_raw(),
            members: group.mem,
        }),
        Ok(None) => Err(format!("no group named {name:?}")),
        Err(e) => Err(format!("cannot look up group {name:?}: {e}")),
    }
}

/// The daemon's primary group, if it can be looked up.
pub fn daemon_group() -> Option<AllowedGroup> {
    Group::from_gid(nix::unistd::getegid())
        .ok()
        .flatten()
        .map(|group| AllowedGroup {
            gid: group.gid.as_raw(),
            members: group.mem,
        })
}

/// The daemon's effective user id.
pub fn daemon_uid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

/// The user name of `uid`, if it has one.
pub fn user_name(uid: u32) -> Option<String> {
    User::from_uid(Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
}

/// Gives the socket file to `group` (the daemon must be a member, or root).
pub fn chown_group(path: &std::path::Path, group: &AllowedGroup) -> nix::Result<()> {
    nix::unistd::chown(path, None, Some(Gid::from_raw(group.gid)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_the_daemon_user_and_the_group_are_allowed() {
        let group = AllowedGroup {
            gid: 500,
            members: vec!["carol".into()],
        };
        let stranger = Peer {
            uid: 1234,
            gid: 1234,
        };
        assert!(allowed(Peer { uid: 0, gid: 0 }, 1000, None, None));
        assert!(allowed(
            Peer {
                uid: 1000,
                gid: 1000
            },
            1000,
            None,
            None
        ));
        assert!(!allowed(stranger, 1000, None, Some("mallory")));
        assert!(!allowed(stranger, 1000, Some(&group), Some("mallory")));
        assert!(allowed(
            Peer {
                uid: 1234,
                gid: 500
            },
            1000,
            Some(&group),
            None
        ));
        assert!(allowed(stranger, 1000, Some(&group), Some("carol")));
    }
}
