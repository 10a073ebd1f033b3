//! A scenario's results: printed as an aligned table, or as one JSON object with `--json`.

use serde_json::{Map, Value};

/// Named results, in the order they were added.
#[derive(Debug, Default)]
pub struct Report {
    fields: Map<String, Value>,
}

impl Report {
    /// A report for `scenario`.
    pub fn new(scenario: &str) -> Report {
        let mut report = Report::default();
        report.set("scenario", scenario);
        report
    }

    /// Adds or replaces a result.
    pub fn set(&mut self, key: &str, value: impl Into<Value>) -> &mut Self {
        self.fields.insert(key.to_string(), value.into());
        self
    }

    /// Adds a result that may be unknown (shown as `-`, `null` in JSON).
    pub fn maybe(&mut self, key: &str, value: Option<f64>) -> &mut Self {
        self.set(key, value.map(round3))
    }

    /// A result, for tests and callers that check numbers.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.fields.get(key)
    }

    /// The JSON object.
    pub fn to_json(&self) -> String {
        Value::Object(self.fields.clone()).to_string()
    }

    /// The aligned two-column table.
    pub fn to_table(&self) -> String {
        let width = self.fields.keys().map(String::len).max().unwrap_or(0);
        let mut out = String::new();
        for (key, value) in &self.fields {
            let shown = match value {
                Value::Null => "-".to_string(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.push_str(&format!("{key:<width$}  {shown}\n"));
        }
        out
    }
}

/// Rounds to three decimals for display.
pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_and_json_keep_insertion_order() {
        let mut r = Report::new("demo");
        r.set("b", 2).set("a", 1.5).maybe("c", None);
        assert_eq!(r.to_json(), r#"{"scenario":"demo","b":2,"a":1.5,"c":null}"#);
        assert_eq!(
            r.to_table(),
            "scenario  demo\nb         2\na         1.5\nc         -\n"
        );
    }
}
