//! A deterministic cockpit fixture: the seed book (CAD base account holding KRYX, VLTX, OMRA,
//! FELN, HDRX in USD, NLV about 24,600 CAD) written into a real `Store` with a fixed clock, plus
//! the app state, a correlation matrix and a tool list, for snapshot tests and benchmarks.
#![allow(dead_code)]

use ibkr_cockpit::model::*;
use ibkr_cockpit::store::{Clock, LiveState, Store};
use ibkr_cockpit::tui::app::{Action, App, CorrPair, Settings};
use ibkr_cockpit::tui::correlation::CorrMatrix;
use ibkr_cockpit::tui::invocation::ToolInfo;
use ibkr_cockpit::tui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::sync::Arc;

/// 2026-05-03 17:17:44 UTC, the seed briefing's timestamp.
pub const NOW: Millis = 1_777_828_664_000;
pub const ACCOUNT: &str = "U7654321";
pub const USDCAD: f64 = 1.3455;

/// (symbol, con_id, quantity, avg cost, price, previous close) — prices and daily moves from the
/// seed's briefing sample.
pub const SEED_BOOK: [(&str, i32, f64, f64, f64, f64); 5] = [
    ("KRYX", 1001, 340.0, 57.00, 54.18, 56.97),
    ("VLTX", 1002, 86.0, 90.10, 94.32, 95.37),
    ("OMRA", 1003, 76.0, 110.50, 120.10, 116.72),
    ("FELN", 1004, 51.0, 118.00, 130.40, 120.63),
    ("HDRX", 1005, 162.0, 30.20, 33.04, 31.14),
];

fn account_values(values: &[(&str, f64)]) -> std::collections::BTreeMap<String, AccountValue> {
    values
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                AccountValue {
                    value: *v,
                    currency: "CAD".into(),
                },
            )
        })
        .collect()
}

/// A day of 1-minute closes drifting from `from` to `to` with a deterministic wiggle.
pub fn intraday(from: f64, to: f64, points: usize, phase: f64) -> Vec<f64> {
    (0..points)
        .map(|i| {
            let t = i as f64 / (points - 1) as f64;
            from + (to - from) * t + (t * 9.0 + phase).sin() * (to - from).abs() * 0.15
        })
        .collect()
}

/// Positions, quotes and intraday series for `book`.
pub fn fill_book(
    state: &mut LiveState,
    book: &[(String, i32, f64, f64, f64, f64)],
    delayed: &[&str],
) {
    let positions = Arc::make_mut(&mut state.positions);
    let quotes = Arc::make_mut(&mut state.quotes);
    let intra = Arc::make_mut(&mut state.intraday);
    for (i, (sym, con_id, qty, avg, price, close)) in book.iter().enumerate() {
        let mv = qty * price;
        positions.insert(
            (ACCOUNT.to_string(), *con_id),
            Position {
                account: ACCOUNT.into(),
                instrument: Instrument {
                    con_id: *con_id,
                    symbol: sym.clone(),
                    sec_type: "STK".into(),
                    exchange: "SMART".into(),
                    primary_exchange: "NASDAQ".into(),
                    currency: "USD".into(),
                    multiplier: 1.0,
                    ..Instrument::default()
                },
                quantity: *qty,
                avg_cost: *avg,
                market_price: Some(*price),
                market_value: Some(mv),
                unrealized_pnl: Some(mv - qty * avg),
                realized_pnl: Some(0.0),
                daily_pnl: Some(qty * (price - close)),
                updated: NOW - 2_000,
            },
        );
        quotes.insert(
            sym.clone(),
            Quote {
                symbol: sym.clone(),
                con_id: *con_id,
                currency: "USD".into(),
                bid: Some(price - 0.02),
                ask: Some(price + 0.02),
                last: Some(*price),
                bid_size: Some(300.0),
                ask_size: Some(200.0),
                open: Some(*close),
                high: Some(price.max(*close) * 1.01),
                low: Some(price.min(*close) * 0.99),
                close: Some(*close),
                volume: Some(1_250_000.0 + 10_000.0 * i as f64),
                mode: if delayed.contains(&sym.as_str()) {
                    DataMode::Delayed
                } else {
                    DataMode::Live
                },
                updated: NOW - 2_000,
            },
        );
        intra.insert(sym.clone(), intraday(*close, *price, 120, i as f64));
    }
}

/// The seed book in a fresh store with a fixed clock. HDRX has no market-data subscription
/// (delayed quotes), as in the simulator's default fault-free world with `nosub=HDRX`.
pub fn seed_store() -> Store {
    let store = Store::new(Clock::fixed(NOW), None);
    let book: Vec<(String, i32, f64, f64, f64, f64)> = SEED_BOOK
        .iter()
        .map(|(s, c, q, a, p, cl)| (s.to_string(), *c, *q, *a, *p, *cl))
        .collect();
    store.update(|st| {
        Arc::make_mut(&mut st.accounts).insert(
            ACCOUNT.into(),
            AccountSnapshot {
                account: ACCOUNT.into(),
                gateway: Some(GatewayRole::Primary),
                base_currency: "CAD".into(),
                values: account_values(&[
                    (tags::NET_LIQUIDATION, 24_618.00),
                    (tags::GROSS_POSITION_VALUE, 64_124.00),
                    (tags::TOTAL_CASH_VALUE, -39_506.00),
                    (tags::BUYING_POWER, 2_776.00),
                    (tags::AVAILABLE_FUNDS, 416.66),
                    (tags::EXCESS_LIQUIDITY, 2_604.66),
                    (tags::INIT_MARGIN_REQ, 24_201.34),
                    (tags::MAINT_MARGIN_REQ, 22_012.81),
                    (tags::CUSHION, 0.1054),
                    (tags::EQUITY_WITH_LOAN, 24_618.00),
                ]),
                cash_by_currency: [("CAD".to_string(), -39_506.0)].into_iter().collect(),
                pnl: Some(AccountPnl {
                    daily: Some(312.48),
                    unrealized: Some(2_603.0),
                    realized: Some(0.0),
                }),
                updated: NOW - 2_000,
            },
        );
        fill_book(st, &book, &["HDRX"]);
        Arc::make_mut(&mut st.quotes).insert(
            "USD.CAD".into(),
            Quote {
                symbol: "USD.CAD".into(),
                currency: "CAD".into(),
                bid: Some(USDCAD - 0.0001),
                ask: Some(USDCAD + 0.0001),
                last: Some(USDCAD),
                close: Some(1.3440),
                updated: NOW - 2_000,
                ..Quote::default()
            },
        );
        Arc::make_mut(&mut st.gateways).insert(
            GatewayRole::Primary,
            GatewayStatus {
                role: Some(GatewayRole::Primary),
                host: "127.0.0.1".into(),
                port: 4002,
                client_id: 17,
                state: ConnState::Connected,
                server_version: Some(226),
                since: NOW - 3_600_000,
                last_data: Some(NOW - 2_000),
                reconnects: 0,
                market_data_mode: DataMode::Live,
                accounts: vec![ACCOUNT.into()],
                last_error: None,
            },
        );
    });
    for (i, (client, tool, args, ok, md)) in journal().into_iter().enumerate() {
        store.record_tool_call(ToolCallRecord {
            id: 0,
            time: NOW - 60_000 + i as i64 * 15_000,
            client: client.into(),
            tool: tool.into(),
            arguments: args,
            duration_ms: 40.0 + 100.0 * i as f64,
            ok,
            error: (!ok).then(|| "unknown symbol 'ZZZZ': no security definition".to_string()),
            result_bytes: md.len(),
            markdown: md.into(),
        });
    }
    store
}

pub const WHAT_IF_MD: &str = "# What-If: BUY 100 KRYX\nAccount: U****4321\n_2026-05-03 17:17:14 UTC_\n\n## Current State\n| Metric | Value |\n|---|---:|\n| Equity | $24,618.00 CAD |\n| Initial Margin | $24,201.34 CAD |\n| Maint Margin | $22,012.81 CAD |\n| Excess Liquidity | $2,604.66 CAD |\n\n## Margin Impact\n**Init Margin Additional**: $0.00 CAD\n**Equity Change**: $-0.49 CAD\n\n_No order was placed: what-if only._\n";

fn journal() -> Vec<(
    &'static str,
    &'static str,
    serde_json::Value,
    bool,
    &'static str,
)> {
    vec![
        (
            "claude-code",
            "ibkr_briefing",
            serde_json::json!({}),
            true,
            "# Briefing: U****4321\n",
        ),
        (
            "claude-code",
            "ibkr_what_if",
            serde_json::json!({"symbol": "KRYX", "action": "BUY", "quantity": 100}),
            true,
            WHAT_IF_MD,
        ),
        (
            "cockpit",
            "ibkr_quote",
            serde_json::json!({"symbols": ["ZZZZ"]}),
            false,
            "",
        ),
    ]
}

/// The seed's 60-day correlation sample; the 252-day one slightly lower.
pub fn seed_correlations() -> CorrPair {
    let symbols: Vec<String> = ["KRYX", "OMRA", "VLTX", "FELN", "HDRX"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    #[rustfmt::skip]
    let d60 = vec![
        1.00, 0.57, 0.59, 0.36, 0.18,
        0.57, 1.00, 0.56, 0.71, 0.35,
        0.59, 0.56, 1.00, 0.49, 0.29,
        0.36, 0.71, 0.49, 1.00, 0.31,
        0.18, 0.35, 0.29, 0.31, 1.00,
    ];
    let d252 = d60
        .iter()
        .map(|v: &f64| if *v == 1.0 { 1.0 } else { v * 0.8 - 0.05 })
        .collect();
    CorrPair {
        d60: CorrMatrix {
            symbols: symbols.clone(),
            values: d60,
            observations: 60,
        },
        d252: CorrMatrix {
            symbols,
            values: d252,
            observations: 252,
        },
    }
}

/// The tools the prompt knows in tests (the catalog's shape for the ones the tests use).
pub fn tools() -> Vec<ToolInfo> {
    let t = ToolInfo::with_params;
    vec![
        t("ibkr_briefing", &[("account", "string")]),
        t(
            "ibkr_correlation_matrix",
            &[("lookback_days", "integer"), ("symbols", "array")],
        ),
        t(
            "ibkr_get_positions",
            &[
                ("account", "string"),
                ("symbol_filter", "string"),
                ("sort", "string"),
                ("limit", "integer"),
            ],
        ),
        t("ibkr_quote", &[("symbols", "array")]),
        t(
            "ibkr_stress_test",
            &[("scenario", "string"), ("drawdown_pct", "number")],
        ),
        t(
            "ibkr_technicals",
            &[("symbol", "string"), ("sections", "string")],
        ),
        t(
            "ibkr_what_if",
            &[
                ("symbol", "string"),
                ("action", "string"),
                ("quantity", "number"),
                ("order_type", "string"),
                ("limit_price", "number"),
            ],
        ),
    ]
}

/// The app as the cockpit starts on the seed book, state already applied, correlations loaded.
pub fn seed_app(state: &LiveState) -> App {
    let mut settings = Settings::default();
    settings.mcp_url = Some("http://127.0.0.1:8787/mcp".into());
    settings.mode_label = Some("demo".into());
    let mut app = App::new(
        Theme::built_in("dark").expect("dark theme"),
        settings,
        tools(),
        NOW,
    );
    let effects = app.handle(Action::StateChanged, state);
    assert_eq!(
        effects.len(),
        1,
        "first state asks for correlations: {effects:?}"
    );
    let mut symbols: Vec<String> = SEED_BOOK.iter().map(|b| b.0.to_string()).collect();
    symbols.sort();
    app.handle(
        Action::CorrelationLoaded {
            symbols,
            result: Ok(seed_correlations()),
        },
        state,
    );
    app
}

/// The app for any book (correlations left loading when the holdings are not the seed's).
pub fn seed_app_for(state: &LiveState) -> App {
    let mut settings = Settings::default();
    settings.mcp_url = Some("http://127.0.0.1:8787/mcp".into());
    let mut app = App::new(Theme::default(), settings, tools(), NOW);
    app.handle(Action::StateChanged, state);
    app.handle(
        Action::CorrelationLoaded {
            symbols: {
                let mut s: Vec<String> = ibkr_cockpit::tui::book::symbols_by_weight(state)
                    .into_iter()
                    .take(ibkr_cockpit::tui::app::HEATMAP_MAX_SYMBOLS)
                    .collect();
                s.sort();
                s
            },
            result: Ok(seed_correlations()),
        },
        state,
    );
    app
}

/// Renders the whole cockpit into a `width`×`height` test terminal.
pub fn render(app: &App, state: &LiveState, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal
        .draw(|f| ibkr_cockpit::tui::screen::draw(f, app, state))
        .expect("draw");
    terminal
}

/// A book of `n` positions (for scale tests and the benchmark), prices deterministic.
pub fn big_store(n: usize) -> Store {
    let store = seed_store();
    let book: Vec<(String, i32, f64, f64, f64, f64)> = (0..n)
        .map(|i| {
            let price = 20.0 + (i * 37 % 300) as f64 + (i % 7) as f64 * 0.13;
            let close = price * (1.0 + (((i * 13) % 21) as f64 - 10.0) / 400.0);
            (
                format!("S{i:03}"),
                5000 + i as i32,
                (10 + i % 90) as f64,
                price * 0.97,
                price,
                close,
            )
        })
        .collect();
    store.update(|st| fill_book(st, &book, &[]));
    store
}
