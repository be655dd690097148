//! The tool surface: every tool is a plain async function `(ctx, params) -> ToolOutput`.
//! The MCP server, the `tool` CLI, the cockpit's prompt and the REST API all call `call_journaled`
//! — one tool surface, four front doors. The items in this file are the contract the front doors
//! code against: `ToolContext`, `ToolOutput`, `ToolError`, `ToolSpec`, `catalog()`, `call()`,
//! `call_journaled()`.
//!
//! Layout: `src/tools/<group>/<tool>.rs`, one tool per file, named after the tool without its
//! `ibkr_` prefix, in the directory of its [`ToolGroup`]. A tool file holds its params struct
//! (`#[derive(Deserialize, JsonSchema)]`, `#[serde(deny_unknown_fields)]`), its output struct
//! (`#[derive(Serialize, JsonSchema)]`; what only the markdown needs is `#[serde(skip)]`), a unit
//! struct implementing [`Tool`] whose `run` gathers the data into the output, a pure
//! `render(&Output) -> String` that turns it into markdown, snapshot-tested from a hand-built
//! output (`render_<tool>` under `src/tools/<group>/snapshots/`), and a pure
//! `headline(&Output) -> String`: one line with the answer's key figures for the cockpit's
//! prompt pane and the journal.
//!
//! The JSON is written for a reader: every `Output` has `warnings` (the sentences the markdown
//! warns with, lifted from it by [`format::warnings_in`]), a tool that computes has `method` (how,
//! shown in the markdown too), and every float is rounded to what the markdown shows with the
//! `format::dp*` serializers (`#[serde(serialize_with = "f::dp2")]`).
//!
//! Adding a tool: that one file, one `entry::<group::tool::YourTool>(),` line in [`registry`],
//! and a case in the bad-argument table of `tests.rs` (a test walks the catalogue and fails
//! without the case or the render snapshot). Text → JSON → typed params, coercion, range checks
//! and error wording happen in `params/`, once, for every tool; `support` and `format` hold what
//! every tool needs to gather and to print.

pub mod account;
pub mod briefing;
pub mod format;
pub mod intelligence;
pub mod live_data;
pub mod market_data;
pub mod monitoring;
pub mod orders;
pub mod params;
pub mod portfolio;
pub mod risk;
pub mod risk_data;
pub mod support;

use crate::config::Config;
use crate::gateway::Gateways;
use crate::model::{ToolCallRecord, ToolGroup};
use crate::store::Store;
use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// Everything a tool may read. Cheap to clone.
#[derive(Clone)]
pub struct ToolContext {
    pub store: Store,
    /// `None` when running without any gateway (answers come from cache only).
    pub gateways: Option<Gateways>,
    pub config: Arc<Config>,
    /// `Some` in a UI attached to a daemon: `call_journaled` forwards every call there, so the
    /// daemon runs and journals it against the one shared gateway connection.
    pub remote: Option<Arc<dyn RemoteTools>>,
}

/// Runs tools in another process (an attached UI forwards its prompt calls to the daemon).
/// Implemented by a front door (the Unix-socket client); `tools/` only knows this trait.
pub trait RemoteTools: Send + Sync {
    fn call<'a>(
        &'a self,
        client: &'a str,
        name: &'a str,
        args: Value,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>>;

    /// Historical bars through the remote's gateway handle (cached and paced there), for the
    /// cockpit's charts and correlation heatmap.
    fn historical_bars<'a>(
        &'a self,
        spec: &'a crate::gateway::BarSpec,
    ) -> BoxFuture<'a, Result<Vec<crate::model::Bar>, String>> {
        let _ = spec;
        Box::pin(async { Err("bars are not available through this connection".to_string()) })
    }
}

impl ToolContext {
    /// Historical bars from this process's gateway, else from the daemon an attached UI
    /// mirrors; an error in words when neither is there.
    pub async fn historical_bars(
        &self,
        spec: &crate::gateway::BarSpec,
    ) -> Result<Arc<Vec<crate::model::Bar>>, String> {
        if let Some(g) = &self.gateways {
            return g
                .primary
                .requests()
                .historical_bars(spec)
                .await
                .map_err(|e| e.to_string());
        }
        match &self.remote {
            Some(remote) => remote.historical_bars(spec).await.map(Arc::new),
            None => Err("no gateway connection".into()),
        }
    }
}

/// A tool's answer: markdown for people and LLMs, JSON (`structuredContent`) with the same
/// numbers, and a one-line headline for the prompt pane and the journal.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    pub markdown: String,
    pub json: Value,
    pub headline: String,
}

/// A tool-level error (`isError: true`): says what was wrong and what is accepted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ToolError {
    pub message: String,
}

impl ToolError {
    pub fn new(message: impl Into<String>) -> Self {
        ToolError {
            message: message.into(),
        }
    }
}

/// Static description of one tool, for `tools/list`, `tool --list` and completion.
#[derive(Debug, Clone)]
pub struct ToolSpec {
    pub name: &'static str,
    pub group: ToolGroup,
    /// One line.
    pub description: &'static str,
    /// JSON Schema (object) of the parameters, with enums and defaults.
    pub input_schema: serde_json::Map<String, Value>,
    /// JSON Schema (object) of `ToolOutput::json`.
    pub output_schema: serde_json::Map<String, Value>,
}

/// A tool's typed answer before the JSON is rendered: the markdown plus the output struct whose
/// schema is the tool's output schema (so the two can never disagree).
#[derive(Debug, Clone)]
pub struct Answer<T> {
    pub markdown: String,
    pub data: T,
}

/// One tool. Implemented by a unit struct per tool; registered with one line in [`registry`].
pub trait Tool: Send + Sync + 'static {
    const NAME: &'static str;
    /// Where the tool sits in the catalogue (and which `src/tools/<group>/` holds it).
    const GROUP: ToolGroup;
    /// One line, shown in `tools/list` and `tool --list`.
    const DESCRIPTION: &'static str;
    /// Parameters. Doc comments become descriptions; use `#[serde(deny_unknown_fields)]`.
    type Params: DeserializeOwned + JsonSchema + Send;
    /// Structured output; its serialize-side schema is the tool's output schema.
    type Output: Serialize + JsonSchema + Send;
    fn run(
        ctx: &ToolContext,
        p: Self::Params,
    ) -> impl Future<Output = Result<Answer<Self::Output>, ToolError>> + Send;
    /// One line with the answer's key figures (the tool file's pure `headline(out)`).
    fn headline(out: &Self::Output) -> String;
}

type RunFn = for<'a> fn(
    &'a ToolContext,
    Value,
    &'static ToolSpec,
) -> BoxFuture<'a, Result<ToolOutput, ToolError>>;

/// A registered tool: its spec and its type-erased runner.
pub struct Entry {
    spec: ToolSpec,
    run: RunFn,
}

/// Builds the registry entry of tool `T` (schemas generated once, here).
pub fn entry<T: Tool>() -> Entry {
    Entry {
        spec: ToolSpec {
            name: T::NAME,
            group: T::GROUP,
            description: T::DESCRIPTION,
            input_schema: params::input_schema::<T::Params>(),
            output_schema: params::output_schema::<T::Output>(),
        },
        run: run_erased::<T>,
    }
}

fn run_erased<'a, T: Tool>(
    ctx: &'a ToolContext,
    raw: Value,
    spec: &'static ToolSpec,
) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
    Box::pin(async move {
        let params: T::Params = params::parse(spec, raw)?;
        let answer = T::run(ctx, params).await?;
        let json = serde_json::to_value(&answer.data).map_err(|e| {
            ToolError::new(format!(
                "{}: could not encode the answer as JSON: {e}",
                T::NAME
            ))
        })?;
        Ok(ToolOutput {
            headline: T::headline(&answer.data),
            markdown: answer.markdown,
            json,
        })
    })
}

/// THE registration table: one line per tool.
fn registry() -> Vec<Entry> {
    vec![
        // Account
        entry::<account::get_account_summary::AccountSummary>(),
        entry::<account::margin::Margin>(),
        entry::<account::list_accounts::ListAccounts>(),
        entry::<account::get_account_pnl::AccountPnl>(),
        entry::<account::consolidated_view::ConsolidatedView>(),
        entry::<account::margin_ladder::MarginLadder>(),
        entry::<account::margin_history::MarginHistory>(),
        // Portfolio
        entry::<portfolio::get_positions::Positions>(),
        // Market data
        entry::<market_data::quote::QuoteTool>(),
        entry::<market_data::get_historical_bars::HistoricalBars>(),
        entry::<market_data::get_contract_details::ContractDetails>(),
        entry::<market_data::get_option_chain::OptionChain>(),
        entry::<market_data::dividends::Dividends>(),
        entry::<market_data::search_contracts::SearchContracts>(),
        entry::<market_data::news::News>(),
        entry::<market_data::fundamentals::Fundamentals>(),
        entry::<market_data::scanner::Scanner>(),
        entry::<market_data::shortable::Shortable>(),
        // Briefing
        entry::<briefing::briefing::Briefing>(),
        entry::<briefing::geopolitical_risk::GeopoliticalRisk>(),
        entry::<briefing::thesis_check::ThesisCheck>(),
        // Monitoring
        entry::<monitoring::drawdown_tracker::DrawdownTracker>(),
        entry::<monitoring::connection_status::ConnectionStatus>(),
        entry::<monitoring::selftest::Selftest>(),
        entry::<monitoring::alerts::Alerts>(),
        // Orders
        entry::<orders::trades::Trades>(),
        entry::<orders::get_orders::GetOrders>(),
        // Live data
        entry::<live_data::get_fx_rate::FxRate>(),
        entry::<live_data::get_intraday::Intraday>(),
        entry::<live_data::compare_performance::ComparePerformance>(),
        entry::<live_data::technicals::Technicals>(),
        entry::<live_data::volatility::Volatility>(),
        // Risk
        entry::<risk::correlation_matrix::CorrelationMatrix>(),
        entry::<risk::portfolio_beta::PortfolioBeta>(),
        entry::<risk::var_estimate::VarEstimate>(),
        entry::<risk::stress_test::StressTest>(),
        entry::<risk::what_if::WhatIf>(),
        // Intelligence
        entry::<intelligence::sector_exposure::SectorExposure>(),
        entry::<intelligence::currency::Currency>(),
        entry::<intelligence::position_detail::PositionDetail>(),
        entry::<intelligence::rebalance_planner::RebalancePlanner>(),
    ]
}

struct Registry {
    specs: Vec<ToolSpec>,
    runs: HashMap<&'static str, (usize, RunFn)>,
}

fn registry_static() -> &'static Registry {
    static REG: OnceLock<Registry> = OnceLock::new();
    REG.get_or_init(|| {
        let mut entries = registry();
        entries.sort_by_key(|e| e.spec.name);
        let runs = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.spec.name, (i, e.run)))
            .collect();
        Registry {
            specs: entries.into_iter().map(|e| e.spec).collect(),
            runs,
        }
    })
}

/// Every tool, sorted by name.
pub fn catalog() -> &'static [ToolSpec] {
    &registry_static().specs
}

/// Runs one tool by name with JSON arguments (an object, or null for none).
pub async fn call(ctx: &ToolContext, name: &str, args: Value) -> Result<ToolOutput, ToolError> {
    let reg = registry_static();
    let Some(&(index, run)) = reg.runs.get(name) else {
        let names: Vec<&str> = reg.specs.iter().map(|s| s.name).collect();
        return Err(ToolError::new(format!(
            "Unknown tool `{name}`. Available tools: {}",
            names.join(", ")
        )));
    };
    run(ctx, args, &reg.specs[index]).await
}

/// `call`, plus a journal record (time, client, tool, arguments, duration, outcome, size) in the
/// store and SQLite. `client` is the caller: MCP client name, "cockpit", "cli" or "rest".
pub async fn call_journaled(
    ctx: &ToolContext,
    client: &str,
    name: &str,
    args: Value,
) -> Result<ToolOutput, ToolError> {
    if let Some(remote) = &ctx.remote {
        // The daemon journals the call; the record comes back with its state stream.
        return remote.call(client, name, args).await;
    }
    let time = ctx.store.now();
    let started = Instant::now();
    let mut result = call(ctx, name, args.clone()).await;
    // Said once here, for every front door: simulated numbers must never pass for real ones.
    if ctx.store.is_simulated()
        && let Ok(out) = &mut result
    {
        mark_simulated(out);
    }
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    let (ok, error, result_bytes, markdown, headline) = match &result {
        Ok(out) => (
            true,
            None,
            out.markdown.len() + json_len(&out.json),
            out.markdown.clone(),
            out.headline.clone(),
        ),
        Err(e) => (
            false,
            Some(e.message.clone()),
            e.message.len(),
            String::new(),
            String::new(),
        ),
    };
    ctx.store.record_tool_call(ToolCallRecord {
        id: 0,
        time,
        client: client.to_string(),
        tool: name.to_string(),
        arguments: args,
        duration_ms,
        ok,
        error,
        result_bytes,
        markdown,
        headline,
    });
    result
}

/// Length in bytes of `value` as compact JSON (what `value.to_string().len()` gives), counted
/// without building the string.
fn json_len(value: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing a `Value` to a sink that never fails cannot fail.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// Tells every reader of a demo answer that it is simulated: the notice above the markdown, and
/// in the JSON `simulated: true` plus the same sentence first among the warnings (so a client
/// that reads only the JSON is told as much as one that reads the markdown).
fn mark_simulated(out: &mut ToolOutput) {
    let notice = crate::store::SIMULATED_NOTICE;
    out.markdown = format!("{notice}\n\n{}", out.markdown);
    if let Value::Object(map) = &mut out.json {
        map.insert("simulated".into(), Value::Bool(true));
        let sentence = Value::String(format::warning_text(notice));
        match map.get_mut("warnings") {
            Some(Value::Array(list)) => list.insert(0, sentence),
            _ => {
                map.insert("warnings".into(), Value::Array(vec![sentence]));
            }
        }
    }
}

#[cfg(test)]
mod tests;
