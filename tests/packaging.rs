//! The files an admin installs: the sample configuration.

use std::collections::BTreeSet;
use std::path::Path;

use chatd::client::app::{COMMANDS, KEYS};
use chatd::client::config::ClientConfig;
use chatd::client::theme::Theme;
use chatd::server::config::{Config, Overrides, Settings};

use crate::util::assert_success;

fn leaves(prefix: &str, value: &toml::Value, out: &mut BTreeSet<String>) {
    match value {
        toml::Value::Table(table) => {
            for (key, value) in table {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                leaves(&path, value, out);
            }
        }
        _ => {
            out.insert(prefix.to_string());
        }
    }
}

#[test]
fn the_sample_config_parses_and_lists_every_key_with_its_default() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("etc/chatd.toml");
    let config =
        Config::load_with_env(Some(&path), Some(Default::default()), &Overrides::default())
            .unwrap_or_else(|e| panic!("etc/chatd.toml: {e}"));
    assert_eq!(
        config.settings,
        Settings::default(),
        "the sample shows the defaults"
    );

    let text = std::fs::read_to_string(&path).unwrap();
    let mut in_file = BTreeSet::new();
    let table: toml::Table = toml::from_str(&text).unwrap();
    leaves("", &toml::Value::Table(table), &mut in_file);
    let mut accepted = BTreeSet::new();
    leaves(
        "",
        &toml::Value::try_from(Settings::default()).unwrap(),
        &mut accepted,
    );
    assert_eq!(
        in_file, accepted,
        "every key the daemon accepts, and no other"
    );
    // Every key is explained by a comment right above it.
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if line.contains(" = ") && !line.starts_with('#') {
            assert!(
                i > 0 && (lines[i - 1].starts_with('#') || lines[i - 1].contains(" = ")),
                "undocumented: {line}"
            );
        }
    }
}

/// Every key chat-client's configuration accepts (the file parser refuses any other).
fn client_keys() -> BTreeSet<String> {
    let mut keys: BTreeSet<String> = [
        "servers",
        "nick",
        "rooms",
        "theme",
        "timestamp_format",
        "scrollback",
        "input_history",
        "mouse",
        "ping_interval_secs",
        "reconnect.initial_ms",
        "reconnect.max_ms",
    ]
    .iter()
    .map(|k| k.to_string())
    .collect();
    keys.extend(Theme::KEYS.iter().map(|k| format!("colors.{k}")));
    keys
}

#[test]
fn the_sample_client_config_parses_to_the_defaults_and_lists_every_key() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("etc/client.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let config = ClientConfig::parse(&text, &path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        config,
        ClientConfig::default(),
        "the sample shows the defaults"
    );
    let mut in_file = BTreeSet::new();
    let table: toml::Table = toml::from_str(&text).unwrap();
    leaves("", &toml::Value::Table(table), &mut in_file);
    // `nick` has no default: it is shown commented out.
    assert!(text.contains("nick = \"ann\""));
    in_file.insert("nick".into());
    assert_eq!(in_file, client_keys());
    // Each key the parser knows is accepted on its own.
    for key in client_keys() {
        let (table, leaf) = key
            .split_once('.')
            .map_or((None, key.as_str()), |(t, l)| (Some(t), l));
        let value = match leaf {
            "servers" | "rooms" | "nicks" => "[\"blue\"]",
            "mouse" => "true",
            "scrollback" | "input_history" | "ping_interval_secs" | "initial_ms" | "max_ms" => {
                "600"
            }
            "nick" => "\"ann\"",
            "theme" => "\"mono\"",
            "timestamp_format" => "\"%H\"",
            _ => "\"blue\"",
        };
        let text = match table {
            Some(table) => format!("[{table}]\n{leaf} = {value}\n"),
            None => format!("{leaf} = {value}\n"),
        };
        let text = text
            .replace("servers = [\"blue\"]", "servers = [\"h:1\"]")
            .replace("rooms = [\"blue\"]", "rooms = [\"r\"]");
        ClientConfig::parse(&text, Path::new("x")).unwrap_or_else(|e| panic!("{key}: {e}"));
    }
}

/// The unit with its binaries pointing at this build (verify checks they are executable).
fn unit_for_this_build(dir: &Path) -> std::path::PathBuf {
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/chatd.service"),
    )
    .unwrap();
    let unit = unit
        .replace(
            "/usr/bin/chatd ",
            &format!("{} ", env!("CARGO_BIN_EXE_chatd")),
        )
        .replace(
            "/usr/bin/chatctl ",
            &format!("{} ", env!("CARGO_BIN_EXE_chatctl")),
        );
    let path = dir.join("chatd.service");
    std::fs::write(&path, unit).unwrap();
    path
}

#[test]
fn the_systemd_unit_verifies_cleanly_and_is_hardened() {
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_for_this_build(dir.path());
    let out = std::process::Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&unit)
        .output()
        .expect("systemd-analyze (make test installs it)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // verify exits 0 even for unknown keys: any output is a failure.
    assert!(out.status.success() && stderr.trim().is_empty(), "{stderr}");
    let out = std::process::Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--threshold=20"])
        .arg(&unit)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "exposure above 2.0:\n{report}");
    let unit_text = std::fs::read_to_string(&unit).unwrap();
    for needed in [
        "Type=notify",
        "ExecReload=",
        "Restart=on-failure",
        "LimitNOFILE=",
        "RuntimeDirectory=chatd",
        "StateDirectory=chatd",
        "WatchdogSec=",
    ] {
        assert!(unit_text.contains(needed), "missing {needed}");
    }
}

/// The flags `--help` lists for a binary.
fn flags(bin: &str) -> Vec<String> {
    let out = std::process::Command::new(bin)
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    let mut flags: Vec<String> = help
        .split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == ']')
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| {
            w.trim_end_matches(|c: char| !c.is_alphanumeric())
                .to_string()
        })
        .collect();
    flags.sort();
    flags.dedup();
    flags
}

fn page(name: &str) -> (std::path::PathBuf, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("man").join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    // As rendered: roff's \- is a plain hyphen.
    (path, text.replace("\\-", "-"))
}

#[test]
fn man_pages_lint_cleanly_and_document_every_flag_and_key() {
    for name in ["chatd.8", "chatctl.1", "chatd.toml.5", "chat-client.1"] {
        let (path, _) = page(name);
        let out = std::process::Command::new("mandoc")
            .args(["-Tlint", "-W", "warning"])
            .arg(&path)
            .output()
            .expect("mandoc (make test installs it)");
        assert!(
            out.status.success(),
            "{name}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let out = std::process::Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .arg(&path)
            .output()
            .expect("groff (make test installs it)");
        // groff exits 0 on warnings: any output is a failure.
        assert!(
            out.stderr.is_empty(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for (bin, name) in [
        (env!("CARGO_BIN_EXE_chatd"), "chatd.8"),
        (env!("CARGO_BIN_EXE_chatctl"), "chatctl.1"),
        (env!("CARGO_BIN_EXE_chat-client"), "chat-client.1"),
    ] {
        let (_, text) = page(name);
        let flags = flags(bin);
        assert!(flags.len() >= 4, "{bin}: {flags:?}");
        for flag in flags {
            assert!(text.contains(&flag), "{name} does not document {flag}");
        }
    }
    let (_, chatctl) = page("chatctl.1");
    for command in [
        "status",
        "rooms",
        "users",
        "kick",
        "announce",
        "nodes",
        "history",
        "purge",
        "reload",
        "shutdown",
        "completions",
    ] {
        assert!(
            chatctl.contains(&format!(".B {command}"))
                || chatctl.contains(&format!(".BI {command}")),
            "chatctl.1 lacks {command}"
        );
    }
    let (_, client) = page("chat-client.1");
    for key in client_keys() {
        let leaf = key.strip_prefix("colors.").unwrap_or(&key);
        assert!(
            client.contains(&format!(".B {leaf}\n")),
            "chat-client.1 does not document {key}"
        );
    }
    for (keys, _) in KEYS {
        assert!(
            client.contains(&format!(".B {keys}\n")),
            "chat-client.1 does not document the keys {keys}"
        );
    }
    for command in COMMANDS {
        assert!(client.contains(command), "chat-client.1 lacks {command}");
    }
    let (_, toml_page) = page("chatd.toml.5");
    let mut keys = BTreeSet::new();
    leaves(
        "",
        &toml::Value::try_from(Settings::default()).unwrap(),
        &mut keys,
    );
    for key in keys {
        assert!(
            toml_page.contains(&format!(".B {key} ")),
            "chatd.toml.5 does not document {key}"
        );
    }
}

#[test]
fn make_install_lays_out_the_files_and_keeps_an_existing_config() {
    let root = tempfile::tempdir().unwrap();
    let dest = root.path().to_str().unwrap();
    let install = || {
        let out = std::process::Command::new("make")
            .args([
                "-s",
                "install",
                "PROFILE=dev",
                "PREFIX=/usr",
                &format!("DESTDIR={dest}"),
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        assert_success(&out);
    };
    install();
    let mode = |p: &str| {
        std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(root.path().join(p))
                .unwrap_or_else(|e| panic!("{p}: {e}"))
                .permissions(),
        ) & 0o777
    };
    for bin in [
        "usr/bin/chatd",
        "usr/bin/chatctl",
        "usr/bin/chatd-bench",
        "usr/bin/chat-client",
    ] {
        assert_eq!(mode(bin), 0o755, "{bin}");
    }
    for file in [
        "usr/lib/systemd/system/chatd.service",
        "usr/lib/sysusers.d/chatd.conf",
        "etc/chatd.toml",
        "usr/share/man/man8/chatd.8",
        "usr/share/man/man1/chatctl.1",
        "usr/share/man/man5/chatd.toml.5",
        "usr/share/man/man1/chat-client.1",
        "usr/share/doc/chatd/examples/client.toml",
        "usr/share/bash-completion/completions/chatctl",
        "usr/share/zsh/vendor-completions/_chatctl",
        "usr/share/fish/vendor_completions.d/chatctl.fish",
    ] {
        assert_eq!(mode(file), 0o644, "{file}");
    }
    let unit =
        std::fs::read_to_string(root.path().join("usr/lib/systemd/system/chatd.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/bin/chatd --config /etc/chatd.toml"));
    // An admin's configuration survives a reinstall.
    let config = root.path().join("etc/chatd.toml");
    std::fs::write(&config, "# edited by the admin\n").unwrap();
    install();
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        "# edited by the admin\n"
    );
}

#[test]
fn every_binary_answers_version() {
    for bin in [
        env!("CARGO_BIN_EXE_chatd"),
        env!("CARGO_BIN_EXE_chatctl"),
        env!("CARGO_BIN_EXE_chatd-bench"),
        env!("CARGO_BIN_EXE_chat-client"),
    ] {
        let out = std::process::Command::new(bin)
            .arg("--version")
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            out.status.success() && text.contains(env!("CARGO_PKG_VERSION")),
            "{bin}: {text}"
        );
    }
}

#[test]
fn cargo_deb_packages_everything_and_enables_the_unit() {
    let dir = tempfile::tempdir().unwrap();
    let deb = dir.path().join("chatd.deb");
    // The debug binaries this test run built; a release package is `cargo deb`.
    let out = std::process::Command::new("cargo")
        .args(["deb", "--no-build", "--profile", "dev", "-o"])
        .arg(&deb)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo deb (make test installs cargo-deb)");
    assert_success(&out);
    let contents = std::process::Command::new("dpkg-deb")
        .arg("-c")
        .arg(&deb)
        .output()
        .unwrap();
    let contents = String::from_utf8(contents.stdout).unwrap();
    for file in [
        "./usr/bin/chatd",
        "./usr/bin/chatctl",
        "./etc/chatd.toml",
        "./usr/lib/systemd/system/chatd.service",
        "./usr/lib/sysusers.d/chatd.conf",
        "./usr/share/man/man8/chatd.8.gz",
        "./usr/bin/chat-client",
        "./usr/share/man/man1/chat-client.1.gz",
        "./usr/share/doc/chatd/examples/client.toml",
    ] {
        assert!(contents.contains(file), "{file} missing:\n{contents}");
    }
    let control = dir.path().join("control");
    assert!(
        std::process::Command::new("dpkg-deb")
            .arg("-e")
            .arg(&deb)
            .arg(&control)
            .status()
            .unwrap()
            .success()
    );
    let postinst = std::fs::read_to_string(control.join("postinst")).unwrap();
    assert!(
        postinst.contains("systemd-sysusers") && postinst.contains("enable chatd.service"),
        "{postinst}"
    );
    let conffiles = std::fs::read_to_string(control.join("conffiles")).unwrap();
    assert_eq!(conffiles.trim(), "/etc/chatd.toml");
}
