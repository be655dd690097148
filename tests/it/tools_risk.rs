//! Risk tools against the simulated gateway over real TCP: what-if (never a real order),
//! correlation, beta, VaR and the stress test, with values checked against independent
//! arithmetic on the same bars and against `ibkr_margin`; markdown snapshots (seed 7, frozen
//! prices, fixed clock); a 500-symbol book that must reuse the bar cache within IB pacing.

use crate::support::world;

use crate::support::{STEP, assert_close};
use ibkr_cockpit::gateway::BarSpec;
use ibkr_cockpit::tools::risk_data::{daily_spec, fx_daily_spec};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use world::{Harness, default_config, redact_dates, redact_history_figures, start, start_big};

const HIST: &str = "RequestHistoricalData";

fn num(v: &Value, what: &str) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("{what}: expected a number, got {v}"))
}

/// Daily simple returns of `symbol` over the last `n` days, from the bars the tools cached.
async fn returns_of(h: &Harness, symbol: &str, lookback: usize) -> Vec<f64> {
    let bars = tokio::time::timeout(
        STEP,
        h.gateway
            .requests()
            .historical_bars(&daily_spec(symbol, "USD", lookback)),
    )
    .await
    .expect("bars in time")
    .expect("bars");
    let closes: Vec<f64> = bars.iter().map(|b| b.close).collect();
    let r: Vec<f64> = closes.windows(2).map(|w| w[1] / w[0] - 1.0).collect();
    r[r.len() - lookback..].to_vec()
}

/// Daily closes keyed by UTC day from the bars the tools cached.
async fn closes_by_day(h: &Harness, spec: &BarSpec) -> BTreeMap<i64, f64> {
    let bars = tokio::time::timeout(STEP, h.gateway.requests().historical_bars(spec))
        .await
        .expect("bars in time")
        .expect("bars");
    bars.iter()
        .map(|b| (b.time.div_euclid(86_400), b.close))
        .collect()
}

/// The last `n` simple returns of closes.
fn last_returns(closes: &[f64], n: usize) -> Vec<f64> {
    let r: Vec<f64> = closes.windows(2).map(|w| w[1] / w[0] - 1.0).collect();
    r[r.len() - n..].to_vec()
}

/// Textbook Pearson correlation, written out independently of `analytics`.
fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    let syy: f64 = y.iter().map(|b| (b - my).powi(2)).sum();
    sxy / (sxx * syy).sqrt()
}

fn cov(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    x.iter()
        .zip(y)
        .map(|(a, b)| (a - mx) * (b - my))
        .sum::<f64>()
        / (n - 1.0)
}

fn assert_no_real_orders(h: &Harness) {
    let c = h.sim.counters();
    assert_eq!(c.real_orders, 0, "no real order ever reaches the gateway");
    assert_eq!(c.pacing_violations, 0, "no pacing violation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_if_uses_the_what_if_engine_and_never_orders() {
    let h = start().await;
    let sim = h.sim_account();
    let before = h.sim.counters().what_if_orders;
    let out = h
        .ok(
            "ibkr_what_if",
            json!({"symbol": "kryx", "action": "BUY", "quantity": 100}),
        )
        .await;
    let j = &out.json;
    assert!(
        h.sim.counters().what_if_orders > before,
        "a what-if was sent"
    );
    assert_eq!(j["what_if_only"], json!(true));
    assert_close(&j["current"]["equity"], sim.equity_with_loan, "equity");
    assert_close(&j["current"]["init_margin"], sim.init_margin, "init margin");
    assert_close(
        &j["current"]["maint_margin"],
        sim.maint_margin,
        "maint margin",
    );
    // Buying more stock on margin adds to both requirements.
    let init_add = num(&j["init_margin_change"], "init change");
    let maint_add = num(&j["maint_margin_change"], "maint change");
    assert!(init_add > 0.0 && maint_add > 0.0, "{j}");
    assert_close(
        &j["post_trade"]["init_margin"],
        num(&j["current"]["init_margin"], "init") + init_add,
        "post-trade init margin = current + change",
    );
    assert_close(
        &j["post_trade"]["excess_liquidity"],
        num(&j["post_trade"]["equity"], "eq") - num(&j["post_trade"]["maint_margin"], "maint"),
        "post-trade excess = equity - maint",
    );
    insta::assert_snapshot!("what_if_buy", out.markdown);

    let lmt = h
        .ok(
            "ibkr_what_if",
            json!({"symbol": "VLTX", "action": "sell", "quantity": "10", "order_type": "LMT", "limit_price": 99.5}),
        )
        .await;
    assert_eq!(lmt.json["limit_price"], json!(99.5));
    assert_close(
        &lmt.json["estimated_notional"],
        995.0,
        "notional at the limit",
    );

    for (args, needle) in [
        (
            json!({"symbol": "KRYX", "action": "BUY", "quantity": 0}),
            "positive",
        ),
        (
            json!({"symbol": "KRYX", "action": "BUY", "quantity": -5}),
            "positive",
        ),
        (
            json!({"symbol": "KRYX", "action": "BUY", "quantity": 5, "order_type": "LMT"}),
            "limit_price",
        ),
        (
            json!({"symbol": "KRYX", "action": "HOLD", "quantity": 5}),
            "`BUY`, `SELL`",
        ),
        (
            json!({"symbol": "NOPEX", "action": "BUY", "quantity": 5}),
            "does not resolve",
        ),
    ] {
        let e = h.err("ibkr_what_if", args.clone()).await;
        assert!(e.message.contains(needle), "{args}: {e}");
    }
    assert_no_real_orders(&h);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn correlation_matrix_matches_pearson_on_the_same_bars() {
    let h = start().await;
    let out = h.ok("ibkr_correlation_matrix", json!({})).await;
    let j = &out.json;
    let symbols: Vec<String> = j["symbols"]
        .as_array()
        .expect("symbols")
        .iter()
        .map(|s| s.as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(symbols.len(), 5, "the five held stocks: {symbols:?}");
    assert_eq!(j["data_points"], json!(60));
    assert_eq!(j["lookback_days"], json!(60));
    let m = j["matrix"].as_array().expect("matrix");
    let mut returns = Vec::new();
    for s in &symbols {
        returns.push(returns_of(&h, s, 60).await);
    }
    let mut sum = 0.0;
    let mut pairs = 0;
    for i in 0..5 {
        assert_eq!(m[i][i], json!(1.0));
        for k in 0..5 {
            let expected = pearson(&returns[i], &returns[k]);
            let got = num(&m[i][k], "cell");
            assert!(
                (got - expected).abs() < 1e-4,
                "{i},{k}: {got} vs {expected}"
            );
            if k > i {
                sum += expected;
                pairs += 1;
            }
        }
    }
    assert!((num(&j["average_pairwise"], "avg") - sum / pairs as f64).abs() < 1e-4);
    assert!(num(&j["highest"]["correlation"], "hi") >= num(&j["lowest"]["correlation"], "lo"));
    assert!(out.markdown.contains("**Data points**: 60 daily returns"));
    insta::assert_snapshot!("correlation_matrix", redact_dates(&out.markdown));

    // Same day, same bars: a second call (and a 252-day one) asks the gateway for nothing.
    let requests = h.sim.counters().requests(HIST);
    let again = h
        .ok(
            "ibkr_correlation_matrix",
            json!({"lookback_days": 252, "symbols": "KRYX,VLTX"}),
        )
        .await;
    assert_eq!(again.json["data_points"], json!(252));
    assert_eq!(
        h.sim.counters().requests(HIST),
        requests,
        "served from the bar cache"
    );

    for (args, needle) in [
        (json!({"lookback_days": 10}), "20 to 756"),
        (json!({"symbols": "KRYX"}), "at least two"),
        (json!({"symbols": "KRYX,,VLTX"}), "malformed list"),
    ] {
        let e = h.err("ibkr_correlation_matrix", args.clone()).await;
        assert!(e.message.contains(needle), "{args}: {e}");
    }
    assert_no_real_orders(&h);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beta_and_var_agree_with_independent_arithmetic() {
    let h = start().await;
    let sim = h.sim_account();

    let out = h.ok("ibkr_portfolio_beta", json!({})).await;
    let j = &out.json;
    assert_eq!(j["benchmark"], json!("SPY"));
    assert_eq!(j["data_points"], json!(60));
    let spy = returns_of(&h, "SPY", 60).await;
    let rows = j["positions"].as_array().expect("rows");
    assert_eq!(rows.len(), 5);
    let (mut gross, mut exposure) = (0.0, 0.0);
    for r in rows {
        let s = r["symbol"].as_str().expect("symbol");
        let x = returns_of(&h, s, 60).await;
        let b = cov(&x, &spy) / cov(&spy, &spy);
        assert!((num(&r["beta"], "beta") - b).abs() < 1e-4, "{s}");
        let v = num(&r["value_base"], "value");
        gross += v.abs();
        exposure += v * b;
    }
    assert_close(&j["beta_adjusted_exposure"], exposure, "Σ value × beta");
    assert!((num(&j["portfolio_beta"], "beta") - exposure / gross).abs() < 1e-4);
    assert_close(&j["net_liquidation"], sim.net_liquidation, "NLV");
    insta::assert_snapshot!("portfolio_beta", redact_dates(&out.markdown));

    // The primary account's base is CAD and it holds USD stocks: VaR is computed on CAD returns
    // (each close × that day's USD.CAD close), so currency risk is in the covariance.
    let out = h.ok("ibkr_var_estimate", json!({})).await;
    let j = &out.json;
    assert_eq!(j["base_currency"], json!("CAD"));
    assert_eq!(j["data_points"], json!(252));
    let levels = j["levels"].as_array().expect("levels");
    let methods: Vec<&str> = levels
        .iter()
        .map(|l| l["method"].as_str().expect("method"))
        .collect();
    assert_eq!(
        methods,
        ["parametric", "parametric", "historical", "historical"]
    );
    let comps = j["components"].as_array().expect("components");
    let usdcad = closes_by_day(&h, &fx_daily_spec("USD", "CAD", 252)).await;
    let mut cad_series = Vec::new();
    let mut usd_series = Vec::new();
    let mut values = Vec::new();
    for c in comps {
        let symbol = c["symbol"].as_str().expect("symbol");
        let closes = closes_by_day(&h, &daily_spec(symbol, "USD", 252)).await;
        let cad: Vec<f64> = closes.iter().map(|(d, c)| c * usdcad[d]).collect();
        let usd: Vec<f64> = closes.values().copied().collect();
        cad_series.push(last_returns(&cad, 252));
        usd_series.push(last_returns(&usd, 252));
        values.push(num(&c["value_base"], "value"));
    }
    let sigma_of = |series: &[Vec<f64>]| {
        let mut var = 0.0;
        for i in 0..values.len() {
            for k in 0..values.len() {
                var += values[i] * values[k] * cov(&series[i], &series[k]);
            }
        }
        var.sqrt()
    };
    let sigma = sigma_of(&cad_series);
    let sigma_usd = sigma_of(&usd_series);
    assert!(
        (num(&j["sigma_daily"], "sigma") - sigma).abs() < 0.02,
        "σ {sigma}"
    );
    // z(0.95) and z(0.99) of the standard normal.
    assert_close(&levels[0]["var"], 1.6448536269514722 * sigma, "VaR 95");
    assert_close(&levels[1]["var"], 2.3263478740408408 * sigma, "VaR 99");
    assert_close(
        &levels[1]["var_without_fx"],
        2.3263478740408408 * sigma_usd,
        "VaR 99 on USD returns",
    );
    assert!(
        (num(&levels[1]["var"], "var") - num(&levels[1]["var_without_fx"], "fixed")).abs() > 1.0,
        "currency risk changes the VaR"
    );
    // Historical: the book's CAD P&L over each past day, ranked; 252 scenarios at 99%: ⌊2.52⌋ = 2
    // may be worse, so the third-worst loss; at 95%: ⌊12.6⌋ = 12, the 13th worst.
    let mut pnl: Vec<f64> = (0..252)
        .map(|t| values.iter().zip(&cad_series).map(|(v, r)| v * r[t]).sum())
        .collect();
    pnl.sort_by(f64::total_cmp);
    assert_close(&levels[2]["var"], -pnl[12], "historical VaR 95");
    assert_close(&levels[3]["var"], -pnl[2], "historical VaR 99");
    // ES 97.5%: 6.3 scenarios, the six worst and 0.3 of the seventh.
    let es = -(pnl[..6].iter().sum::<f64>() + 0.3 * pnl[6]) / 6.3;
    let es_rows = j["expected_shortfall"].as_array().expect("ES");
    assert_eq!(es_rows[1]["method"], json!("historical"));
    assert_close(&es_rows[1]["expected_shortfall"], es, "historical ES 97.5");
    for (key, level) in [
        ("component_var", &levels[1]),
        ("historical_component_var", &levels[3]),
    ] {
        let total: f64 = comps.iter().map(|c| num(&c[key], key)).sum();
        assert!(
            (total - num(&level["var"], "var")).abs() < 0.05,
            "{key}: components sum to VaR"
        );
    }
    assert!(
        j["method"]
            .as_str()
            .is_some_and(|m| m.contains("historical simulation"))
    );
    // Figures are checked above; the snapshot is the layout (see `redact_history_figures`).
    insta::assert_snapshot!("var_estimate", redact_history_figures(&out.markdown));

    let ten = h
        .ok(
            "ibkr_var_estimate",
            json!({"confidence": 99, "horizon_days": 10, "method": "parametric"}),
        )
        .await;
    let l = &ten.json["levels"];
    assert_eq!(l.as_array().map(Vec::len), Some(1));
    assert_close(
        &l[0]["var"],
        2.3263478740408408 * sigma * 10f64.sqrt(),
        "10-day VaR 99",
    );
    assert_eq!(ten.json["historical_scenarios"], Value::Null);
    let e = h
        .err("ibkr_var_estimate", json!({"confidence": "90"}))
        .await;
    assert!(e.message.contains("`95`, `99`, `both`"), "{e}");
    assert_no_real_orders(&h);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stress_test_agrees_with_ibkr_margin_and_the_simulator() {
    let h = start().await;
    let sim = h.sim_account();
    let margin = h.ok("ibkr_margin", json!({})).await;
    let pre = h.ok("ibkr_stress_test", json!({})).await;
    let j = &pre.json;
    assert_eq!(j["scenario"], json!("preflight"));
    assert_eq!(
        j["drawdown_to_restriction_pct"],
        margin.json["summary"]["drawdown_to_restriction_pct"]
    );
    assert_eq!(
        j["drawdown_to_liquidation_pct"],
        margin.json["summary"]["drawdown_to_liquidation_pct"]
    );
    // The step search, redone here on the simulator's own numbers.
    let step = |pct: f64| {
        let d = pct / 100.0;
        let eq = sim.equity_with_loan - sim.gross_position_value * d;
        (
            eq - sim.init_margin * (1.0 - d),
            eq - sim.maint_margin * (1.0 - d),
        )
    };
    let first = |maint: bool| {
        (0..=100u32).find(|p| {
            let (i, m) = step(f64::from(*p));
            if maint { m < 0.0 } else { i < 0.0 }
        })
    };
    assert_eq!(j["drawdown_to_restriction_pct"], json!(first(false)));
    assert_eq!(j["drawdown_to_liquidation_pct"], json!(first(true)));
    insta::assert_snapshot!("stress_preflight", pre.markdown);

    let dd = h
        .ok(
            "ibkr_stress_test",
            json!({"scenario": "drawdown", "drawdown_pct": -20}),
        )
        .await;
    let s = &dd.json["stressed"];
    assert_close(
        &s["loss"],
        -0.2 * sim.gross_position_value,
        "loss = GPV × 20%",
    );
    assert_close(
        &s["stressed_equity"],
        sim.equity_with_loan - 0.2 * sim.gross_position_value,
        "stressed equity",
    );
    assert_close(&s["excess_maint"], step(20.0).1, "stressed excess (maint)");
    assert_eq!(s["forced_liquidation"], json!(step(20.0).1 < 0.0));
    insta::assert_snapshot!("stress_drawdown_20", dd.markdown);

    let gap = h.ok("ibkr_stress_test", json!({"scenario": "gap"})).await;
    let rows = gap.json["gap"].as_array().expect("gap rows");
    assert_eq!(rows.len(), 5);
    for r in rows {
        // Longs gap down by 2σ of their own daily returns.
        let vol = num(&r["daily_vol_pct"], "vol");
        assert!(
            // Both rounded to the 2 dp shown.
            (num(&r["move_pct"], "move") + 2.0 * vol).abs() <= 0.0151,
            "{r}"
        );
    }
    let total: f64 = rows.iter().map(|r| num(&r["pnl"], "pnl")).sum();
    assert_close(&gap.json["stressed"]["loss"], total, "loss = Σ gap P&L");

    let custom = h
        .ok(
            "ibkr_stress_test",
            json!({"shocks": "KRYX:-15, VLTX:-10%", "fx_pct": 5, "rates_bps": 100}),
        )
        .await;
    let cj = &custom.json;
    assert_eq!(
        cj["scenario"],
        json!("gap"),
        "shocks imply the gap scenario"
    );
    let kryx = cj["gap"]
        .as_array()
        .and_then(|a| a.iter().find(|r| r["symbol"] == "KRYX"))
        .expect("KRYX row");
    assert_eq!(kryx["explicit"], json!(true));
    assert_eq!(kryx["move_pct"], json!(-15.0));
    let sh = &cj["shocks"];
    assert_close(
        &sh["fx_pnl"],
        num(&sh["foreign_value"], "fx exposure") * 0.05,
        "FX P&L",
    );
    assert_close(
        &sh["rates_pnl"],
        -5.0 * 0.01 * num(&sh["equity_value"], "eq"),
        "rates P&L",
    );
    assert!(custom.markdown.contains("equity duration of 5.0 years"));
    insta::assert_snapshot!("stress_custom_shocks", custom.markdown);

    for (args, needle) in [
        (
            json!({"scenario": "meltdown"}),
            "`preflight`, `drawdown`, `gap`",
        ),
        (json!({"shocks": "KRYX-15"}), "malformed shock"),
        (
            json!({"shocks": "KRYX:-15", "scenario": "drawdown"}),
            "apply to scenario `gap`",
        ),
        (json!({"shocks": "AAPL:-15"}), "not held"),
        (json!({"drawdown_pct": 150}), "out of range"),
    ] {
        let e = h.err("ibkr_stress_test", args.clone()).await;
        assert!(e.message.contains(needle), "{args}: {e}");
    }
    assert_no_real_orders(&h);
    h.shutdown().await;
}

/// 500 symbols against IB's real pacing (daily bars meet only the 50-open-requests cap): the
/// first call covers every symbol with one request each; later calls (correlation again, VaR
/// over the same bars) send nothing new and the gateway never sees a violation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_symbols_reuse_the_bar_cache_within_pacing() {
    let h = start_big(500, default_config()).await;
    let first = h.ok("ibkr_correlation_matrix", json!({})).await;
    let after_first = h.sim.counters().requests(HIST);
    assert_eq!(after_first, 500, "one request per symbol");
    let covered = first.json["symbols"].as_array().map_or(0, Vec::len);
    assert_eq!(first.json["missing"], json!([]), "{}", first.markdown);
    assert_eq!(covered, 500, "every symbol in the matrix");
    assert_eq!(h.sim.counters().pacing_violations, 0);

    let second = h.ok("ibkr_correlation_matrix", json!({})).await;
    assert_eq!(second.json["symbols"], first.json["symbols"]);
    assert_eq!(
        second.json["average_pairwise"],
        first.json["average_pairwise"]
    );
    let var = h.ok("ibkr_var_estimate", json!({"confidence": "95"})).await;
    assert_eq!(
        var.json["components"].as_array().map_or(0, Vec::len),
        covered,
        "VaR covers the same cached symbols"
    );
    // VaR adds only the FX history of currencies outside the base (one request each, two when
    // IB quotes the pair the other way round).
    let (allowed, currencies) = world::fx_requests_allowed(&var.json, &h.sim_positions());
    let more = h.sim.counters().requests(HIST) - after_first;
    assert!(
        more <= allowed,
        "second correlation and VaR asked for {more} histories ({currencies})"
    );
    assert_no_real_orders(&h);
    h.shutdown().await;
}
