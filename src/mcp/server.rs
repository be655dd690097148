//! The rmcp `ServerHandler`: lists the tool catalogue and routes every `tools/call` through one
//! chokepoint, `tools::call_journaled`, so calls from every transport are journaled alike.
//!
//! The router is built from `tools::catalog()` by hand (no `#[tool]` macros): the tools module
//! owns names, descriptions and schemas; this file only translates them to MCP.

use crate::tools::{self, ToolContext, ToolSpec};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::Value;
use std::sync::{Arc, OnceLock};

/// What the server tells clients about itself at `initialize`.
const INSTRUCTIONS: &str = "Read-only Interactive Brokers portfolio cockpit: account, positions, \
quotes, history, risk and analytics over the live book. No tool can place, modify or cancel an order; \
the only order-shaped request is a what-if margin simulation.";

/// Client name used when the peer did not say who it is.
pub const DEFAULT_CLIENT: &str = "mcp";

/// The MCP server. Cheap to clone (the HTTP transport builds one per request).
#[derive(Clone)]
pub struct CockpitMcp {
    ctx: ToolContext,
}

impl CockpitMcp {
    pub fn new(ctx: ToolContext) -> Self {
        CockpitMcp { ctx }
    }

    pub fn context(&self) -> &ToolContext {
        &self.ctx
    }
}

/// The catalogue as MCP `Tool`s, built once: the catalogue is static.
pub fn mcp_tools() -> &'static [Tool] {
    static TOOLS: OnceLock<Vec<Tool>> = OnceLock::new();
    TOOLS.get_or_init(|| tools::catalog().iter().map(to_mcp_tool).collect())
}

/// One catalogue entry as an MCP tool: description, input and output schema, read-only hint.
pub fn to_mcp_tool(spec: &ToolSpec) -> Tool {
    let annotations = ToolAnnotations::new()
        .read_only(true)
        .destructive(false)
        .idempotent(true);
    Tool::new(
        spec.name,
        spec.description,
        Arc::new(spec.input_schema.clone()),
    )
    .with_raw_output_schema(Arc::new(spec.output_schema.clone()))
    .with_annotations(annotations)
}

/// Turns a tool's answer into an MCP result: markdown text plus `structuredContent`; a tool
/// error becomes `isError: true` with its message, never a protocol error.
pub fn to_call_result(result: Result<tools::ToolOutput, tools::ToolError>) -> CallToolResult {
    match result {
        Ok(out) => {
            let mut r = CallToolResult::success(vec![ContentBlock::text(out.markdown)]);
            r.structured_content = Some(out.json);
            r
        }
        Err(e) => CallToolResult::error(vec![ContentBlock::text(e.message)]),
    }
}

/// Who is calling, for the journal. Order: the per-request `clientInfo` (2026-07-28 clients),
/// then — over HTTP, where stateless requests carry no handshake — the User-Agent product,
/// then the name from `initialize`.
fn client_name(cx: &RequestContext<RoleServer>) -> String {
    if let Some(info) = cx.meta.client_info() {
        return non_empty_or_default(&info.name);
    }
    if let Some(parts) = cx.extensions.get::<axum::http::request::Parts>() {
        // Stateless HTTP fabricates a peer_info whose client name is rmcp's own, so it is
        // meaningless here: prefer the User-Agent product token.
        let agent = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .and_then(|ua| ua.split(['/', ' ']).next())
            .map(str::trim)
            .filter(|s| !s.is_empty());
        return agent.unwrap_or("http").to_string();
    }
    match cx.peer.peer_info() {
        Some(info) => non_empty_or_default(&info.client_info.name),
        None => DEFAULT_CLIENT.to_string(),
    }
}

fn non_empty_or_default(name: &str) -> String {
    let name = name.trim();
    if name.is_empty() {
        DEFAULT_CLIENT.to_string()
    } else {
        name.to_string()
    }
}

impl ServerHandler for CockpitMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(
                env!("CARGO_PKG_NAME"),
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(mcp_tools().to_vec()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        mcp_tools().iter().find(|t| t.name == name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let client = client_name(&context);
        let args = request.arguments.map(Value::Object).unwrap_or(Value::Null);
        // Unknown names still go through the journal (the prompt pane shows what the LLM tried);
        // the answer then says which names are close, so the model can correct itself.
        let known = super::is_known_tool(&request.name);
        let mut result = tools::call_journaled(&self.ctx, &client, &request.name, args).await;
        if !known && result.is_err() {
            result = Err(tools::ToolError::new(super::unknown_tool_message(
                &request.name,
            )));
        }
        Ok(CallToolResponse::Complete(to_call_result(result)))
    }
}
