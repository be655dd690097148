//! Front doors onto the tool surface: the MCP server (stdio and stateless streamable HTTP), the
//! read-only REST API, and the `tool` subcommand. Every door calls `tools::call_journaled`.
//!
//! What to call:
//! - `run_stdio(ctx)` — `ibkr-cockpit mcp`: protocol only on stdout.
//! - `serve_http(ctx, bind, cancel)` — `/mcp`, `/healthz`, `/api/*`; returns the bound address.
//! - `run_tool_cli(ctx, name, args, json, list)` — `ibkr-cockpit tool …`.
//! - `serve_socket(ctx, path, cancel)` — the user-only Unix socket: MCP for sidecars, attach
//!   for UIs; `socket::probe(path)` says whether something answers there.
//! - `bridge_stdio(stream)` — `ibkr-cockpit mcp` when a cockpit or daemon is running.
//! - `attach(config, path)` — a UI mirroring a daemon's state, its tool calls run there.
//! - `parse_invocation(line)` — `ibkr_quote symbols=KRYX,VLTX` → (name, JSON args); re-exported
//!   from `tools::params`, the one parameter path every front door shares.

pub mod attach;
pub mod bridge;
pub mod cli_tool;
pub mod http;
pub mod http_body;
pub mod http_conn;
pub mod metrics;
pub mod refusal;
pub mod server;
pub mod socket;
pub mod stdio;

pub use crate::tools::params::{parse_invocation, parse_invocation_with_schema, parse_value};
pub use attach::{Attached, attach};
pub use bridge::bridge_stdio;
pub use cli_tool::{ToolCliOutput, run_tool_cli, tool_cli};
pub use http::{HttpLimits, SlowClientLimits, router as http_router, serve_http, serve_http_with};
pub use server::CockpitMcp;
pub use socket::{SocketServer, SocketState, serve_socket};
pub use stdio::{run_stdio, serve_lines};

/// Catalogue names closest to `name` (for "unknown tool" messages), best first, at most five.
/// Close means: a small edit distance, or one name containing the other.
pub fn close_tool_names(name: &str) -> Vec<&'static str> {
    let wanted = name.to_ascii_lowercase();
    let bare = wanted.strip_prefix("ibkr_").unwrap_or(&wanted);
    let mut scored: Vec<(usize, &'static str)> = crate::tools::catalog()
        .iter()
        .filter_map(|spec| {
            let candidate = spec.name.strip_prefix("ibkr_").unwrap_or(spec.name);
            let distance = edit_distance(bare, candidate);
            let contains =
                !bare.is_empty() && (candidate.contains(bare) || bare.contains(candidate));
            // Allow roughly one typo per three letters.
            let close = distance <= (bare.len() / 3).max(2);
            (close || contains)
                .then_some((if contains { distance.min(1) } else { distance }, spec.name))
        })
        .collect();
    scored.sort();
    scored.into_iter().take(5).map(|(_, n)| n).collect()
}

/// "unknown tool 'x'" plus the close names, or a pointer to the list when none are close.
pub fn unknown_tool_message(name: &str) -> String {
    let close = close_tool_names(name);
    if close.is_empty() {
        format!(
            "unknown tool '{name}'; run `ibkr-cockpit tool --list` (or MCP tools/list) to see every tool"
        )
    } else {
        format!("unknown tool '{name}'; did you mean: {}?", close.join(", "))
    }
}

/// Whether `name` is in the catalogue.
pub fn is_known_tool(name: &str) -> bool {
    crate::tools::catalog().iter().any(|t| t.name == name)
}

/// Levenshtein distance over bytes (tool names are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = prev[j] + usize::from(ca != cb);
            cur[j + 1] = substitution.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::edit_distance;

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("quote", "quote"), 0);
        assert_eq!(edit_distance("qoute", "quote"), 2);
        assert_eq!(edit_distance("quot", "quote"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
