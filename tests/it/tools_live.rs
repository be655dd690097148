//! Live-data tools against the simulated gateway over real TCP: the FX rate equals the
//! simulator's, intraday/performance/technicals come from its bars, and bad arguments are tool
//! errors. Bar-derived numbers depend on the real date (the history ends today), so their
//! markdown is checked for shape, not snapshotted.

use crate::support::world;

use crate::support::assert_close;
// The hand-written reference indicators, independent of `analytics::technicals`.
use crate::reference::technicals;
use ibkr_cockpit::model::Bar;
use serde_json::json;
use world::start;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fx_rate_equals_the_simulator() {
    let h = start().await;
    let fx = h.sim.world().fx["USD.CAD"];
    let out = h.ok("ibkr_get_fx_rate", json!({"pair": "usdcad"})).await;
    assert_eq!(out.json["pair"], json!("USD.CAD"));
    assert_close(&out.json["rate"], fx, "USD.CAD");
    let inv = out.json["inverse"].as_f64().expect("inverse");
    assert!(
        (inv - 1.0 / fx).abs() <= 5e-6 + 1e-12,
        "inverse {inv} (5 dp shown)"
    );
    insta::assert_snapshot!("fx_usdcad", out.markdown);

    // The reverse pair is derived from the same quote.
    let out = h.ok("ibkr_get_fx_rate", json!({"pair": "CAD/USD"})).await;
    assert!((out.json["rate"].as_f64().expect("rate") - 1.0 / fx).abs() <= 5e-6 + 1e-12);

    let e = h.err("ibkr_get_fx_rate", json!({"pair": "USD"})).await;
    assert!(e.message.contains("six letters"), "{e}");
    let e = h
        .err("ibkr_get_fx_rate", json!({"pair": "USDCAD", "side": "bid"}))
        .await;
    assert!(e.message.contains("unknown field `side`"), "{e}");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intraday_minutes() {
    let h = start().await;
    let out = h
        .ok(
            "ibkr_get_intraday",
            json!({"symbol": "KRYX", "minutes": "15"}),
        )
        .await;
    let bars = out.json["bars"].as_array().expect("bars");
    assert!(!bars.is_empty() && bars.len() <= 15, "{} bars", bars.len());
    assert_close(
        &out.json["current"],
        h.sim.world().quotes["KRYX"].last,
        "current = live last",
    );
    assert!(
        out.markdown.contains("## One-Minute Bars"),
        "{}",
        out.markdown
    );
    let e = h
        .err(
            "ibkr_get_intraday",
            json!({"symbol": "KRYX", "minutes": 121}),
        )
        .await;
    assert!(e.message.contains("1 to 120"), "{e}");
    let e = h.err("ibkr_get_intraday", json!({"minutes": 10})).await;
    assert!(e.message.contains("missing field `symbol`"), "{e}");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_performance_ranks_best_first() {
    let h = start().await;
    let out = h
        .ok(
            "ibkr_compare_performance",
            json!({"symbols": "KRYX,VLTX,SPY", "duration": "3M"}),
        )
        .await;
    assert_eq!(out.json["duration"], json!("3 M"));
    let rows = out.json["ranking"].as_array().expect("ranking");
    assert_eq!(rows.len(), 3);
    let rets: Vec<f64> = rows
        .iter()
        .map(|r| r["return_pct"].as_f64().expect("return"))
        .collect();
    assert!(
        rets.windows(2).all(|w| w[0] >= w[1]),
        "best first: {rets:?}"
    );
    assert_close(&out.json["spread_pct"], rets[0] - rets[2], "spread");
    assert!(
        rows.iter()
            .all(|r| r["max_drawdown_pct"].as_f64().is_some_and(|d| d <= 0.0))
    );

    // The 3-month return is the simulator's own daily closes, first to last.
    let bars = h
        .ok(
            "ibkr_get_historical_bars",
            json!({"symbol": "KRYX", "duration": "3 M"}),
        )
        .await;
    let closes: Vec<f64> = bars.json["bars"]
        .as_array()
        .expect("bars")
        .iter()
        .filter_map(|b| b["close"].as_f64())
        .collect();
    let expected = (closes[closes.len() - 1] / closes[0] - 1.0) * 100.0;
    let kryx = rows
        .iter()
        .find(|r| r["symbol"] == json!("KRYX"))
        .expect("KRYX row");
    assert_close(
        &kryx["return_pct"],
        (expected * 1e4).round() / 1e4,
        "KRYX return",
    );

    let e = h
        .err("ibkr_compare_performance", json!({"symbols": ["KRYX"]}))
        .await;
    assert!(e.message.contains("at least 2"), "{e}");
    let e = h
        .err(
            "ibkr_compare_performance",
            json!({"symbols": "KRYX,VLTX", "duration": "2 W"}),
        )
        .await;
    assert!(e.message.contains("`YTD`"), "{e}");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn technicals_on_a_year_of_daily_bars() {
    let h = start().await;
    let out = h.ok("ibkr_technicals", json!({"symbol": "KRYX"})).await;
    let j = &out.json;
    assert!(
        j["bars_used"].as_u64().is_some_and(|n| n >= 200),
        "a year of bars: {}",
        j["bars_used"]
    );
    let rsi = j["momentum"]["rsi14"].as_f64().expect("rsi");
    assert!((0.0..=100.0).contains(&rsi));
    let (u, m, l) = (
        j["volatility"]["bollinger_upper"].as_f64().expect("upper"),
        j["volatility"]["bollinger_middle"]
            .as_f64()
            .expect("middle"),
        j["volatility"]["bollinger_lower"].as_f64().expect("lower"),
    );
    assert!(u > m && m > l);
    assert_close(
        &j["trend"]["sma20"],
        m,
        "Bollinger middle is the 20-day SMA",
    );
    assert!(j["levels"]["high_52w"].as_f64() >= j["price"].as_f64());

    // Every indicator equals the hand-written reference (Wilder's RSI and ATR, as charting
    // platforms draw them) over the same year of the simulator's bars. The tool's JSON is rounded
    // to 4 decimals, hence the half-unit allowance.
    let bars = h
        .ok(
            "ibkr_get_historical_bars",
            json!({"symbol": "KRYX", "duration": "1 Y", "bar_size": "1 day"}),
        )
        .await;
    let bars: Vec<Bar> = bars.json["bars"]
        .as_array()
        .expect("bars")
        .iter()
        .map(|b| Bar {
            open: b["open"].as_f64().expect("open"),
            high: b["high"].as_f64().expect("high"),
            low: b["low"].as_f64().expect("low"),
            close: b["close"].as_f64().expect("close"),
            ..Bar::default()
        })
        .collect();
    assert_eq!(j["bars_used"], json!(bars.len()), "same bars");
    let closes: Vec<f64> = bars.iter().map(|b| b.close).collect();
    let near = |got: &serde_json::Value, want: Option<f64>, what: &str| {
        let (got, want) = (got.as_f64().expect(what), want.expect(what));
        assert!(
            // 2 dp shown; the tool rounds its own value, a hair from the reference's.
            (got - want).abs() <= 0.006 + 1e-9 * want.abs(),
            "{what}: tool {got} vs reference {want}"
        );
    };
    near(&j["trend"]["sma50"], technicals::sma(&closes, 50), "SMA 50");
    near(&j["trend"]["ema26"], technicals::ema(&closes, 26), "EMA 26");
    near(
        &j["momentum"]["rsi14"],
        technicals::rsi(&closes, 14),
        "RSI 14",
    );
    let macd = technicals::macd(&closes, 12, 26, 9);
    near(
        &j["momentum"]["macd"],
        macd.as_ref().map(|m| m.macd),
        "MACD",
    );
    near(
        &j["momentum"]["macd_signal"],
        macd.as_ref().map(|m| m.signal),
        "MACD signal",
    );
    near(
        &j["volatility"]["bollinger_upper"],
        technicals::bollinger(&closes, 20, 2.0).map(|b| b.upper),
        "Bollinger upper",
    );
    near(
        &j["volatility"]["atr14"],
        technicals::atr(&bars, 14),
        "ATR 14",
    );

    for section in [
        "## Trend",
        "## Momentum",
        "## Volatility",
        "## Levels",
        "## Signals",
    ] {
        assert!(
            out.markdown.contains(section),
            "{section} in\n{}",
            out.markdown
        );
    }

    let out = h
        .ok(
            "ibkr_technicals",
            json!({"symbol": "KRYX", "sections": "momentum,LEVELS"}),
        )
        .await;
    assert!(
        out.json["trend"].is_null()
            && out.json["momentum"].is_object()
            && out.json["levels"].is_object()
    );
    assert!(!out.markdown.contains("## Trend"));

    let e = h
        .err(
            "ibkr_technicals",
            json!({"symbol": "KRYX", "sections": "trend,vibes"}),
        )
        .await;
    assert!(e.message.contains("`volatility`"), "{e}");
    let e = h.err("ibkr_technicals", json!({"symbol": "ZZZZQ"})).await;
    assert!(e.message.contains("ZZZZQ"), "{e}");
    h.shutdown().await;
}
