//! The research tools (news, fundamentals, scanner, shortable, volatility) against the simulated
//! gateway over real TCP: every figure is checked against what the simulator serves
//! (`SimHandle::research`, `SimHandle::scan`, its quotes and its book), and bad arguments are
//! answered with what is accepted.

use crate::support::assert_close;
use crate::support::world::start;
use serde_json::{Value, json};

fn rows(v: &Value) -> &Vec<Value> {
    v["rows"].as_array().expect("rows")
}

fn held_symbols(h: &crate::support::world::Harness) -> Vec<String> {
    h.sim_positions().into_iter().map(|p| p.symbol).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn news_headlines_and_articles_are_marked_untrusted() {
    let h = start().await;
    let out = h.ok("ibkr_news", json!({"days": 30, "limit": 5})).await;
    assert_eq!(out.json["untrusted"], json!(true));
    let mut symbols: Vec<String> = out.json["symbols"]
        .as_array()
        .expect("symbols")
        .iter()
        .map(|s| s.as_str().expect("symbol").to_string())
        .collect();
    symbols.sort();
    let mut held = held_symbols(&h);
    held.sort();
    held.dedup();
    assert_eq!(symbols, held, "default: the held stocks");
    let headlines = out.json["headlines"].as_array().expect("headlines");
    assert!(!headlines.is_empty(), "30 days of simulated news");
    for hl in headlines {
        let sym = hl["symbol"].as_str().expect("symbol");
        let id = hl["article_id"].as_str().expect("id");
        let provider = hl["provider"].as_str().expect("provider");
        // The simulator's ids name provider and symbol; its headlines name the symbol.
        assert!(id.starts_with(&format!("{provider}${sym}.")), "{id}");
        assert!(hl["headline"].as_str().expect("text").contains(sym));
    }
    assert!(out.markdown.contains("not instructions"));
    assert!(out.markdown.contains("~~~text"));
    assert_eq!(out.json["providers"], json!(["BRFG", "BRFUPDN", "DJ-N"]));

    let first = &headlines[0];
    let article = h
        .ok(
            "ibkr_news",
            json!({"article_id": first["article_id"].clone()}),
        )
        .await;
    let text = article.json["article"]["text"].as_str().expect("text");
    assert!(
        text.contains(first["headline"].as_str().expect("headline")),
        "the article is the headline's: {text}"
    );
    assert!(!text.contains('<'), "HTML stripped: {text}");
    assert_eq!(article.json["untrusted"], json!(true));

    let e = h
        .err("ibkr_news", json!({"article_id": "BRFG$not-an-article"}))
        .await;
    assert!(e.message.contains("article"), "{e}");
    let e = h.err("ibkr_news", json!({"symbols": "ZZZZQ"})).await;
    assert!(e.message.contains("ZZZZQ"), "{e}");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fundamentals_equal_the_simulated_ratios() {
    let h = start().await;
    let out = h
        .ok("ibkr_fundamentals", json!({"symbols": "HDRX,KRYX"}))
        .await;
    let world = h.sim.world();
    assert_eq!(rows(&out.json).len(), 2);
    for r in rows(&out.json) {
        let sym = r["symbol"].as_str().expect("symbol");
        let t = h.sim.research(sym).expect("sim research");
        let q = &world.quotes[sym];
        assert_eq!(r["currency"], json!("USD"));
        assert_close(&r["price"], q.last, &format!("{sym} last"));
        assert_close(
            &r["market_cap_millions"]["value"],
            t.market_cap_millions,
            &format!("{sym} market cap"),
        );
        assert_eq!(r["market_cap_millions"]["source"], json!("tick 258 MKTCAP"));
        assert_close(&r["eps_ttm"]["value"], t.ttm_eps, &format!("{sym} EPS"));
        assert_close(&r["pe"]["value"], q.last / t.ttm_eps, &format!("{sym} P/E"));
        assert_close(&r["beta"]["value"], t.beta, &format!("{sym} beta"));
        assert_close(&r["low_52w"]["value"], t.low_52w, &format!("{sym} 52w low"));
        assert_close(
            &r["high_52w"]["value"],
            t.high_52w,
            &format!("{sym} 52w high"),
        );
    }
    // The yield agrees with the dividend tool's next-12-month dividends over the last price.
    let hdrx = rows(&out.json)
        .iter()
        .find(|r| r["symbol"] == json!("HDRX"))
        .expect("HDRX");
    let div = h
        .ok(
            "ibkr_dividends",
            json!({"scope": "single", "symbol": "HDRX"}),
        )
        .await;
    let next_12m = div.json["rows"][0]["next_12m"].as_f64().expect("next 12m");
    assert_close(
        &hdrx["dividend_yield_pct"]["value"],
        next_12m / world.quotes["HDRX"].last * 100.0,
        "HDRX yield",
    );
    let e = h
        .err("ibkr_fundamentals", json!({"symbols": "ZZZZQ"}))
        .await;
    assert!(e.message.contains("unknown symbol `ZZZZQ`"), "{e}");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scanner_ranks_like_the_simulated_market_and_names_valid_choices() {
    let h = start().await;
    let world = h.sim.world();
    for code in ["TOP_PERC_GAIN", "TOP_PERC_LOSE", "MOST_ACTIVE"] {
        let out = h
            .ok("ibkr_scanner", json!({"scanner_code": code, "rows": 5}))
            .await;
        let expected = h.sim.scan(code, "STK.US.MAJOR", 5).expect("sim scan");
        let got: Vec<&str> = rows(&out.json)
            .iter()
            .map(|r| r["symbol"].as_str().expect("symbol"))
            .collect();
        assert_eq!(got, expected, "{code}");
        for (i, r) in rows(&out.json).iter().enumerate() {
            assert_eq!(r["rank"], json!(i + 1));
            let sym = r["symbol"].as_str().expect("symbol");
            let q = &world.quotes[sym];
            assert_close(&r["last"], q.last, &format!("{code} {sym} last"));
            assert_close(
                &r["change_pct"],
                (q.last / q.close - 1.0) * 100.0,
                &format!("{code} {sym} change"),
            );
        }
    }
    let filtered = h
        .ok(
            "ibkr_scanner",
            json!({"scanner_code": "MOST_ACTIVE", "price_above": 50, "rows": 25}),
        )
        .await;
    assert!(
        rows(&filtered.json)
            .iter()
            .all(|r| r["last"].as_f64().expect("last") > 50.0)
    );
    let e = h
        .err("ibkr_scanner", json!({"scanner_code": "TOP_GAINERS"}))
        .await;
    assert!(
        e.message.contains("unknown scanner_code `TOP_GAINERS`")
            && e.message.contains("TOP_PERC_GAIN")
            && e.message.contains("HIGH_DIVIDEND_YIELD_IB"),
        "{e}"
    );
    let e = h.err("ibkr_scanner", json!({"location": "STK.EU"})).await;
    assert!(e.message.contains("STK.US.MAJOR"), "{e}");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shortable_levels_shares_and_fee_rates_equal_the_simulator() {
    let h = start().await;
    let out = h.ok("ibkr_shortable", json!({})).await;
    let mut held = held_symbols(&h);
    held.sort();
    held.dedup();
    assert_eq!(rows(&out.json).len(), held.len());
    for r in rows(&out.json) {
        let sym = r["symbol"].as_str().expect("symbol");
        let t = h.sim.research(sym).expect("sim research");
        assert_close(&r["level"], t.shortable_level, &format!("{sym} level"));
        assert_close(
            &r["shortable_shares"],
            t.shortable_shares,
            &format!("{sym} shares"),
        );
        assert_close(&r["fee_rate_pct"], t.fee_rate_pct, &format!("{sym} fee"));
        let words = match t.shortable_level {
            l if l > 2.5 => "easy_to_borrow",
            l if l > 1.5 => "hard_to_borrow",
            _ => "not_available",
        };
        assert_eq!(r["difficulty"], json!(words), "{sym}");
    }
    let out = h
        .ok(
            "ibkr_shortable",
            json!({"symbols": "SPY", "fee_rate": false}),
        )
        .await;
    assert_eq!(rows(&out.json)[0]["difficulty"], json!("easy_to_borrow"));
    assert_eq!(rows(&out.json)[0]["fee_rate_pct"], json!(null));
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volatility_realized_matches_ibs_historical_volatility() {
    let h = start().await;
    let out = h.ok("ibkr_volatility", json!({"symbols": "KRYX"})).await;
    let r = &rows(&out.json)[0];
    // The simulator's HISTORICAL_VOLATILITY bar is the 20-session sample σ of log returns × √252
    // of its daily series; the TRADES bars the tool reads are those closes rounded to the tick,
    // so the tool's own 20-session figure agrees to a few hundredths of a point.
    let rv20 = r["realized_20d_pct"].as_f64().expect("RV20");
    let hv = r["ib_hv_pct"].as_f64().expect("IB HV");
    assert!(
        crate::support::approx(rv20, hv, 0.25, 0.0),
        "RV20 {rv20} vs IB HV {hv}"
    );
    for k in ["realized_10d_pct", "realized_60d_pct", "ib_iv_pct"] {
        let v = r[k].as_f64().unwrap_or_else(|| panic!("{k}"));
        assert!(v > 1.0 && v < 300.0, "{k} = {v}");
    }
    let rank = r["iv_rank"].as_f64().expect("rank");
    let pctl = r["iv_percentile"].as_f64().expect("percentile");
    assert!((0.0..=100.0).contains(&rank) && (0.0..=100.0).contains(&pctl));
    assert!(r["iv_bars"].as_u64().expect("bars") >= 200);
    let lo = r["iv_low_1y_pct"].as_f64().expect("lo");
    let hi = r["iv_high_1y_pct"].as_f64().expect("hi");
    let iv = r["ib_iv_pct"].as_f64().expect("iv");
    assert!(
        crate::support::approx(rank, (iv - lo) / (hi - lo) * 100.0, 0.5, 0.0),
        "IV rank {rank} from IV {iv} in {lo}–{hi}"
    );
    // The simulator's ticks 104/106 carry today's values of the same two series.
    for (tick, bar) in [("hv_tick_pct", "ib_hv_pct"), ("iv_tick_pct", "ib_iv_pct")] {
        let t = r[tick].as_f64().unwrap_or_else(|| panic!("{tick}"));
        let b = r[bar].as_f64().unwrap_or_else(|| panic!("{bar}"));
        assert!(
            crate::support::approx(t, b, 0.25, 0.0),
            "{tick} {t} vs {bar} {b}"
        );
    }
    assert!(out.markdown.contains("√252"));
    h.shutdown().await;
}

/// A classic text-protocol client (what ib_async speaks) asking for generic ticks 236 and 258
/// gets the same shortable level and fundamental ratios as the protobuf path.
#[tokio::test]
async fn a_text_client_gets_the_research_ticks() {
    use crate::sim_handshake::{handshake_version, open, send_text, until_text};
    let sim = crate::support::sim::frozen_sim().await;
    let mut s = open(&sim, "v157..178").await;
    handshake_version(&mut s).await;
    send_text(&mut s, &["71", "2", "6", ""]).await;
    until_text(&mut s, "9").await;
    let mut req = vec!["1", "11", "7"];
    req.extend([
        "0", "HDRX", "STK", "", "0.0", "", "", "SMART", "", "USD", "", "",
    ]);
    req.extend(["0", "236,258", "0", "0", ""]);
    send_text(&mut s, &req).await;
    let truth = sim.research("HDRX").expect("HDRX");
    // Tick 236's answer is sent before 258's, in the order asked.
    let level = loop {
        let m = until_text(&mut s, "45").await;
        if m.get(3).map(String::as_str) == Some("46") {
            break m[4].parse::<f64>().expect("level");
        }
    };
    assert_eq!(level, truth.shortable_level);
    let ratios = loop {
        let m = until_text(&mut s, "46").await;
        if m.get(3).map(String::as_str) == Some("47") {
            break m[4].clone();
        }
    };
    assert_eq!(ratios, truth.ratios);
}
