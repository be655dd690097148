//! `ibkr-cockpit tool NAME [key=value…] [--json]`: call one tool and print its answer, for
//! scripts, cron and debugging. `tool --list` lists the tools; `tool NAME --help` (or `help`)
//! shows a tool's parameters from its schema.
//!
//! `tool_cli` returns what would be printed, so tests and the cockpit can use it without a
//! terminal; `run_tool_cli` prints it and turns it into an exit code.

use super::invocation::parse_args;
use crate::tools::{self, ToolContext, ToolSpec};
use serde_json::{Map, Value};
use std::fmt::Write as _;
use std::process::ExitCode;

/// Journal name for calls made from the command line.
const CLI_CLIENT: &str = "cli";

/// Exit codes: 0 answered, 1 the tool reported an error, 2 the command itself was wrong.
pub const EXIT_OK: u8 = 0;
pub const EXIT_TOOL_ERROR: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

/// What the `tool` subcommand prints, and how it exits.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ToolCliOutput {
    pub stdout: String,
    pub stderr: String,
    pub code: u8,
}

/// Runs the `tool` subcommand and prints its output. `args` are the words after the tool name.
pub async fn run_tool_cli(
    ctx: &ToolContext,
    name: Option<&str>,
    args: &[String],
    json: bool,
    list: bool,
) -> ExitCode {
    let out = tool_cli(ctx, name, args, json, list).await;
    if !out.stdout.is_empty() {
        print!("{}", out.stdout);
    }
    if !out.stderr.is_empty() {
        eprint!("{}", out.stderr);
    }
    ExitCode::from(out.code)
}

fn is_help_word(s: &str) -> bool {
    matches!(s, "--help" | "-h" | "help")
}

/// The `tool` subcommand without printing.
pub async fn tool_cli(
    ctx: &ToolContext,
    name: Option<&str>,
    args: &[String],
    json: bool,
    list: bool,
) -> ToolCliOutput {
    let usage = "usage: ibkr-cockpit tool NAME [key=value ...] [--json]\n       ibkr-cockpit tool --list\n       ibkr-cockpit tool NAME --help\n";
    let Some(name) = name.filter(|_| !list) else {
        let code = if list { EXIT_OK } else { EXIT_USAGE };
        let stderr = if list {
            String::new()
        } else {
            usage.to_string()
        };
        return ToolCliOutput {
            stdout: list_text(),
            stderr,
            code,
        };
    };
    if is_help_word(name) {
        return match args.first() {
            Some(tool) => help_or_unknown(tool),
            None => ToolCliOutput {
                stdout: format!("{usage}\n{}", list_text()),
                stderr: String::new(),
                code: EXIT_OK,
            },
        };
    }
    let Some(spec) = tools::catalog().iter().find(|t| t.name == name) else {
        return usage_error(format!("{}\n", super::unknown_tool_message(name)));
    };
    if args.iter().any(|a| is_help_word(a)) {
        return ToolCliOutput {
            stdout: help_text(spec),
            stderr: String::new(),
            code: EXIT_OK,
        };
    }
    // `--json` may also arrive among the arguments when the shell put it after them.
    let json = json || args.iter().any(|a| a == "--json");
    let args: Vec<String> = args.iter().filter(|a| *a != "--json").cloned().collect();
    let arguments = match parse_args(&args, Some(&spec.input_schema)) {
        Ok(a) => a,
        Err(e) => {
            return usage_error(format!(
                "{e}\nrun `ibkr-cockpit tool {name} --help` for its parameters\n"
            ));
        }
    };
    match tools::call_journaled(ctx, CLI_CLIENT, name, arguments).await {
        Ok(out) => {
            let stdout = if json {
                serde_json::to_string_pretty(&out.json).unwrap_or_else(|_| out.json.to_string())
            } else {
                out.markdown
            };
            ToolCliOutput {
                stdout: ensure_newline(stdout),
                stderr: String::new(),
                code: EXIT_OK,
            }
        }
        Err(e) => ToolCliOutput {
            stdout: String::new(),
            stderr: ensure_newline(format!("error: {}", e.message)),
            code: EXIT_TOOL_ERROR,
        },
    }
}

fn help_or_unknown(name: &str) -> ToolCliOutput {
    match tools::catalog().iter().find(|t| t.name == name) {
        Some(spec) => ToolCliOutput {
            stdout: help_text(spec),
            stderr: String::new(),
            code: EXIT_OK,
        },
        None => usage_error(format!("{}\n", super::unknown_tool_message(name))),
    }
}

fn usage_error(message: String) -> ToolCliOutput {
    ToolCliOutput {
        stdout: String::new(),
        stderr: message,
        code: EXIT_USAGE,
    }
}

fn ensure_newline(mut s: String) -> String {
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

/// Every tool with its one-line description, grouped.
pub fn list_text() -> String {
    let catalog = tools::catalog();
    let width = catalog.iter().map(|t| t.name.len()).max().unwrap_or(0);
    // The catalogue's group order (as in tools.md), then any group it does not know yet.
    const ORDER: [&str; 9] = [
        "account",
        "briefing",
        "portfolio",
        "market_data",
        "live_data",
        "risk",
        "intelligence",
        "monitoring",
        "orders",
    ];
    let mut groups: Vec<&str> = Vec::new();
    for spec in catalog {
        if !groups.contains(&spec.group) {
            groups.push(spec.group);
        }
    }
    groups.sort_by_key(|g| ORDER.iter().position(|o| o == g).unwrap_or(ORDER.len()));
    let mut out = String::new();
    for group in groups {
        let _ = writeln!(out, "{group}");
        for spec in catalog.iter().filter(|t| t.group == group) {
            let _ = writeln!(
                out,
                "  {:width$}  {}",
                spec.name,
                first_line(spec.description)
            );
        }
    }
    let _ = writeln!(
        out,
        "\n{} tools. `ibkr-cockpit tool NAME --help` shows a tool's parameters.",
        catalog.len()
    );
    out
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("").trim()
}

/// A tool's parameters from its JSON schema: name, type, required or default, allowed values,
/// range, description; then an example invocation.
pub fn help_text(spec: &ToolSpec) -> String {
    let mut out = format!("{} — {}\n", spec.name, spec.description.trim());
    let schema = &spec.input_schema;
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let properties = schema.get("properties").and_then(Value::as_object);
    match properties.filter(|p| !p.is_empty()) {
        None => out.push_str("\nNo parameters.\n"),
        Some(props) => {
            out.push_str("\nParameters:\n");
            let mut names: Vec<&String> = props.keys().collect();
            // Required first, then alphabetical: what you must give comes first.
            names.sort_by_key(|n| (!required.contains(&n.as_str()), n.as_str()));
            for name in names {
                let prop = resolve(schema, &props[name.as_str()]);
                let _ = writeln!(
                    out,
                    "  {name}  ({})",
                    describe_kind(schema, &prop, required.contains(&name.as_str()))
                );
                if let Some(desc) = prop.get("description").and_then(Value::as_str) {
                    let _ = writeln!(out, "      {}", desc.trim());
                }
            }
        }
    }
    let mut example = format!("ibkr-cockpit tool {}", spec.name);
    for r in &required {
        example.push_str(&format!(" {r}=…"));
    }
    let _ = writeln!(out, "\nExample: {example}");
    out.push_str("Lists: comma-separated (symbols=KRYX,VLTX) or JSON (symbols='[\"KRYX\",\"VLTX\"]'). Add --json for the structured answer.\n");
    out
}

/// Follows a local `$ref` (`#/$defs/X` or `#/definitions/X`) once — schemars puts enums there —
/// keeping the property's own keys (its `default`, its `description`) over the definition's.
fn resolve(root: &Map<String, Value>, prop: &Value) -> Value {
    let Some(reference) = prop.get("$ref").and_then(Value::as_str) else {
        return prop.clone();
    };
    let mut path = reference.trim_start_matches("#/").split('/');
    let definition = match (path.next(), path.next()) {
        (Some(section), Some(name)) => root.get(section).and_then(|defs| defs.get(name)),
        _ => None,
    };
    let (Some(Value::Object(def)), Value::Object(own)) = (definition, prop) else {
        return prop.clone();
    };
    let mut merged = def.clone();
    for (k, v) in own.iter().filter(|(k, _)| k.as_str() != "$ref") {
        merged.insert(k.clone(), v.clone());
    }
    Value::Object(merged)
}

/// "string, required" / "integer 20–756, default 60" / "one of: summary | efficiency, default summary".
fn describe_kind(root: &Map<String, Value>, prop: &Value, required: bool) -> String {
    let mut parts: Vec<String> = Vec::new();
    let values = enum_values(root, prop);
    if !values.is_empty() {
        parts.push(format!("one of: {}", values.join(" | ")));
    } else {
        let mut kind = type_names(root, prop).join(" or ");
        if kind.is_empty() {
            kind = "any".into();
        }
        if let Some(item) = prop.get("items").map(|i| resolve(root, i)) {
            let item_types = type_names(root, &item);
            if !item_types.is_empty() {
                kind = format!("{kind} of {}", item_types.join("/"));
            }
        }
        let min = prop.get("minimum").or_else(|| prop.get("minItems"));
        let max = prop.get("maximum").or_else(|| prop.get("maxItems"));
        match (min, max) {
            (Some(lo), Some(hi)) => kind.push_str(&format!(" {lo}–{hi}")),
            (Some(lo), None) => kind.push_str(&format!(" ≥ {lo}")),
            (None, Some(hi)) => kind.push_str(&format!(" ≤ {hi}")),
            (None, None) => {}
        }
        parts.push(kind);
    }
    if required {
        parts.push("required".into());
    } else if let Some(default) = prop.get("default") {
        let shown = match default {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        parts.push(format!("default {shown}"));
    } else {
        parts.push("optional".into());
    }
    parts.join(", ")
}

fn type_names(root: &Map<String, Value>, prop: &Value) -> Vec<String> {
    let mut names: Vec<String> = match prop.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect(),
        _ => Vec::new(),
    };
    for key in ["anyOf", "oneOf"] {
        if let Some(alternatives) = prop.get(key).and_then(Value::as_array) {
            for alt in alternatives {
                for t in type_names(root, &resolve(root, alt)) {
                    if !names.contains(&t) {
                        names.push(t);
                    }
                }
            }
        }
    }
    // "null" only says the parameter is optional, which is reported separately.
    names.retain(|t| t != "null");
    names
}

fn enum_values(root: &Map<String, Value>, prop: &Value) -> Vec<String> {
    let show = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if let Some(values) = prop.get("enum").and_then(Value::as_array) {
        return values.iter().filter(|v| !v.is_null()).map(show).collect();
    }
    let mut out = Vec::new();
    for key in ["anyOf", "oneOf"] {
        if let Some(alternatives) = prop.get(key).and_then(Value::as_array) {
            for alt in alternatives.iter().map(|a| resolve(root, a)) {
                let alt = &alt;
                if let Some(c) = alt.get("const") {
                    out.push(show(c));
                } else if let Some(values) = alt.get("enum").and_then(Value::as_array) {
                    out.extend(values.iter().filter(|v| !v.is_null()).map(show));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(schema: Value) -> ToolSpec {
        ToolSpec {
            name: "ibkr_example",
            group: "market_data",
            description: "Example tool.",
            input_schema: schema.as_object().cloned().unwrap_or_default(),
            output_schema: Map::new(),
        }
    }

    #[test]
    fn help_shows_types_enums_defaults_and_required() {
        let s = spec(json!({
            "type": "object",
            "required": ["symbol"],
            "properties": {
                "symbol": {"type": "string", "description": "Ticker, e.g. KRYX."},
                "detail": {"$ref": "#/$defs/Detail", "default": "summary"},
                "lookback_days": {"type": "integer", "minimum": 20, "maximum": 756, "default": 60},
                "symbols": {"type": ["array", "null"], "items": {"type": "string"}}
            },
            "$defs": {"Detail": {"type": "string", "enum": ["summary", "efficiency", "headroom"]}}
        }));
        let text = help_text(&s);
        assert!(text.starts_with("ibkr_example — Example tool."), "{text}");
        assert!(text.contains("symbol  (string, required)"), "{text}");
        assert!(text.contains("Ticker, e.g. KRYX."), "{text}");
        assert!(
            text.contains("one of: summary | efficiency | headroom"),
            "{text}"
        );
        assert!(text.contains("integer 20–756, default 60"), "{text}");
        assert!(
            text.contains("symbols  (array of string, optional)"),
            "{text}"
        );
        assert!(
            text.contains("Example: ibkr-cockpit tool ibkr_example symbol=…"),
            "{text}"
        );
        // Required parameters come first.
        let first = text.find("  symbol  ").unwrap_or(usize::MAX);
        assert!(first < text.find("  detail  ").unwrap_or(0), "{text}");
    }

    #[test]
    fn help_without_parameters() {
        let text = help_text(&spec(json!({"type": "object", "properties": {}})));
        assert!(text.contains("No parameters."), "{text}");
    }
}
