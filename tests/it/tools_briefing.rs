//! Briefing tools against the simulated gateway over real TCP: `ibkr_briefing` (values equal the
//! simulator's book, zero gateway requests, `since_last` after the market moves, terse, 2,000
//! positions), `ibkr_thesis_check` (verdicts, file errors) and `ibkr_geopolitical_risk` (news,
//! severity, exposure, file errors).

use crate::support::world;

use crate::support::{STEP, assert_close, eventually};
use ibkr_cockpit::config::Config;
use ibkr_cockpit::model::{ConnState, PriceSource};
use ibkr_cockpit::sim::{Fault, FaultPlan, SimConfig, SimCounters};
use ibkr_cockpit::store::Store;
use ibkr_cockpit::tools::{self, ToolContext};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use world::{default_config, redact_dates, start, start_with};

/// Requests the adapter sends on its own every 30 s (open orders and executions refresh); a tool
/// call racing with that refresh must not be blamed for it.
/// What the adapter asks for on its own, whatever the tools do: order and fill refreshes, and
/// the quote and P&L streams that trail the initial sync of a big book.
const BACKGROUND: [&str; 6] = [
    "RequestAllOpenOrders",
    "RequestExecutions",
    "RequestMarketData",
    "CancelMarketData",
    "RequestPnLSingle",
    "CancelPnLSingle",
];

/// Request types whose count changed between two counter readings, background refresh excluded.
fn new_requests(before: &SimCounters, after: &SimCounters) -> BTreeMap<String, u64> {
    after
        .requests_by_type
        .iter()
        .filter(|(name, _)| !BACKGROUND.contains(&name.as_str()))
        .filter_map(|(name, n)| {
            let was = before.requests(name);
            (*n != was).then(|| (name.clone(), n - was))
        })
        .collect()
}

fn config_with_files(dir: &Path) -> Config {
    let mut c = default_config();
    c.data.config_dir = Some(dir.to_path_buf());
    c
}

fn example(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name);
    std::fs::read_to_string(&path).expect("example file ships with the crate")
}

fn num(v: &Value, what: &str) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("{what}: expected a number, got {v}"))
}

/// Per-position P&L subscriptions answer after the initial sync; wait until every position has
/// its daily P&L so the comparison is with a complete book.
async fn wait_for_pnl_and_orders(h: &world::Harness) {
    eventually(
        "every position's daily P&L and the resting order",
        || async {
            let snap = h.ctx.store.snapshot();
            let pnl = !snap.positions.is_empty()
                && snap.positions.values().all(|p| p.daily_pnl.is_some());
            // Open orders are read right after the sync, not as part of it.
            (pnl && !snap.open_orders.is_empty()).then_some(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn briefing_equals_the_simulated_book_without_a_single_request() {
    let h = start().await;
    wait_for_pnl_and_orders(&h).await;
    let sim = h.sim_account();
    let before = h.sim.counters();
    let out = h.ok("ibkr_briefing", json!({})).await;
    let after = h.sim.counters();
    assert_eq!(
        new_requests(&before, &after),
        BTreeMap::new(),
        "the briefing reads the live snapshot only"
    );

    let j = &out.json;
    assert_eq!(j["base_currency"], json!("CAD"));
    assert_close(&j["health"]["net_liquidation"], sim.net_liquidation, "NLV");
    assert_close(
        &j["health"]["gross_position_value"],
        sim.gross_position_value,
        "GPV",
    );
    assert_close(&j["health"]["cushion_pct"], sim.cushion * 100.0, "cushion");
    assert_close(
        &j["health"]["leverage"],
        sim.gross_position_value / sim.net_liquidation,
        "leverage",
    );
    assert_close(
        &j["health"]["margin_utilization_pct"],
        sim.maint_margin / sim.equity_with_loan * 100.0,
        "margin utilization",
    );
    assert_close(
        &j["health"]["excess_liquidity"],
        sim.excess_liquidity,
        "excess liquidity",
    );
    // The seed book sits at a ~10.5% cushion: below the 15% watch line, above 5% danger.
    assert_eq!(j["health"]["cushion_status"], json!("watch"));
    assert_close(&j["pnl"]["daily"], sim.daily_pnl, "daily P&L");
    assert_close(
        &j["pnl"]["unrealized"],
        sim.unrealized_pnl,
        "unrealized P&L",
    );

    // Positions: the five of the seed book, weights of gross value in CAD.
    let sim_positions = h.sim_positions();
    let rows = j["positions"].as_array().expect("positions");
    assert_eq!(rows.len(), 5);
    assert_eq!(j["position_count"], json!(5));
    let usdcad = h.sim.world().fx["USD.CAD"];
    let gross: f64 = sim_positions
        .iter()
        .map(|p| (p.market_value * usdcad).abs())
        .sum();
    let mut weights = Vec::new();
    for r in rows {
        let sym = r["symbol"].as_str().expect("symbol");
        let sp = sim_positions
            .iter()
            .find(|p| p.symbol == sym)
            .expect("held in the simulator");
        assert_eq!(r["quantity"], json!(sp.quantity), "{sym} quantity");
        assert_close(&r["market_value"], sp.market_value, &format!("{sym} value"));
        assert_close(&r["daily_pnl"], sp.daily_pnl, &format!("{sym} daily P&L"));
        let w = num(&r["weight_pct"], "weight");
        let expected = (sp.market_value * usdcad).abs() / gross * 100.0;
        assert!(
            (w - expected).abs() <= 0.005 + 1e-9,
            "{sym} weight {w} vs {expected} (2 dp shown)"
        );
        weights.push(w);
    }
    assert!(
        weights.windows(2).all(|p| p[0] >= p[1]),
        "largest weight first: {weights:?}"
    );

    // Risk metrics, recomputed by hand from the weights.
    let hhi: f64 = weights.iter().map(|w| w * w).sum();
    // From weights rounded to the 2 dp shown, Σ w² is within about 2 × 100 × 0.005.
    assert!((num(&j["risk"]["hhi"], "hhi") - hhi).abs() < 1.0, "HHI");
    let top3: f64 = weights.iter().take(3).sum();
    assert!((num(&j["risk"]["top3_weight_pct"], "top3") - top3).abs() < 1e-3);
    assert_eq!(j["risk"]["top_position"], rows[0]["symbol"]);
    assert_eq!(j["risk"]["position_count"], json!(5));

    // Alerts: cushion watch, and every position above the 25% concentration line.
    let alerts = j["alerts"].as_array().expect("alerts");
    let keys: Vec<&str> = alerts
        .iter()
        .map(|a| a["key"].as_str().expect("key"))
        .collect();
    assert!(keys.contains(&"cushion"), "{keys:?}");
    for (r, w) in rows.iter().zip(&weights) {
        let key = format!("concentration:{}", r["symbol"].as_str().expect("symbol"));
        assert_eq!(keys.contains(&key.as_str()), *w > 25.0, "{key} at {w}%");
    }
    assert!(!keys.contains(&"stale"), "fresh data is not stale");

    // The resting HDRX order, FX and connection.
    let orders = j["open_orders"].as_array().expect("orders");
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0]["symbol"], json!("HDRX"));
    assert_eq!(orders[0]["limit_price"], json!(31.5));
    assert_eq!(orders[0]["stop_price"], json!(null));
    let fx = j["fx"].as_array().expect("fx");
    let usd = fx
        .iter()
        .find(|x| x["pair"] == json!("USD.CAD"))
        .expect("USD.CAD");
    assert!((num(&usd["rate"], "rate") - usdcad).abs() < 1e-3);
    assert_eq!(j["connection"][0]["state"], json!("connected"));

    // Nine sections, in the seed's order.
    let md = &out.markdown;
    let mut at = 0;
    for section in [
        "## Account Health",
        "## Daily P&L",
        "## Positions",
        "## Top Movers",
        "## Risk Metrics",
        "## Alerts",
        "## Open Orders",
        "## FX",
        "## Connection",
    ] {
        let i = md[at..]
            .find(section)
            .unwrap_or_else(|| panic!("{section} missing or out of order:\n{md}"));
        at += i + section.len();
    }
    insta::assert_snapshot!("briefing_full", redact_dates(md));
    assert_eq!(h.sim.counters().real_orders, 0);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn since_last_shows_what_the_market_changed() {
    let h = start().await;
    let first = h.ok("ibkr_briefing", json!({"since_last": true})).await;
    let s = &first.json["since_last"];
    assert_eq!(
        s["previous_time"],
        json!(null),
        "first briefing has no baseline"
    );
    assert!(
        first.markdown.contains("No previous briefing"),
        "{}",
        first.markdown
    );
    let nlv_before = num(&first.json["health"]["net_liquidation"], "NLV");

    // Twenty seconds later (inside the freshness window: no stall, no staleness) the market has
    // moved an hour; wait until the store has the new account values.
    h.set_now(world::NOW + 20_000);
    h.sim.advance(60);
    let moved = tokio::time::timeout(STEP, async {
        loop {
            let snap = h.ctx.store.snapshot();
            let nlv = snap.primary_account().and_then(|a| a.net_liquidation());
            if nlv.is_some_and(|n| (n - nlv_before).abs() > 0.01) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(moved.is_ok(), "the store saw the market move");
    // Let the position updates of the same push land too.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let second = h.ok("ibkr_briefing", json!({"since_last": true})).await;
    let s = &second.json["since_last"];
    assert_eq!(s["elapsed_s"], json!(20.0));
    let nlv_after = num(&second.json["health"]["net_liquidation"], "NLV");
    assert_close(&s["nlv_change"], nlv_after - nlv_before, "NLV change");
    assert!(num(&s["nlv_change"], "NLV change").abs() > 0.01);
    let sim = h.sim_account();
    assert_close(
        &second.json["health"]["net_liquidation"],
        sim.net_liquidation,
        "NLV now",
    );
    assert!(
        !s["weight_changes"].as_array().expect("weights").is_empty(),
        "an hour of moves shifts weights: {s}"
    );
    assert_eq!(s["new_positions"], json!([]));
    assert_eq!(s["closed_positions"], json!([]));
    assert!(second.markdown.contains("## Since Last Briefing"));
    assert!(second.markdown.contains("(20s ago)"), "{}", second.markdown);

    // The terse form keeps the numbers and drops the tables.
    let terse = h
        .ok(
            "ibkr_briefing",
            json!({"format": "terse", "since_last": true}),
        )
        .await;
    let lines = terse
        .markdown
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count();
    assert!(lines <= 10, "terse is a few lines:\n{}", terse.markdown);
    assert!(!terse.markdown.contains("| Symbol"), "no tables");
    assert!(terse.markdown.contains("**NLV**"));
    assert!(terse.markdown.contains("**Since last**"));
    assert_eq!(terse.json["health"], second.json["health"], "same numbers");

    // Only the latest snapshot is compared; old ones are pruned (20 kept per account).
    let db = h.ctx.store.db().expect("harness database");
    for i in 0..25 {
        db.save_briefing("U0000001", i, &json!({"n": i}))
            .expect("save");
    }
    assert_eq!(db.prune_briefings("U0000001", 20).expect("prune"), 5);
    assert_eq!(
        db.last_briefing("U0000001").expect("read").map(|(t, _)| t),
        Some(24)
    );

    let e = h.err("ibkr_briefing", json!({"format": "long"})).await;
    assert!(
        e.message.contains("full") && e.message.contains("terse"),
        "{e}"
    );
    let e = h.err("ibkr_briefing", json!({"account": "U0000000"})).await;
    assert!(e.message.contains("Unknown account"), "{e}");
    assert_eq!(h.sim.counters().real_orders, 0);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn briefing_labels_delayed_and_stale_data() {
    let h = start_with(
        SimConfig {
            seed: 7,
            tick_interval: None,
            faults: FaultPlan {
                at_start: vec![Fault::NoSubscription(vec!["HDRX".into()])],
                scheduled: vec![],
            },
            ..SimConfig::default()
        },
        default_config(),
    )
    .await;
    let delayed = tokio::time::timeout(STEP, async {
        loop {
            let snap = h.ctx.store.snapshot();
            if snap.quotes.get("HDRX").is_some_and(|q| q.mode.is_delayed()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(delayed.is_ok(), "HDRX falls back to delayed data");
    let out = h.ok("ibkr_briefing", json!({})).await;
    let hdrx = out.json["positions"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["symbol"] == json!("HDRX"))
        .cloned()
        .expect("HDRX row");
    assert_eq!(hdrx["delayed"], json!(true));
    let alert = out.json["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .find(|a| a["key"] == json!("delayed"))
        .cloned()
        .expect("delayed alert");
    assert!(
        alert["message"]
            .as_str()
            .is_some_and(|m| m.contains("HDRX"))
    );
    assert!(out.markdown.contains("(delayed)"), "{}", out.markdown);

    // The gateway goes away: the briefing answers from the cache, saying how stale it is.
    h.sim.stop_accepting();
    let down = tokio::time::timeout(STEP, async {
        loop {
            let snap = h.ctx.store.snapshot();
            if snap
                .gateways
                .values()
                .all(|g| g.state != ConnState::Connected)
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(down.is_ok(), "the adapter noticed the gateway is gone");
    let stale = h.ok("ibkr_briefing", json!({})).await;
    assert!(stale.json["stale"].is_object(), "{}", stale.json["stale"]);
    assert!(
        stale.json["alerts"]
            .as_array()
            .expect("alerts")
            .iter()
            .any(|a| a["key"] == json!("stale") && a["level"] == json!("danger"))
    );
    assert!(
        stale.markdown.contains("**Stale data**"),
        "{}",
        stale.markdown
    );
    assert_close(
        &stale.json["health"]["net_liquidation"],
        h.sim_account().net_liquidation,
        "cached NLV",
    );
    assert_eq!(h.sim.counters().real_orders, 0);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn briefing_and_monitoring_work_at_two_thousand_positions() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("risk_factors.json"),
        example("risk_factors.json"),
    )
    .expect("write factors");
    let h = world::start_big(2000, config_with_files(dir.path())).await;
    // The quotes after the 40 largest trail the sync; let them finish opening so the request
    // counts below see the tools alone.
    let streamed = tokio::time::timeout(STEP, async {
        loop {
            let snap = h.ctx.store.snapshot();
            let waiting = snap.positions.values().any(|p| {
                p.price_source == PriceSource::Quote
                    && snap
                        .quotes
                        .get(&p.instrument.symbol)
                        .and_then(|q| q.price())
                        .is_none()
            });
            if !waiting {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(
        streamed.is_ok(),
        "every streamed holding got its first quote"
    );
    let before = h.sim.counters();
    let out = h.ok("ibkr_briefing", json!({})).await;
    let after = h.sim.counters();
    assert_eq!(new_requests(&before, &after), BTreeMap::new());
    assert_eq!(out.json["position_count"], json!(2000));
    assert_eq!(out.json["positions"].as_array().expect("rows").len(), 20);
    assert!(
        out.markdown.contains("Largest 20 of 2000 positions"),
        "{}",
        out.markdown
    );
    let hhi = num(&out.json["risk"]["hhi"], "hhi");
    assert!(
        hhi > 0.0 && hhi < 100.0,
        "2,000 names: a diversified HHI, got {hhi}"
    );

    let terse = h
        .ok(
            "ibkr_briefing",
            json!({"format": "terse", "since_last": true}),
        )
        .await;
    assert_close(
        &terse.json["since_last"]["nlv_change"],
        0.0,
        "frozen prices: no change",
    );

    for (tool, args) in [
        ("ibkr_get_orders", json!({})),
        ("ibkr_trades", json!({})),
        ("ibkr_trades", json!({"view": "journal"})),
        ("ibkr_trades", json!({"view": "realized"})),
        ("ibkr_drawdown_tracker", json!({})),
        ("ibkr_connection_status", json!({})),
        ("ibkr_geopolitical_risk", json!({})),
    ] {
        h.ok(tool, args).await;
    }

    // Portfolio quotes: a price for every holding, the ones without a market-data line marked
    // (portfolio) and answered from the portfolio updates, not 2,000 snapshot requests.
    let before = h.sim.counters();
    let quotes = h.ok("ibkr_quote", json!({})).await;
    let after = h.sim.counters();
    assert_eq!(
        after.requests("RequestMarketData"),
        before.requests("RequestMarketData"),
        "no snapshot request for holdings priced from the portfolio"
    );
    let rows = quotes.json["quotes"].as_array().expect("quote rows");
    assert_eq!(rows.len(), 2000);
    for r in rows {
        assert!(r["last"].as_f64().is_some_and(|p| p > 0.0), "no price: {r}");
    }
    let marked = rows
        .iter()
        .filter(|r| r["source"] == json!("portfolio"))
        .count();
    assert!(marked >= 1900, "{marked} rows priced from the portfolio");
    assert!(
        quotes.markdown.contains("(portfolio)"),
        "{}",
        quotes.markdown
    );
    assert_eq!(after.market_data_lines_refused, 0, "no error 101");
    assert!(after.market_data_lines_peak <= 100);

    // The positions table says the same: the largest holdings stream, the tail is marked.
    let positions = h
        .ok(
            "ibkr_get_positions",
            json!({"sort": "weight", "limit": 1000}),
        )
        .await;
    let rows = positions.json["positions"].as_array().expect("rows");
    assert_eq!(rows[0]["portfolio_priced"], json!(null), "largest streams");
    assert!(
        rows.iter()
            .filter(|r| r["portfolio_priced"] == json!(true))
            .count()
            >= 800,
        "the tail is marked"
    );
    // Daily P&L streams only for the largest holdings; the total falls back to the account's.
    assert!(
        positions.json["total_daily_pnl"].is_number(),
        "{}",
        positions.json["total_daily_pnl"]
    );
    assert!(
        positions
            .markdown
            .contains("marked (portfolio) have no market-data line"),
        "{}",
        positions.markdown
    );

    assert_eq!(h.sim.counters().pacing_violations, 0);
    assert_eq!(h.sim.counters().real_orders, 0);
    h.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// ibkr_thesis_check: a file-only tool, so a context with no gateway is an honest setting.

fn files_context(dir: &Path) -> ToolContext {
    ToolContext {
        store: Store::in_memory(),
        gateways: None,
        config: Arc::new(config_with_files(dir)),
        remote: None,
    }
}

async fn thesis(ctx: &ToolContext, news: &str) -> Result<tools::ToolOutput, tools::ToolError> {
    tokio::time::timeout(
        STEP,
        tools::call(ctx, "ibkr_thesis_check", json!({ "news_item": news })),
    )
    .await
    .expect("thesis check answers in time")
}

fn verdict_of<'a>(out: &'a Value, id: &str) -> &'a Value {
    out["pillars"]
        .as_array()
        .expect("pillars")
        .iter()
        .find(|p| p["id"] == json!(id))
        .unwrap_or_else(|| panic!("pillar {id}"))
}

#[tokio::test]
async fn thesis_check_gives_a_verdict_per_pillar_with_the_matched_keywords() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("thesis_config.json"),
        example("thesis_config.json"),
    )
    .expect("write thesis");
    let ctx = files_context(dir.path());

    // The seed's example news: good for demand and capex.
    let good = thesis(
        &ctx,
        "AcmeCorp guides next-quarter platform revenue 12% above consensus on hyperscaler custom-silicon orders; \
         cloud volumes ramping into 2H. CFO calls infrastructure spend multi-year structural.",
    )
    .await
    .expect("answer");
    let j = &good.json;
    assert_eq!(j["thesis_name"], json!("Platform Buildout"));
    assert_eq!(j["pillars"].as_array().expect("pillars").len(), 5);
    let demand = verdict_of(j, "demand");
    assert_eq!(demand["verdict"], json!("CONFIRMED"), "{demand:#}");
    let matched: Vec<&str> = demand["matched_confirmation"]
        .as_array()
        .expect("matched")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(matched.contains(&"above consensus"), "{matched:?}");
    assert!(matched.contains(&"ramping"), "{matched:?}");
    assert_eq!(verdict_of(j, "capex")["verdict"], json!("CONFIRMED"));
    // "custom silicon" is a competition key indicator: reported, verdict unmoved.
    let comp = verdict_of(j, "competition");
    assert_eq!(comp["verdict"], json!("INTACT"));
    assert_eq!(comp["matched_indicators"], json!(["custom", "silicon"]));
    assert_eq!(j["overall"], json!("CONFIRMED"), "{}", good.markdown);
    assert!(good.markdown.contains("**Overall**: ✅ THESIS CONFIRMED"));
    insta::assert_snapshot!("thesis_check_good_news", redact_dates(&good.markdown));

    // Bad news: an explicit invalidation phrase threatens the demand pillar.
    let bad = thesis(
        &ctx,
        "AcmeCorp issues a guidance cut as a top customer reports order cancellations.",
    )
    .await
    .expect("answer");
    let demand = verdict_of(&bad.json, "demand");
    assert_eq!(demand["verdict"], json!("THREATENED"), "{demand}");
    assert!(
        demand["matched_invalidation"]
            .as_array()
            .expect("inv")
            .contains(&json!("guidance cut"))
    );
    assert_eq!(bad.json["overall"], json!("THREATENED"));

    // One derived invalidation word only: watch, not threatened.
    let mixed = thesis(&ctx, "Analysts flag shipment delays at one supplier.")
        .await
        .expect("answer");
    assert_eq!(
        verdict_of(&mixed.json, "revenue")["verdict"],
        json!("WATCH")
    );
    assert_eq!(mixed.json["overall"], json!("WATCH"));

    // Nothing relevant: intact.
    let none = thesis(&ctx, "The weather was mild over the weekend.")
        .await
        .expect("answer");
    assert_eq!(none.json["overall"], json!("INTACT"));

    let e = thesis(&ctx, "   ").await.expect_err("empty news");
    assert!(e.message.contains("news_item is empty"), "{e}");
}

#[tokio::test]
async fn thesis_check_explains_missing_and_malformed_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ctx = files_context(dir.path());
    let e = thesis(&ctx, "anything").await.expect_err("no file");
    assert!(e.message.contains("no thesis file at"), "{e}");
    assert!(e.message.contains("examples/thesis_config.json"), "{e}");
    assert!(e.message.contains("\"pillars\""), "shows the format: {e}");

    // A syntax error: named with its line.
    std::fs::write(
        dir.path().join("thesis_config.json"),
        "{\n  \"thesis_name\": \"X\",\n  \"pillars\": [\n    {\"name\": \"A\",}\n  ]\n}\n",
    )
    .expect("write");
    let e = thesis(&ctx, "anything").await.expect_err("malformed");
    assert!(e.message.contains("line 4"), "{e}");

    // A missing required field.
    std::fs::write(
        dir.path().join("thesis_config.json"),
        "{\n  \"pillars\": []\n}\n",
    )
    .expect("write");
    let e = thesis(&ctx, "anything").await.expect_err("no name");
    assert!(e.message.contains("thesis_name"), "{e}");

    // A pillar with nothing to match: named, with its line.
    std::fs::write(
        dir.path().join("thesis_config.json"),
        "{\n  \"thesis_name\": \"X\",\n  \"pillars\": [\n    {\"id\": 1,\n     \"name\": \"Empty pillar\"}\n  ]\n}\n",
    )
    .expect("write");
    let e = thesis(&ctx, "anything").await.expect_err("empty pillar");
    assert!(
        e.message.contains("Empty pillar") && e.message.contains("line 5"),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------------
// ibkr_geopolitical_risk

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn geopolitical_risk_scores_factors_with_news_and_exposure() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("risk_factors.json"),
        example("risk_factors.json"),
    )
    .expect("write factors");
    let h = start_with(
        SimConfig {
            seed: 7,
            tick_interval: None,
            ..SimConfig::default()
        },
        config_with_files(dir.path()),
    )
    .await;
    let out = h.ok("ibkr_geopolitical_risk", json!({"days": 30})).await;
    let j = &out.json;
    let factors = j["factors"].as_array().expect("factors");
    assert_eq!(factors.len(), 5);
    assert!(
        num(&j["headlines_scanned"], "scanned") > 0.0,
        "news was read"
    );
    assert_eq!(j["news_errors"], json!([]));

    let usdcad = h.sim.world().fx["USD.CAD"];
    let positions = h.sim_positions();
    let value_of = |syms: &[&str]| -> f64 {
        positions
            .iter()
            .filter(|p| syms.contains(&p.symbol.as_str()))
            .map(|p| (p.market_value * usdcad).abs())
            .sum()
    };
    let mut any_raised = false;
    for fa in factors {
        let base = num(&fa["base_severity"], "base");
        let sev = num(&fa["severity"], "severity");
        let hits = num(&fa["matching_headlines"], "hits");
        assert_eq!(sev, (base + hits.min(3.0)).min(10.0), "{fa}");
        any_raised |= sev > base;
        for hl in fa["headlines"].as_array().expect("headlines") {
            let text = hl["headline"].as_str().expect("headline").to_lowercase();
            let words: Vec<String> = hl["matched"]
                .as_array()
                .expect("matched")
                .iter()
                .filter_map(|k| k.as_str().map(str::to_lowercase))
                .collect();
            assert!(
                words.iter().any(|w| text.contains(&w[..w.len().min(4)])),
                "{text} / {words:?}"
            );
        }
    }
    assert!(any_raised, "a month of headlines raises some factor: {j}");
    let by_id = |id: &str| {
        factors
            .iter()
            .find(|f| f["id"] == json!(id))
            .unwrap_or_else(|| panic!("factor {id}"))
    };
    let exp = by_id("export-controls");
    assert_eq!(exp["held_symbols"], json!(["KRYX", "VLTX", "OMRA"]));
    let expected = value_of(&["KRYX", "VLTX", "OMRA"]);
    assert!((num(&exp["exposure"], "exposure") - expected).abs() < 0.05);
    let taiwan = by_id("taiwan-strait");
    assert_eq!(
        taiwan["held_symbols"],
        json!(["KRYX", "VLTX"]),
        "TSM is not held"
    );
    let severities: Vec<f64> = factors.iter().map(|f| num(&f["severity"], "s")).collect();
    assert!(
        severities.windows(2).all(|p| p[0] >= p[1]),
        "{severities:?}"
    );
    assert!(out.markdown.contains("# Geopolitical Risk: U****"));

    let top = severities[0] as u32;
    let filtered = h
        .ok(
            "ibkr_geopolitical_risk",
            json!({"days": 30, "min_severity": top}),
        )
        .await;
    let kept = filtered.json["factors"].as_array().expect("factors").len();
    assert!((1..5).contains(&kept), "min_severity filters: {kept}");
    assert_eq!(
        num(&filtered.json["filtered_out"], "filtered") as usize,
        5 - kept
    );
    let e = h.err("ibkr_geopolitical_risk", json!({"days": 31})).await;
    assert!(e.message.contains("days"), "{e}");

    // A bad severity names the factor and its line.
    std::fs::write(
        dir.path().join("risk_factors.json"),
        "[\n  {\"id\": \"a\", \"name\": \"A\", \"search_query\": \"tariffs\",\n   \"affected_symbols\": \"KRYX\", \"base_severity\": 5},\n  {\"id\": \"b\", \"name\": \"B\", \"search_query\": \"tariffs\",\n   \"affected_symbols\": \"KRYX\", \"base_severity\": 12}\n]\n",
    )
    .expect("write");
    let e = h.err("ibkr_geopolitical_risk", json!({})).await;
    assert!(
        e.message.contains("`b`") && e.message.contains("line 4") && e.message.contains("1 to 10"),
        "{e}"
    );
    std::fs::write(dir.path().join("risk_factors.json"), "[{\"id\": 1,]").expect("write");
    let e = h.err("ibkr_geopolitical_risk", json!({})).await;
    assert!(e.message.contains("line 1"), "{e}");
    std::fs::remove_file(dir.path().join("risk_factors.json")).expect("remove");
    let e = h.err("ibkr_geopolitical_risk", json!({})).await;
    assert!(
        e.message.contains("no risk factors file")
            && e.message.contains("examples/risk_factors.json"),
        "{e}"
    );
    assert_eq!(h.sim.counters().real_orders, 0);
    h.shutdown().await;
}
