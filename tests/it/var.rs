//! VaR and expected shortfall of a book in its base currency (`analytics::book_var`,
//! `analytics::historical`) against references worked out here: by hand on a 20-return series,
//! from base-currency closes (price × USD.CAD) for a CAD account holding USD stocks, and from the
//! committed numpy reference for a book entirely in its base currency.

use ibkr_cockpit::analytics::base_currency::{self, SplitReturns};
use ibkr_cockpit::analytics::book_var::{self, BookInput};
use ibkr_cockpit::analytics::{historical, returns};
use serde_json::Value;

/// Standard normal quantiles (scipy.stats.norm.ppf).
const Z95: f64 = 1.644_853_626_951_472_2;
const Z99: f64 = 2.326_347_874_040_840_8;

#[track_caller]
fn close(got: f64, want: f64, what: &str) {
    let tol = 1e-9 * got.abs().max(want.abs()).max(1.0);
    assert!((got - want).abs() <= tol, "{what}: got {got}, want {want}");
}

/// Percent returns of one holding over 20 days: the worst is −5.0% (day 10), the second worst
/// −3.0% (day 4), the third −2.2% (day 14).
const TWENTY: [f64; 20] = [
    1.2, -0.8, 0.5, -3.0, 2.1, -0.4, 0.9, -1.5, 0.3, -5.0, 1.1, -0.2, 0.7, -2.2, 0.4, 1.6, -0.9,
    0.2, -1.1, 0.6,
];

fn twenty() -> Vec<f64> {
    TWENTY.iter().map(|p| p / 100.0).collect()
}

fn in_base(r: &[f64]) -> SplitReturns {
    base_currency::combine(r, None).expect("split")
}

#[test]
fn historical_var_and_es_on_twenty_returns_by_hand() {
    let split = [in_base(&twenty())];
    let dates: Vec<i64> = (1..=20).collect();
    let book = BookInput {
        values: &[100_000.0],
        returns: &split,
        dates: &dates,
    };
    let h1 = book_var::historical(book, &[0.95, 0.99], 1).expect("historical");
    assert_eq!(h1.scenarios, 20);
    // 95%: one scenario in twenty (5%) may be worse, so VaR is the second-worst loss, 3% of
    // 100,000, on day 4.
    close(h1.var[0].value, 3_000.0, "VaR 95");
    assert_eq!(h1.var[0].scenario_date, Some(4));
    // 99%: 1% of 20 scenarios is 0.2, so no scenario may be worse: the worst loss, 5%.
    close(h1.var[1].value, 5_000.0, "VaR 99");
    // ES 97.5%: the worst 2.5% of 20 scenarios is half a scenario: the worst loss.
    close(h1.es.value, 5_000.0, "ES 97.5");
    assert_eq!(h1.es.currency_part, 0.0);
    close(h1.var_price_only[0], 3_000.0, "VaR 95 with FX fixed");
    close(h1.var_price_only[1], 5_000.0, "VaR 99 with FX fixed");

    // ES at 90% is the mean of the two worst (5,000 + 3,000) / 2; at 87.5% the worst 2.5
    // scenarios: (5,000 + 3,000 + 0.5 × 2,200) / 2.5 = 3,640.
    let pnl = vec![twenty().iter().map(|r| 100_000.0 * r).collect::<Vec<f64>>()];
    close(
        historical::expected_shortfall(&pnl, 0.90).unwrap().value,
        4_000.0,
        "ES 90",
    );
    close(
        historical::expected_shortfall(&pnl, 0.875).unwrap().value,
        3_640.0,
        "ES 87.5",
    );

    // Two days, overlapping windows: 19 scenarios; the worst is day 9–10, +0.3% then −5.0%:
    // 1.003 × 0.95 − 1 = −4.715%. At 95%, 0.95 of a scenario may be worse: none, so the worst.
    let h2 = book_var::historical(book, &[0.95], 2).expect("2-day");
    assert_eq!(h2.scenarios, 19);
    close(h2.var[0].value, 4_715.0, "2-day VaR 95");
    assert_eq!(h2.var[0].scenario_date, Some(10));
}

#[test]
fn historical_components_are_each_holdings_loss_in_the_tail_scenarios() {
    // A long 60,000 in the 20-return series and a short −40,000 in a second series.
    let a = twenty();
    let b: Vec<f64> = TWENTY.iter().rev().map(|p| p / 200.0).collect();
    let values = [60_000.0, -40_000.0];
    let split = [in_base(&a), in_base(&b)];
    let dates: Vec<i64> = (0..20).collect();
    let got = book_var::historical(
        BookInput {
            values: &values,
            returns: &split,
            dates: &dates,
        },
        &[0.95],
        1,
    )
    .expect("historical");
    // Reference: rank the book's daily P&L by hand.
    let pnl: Vec<(f64, f64)> = (0..20)
        .map(|t| (values[0] * a[t], values[1] * b[t]))
        .collect();
    let mut order: Vec<usize> = (0..20).collect();
    order.sort_by(|&x, &y| (pnl[x].0 + pnl[x].1).total_cmp(&(pnl[y].0 + pnl[y].1)));
    let second = order[1];
    close(got.var[0].value, -(pnl[second].0 + pnl[second].1), "VaR 95");
    close(got.var[0].components[0], -pnl[second].0, "component A");
    close(got.var[0].components[1], -pnl[second].1, "component B");
    let worst = order[0];
    close(got.es.components[0], -pnl[worst].0, "ES component A");
    close(got.es.components[1], -pnl[worst].1, "ES component B");
}

/// A fixed-seed LCG in [0, 1), so the test's series need no crate and never change.
fn uniform(state: &mut u64) -> f64 {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    (*state >> 11) as f64 / (1u64 << 53) as f64
}

/// Closes of a random walk with daily moves up to ±`step`.
fn walk(state: &mut u64, start: f64, step: f64, n: usize) -> Vec<f64> {
    let mut c = start;
    (0..n)
        .map(|_| {
            c *= 1.0 + step * (2.0 * uniform(state) - 1.0);
            c
        })
        .collect()
}

fn pct_change(closes: &[f64]) -> Vec<f64> {
    closes.windows(2).map(|w| w[1] / w[0] - 1.0).collect()
}

fn sample_cov(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    x.iter()
        .zip(y)
        .map(|(a, b)| (a - mx) * (b - my))
        .sum::<f64>()
        / (n - 1.0)
}

fn book_sigma(values: &[f64], rets: &[Vec<f64>]) -> f64 {
    let mut var = 0.0;
    for (i, vi) in values.iter().enumerate() {
        for (j, vj) in values.iter().enumerate() {
            var += vi * vj * sample_cov(&rets[i], &rets[j]);
        }
    }
    var.sqrt()
}

#[test]
fn cad_account_with_usd_stocks_carries_currency_risk() {
    let mut seed = 0xCAD0_0005_u64;
    let n = 61;
    let usd_stocks: Vec<Vec<f64>> = (0..3).map(|_| walk(&mut seed, 50.0, 0.03, n)).collect();
    let cad_stock = walk(&mut seed, 30.0, 0.02, n);
    let usdcad = walk(&mut seed, 1.36, 0.006, n);
    let shares = [300.0, -150.0, 500.0, 800.0];
    let fx_now = usdcad[n - 1];
    let values: Vec<f64> = vec![
        shares[0] * usd_stocks[0][n - 1] * fx_now,
        shares[1] * usd_stocks[1][n - 1] * fx_now,
        shares[2] * usd_stocks[2][n - 1] * fx_now,
        shares[3] * cad_stock[n - 1],
    ];

    // Reference, from closes: a USD stock's CAD close is its price × USD.CAD.
    let cad_closes: Vec<Vec<f64>> = usd_stocks
        .iter()
        .map(|p| p.iter().zip(&usdcad).map(|(p, fx)| p * fx).collect())
        .chain(std::iter::once(cad_stock.clone()))
        .collect();
    let base_rets: Vec<Vec<f64>> = cad_closes.iter().map(|c| pct_change(c)).collect();
    let local_rets: Vec<Vec<f64>> = usd_stocks
        .iter()
        .chain(std::iter::once(&cad_stock))
        .map(|c| pct_change(c))
        .collect();
    let sigma = book_sigma(&values, &base_rets);
    let sigma_local = book_sigma(&values, &local_rets);
    // The book's daily P&L and its currency part (base return − local return, per holding).
    let days = n - 1;
    let pnl: Vec<f64> = (0..days)
        .map(|t| (0..4).map(|i| values[i] * base_rets[i][t]).sum())
        .collect();
    let fx_pnl: Vec<f64> = (0..days)
        .map(|t| {
            (0..4)
                .map(|i| values[i] * (base_rets[i][t] - local_rets[i][t]))
                .sum()
        })
        .collect();
    let fx_line_99 = Z99 * sample_cov(&fx_pnl, &pnl) / sigma;

    // The same book through analytics: price returns combined with USD.CAD's returns.
    let fx_rets = returns::simple_returns(&usdcad).unwrap();
    let split: Vec<SplitReturns> = usd_stocks
        .iter()
        .map(|p| base_currency::combine(&returns::simple_returns(p).unwrap(), Some(&fx_rets)))
        .chain(std::iter::once(base_currency::combine(
            &returns::simple_returns(&cad_stock).unwrap(),
            None,
        )))
        .collect::<Result<_, _>>()
        .unwrap();
    let dates: Vec<i64> = (1..=days as i64).collect();
    let book = BookInput {
        values: &values,
        returns: &split,
        dates: &dates,
    };
    let p = book_var::parametric(book, &[0.95, 0.99], 1).expect("parametric");
    close(p.sigma_daily.unwrap(), sigma, "σ in CAD");
    close(p.var[0].value, Z95 * sigma, "VaR 95");
    close(p.var[1].value, Z99 * sigma, "VaR 99");
    close(p.var[1].currency_part, fx_line_99, "currency line 99");
    close(
        p.var_price_only[1],
        Z99 * sigma_local,
        "VaR 99 with FX fixed",
    );
    assert!(
        (p.var[1].value - p.var_price_only[1]).abs() > 1e-6 * p.var[1].value,
        "currency risk changes the VaR"
    );
    // ES 97.5% under normality: σ φ(z) / 2.5%.
    let z975: f64 = 1.959_963_984_540_054;
    let phi = (-0.5 * z975 * z975).exp() / (2.0 * std::f64::consts::PI).sqrt();
    close(p.es.value, sigma * phi / 0.025, "ES 97.5");
    // Ten days: √10 scaling.
    let p10 = book_var::parametric(book, &[0.99], 10).expect("10-day");
    close(
        p10.var[0].value,
        Z99 * sigma * 10f64.sqrt(),
        "10-day VaR 99",
    );

    // Historical: the CAD P&L scenarios ranked by hand. 60 scenarios at 95%: 3 may be worse,
    // so the 4th worst; ES 97.5%: 1.5 scenarios, (worst + ½ second) / 1.5.
    let mut order: Vec<usize> = (0..days).collect();
    order.sort_by(|&a, &b| pnl[a].total_cmp(&pnl[b]));
    let h = book_var::historical(book, &[0.95, 0.99], 1).expect("historical");
    close(h.var[0].value, -pnl[order[3]], "historical VaR 95");
    close(
        h.var[0].currency_part,
        -fx_pnl[order[3]],
        "historical currency line 95",
    );
    close(h.var[1].value, -pnl[order[0]], "historical VaR 99");
    close(
        h.es.value,
        -(pnl[order[0]] + 0.5 * pnl[order[1]]) / 1.5,
        "historical ES 97.5",
    );
    for i in 0..4 {
        close(
            h.var[0].components[i],
            -values[i] * base_rets[i][order[3]],
            "historical component",
        );
    }
}

fn reference() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/analytics_reference.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("reference file")).expect("json")
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

/// A book entirely in its base currency has no currency part: its VaR and components are the
/// parametric numbers numpy computed from price returns alone (the tool's answer before
/// currency risk was added).
#[test]
fn a_book_in_its_base_currency_keeps_its_var() {
    let r = reference();
    let values = f64s(&r["values"]);
    let split: Vec<SplitReturns> = r["symbols"]
        .as_array()
        .expect("symbols")
        .iter()
        .map(|s| {
            in_base(&pct_change(&f64s(
                &r["closes"][s.as_str().expect("symbol")],
            )))
        })
        .collect();
    let dates: Vec<i64> = (0..split[0].total.len() as i64).collect();
    let book = BookInput {
        values: &values,
        returns: &split,
        dates: &dates,
    };
    for horizon in [1, 10] {
        let got = book_var::parametric(book, &[0.95, 0.99], horizon).expect("parametric");
        for (i, c) in ["95", "99"].iter().enumerate() {
            let want = &r["var"][format!("{c}_{horizon}")];
            let what = format!("VaR {c} over {horizon} d");
            close(got.var[i].value, want["var"].as_f64().expect("var"), &what);
            for (g, w) in got.var[i].components.iter().zip(f64s(&want["component"])) {
                close(*g, w, &format!("{what} component"));
            }
            assert_eq!(got.var[i].currency_part, 0.0, "{what}: no currency part");
            assert_eq!(
                got.var_price_only[i], got.var[i].value,
                "{what}: no FX effect"
            );
        }
        close(
            got.sigma_daily.expect("σ"),
            r["sigma_daily"].as_f64().expect("σ"),
            "σ",
        );
    }
}
