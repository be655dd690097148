//! What one MCP session exposes: which tools (toolsets, explicit names) and what a result
//! carries (the output mode). Built from `[mcp]` in the config (file, environment, flags); a
//! sidecar that bridges to a running cockpit sends its own as the first line, so the client
//! that spawned it sees what its own flags asked for.

use super::schema::{SchemaKind, portable};
use crate::config::{McpSection, OutputMode, check_mcp_surface};
use crate::model::ToolGroup;
use crate::tools::{self, ToolSpec};
use rmcp::model::{Tool, ToolAnnotations};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;

/// JSON-RPC method of the line a bridging sidecar sends before the client's own `initialize`.
/// The line is consumed by the serving side and never reaches the protocol.
pub const SURFACE_METHOD: &str = "ibkr-cockpit/surface";

/// The tools a session lists and accepts, and the shape of their results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Surface {
    pub output: OutputMode,
    /// Tool groups (lower case); empty with `tools` empty means every tool.
    #[serde(default)]
    pub toolsets: Vec<String>,
    #[serde(default)]
    pub tools: Vec<String>,
}

impl Default for Surface {
    fn default() -> Self {
        Surface {
            output: OutputMode::Markdown,
            toolsets: Vec::new(),
            tools: Vec::new(),
        }
    }
}

impl Surface {
    /// From the `[mcp]` section; an unknown toolset or tool is an error listing the valid names.
    pub fn from_config(mcp: &McpSection) -> Result<Surface, String> {
        check_mcp_surface(mcp).map_err(|p| {
            format!(
                "{}: unknown name {}; accepted: {}",
                p.key.trim_start_matches("mcp."),
                p.found,
                p.expected
            )
        })?;
        Ok(Surface {
            output: mcp.output,
            toolsets: mcp
                .toolsets
                .iter()
                .map(|s| s.trim().to_ascii_lowercase())
                .collect(),
            tools: mcp.tools.iter().map(|s| s.trim().to_string()).collect(),
        })
    }

    /// Whether every tool is exposed.
    pub fn is_everything(&self) -> bool {
        self.toolsets.is_empty() && self.tools.is_empty()
    }

    /// Whether tool `spec` is exposed: in a listed group or named explicitly.
    pub fn exposes(&self, spec: &ToolSpec) -> bool {
        self.is_everything()
            || self.toolsets.iter().any(|g| g == spec.group.as_str())
            || self.tools.iter().any(|t| t == spec.name)
    }

    /// Whether the tool called `name` exists and is exposed.
    pub fn exposes_name(&self, name: &str) -> bool {
        tools::catalog()
            .iter()
            .any(|t| t.name == name && self.exposes(t))
    }

    /// The exposed tools as MCP `Tool`s, schemas made portable, sorted by name.
    pub fn mcp_tools(&self) -> Vec<Tool> {
        tools::catalog()
            .iter()
            .filter(|t| self.exposes(t))
            .map(|t| to_mcp_tool(t, self.output))
            .collect()
    }

    /// What the session says when a tool exists but is not exposed.
    pub fn hidden_message(&self, name: &str) -> String {
        let mut scope = Vec::new();
        if !self.toolsets.is_empty() {
            scope.push(format!("toolsets {}", self.toolsets.join(",")));
        }
        if !self.tools.is_empty() {
            scope.push(format!("tools {}", self.tools.join(",")));
        }
        format!(
            "tool '{name}' is not enabled in this session ({}); start the server with --toolsets \
             or --tools including it",
            scope.join(" + ")
        )
    }

    /// Applies command-line overrides (`--output`, `--toolsets`, `--tools`) to `mcp` and checks
    /// the result; the error names the valid values.
    pub fn apply_flags(
        mcp: &mut McpSection,
        output: Option<&str>,
        toolsets: Option<&str>,
        tools: Option<&str>,
    ) -> Result<(), String> {
        if let Some(o) = output {
            mcp.output = o.parse().map_err(|e| format!("--output: {e}"))?;
        }
        if let Some(t) = toolsets {
            mcp.toolsets = crate::config::split_names(t);
        }
        if let Some(t) = tools {
            mcp.tools = crate::config::split_names(t);
        }
        Surface::from_config(mcp).map(|_| ())
    }

    /// The one line a bridging sidecar sends ahead of its client's messages.
    pub fn to_line(&self) -> String {
        json!({"jsonrpc": "2.0", "method": SURFACE_METHOD, "params": self}).to_string()
    }

    /// The surface a first line carries, when it is such a line. Invalid names are refused by
    /// the sidecar before it sends; a line that does not parse here is ignored by the caller.
    pub fn from_line(value: &Value) -> Option<Surface> {
        if value.get("method").and_then(Value::as_str) != Some(SURFACE_METHOD) {
            return None;
        }
        let surface: Surface = serde_json::from_value(value.get("params")?.clone()).ok()?;
        let known_groups: BTreeSet<&str> = ToolGroup::ALL.iter().map(|g| g.as_str()).collect();
        let valid = surface
            .toolsets
            .iter()
            .all(|g| known_groups.contains(g.as_str()))
            && surface
                .tools
                .iter()
                .all(|n| tools::catalog().iter().any(|t| t.name == n));
        valid.then_some(surface)
    }
}

/// `ibkr-cockpit mcp` bridged to a running cockpit: the sidecar's own surface goes first, then
/// stdin and stdout are copied to and from the socket.
pub async fn bridge_stdio_with_surface(
    stream: tokio::net::UnixStream,
    surface: &Surface,
) -> anyhow::Result<()> {
    use tokio::io::AsyncReadExt;
    let first = std::io::Cursor::new(format!("{}\n", surface.to_line()).into_bytes());
    super::bridge::bridge(stream, first.chain(tokio::io::stdin()), tokio::io::stdout()).await
}

/// One catalogue entry as an MCP tool: description, portable input schema, the output schema
/// when the mode carries structured content, read-only hints.
pub fn to_mcp_tool(spec: &ToolSpec, output: OutputMode) -> Tool {
    let annotations = ToolAnnotations::new()
        .read_only(true)
        .destructive(false)
        .idempotent(true);
    let tool = Tool::new(
        spec.name,
        spec.description,
        Arc::new(portable(&spec.input_schema, SchemaKind::Input)),
    )
    .with_annotations(annotations);
    match output {
        OutputMode::Markdown => tool,
        OutputMode::Structured | OutputMode::Both => {
            tool.with_raw_output_schema(Arc::new(portable(&spec.output_schema, SchemaKind::Output)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_by_group_and_name() {
        let s = Surface {
            output: OutputMode::Markdown,
            toolsets: vec!["risk".into()],
            tools: vec!["ibkr_quote".into()],
        };
        let names: Vec<String> = s.mcp_tools().iter().map(|t| t.name.to_string()).collect();
        assert!(names.contains(&"ibkr_quote".to_string()), "{names:?}");
        assert!(
            names.contains(&"ibkr_var_estimate".to_string()),
            "{names:?}"
        );
        assert!(
            !names.contains(&"ibkr_get_positions".to_string()),
            "{names:?}"
        );
        assert!(
            names.iter().all(|n| n == "ibkr_quote"
                || tools::catalog()
                    .iter()
                    .any(|t| t.name == n && t.group.as_str() == "risk")),
            "{names:?}"
        );
    }

    #[test]
    fn the_sidecar_line_round_trips() {
        let s = Surface {
            output: OutputMode::Both,
            toolsets: vec!["account".into()],
            tools: Vec::new(),
        };
        let v: Value = serde_json::from_str(&s.to_line()).unwrap();
        assert_eq!(Surface::from_line(&v), Some(s));
        let bogus = json!({"method": SURFACE_METHOD, "params": {"output": "markdown", "toolsets": ["nope"]}});
        assert_eq!(Surface::from_line(&bogus), None);
    }
}
