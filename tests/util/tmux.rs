//! A terminal for end-to-end tests of terminal programs (the chat client, irssi): a tmux server
//! of its own per test, its screen read back as text.

use std::process::Command;
use std::time::{Duration, Instant};

use super::WAIT;

/// A tmux server of its own (one socket per test) running one window; killed on drop.
pub struct Tmux {
    socket: String,
    _dir: tempfile::TempDir,
}

impl Tmux {
    /// Runs `command` (a shell command line) in a `width`×`height` terminal.
    pub fn start(width: u16, height: u16, command: &str) -> Tmux {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("tmux.sock").display().to_string();
        let tmux = Tmux { socket, _dir: dir };
        let status = tmux
            .command()
            .args(["-f", "/dev/null", "new-session", "-d", "-s", "t"])
            .args(["-x", &width.to_string(), "-y", &height.to_string()])
            .arg(command)
            .status()
            .expect("tmux is installed (make deps)");
        assert!(status.success(), "tmux new-session failed");
        tmux
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-S", &self.socket]);
        c
    }

    /// The screen as text.
    pub fn screen(&self) -> String {
        let out = self
            .command()
            .args(["capture-pane", "-p", "-t", "t"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen shows `needle`; returns the screen.
    pub fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let screen = self.screen();
            if screen.contains(needle) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("the screen never showed {needle:?}; it shows:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The screen once two captures 100 ms apart agree (no frame half drawn).
    pub fn settled(&self) -> String {
        let deadline = Instant::now() + WAIT;
        let mut last = self.screen();
        loop {
            std::thread::sleep(Duration::from_millis(100));
            let now = self.screen();
            if now == last || Instant::now() > deadline {
                return now;
            }
            last = now;
        }
    }

    /// Types text (literally) and presses Enter.
    pub fn type_line(&self, text: &str) {
        self.keys(&["-l", text]);
        self.keys(&["Enter"]);
    }

    pub fn keys(&self, keys: &[&str]) {
        let status = self
            .command()
            .args(["send-keys", "-t", "t"])
            .args(keys)
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// The pid of the process running in the pane.
    pub fn pane_pid(&self) -> u32 {
        let out = self
            .command()
            .args(["display-message", "-p", "-t", "t", "#{pane_pid}"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self
            .command()
            .arg("kill-server")
            .stderr(std::process::Stdio::null())
            .status();
    }
}
