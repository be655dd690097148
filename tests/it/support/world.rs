//! Shared harness for tool tests (and anyone else who wants it): a simulated gateway on a
//! loopback port (seed 7, frozen prices), the real adapter connected to it over TCP, and a
//! `ToolContext` with a FIXED clock and an in-memory SQLite, so markdown snapshots are stable.
//!
//! Use: `let h = world::start().await; let out = h.ok("ibkr_quote", json!({})).await;`
//! Every await in here is bounded by `STEP`. `start_live_clock` is the same world with the real
//! clock and no database, for the front doors (MCP, REST, CLI) whose answers are not snapshotted.

use super::{STEP, eventually, gateway_config};
use ibkr_cockpit::config::{Config, DEFAULT_CONFIG_TOML};
use ibkr_cockpit::gateway::{GatewayHandle, Gateways};
use ibkr_cockpit::model::{GatewayRole, Millis};
use ibkr_cockpit::sim::{SimAccountView, SimConfig, SimGateway, SimHandle, SimPositionView};
use ibkr_cockpit::store::db::Db;
use ibkr_cockpit::store::{Clock, Store};
use ibkr_cockpit::tools::{self, ToolContext, ToolError, ToolOutput};
use serde_json::Value;
use std::sync::Arc;

/// Messages per second the adapter may send a big book's simulator.
pub const BIG_BOOK_MESSAGE_RATE: u32 = 2_000;

/// The fixed "now" of every harness: 2026-05-03 17:17:44 UTC.
pub const NOW: Millis = 1_777_828_664_000;

pub struct Harness {
    pub ctx: ToolContext,
    pub sim: SimHandle,
    pub gateway: GatewayHandle,
}

/// The embedded default configuration (masking on).
pub fn default_config() -> Config {
    toml::from_str(DEFAULT_CONFIG_TOML).expect("embedded defaults parse")
}

/// Simulator seed 7 with frozen prices, default config.
pub async fn start() -> Harness {
    start_with(
        SimConfig {
            seed: 7,
            tick_interval: None,
            ..SimConfig::default()
        },
        default_config(),
    )
    .await
}

/// Starts `sim`, connects the adapter to it and waits for the first full sync (fixed clock,
/// in-memory database).
pub async fn start_with(sim: SimConfig, config: Config) -> Harness {
    let db = Db::in_memory().expect("in-memory database");
    build(sim, config, Store::new(Clock::fixed(NOW), Some(db)), None).await
}

/// The seed book (frozen prices) with the real clock and no database: what `serve` and `mcp`
/// run, for front-door tests.
pub async fn start_live_clock() -> Harness {
    start_live_clock_with(default_config()).await
}

pub async fn start_live_clock_with(config: Config) -> Harness {
    let sim = SimConfig {
        tick_interval: None,
        ..SimConfig::default()
    };
    build(sim, config, Store::in_memory(), None).await
}

/// Big books fetch a daily history per holding; `message_rate` lifts the adapter's budget of
/// IB's 50 messages per second for this simulator so those thousands of requests take
/// seconds, not minutes (BENCHMARKS.md times them at IB's rate).
async fn build(sim: SimConfig, config: Config, store: Store, message_rate: Option<u32>) -> Harness {
    let sim = tokio::time::timeout(STEP, SimGateway::start(sim))
        .await
        .expect("simulator starts in time")
        .expect("simulator starts");
    if let Some(rate) = message_rate {
        ibkr_cockpit::gateway::set_message_rate_for_port(sim.port(), rate);
    }
    let gateway = GatewayHandle::spawn(
        gateway_config(GatewayRole::Primary, sim.port(), 17),
        store.clone(),
    );
    assert!(
        gateway.wait_synced(STEP).await,
        "adapter synced with the simulator"
    );
    let ctx = ToolContext {
        store,
        gateways: Some(Gateways {
            primary: gateway.clone(),
            secondary: None,
        }),
        config: Arc::new(config),
        remote: None,
    };
    Harness { ctx, sim, gateway }
}

/// The harness for a generated book of `positions` symbols (seed 7, frozen prices). The adapter
/// streams quotes only for the largest holdings (IB's market-data lines), so a big book syncs
/// within one `STEP` like the seed book; big books arrive in pushes, so this also waits until
/// every position is in the store.
pub async fn start_big(positions: usize, config: Config) -> Harness {
    let db = Db::in_memory().expect("in-memory database");
    let h = build(
        SimConfig {
            seed: 7,
            positions: Some(positions),
            tick_interval: None,
            ..SimConfig::default()
        },
        config,
        Store::new(Clock::fixed(NOW), Some(db)),
        Some(BIG_BOOK_MESSAGE_RATE),
    )
    .await;
    eventually("every position in the store", || async {
        (h.ctx.store.snapshot().positions.len() >= positions).then_some(())
    })
    .await;
    h
}

impl Harness {
    /// Calls a tool (bounded) and expects success.
    pub async fn ok(&self, tool: &str, args: Value) -> ToolOutput {
        match self.call(tool, args.clone()).await {
            Ok(out) => out,
            Err(e) => panic!("{tool} {args} failed: {e}"),
        }
    }

    /// Calls a tool (bounded) and expects a tool error.
    pub async fn err(&self, tool: &str, args: Value) -> ToolError {
        match self.call(tool, args.clone()).await {
            Ok(out) => panic!("{tool} {args} should fail, answered:\n{}", out.markdown),
            Err(e) => e,
        }
    }

    pub async fn call(&self, tool: &str, args: Value) -> Result<ToolOutput, ToolError> {
        tokio::time::timeout(STEP, tools::call_journaled(&self.ctx, "test", tool, args))
            .await
            .unwrap_or_else(|_| panic!("{tool} answered within {STEP:?}"))
    }

    /// The simulator's primary account.
    pub fn sim_account(&self) -> SimAccountView {
        let id = self.sim.account_id();
        self.sim
            .world()
            .accounts
            .into_iter()
            .find(|a| a.account == id)
            .expect("the simulator serves its account")
    }

    /// The simulator's positions in its primary account.
    pub fn sim_positions(&self) -> Vec<SimPositionView> {
        let id = self.sim.account_id();
        self.sim
            .world()
            .positions
            .into_iter()
            .filter(|p| p.account == id)
            .collect()
    }

    /// Moves the fixed clock.
    pub fn set_now(&self, at: Millis) {
        self.ctx.store.clock().set(at);
    }

    pub async fn shutdown(self) {
        self.gateway.shutdown();
        let _ = tokio::time::timeout(STEP, self.sim.shutdown()).await;
    }
}

/// Replaces what varies with the real date (the simulator's history ends "today"): ISO dates,
/// `YYYYMMDD` dates, and `HH:MM` times become placeholders.
pub fn redact_dates(md: &str) -> String {
    let mut out = String::with_capacity(md.len());
    let b = md.as_bytes();
    let mut i = 0;
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    let boundary = |j: usize| j >= b.len() || !b[j].is_ascii_digit();
    let start_ok = |i: usize| i == 0 || !b[i - 1].is_ascii_digit();
    while i < b.len() {
        if start_ok(i)
            && i + 10 <= b.len()
            && digits(&b[i..i + 4])
            && b[i + 4] == b'-'
            && digits(&b[i + 5..i + 7])
            && b[i + 7] == b'-'
            && digits(&b[i + 8..i + 10])
            && boundary(i + 10)
        {
            out.push_str("[date]");
            i += 10;
            if i + 6 <= b.len()
                && b[i] == b' '
                && digits(&b[i + 1..i + 3])
                && b[i + 3] == b':'
                && digits(&b[i + 4..i + 6])
            {
                out.push_str(" [time]");
                i += 6;
                if i + 3 <= b.len() && b[i] == b':' && digits(&b[i + 1..i + 3]) {
                    i += 3;
                }
            }
            continue;
        }
        if start_ok(i)
            && i + 8 <= b.len()
            && digits(&b[i..i + 8])
            && boundary(i + 8)
            && (b[i] == b'2')
            && (b[i + 1] == b'0')
        {
            out.push_str("[yyyymmdd]");
            i += 8;
            continue;
        }
        let ch_len = md[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&md[i..i + ch_len]);
        i += ch_len;
    }
    out
}

/// `redact_dates`, and the amounts and shares computed from daily history replaced by `#`
/// (money after `$`; percentages with decimals that open a table cell or a parenthesis), labels
/// such as "VaR 99%" kept: the simulator generates history back from the wall clock's today,
/// so where exchange holidays fall in a window (equities skip them, FX does not) moves day by
/// day. For snapshots of layout whose numbers the same test checks by independent arithmetic.
pub fn redact_history_figures(md: &str) -> String {
    let dated = redact_dates(md);
    let chars: Vec<char> = dated.chars().collect();
    let mut out = String::with_capacity(dated.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let prev = i.checked_sub(1).map(|k| chars[k]);
        if !c.is_ascii_digit() || prev.is_some_and(|p| p.is_alphanumeric() || p == '.') {
            out.push(c);
            i += 1;
            continue;
        }
        // A figure: digits with thousands separators and decimal points.
        let mut end = i + 1;
        while end < chars.len()
            && (chars[end].is_ascii_digit()
                || ((chars[end] == ',' || chars[end] == '.')
                    && chars.get(end + 1).is_some_and(char::is_ascii_digit)))
        {
            end += 1;
        }
        let figure: String = chars[i..end].iter().collect();
        let money = prev == Some('$');
        let cell_or_paren =
            prev == Some('(') || (prev == Some(' ') && i >= 2 && chars[i - 2] == '|');
        let share = figure.contains('.') && chars.get(end) == Some(&'%') && cell_or_paren;
        out.push_str(if money || share { "#" } else { &figure });
        i = end;
    }
    out
}

/// The most FX-history requests the VaR answer `var` may have added for a book holding
/// `positions`: one per currency outside its base currency, two when IB quotes the pair the
/// other way round. With the currencies, for a failure message.
pub fn fx_requests_allowed(var: &Value, positions: &[SimPositionView]) -> (u64, String) {
    let base = var["base_currency"].as_str().unwrap_or_default();
    let foreign: std::collections::BTreeSet<&str> = positions
        .iter()
        .map(|p| p.currency.as_str())
        .filter(|c| *c != base)
        .collect();
    (
        2 * foreign.len() as u64,
        format!("{foreign:?} against {base}"),
    )
}
