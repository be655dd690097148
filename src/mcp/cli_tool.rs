//! `ibkr-cockpit tool NAME [key=value…] [--json]`: call one tool and print its answer, for
//! scripts, cron and debugging. `tool --list` lists the tools; `tool NAME --help` (or `help`)
//! shows a tool's parameters from its schema.
//!
//! `tool_cli` returns what would be printed, so tests and the cockpit can use it without a
//! terminal; `run_tool_cli` prints it and turns it into an exit code.

use crate::model::ToolGroup;
use crate::tools::params::{self, PropInfo, parse_args};
use crate::tools::{self, ToolContext, ToolSpec};
use serde_json::Value;
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
    let mut groups: Vec<ToolGroup> = catalog.iter().map(|t| t.group).collect();
    // `ToolGroup`'s order is the catalogue's presentation order (as in tools.md).
    groups.sort();
    groups.dedup();
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

/// The tool catalogue as markdown (`docs/tools.md`): per group, each tool's parameters as
/// `tool --help` describes them and its description. Generated from the registry, so the page
/// cannot drift from what the server offers (a test compares the committed file).
pub fn catalogue_markdown() -> String {
    let catalog = tools::catalog();
    let mut groups: Vec<ToolGroup> = catalog.iter().map(|t| t.group).collect();
    groups.sort();
    groups.dedup();
    let mut out = format!(
        "# Tool catalogue\n\n{} read-only tools, the same through every front door: MCP (stdio and \
         HTTP), `ibkr-cockpit tool NAME` and the cockpit's prompt. \
         Lists take a JSON array or a comma-separated string (`symbols=KRYX,VLTX`); `account` \
         (where offered) takes an account id or its masked form and defaults to the primary \
         account. `ibkr-cockpit tool NAME --help` prints the same parameters with their \
         descriptions. This page is generated from the tool registry \
         (`UPDATE_DOCS=1 cargo test --test it catalogue` rewrites it).\n",
        catalog.len()
    );
    for group in groups {
        let _ = write!(
            out,
            "\n## {group}\n\n| tool | parameters | answers |\n|---|---|---|\n"
        );
        for spec in catalog.iter().filter(|t| t.group == group) {
            let required = params::required(&spec.input_schema);
            let mut props = params::properties(&spec.input_schema);
            props.sort_by(|(a, _), (b, _)| {
                (!required.contains(&a.as_str()), a).cmp(&(!required.contains(&b.as_str()), b))
            });
            let parameters = if props.is_empty() {
                "—".to_string()
            } else {
                props
                    .iter()
                    .map(|(name, prop)| {
                        format!(
                            "`{name}` ({})",
                            describe_kind(prop, required.contains(&name.as_str()))
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            let _ = writeln!(
                out,
                "| `{}` | {} | {} |",
                spec.name,
                parameters.replace('|', "\\|"),
                spec.description.trim().replace('|', "\\|")
            );
        }
    }
    out
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("").trim()
}

/// A tool's parameters from its JSON schema: name, type, required or default, allowed values,
/// range, description; then an example invocation.
pub fn help_text(spec: &ToolSpec) -> String {
    let mut out = format!("{} — {}\n", spec.name, spec.description.trim());
    let required = params::required(&spec.input_schema);
    let mut props = params::properties(&spec.input_schema);
    if props.is_empty() {
        out.push_str("\nNo parameters.\n");
    } else {
        out.push_str("\nParameters:\n");
        // Required first, then alphabetical: what you must give comes first.
        props.sort_by(|(a, _), (b, _)| {
            (!required.contains(&a.as_str()), a).cmp(&(!required.contains(&b.as_str()), b))
        });
        for (name, prop) in &props {
            let _ = writeln!(
                out,
                "  {name}  ({})",
                describe_kind(prop, required.contains(&name.as_str()))
            );
            if let Some(desc) = &prop.description {
                let _ = writeln!(out, "      {}", desc.trim());
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

/// "string, required" / "integer 20–756, default 60" / "one of: summary | efficiency, default summary".
fn describe_kind(prop: &PropInfo, required: bool) -> String {
    let mut parts: Vec<String> = Vec::new();
    if !prop.enum_values.is_empty() {
        parts.push(format!("one of: {}", prop.enum_values.join(" | ")));
    } else {
        let mut kind = type_names(prop).join(" or ");
        if kind.is_empty() {
            kind = "any".into();
        }
        if let Some(item) = &prop.items {
            let item_types = type_names(item);
            if !item_types.is_empty() {
                kind = format!("{kind} of {}", item_types.join("/"));
            }
        }
        let min = prop.minimum.or(prop.min_items.map(|n| n as f64));
        let max = prop.maximum.or(prop.max_items.map(|n| n as f64));
        match (min.map(bound), max.map(bound)) {
            (Some(lo), Some(hi)) => kind.push_str(&format!(" {lo}–{hi}")),
            (Some(lo), None) => kind.push_str(&format!(" ≥ {lo}")),
            (None, Some(hi)) => kind.push_str(&format!(" ≤ {hi}")),
            (None, None) => {}
        }
        parts.push(kind);
    }
    if required {
        parts.push("required".into());
    } else if let Some(default) = &prop.default {
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

/// A range bound as written in the schema: `20`, `-100`, `0.1`.
fn bound(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// The value types a parameter accepts, without "null": that only says the parameter is
/// optional, which is reported separately.
fn type_names(prop: &PropInfo) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for t in &prop.types {
        if t != "null" && !names.contains(t) {
            names.push(t.clone());
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;
    use serde_json::json;

    fn spec(schema: Value) -> ToolSpec {
        ToolSpec {
            name: "ibkr_example",
            group: ToolGroup::MarketData,
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
