//! Analytics against an independent numpy/pandas reference (tests/data/make_reference.py,
//! output committed as tests/data/analytics_reference.json), to 1e-9 relative.

use ibkr_cockpit::analytics::returns::{self, ReturnKind};
use ibkr_cockpit::analytics::{beta, concentration, drawdown, stats, var};
use serde_json::Value;

fn reference() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/analytics_reference.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn matrix(v: &Value) -> Vec<Vec<f64>> {
    v.as_array().unwrap().iter().map(f64s).collect()
}

/// Relative agreement to 1e-9, with an absolute floor for values that are essentially zero.
#[track_caller]
fn assert_close(got: f64, want: f64, what: &str) {
    let tol = 1e-9 * got.abs().max(want.abs()).max(1e-6);
    assert!((got - want).abs() <= tol, "{what}: got {got}, want {want}");
}

#[track_caller]
fn assert_all_close(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_close(*g, *w, &format!("{what}[{i}]"));
    }
}

/// Daily returns of the 20 stocks, in the reference's symbol order.
fn stock_returns(r: &Value) -> Vec<Vec<f64>> {
    r["symbols"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| returns::simple_returns(&f64s(&r["closes"][s.as_str().unwrap()])).unwrap())
        .collect()
}

#[test]
fn means_and_sample_standard_deviations() {
    let r = reference();
    let rets = stock_returns(&r);
    assert_eq!(rets[0].len(), 252);
    let means: Vec<f64> = rets.iter().map(|x| stats::mean(x)).collect();
    let stds: Vec<f64> = rets.iter().map(|x| stats::sample_std(x)).collect();
    assert_all_close(&means, &f64s(&r["means"]), "mean");
    assert_all_close(&stds, &f64s(&r["stds"]), "std");
}

#[test]
fn log_returns_match() {
    let r = reference();
    let got = returns::log_returns(&f64s(&r["closes"]["S00"])).unwrap();
    assert_all_close(&got, &f64s(&r["log_returns_S00"]), "log return");
}

#[test]
fn covariance_and_correlation_matrices_match_pandas() {
    let r = reference();
    let rets = stock_returns(&r);
    let cov = stats::covariance_matrix(&rets).unwrap();
    let corr = stats::correlation_matrix(&rets).unwrap();
    for (i, (c, want)) in cov.iter().zip(matrix(&r["covariance"])).enumerate() {
        assert_all_close(c, &want, &format!("cov row {i}"));
    }
    for (i, (c, want)) in corr.iter().zip(matrix(&r["correlation"])).enumerate() {
        assert_all_close(c, &want, &format!("corr row {i}"));
    }
    // Pairwise functions agree with the matrices.
    assert_close(
        stats::pearson(&rets[2], &rets[7]).unwrap(),
        corr[2][7],
        "pearson",
    );
    assert_close(
        stats::covariance(&rets[2], &rets[7]).unwrap(),
        cov[2][7],
        "covariance",
    );
}

#[test]
fn parametric_var_and_components_match() {
    let r = reference();
    let cov = stats::covariance_matrix(&stock_returns(&r)).unwrap();
    let values = f64s(&r["values"]);
    for key in ["95_1", "95_10", "99_1", "99_10"] {
        let want = &r["var"][key];
        let got = var::parametric_var(
            &values,
            &cov,
            want["confidence"].as_f64().unwrap(),
            want["horizon_days"].as_f64().unwrap(),
        )
        .unwrap();
        assert_close(got.z, want["z"].as_f64().unwrap(), &format!("{key} z"));
        assert_close(got.sigma_daily, r["sigma_daily"].as_f64().unwrap(), "sigma");
        assert_close(
            got.var,
            want["var"].as_f64().unwrap(),
            &format!("{key} VaR"),
        );
        assert_all_close(
            &got.marginal,
            &f64s(&want["marginal"]),
            &format!("{key} marginal"),
        );
        assert_all_close(
            &got.component,
            &f64s(&want["component"]),
            &format!("{key} component"),
        );
        // Euler: components add up to the total.
        assert_close(got.component.iter().sum(), got.var, "Σ component");
        assert_close(got.component_share.iter().sum(), 1.0, "Σ share");
    }
}

#[test]
fn betas_against_the_benchmark_match() {
    let r = reference();
    let spy = returns::simple_returns(&f64s(&r["closes"]["SPY"])).unwrap();
    let rets = stock_returns(&r);
    let betas: Vec<f64> = rets.iter().map(|x| beta::beta(x, &spy).unwrap()).collect();
    assert_all_close(&betas, &f64s(&r["betas"]), "beta");
    let values = f64s(&r["values"]);
    let pairs: Vec<(f64, f64)> = values.iter().copied().zip(betas.iter().copied()).collect();
    let pb = beta::portfolio_beta(&pairs);
    assert_close(
        pb.beta,
        r["portfolio_beta"].as_f64().unwrap(),
        "portfolio beta",
    );
}

#[test]
fn drawdown_of_the_nlv_path_matches() {
    let r = reference();
    let dd = &r["drawdown"];
    let points: Vec<(i64, f64)> = dd["nlv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_i64().unwrap(), p[1].as_f64().unwrap()))
        .collect();
    let got = drawdown::drawdowns(&points, None).unwrap();
    let series: Vec<f64> = got.series.iter().map(|p| p.drawdown).collect();
    assert_all_close(&series, &f64s(&dd["series"]), "drawdown series");
    assert_close(
        got.current,
        dd["current"].as_f64().unwrap(),
        "current drawdown",
    );
    let max = got.max.unwrap();
    assert_close(
        max.drawdown,
        dd["max_drawdown"].as_f64().unwrap(),
        "max drawdown",
    );
    assert_eq!(max.peak_time, dd["peak_day"].as_i64());
    assert_eq!(max.trough_time, dd["trough_day"].as_i64().unwrap());
    assert_eq!(max.recovery_time, dd["recovery_day"].as_i64());
}

#[test]
fn concentration_matches() {
    let r = reference();
    let values = f64s(&r["values"]);
    assert_close(
        concentration::hhi(&values),
        r["hhi"].as_f64().unwrap(),
        "HHI",
    );
    assert_close(
        concentration::top_n_weight(&values, 3),
        r["top3_weight"].as_f64().unwrap(),
        "top 3",
    );
}

#[test]
fn alignment_is_an_inner_join_on_dates() {
    let r = reference();
    let days: Vec<i64> = r["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_i64().unwrap())
        .collect();
    let with_days = |sym: &str| -> Vec<(i64, f64)> {
        days.iter().copied().zip(f64s(&r["closes"][sym])).collect()
    };
    let gappy: Vec<(i64, f64)> = r["gappy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_i64().unwrap(), p[1].as_f64().unwrap()))
        .collect();
    let aligned = returns::align(&[
        ("S00".to_string(), with_days("S00")),
        ("GAPPY".to_string(), gappy),
        ("SPY".to_string(), with_days("SPY")),
    ]);
    let want = &r["aligned"];
    let want_days: Vec<i64> = want["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_i64().unwrap())
        .collect();
    assert_eq!(aligned.dates, want_days);
    let rets = aligned.returns(ReturnKind::Simple, None).unwrap();
    assert_eq!(rets.dates, want_days[1..].to_vec());
    for (sym, got) in rets.symbols.iter().zip(&rets.returns) {
        assert_all_close(got, &f64s(&want["returns"][sym.as_str()]), sym);
    }
    let corr = stats::correlation_matrix(&rets.returns).unwrap();
    for (i, (c, w)) in corr.iter().zip(matrix(&want["correlation"])).enumerate() {
        assert_all_close(c, &w, &format!("aligned corr row {i}"));
    }
    // A lookback keeps the most recent returns only.
    let last60 = aligned.returns(ReturnKind::Simple, Some(60)).unwrap();
    assert_eq!(last60.returns[0].len(), 60);
    assert_eq!(last60.dates.last(), want_days.last());
    assert_eq!(
        last60.returns[0][..],
        rets.returns[0][rets.returns[0].len() - 60..]
    );
}
