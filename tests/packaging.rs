//! The files an admin installs: the sample configuration.

use std::collections::BTreeSet;
use std::path::Path;

use chatd::config::{Config, Overrides, Settings};

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
