//! The demo's thesis and risk-factor files: the user's own when they exist, else the examples
//! shipped with the program, labelled as examples in what the tools show (the thesis name and
//! each factor's name), so every tool answers in the demo and no answer passes an example off
//! as the user's own.

use crate::config::Config;
use serde_json::Value;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

const THESIS_FILE: &str = "thesis_config.json";
const RISK_FILE: &str = "risk_factors.json";
const THESIS_EXAMPLE: &str = include_str!("../../examples/thesis_config.json");
const RISK_EXAMPLE: &str = include_str!("../../examples/risk_factors.json");

/// Label appended to names taken from an example file.
const EXAMPLE_LABEL: &str = "(example file)";

/// Points `config.data.config_dir` at a folder holding both files when the user's folder lacks
/// one: the user's file where it exists, the labelled example otherwise. The folder is
/// `demo-files` under the data dir (0700, files 0600), rewritten at every start. Returns which
/// files are examples (empty when the user has both, and nothing changes).
pub fn use_examples_where_missing(config: &mut Config) -> std::io::Result<Vec<&'static str>> {
    let own = config.files_dir();
    let missing: Vec<&'static str> = [THESIS_FILE, RISK_FILE]
        .into_iter()
        .filter(|f| !own.join(f).exists())
        .collect();
    if missing.is_empty() {
        return Ok(missing);
    }
    let dir = config
        .db_path()
        .parent()
        .map_or_else(crate::config::data_dir, Path::to_path_buf)
        .join("demo-files");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)?;
    for (name, example, label) in [
        (THESIS_FILE, THESIS_EXAMPLE, label_thesis as fn(&mut Value)),
        (RISK_FILE, RISK_EXAMPLE, label_factors),
    ] {
        let text = if missing.contains(&name) {
            labelled(example, label)
        } else {
            std::fs::read_to_string(own.join(name))?
        };
        write_private(&dir.join(name), &text)?;
    }
    config.data.config_dir = Some(dir);
    Ok(missing)
}

/// The example with `label` applied; the example unchanged if it somehow does not parse (the
/// tool then reports the problem itself).
fn labelled(example: &str, label: fn(&mut Value)) -> String {
    match serde_json::from_str::<Value>(example) {
        Ok(mut v) => {
            label(&mut v);
            serde_json::to_string_pretty(&v).unwrap_or_else(|_| example.to_string())
        }
        Err(_) => example.to_string(),
    }
}

fn label_thesis(v: &mut Value) {
    if let Some(Value::String(name)) = v.get_mut("thesis_name") {
        *name = format!("{name} {EXAMPLE_LABEL}");
    }
}

fn label_factors(v: &mut Value) {
    let list = match v {
        Value::Array(items) => Some(items),
        Value::Object(m) => m.get_mut("risk_factors").and_then(Value::as_array_mut),
        _ => None,
    };
    for factor in list.into_iter().flatten() {
        if let Some(Value::String(name)) = factor.get_mut("name") {
            *name = format!("{name} {EXAMPLE_LABEL}");
        }
    }
}

fn write_private(path: &PathBuf, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_parse_and_get_labelled() {
        let thesis: Value =
            serde_json::from_str(&labelled(THESIS_EXAMPLE, label_thesis)).expect("thesis");
        assert!(
            thesis["thesis_name"]
                .as_str()
                .is_some_and(|n| n.ends_with(EXAMPLE_LABEL))
        );
        let risks: Value =
            serde_json::from_str(&labelled(RISK_EXAMPLE, label_factors)).expect("risks");
        let names: Vec<&str> = risks
            .as_array()
            .expect("a list")
            .iter()
            .filter_map(|f| f["name"].as_str())
            .collect();
        assert!(!names.is_empty() && names.iter().all(|n| n.ends_with(EXAMPLE_LABEL)));
    }
}
