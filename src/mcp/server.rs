//! The rmcp `ServerHandler`: lists the tool catalogue and routes every `tools/call` through one
//! chokepoint, `tools::call_journaled`, so calls from every transport are journaled alike.
//!
//! The router is built from `tools::catalog()` by hand (no `#[tool]` macros): the tools module
//! owns names, descriptions and schemas; this file only translates them to MCP.

use super::session::SessionState;
use super::surface::Surface;
use super::{prompts, resources};
use crate::config::OutputMode;
use crate::tools::{self, ToolContext};
#[allow(deprecated)]
// resources/subscribe and logging are legacy in rmcp; 2025 clients use them.
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, GetPromptRequestParams,
    GetPromptResponse, Implementation, ListPromptsResult, ListResourcesResult, ListToolsResult,
    PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse, ServerCapabilities,
    ServerConfig, SetLevelRequestParams, SubscribeRequestParams, Tool, UnsubscribeRequestParams,
};
use rmcp::service::{NotificationContext, RequestContext};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::Value;
use std::sync::Arc;

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
    surface: Arc<Surface>,
    /// The session's tool list, built once per surface (the catalogue is static).
    tools: Arc<Vec<Tool>>,
    /// Subscriptions and log level; used only when the transport carries notifications.
    session: Arc<SessionState>,
    /// Whether the transport can carry server notifications (stdio and the socket can;
    /// stateless HTTP cannot), which decides the capabilities advertised.
    notifying: bool,
}

impl CockpitMcp {
    /// A server exposing what `[mcp]` in the context's config asks for (validated at start-up;
    /// a surface that does not validate here exposes everything, as markdown).
    pub fn new(ctx: ToolContext) -> Self {
        let surface = Surface::from_config(&ctx.config.mcp).unwrap_or_default();
        Self::with_surface(ctx, surface)
    }

    /// A server exposing `surface` (a bridged sidecar's own flags).
    pub fn with_surface(ctx: ToolContext, surface: Surface) -> Self {
        let tools = Arc::new(surface.mcp_tools());
        CockpitMcp {
            ctx,
            surface: Arc::new(surface),
            tools,
            session: Arc::new(SessionState::default()),
            notifying: false,
        }
    }

    /// The same server on a transport that carries notifications: it advertises logging and
    /// resource subscriptions, and sends gateway events and resource updates.
    pub fn with_notifications(mut self) -> Self {
        self.notifying = true;
        self
    }

    pub fn context(&self) -> &ToolContext {
        &self.ctx
    }

    pub fn surface(&self) -> &Surface {
        &self.surface
    }
}

/// Turns a tool's answer into an MCP result shaped by the output mode; a tool error becomes
/// `isError: true` with its message, never a protocol error.
/// - markdown: one text block, the markdown;
/// - structured: `structuredContent` plus the same JSON as text (for clients without it);
/// - both: the markdown as text plus `structuredContent`.
pub fn to_call_result(
    result: Result<tools::ToolOutput, tools::ToolError>,
    output: OutputMode,
) -> CallToolResult {
    match result {
        Ok(out) => match output {
            OutputMode::Markdown => CallToolResult::success(vec![ContentBlock::text(out.markdown)]),
            OutputMode::Structured => {
                let mut r = CallToolResult::success(vec![ContentBlock::text(out.json.to_string())]);
                r.structured_content = Some(out.json);
                r
            }
            OutputMode::Both => {
                let mut r = CallToolResult::success(vec![ContentBlock::text(out.markdown)]);
                r.structured_content = Some(out.json);
                r
            }
        },
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

#[allow(deprecated)] // resources/subscribe and logging are legacy in rmcp; 2025 clients use them.
impl ServerHandler for CockpitMcp {
    fn get_info(&self) -> ServerConfig {
        let mut capabilities = ServerCapabilities::builder()
            .enable_prompts()
            .enable_resources()
            .enable_tools()
            .build();
        if self.notifying {
            capabilities.logging = Some(Default::default());
            if let Some(r) = capabilities.resources.as_mut() {
                r.subscribe = Some(true);
            }
        }
        ServerConfig::new(capabilities)
            .with_server_info(Implementation::new(
                env!("CARGO_PKG_NAME"),
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        Ok(ListPromptsResult::with_all_items(prompts::list()))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        prompts::get(&request.name, request.arguments.as_ref()).map(GetPromptResponse::Complete)
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        Ok(ListResourcesResult::with_all_items(resources::list()))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        resources::read(&self.ctx, &request.uri)
            .await
            .map(ReadResourceResponse::Complete)
    }

    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        if !self.notifying {
            return Err(ErrorData::method_not_found::<
                rmcp::model::SubscribeRequestMethod,
            >());
        }
        resources::check_subscribable(&request.uri)?;
        self.session.subscribe(&request.uri);
        Ok(())
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.session.unsubscribe(&request.uri);
        Ok(())
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        if !self.notifying {
            return Err(ErrorData::method_not_found::<
                rmcp::model::SetLevelRequestMethod,
            >());
        }
        self.session.set_level(request.level);
        Ok(())
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        if self.notifying {
            self.session
                .start_watching(self.ctx.clone(), context.peer.clone());
        }
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools.to_vec()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools.iter().find(|t| t.name == name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let client = client_name(&context);
        let args = request.arguments.map(Value::Object).unwrap_or(Value::Null);
        // An unknown name is an invalid `name` parameter (-32602), naming the closest tools so
        // the model can correct itself; a tool outside this session's toolsets likewise.
        if !super::is_known_tool(&request.name) {
            // Journaled all the same: the prompt pane shows what the model tried.
            let _ = tools::call_journaled(&self.ctx, &client, &request.name, args).await;
            return Err(ErrorData::invalid_params(
                super::unknown_tool_message(&request.name),
                None,
            ));
        }
        if !self.surface.exposes_name(&request.name) {
            return Err(ErrorData::invalid_params(
                self.surface.hidden_message(&request.name),
                None,
            ));
        }
        let result = tools::call_journaled(&self.ctx, &client, &request.name, args).await;
        Ok(CallToolResponse::Complete(to_call_result(
            result,
            self.surface.output,
        )))
    }
}
