//! Analytics on small cases worked out by hand (the arithmetic is in the comments).

use ibkr_cockpit::analytics::rebalance::{self, Action, Holding, TargetError};
use ibkr_cockpit::analytics::stress::{
    self, GapInput, MarginState, ShockAssumptions, ShockExposure,
};
use ibkr_cockpit::analytics::{
    AnalyticsError, beta, concentration, drawdown, normal, returns, stats, technicals, var,
};
use ibkr_cockpit::model::Bar;

#[track_caller]
fn approx(got: f64, want: f64) {
    assert!(
        (got - want).abs() <= 1e-9 * want.abs().max(1.0),
        "got {got}, want {want}"
    );
}

#[test]
fn returns_from_closes() {
    let r = returns::simple_returns(&[100.0, 110.0, 99.0]).unwrap();
    approx(r[0], 0.10);
    approx(r[1], -0.10);
    let l = returns::log_returns(&[100.0, 110.0]).unwrap();
    approx(l[0], (1.1f64).ln());
    assert!(returns::simple_returns(&[100.0]).unwrap().is_empty());
    let err = returns::simple_returns(&[100.0, 0.0, 5.0]).unwrap_err();
    assert!(err.to_string().contains("close #1 is 0"), "{err}");
}

#[test]
fn daily_bars_align_by_utc_day() {
    let bar = |time, close| Bar {
        time,
        close,
        ..Bar::default()
    };
    // Same sessions stamped at midnight vs 16:00 UTC still line up.
    let a = returns::daily_closes(&[bar(0, 1.0), bar(86_400, 2.0), bar(2 * 86_400, 3.0)]);
    let b = returns::daily_closes(&[bar(57_600, 10.0), bar(2 * 86_400 + 57_600, 30.0)]);
    let aligned = returns::align(&[("A".into(), a), ("B".into(), b)]);
    assert_eq!(aligned.dates, vec![0, 2]);
    assert_eq!(aligned.closes, vec![vec![1.0, 3.0], vec![10.0, 30.0]]);
    assert!(returns::align(&[]).dates.is_empty());
}

#[test]
fn descriptive_statistics() {
    let x = [1.0, 2.0, 3.0, 4.0];
    approx(stats::mean(&x), 2.5);
    // (2.25 + 0.25 + 0.25 + 2.25) / 3
    approx(stats::sample_variance(&x), 5.0 / 3.0);
    approx(stats::sample_std(&x), (5.0f64 / 3.0).sqrt());
    approx(stats::pearson(&x, &[2.0, 4.0, 6.0, 8.0]).unwrap(), 1.0);
    approx(stats::pearson(&x, &[8.0, 6.0, 4.0, 2.0]).unwrap(), -1.0);
    assert!(
        stats::pearson(&x, &[3.0; 4]).unwrap().is_nan(),
        "constant series: undefined"
    );
    // cov(x, 2x) = 2 var(x)
    approx(
        stats::covariance(&x, &[2.0, 4.0, 6.0, 8.0]).unwrap(),
        10.0 / 3.0,
    );
    assert_eq!(
        stats::pearson(&x, &[1.0]),
        Err(AnalyticsError::LengthMismatch(4, 1))
    );
    assert!(matches!(
        stats::covariance(&[1.0], &[1.0]),
        Err(AnalyticsError::TooFewObservations { needed: 2, got: 1 })
    ));

    let m = stats::correlation_matrix(&[
        x.to_vec(),
        vec![8.0, 6.0, 4.0, 2.0],
        vec![1.0, 3.0, 2.0, 4.0],
    ])
    .unwrap();
    approx(m[0][0], 1.0);
    approx(m[0][1], -1.0);
    // x vs (1,3,2,4): deviations (-1.5,-.5,.5,1.5)·(-1.5,.5,-.5,1.5) = 4, √5·√5 → 0.8
    approx(m[0][2], 0.8);
    let s = stats::pair_summary(&m).unwrap();
    assert_eq!((s.highest.0, s.highest.1), (0, 2));
    assert_eq!((s.lowest.0, s.lowest.1), (0, 1));
    approx(s.average, (-1.0 + 0.8 - 0.8) / 3.0);
    assert_eq!(s.pairs, 3);
}

#[test]
fn beta_is_the_regression_slope() {
    let bench = [0.01, -0.02, 0.015, 0.0, -0.005];
    let asset: Vec<f64> = bench.iter().map(|b| 2.0 * b + 0.001).collect();
    approx(beta::beta(&asset, &bench).unwrap(), 2.0);
    assert!(beta::beta(&asset, &[0.01; 5]).unwrap().is_nan());
    // (1000·1.5 + (−500)·0.5 + unknown) / (1000 + 500)
    let pb = beta::portfolio_beta(&[(1000.0, 1.5), (-500.0, 0.5), (300.0, f64::NAN)]);
    approx(pb.beta_adjusted_exposure, 1250.0);
    approx(pb.beta, 1250.0 / 1500.0);
    approx(pb.gross_value, 1500.0);
}

#[test]
fn normal_quantiles_and_cdf() {
    approx(normal::quantile(0.975), 1.959963984540054);
    approx(normal::quantile(0.95), 1.6448536269514722);
    approx(normal::quantile(0.99), 2.3263478740408408);
    approx(normal::quantile(0.05), -1.6448536269514722);
    assert_eq!(normal::quantile(0.5), 0.0);
    assert!(normal::quantile(1.0).is_nan() && normal::quantile(0.0).is_nan());
    approx(normal::cdf(1.959963984540054), 0.975);
    approx(normal::cdf(0.0), 0.5);
}

#[test]
fn two_asset_var_by_hand() {
    // vᵀΣv = 100²·4e-4 + 2·100·200·1e-4 + 200²·9e-4 = 4 + 4 + 36 = 44
    let values = [100.0, 200.0];
    let cov = vec![vec![0.0004, 0.0001], vec![0.0001, 0.0009]];
    let z = 1.6448536269514722;
    let r = var::parametric_var(&values, &cov, 0.95, 1.0).unwrap();
    approx(r.sigma_daily, 44f64.sqrt());
    approx(r.var, z * 44f64.sqrt());
    // Σv = (0.06, 0.19); marginal = z·Σv/σ; component = v·marginal = z·(6, 38)/σ
    approx(r.marginal[0], z * 0.06 / 44f64.sqrt());
    approx(r.component[1], z * 38.0 / 44f64.sqrt());
    approx(r.component_share[0], 6.0 / 44.0);
    approx(r.component_share[1], 38.0 / 44.0);
    // √h scaling: 4 days doubles it.
    let r4 = var::parametric_var(&values, &cov, 0.95, 4.0).unwrap();
    approx(r4.var, 2.0 * r.var);
    // A perfect hedge has zero VaR and no division by zero.
    let hedge = var::parametric_var(
        &[100.0, -100.0],
        &[vec![1e-4, 1e-4], vec![1e-4, 1e-4]],
        0.99,
        1.0,
    )
    .unwrap();
    assert_eq!((hedge.var, hedge.component.clone()), (0.0, vec![0.0, 0.0]));
    assert!(
        var::parametric_var(&values, &cov, 95.0, 1.0)
            .unwrap_err()
            .to_string()
            .contains("0.95")
    );
    assert!(var::parametric_var(&values, &cov, 0.95, 0.0).is_err());
    assert!(var::parametric_var(&[1.0], &cov, 0.95, 1.0).is_err());
}

#[test]
fn drawdown_peak_trough_recovery() {
    let pts = [
        (1, 100.0),
        (2, 120.0),
        (3, 90.0),
        (4, 110.0),
        (5, 125.0),
        (6, 100.0),
    ];
    let r = drawdown::drawdowns(&pts, None).unwrap();
    let max = r.max.unwrap();
    approx(max.drawdown, -0.25); // 90 / 120 − 1
    assert_eq!(
        (max.peak_time, max.trough_time, max.recovery_time),
        (Some(2), 3, Some(5))
    );
    approx(max.peak_value, 120.0);
    approx(r.current, -0.2); // 100 / 125 − 1
    approx(r.high_water_mark, 125.0);

    // A peak from before the history (override): 90 / 200 − 1, never recovered.
    let r = drawdown::drawdowns(&pts, Some(200.0)).unwrap();
    let max = r.max.unwrap();
    approx(max.drawdown, -0.55);
    assert_eq!((max.peak_time, max.recovery_time), (None, None));

    // Missing samples are skipped, not read as a 100% loss.
    let r = drawdown::drawdowns(&[(1, 100.0), (2, f64::NAN), (3, 0.0), (4, 101.0)], None).unwrap();
    assert!(r.max.is_none());
    assert_eq!(r.series.len(), 2);
    assert_eq!(r.current, 0.0);
    assert!(drawdown::drawdowns(&[], None).is_none());
}

#[test]
fn concentration_measures() {
    approx(concentration::hhi(&[0.5, 0.5]), 5000.0);
    approx(concentration::hhi(&[42.0]), 10_000.0);
    approx(concentration::hhi(&[25.0, 25.0, 25.0, 25.0]), 2500.0);
    approx(
        concentration::effective_positions(&[1.0, 1.0, 1.0, 1.0]),
        4.0,
    );
    // Shorts count by size; weights are normalised first.
    approx(concentration::hhi(&[300.0, -100.0]), 5625.0 + 625.0); // 75%² + 25%²
    approx(concentration::top_n_weight(&[0.2, 0.5, 0.3], 2), 0.8);
    assert!(concentration::hhi(&[]).is_nan());
}

/// The seed's sample account: NLV 24,618, GPV 64,124, init 24,201.34, maint 22,012.81 CAD.
fn seed_account() -> MarginState {
    MarginState {
        nlv: 24_618.0,
        gross_position_value: 64_124.0,
        init_margin: 24_201.34,
        maint_margin: 22_012.81,
    }
}

#[test]
fn drawdown_stress_scales_margin() {
    let p = stress::apply_drawdown(&seed_account(), 0.20);
    approx(p.loss, 12_824.8);
    approx(p.nlv, 11_793.2);
    approx(p.init_margin, 19_361.072);
    approx(p.maint_margin, 17_610.248);
    approx(p.excess_maint, 11_793.2 - 17_610.248);
    assert!(p.restricted() && p.liquidating());
}

#[test]
fn preflight_steps_one_percent_at_a_time() {
    let pf = stress::preflight(&seed_account());
    // 1%: 24,618 − 641.24 = 23,976.76 ≥ 23,959.33 init; 2%: 23,335.52 < 23,717.31 → restricted.
    assert_eq!(pf.restricts_at, Some(0.02));
    assert_eq!(pf.max_drawdown_before_restriction(), Some(0.01));
    // 6%: 20,770.56 ≥ 20,692.04 maint; 7%: 20,129.32 < 20,471.91 → liquidation.
    assert_eq!(pf.liquidates_at, Some(0.07));
    assert_eq!(pf.max_drawdown_before_liquidation(), Some(0.06));
    approx(pf.restricts_exact.unwrap(), 416.66 / 39_922.66);
    approx(pf.liquidates_exact.unwrap(), 2_605.19 / 42_111.19);
    assert_eq!(pf.curve.len(), 8, "0% … 7%");
    approx(pf.curve[7].drawdown, 0.07);

    // Already below initial margin: restricted at 0%.
    let tight = MarginState {
        nlv: 20_000.0,
        ..seed_account()
    };
    let pf = stress::preflight(&tight);
    assert_eq!(pf.restricts_at, Some(0.0));
    assert_eq!(pf.restricts_exact, Some(0.0));
    // No positions, no margin: nothing ever binds.
    let cash = MarginState {
        nlv: 1000.0,
        gross_position_value: 0.0,
        init_margin: 0.0,
        maint_margin: 0.0,
    };
    let pf = stress::preflight(&cash);
    assert_eq!(
        (pf.restricts_at, pf.liquidates_at, pf.liquidates_exact),
        (None, None, None)
    );
    assert_eq!(pf.curve.len(), 101);
}

#[test]
fn gap_moves_each_position_against_itself() {
    let state = MarginState {
        nlv: 10_000.0,
        gross_position_value: 20_000.0,
        init_margin: 10_000.0,
        maint_margin: 8_000.0,
    };
    let positions = [
        GapInput {
            symbol: "LONG".into(),
            value: 12_000.0,
            daily_vol: 0.02,
            shock: None,
        },
        GapInput {
            symbol: "SHORT".into(),
            value: -8_000.0,
            daily_vol: 0.03,
            shock: None,
        },
        GapInput {
            symbol: "NOVOL".into(),
            value: 5_000.0,
            daily_vol: f64::NAN,
            shock: None,
        },
        GapInput {
            symbol: "GIVEN".into(),
            value: 1_000.0,
            daily_vol: 0.01,
            shock: Some(-0.5),
        },
    ];
    let g = stress::gap(&state, &positions, 2.0);
    // LONG −4% → −480; SHORT +6% → −480; GIVEN −50% → −500.
    let moves: Vec<(&str, f64, f64)> = g
        .rows
        .iter()
        .map(|r| (r.symbol.as_str(), r.moved, r.pnl))
        .collect();
    assert_eq!(moves.len(), 3);
    approx(moves[0].1, -0.04);
    approx(moves[0].2, -480.0);
    approx(moves[1].1, 0.06);
    approx(moves[1].2, -480.0);
    approx(moves[2].2, -500.0);
    assert!(g.rows[2].explicit && !g.rows[0].explicit);
    assert_eq!(g.skipped, vec!["NOVOL".to_string()]);
    approx(g.total_pnl, -1460.0);
    // Gross 20,000 − 480 + 480 − 500 = 19,500 → requirements × 0.975.
    approx(g.after.nlv, 8540.0);
    approx(g.after.init_margin, 9750.0);
    approx(g.after.maint_margin, 7800.0);
}

#[test]
fn macro_shocks_state_their_sensitivities() {
    let exposure = ShockExposure {
        equity_value: 50_000.0,
        cash: -20_000.0,
        foreign_value: 40_000.0,
        vega: 0.0,
    };
    let r = stress::shocks(
        &exposure,
        100.0,
        5.0,
        0.0,
        20.0,
        &ShockAssumptions::default(),
    );
    approx(r.rates_pnl, -2500.0); // −5 × 1% × 50,000
    approx(r.financing_change_per_year, 200.0); // 20,000 × 1%
    approx(r.fx_pnl, 2000.0);
    approx(r.var_scale, 1.2);
    approx(r.total_pnl, -500.0);
    assert_eq!(r.assumptions.len(), 3);
    assert!(r.assumptions[0].contains("duration of 5.0 years"));
}

#[test]
fn rebalance_targets_are_parsed_and_validated() {
    let t = rebalance::parse_targets(" kryx:30, VLTX:20% ,CASH:10").unwrap();
    let got: Vec<(&str, f64)> = t.iter().map(|t| (t.symbol.as_str(), t.weight)).collect();
    assert_eq!(got, vec![("KRYX", 0.30), ("VLTX", 0.20), ("CASH", 0.10)]);

    let err = |s: &str| rebalance::parse_targets(s).unwrap_err();
    assert_eq!(err(""), TargetError::Empty);
    assert_eq!(
        err("KRYX30"),
        TargetError::Malformed {
            item: "KRYX30".into()
        }
    );
    assert_eq!(err(":30"), TargetError::Malformed { item: ":30".into() });
    assert_eq!(
        err("KRYX:abc"),
        TargetError::BadPercent {
            item: "KRYX:abc".into()
        }
    );
    assert_eq!(
        err("KRYX:-5"),
        TargetError::BadPercent {
            item: "KRYX:-5".into()
        }
    );
    assert_eq!(
        err("KRYX:10,kryx:20"),
        TargetError::Duplicate {
            symbol: "KRYX".into()
        }
    );
    let over = err("KRYX:60,VLTX:50").to_string();
    assert_eq!(over, "targets add up to 110.00%, more than 100%");
    assert!(rebalance::parse_targets("A:33.33,B:33.33,C:33.34").is_ok());
    assert!(err("KRYX30").to_string().contains("SYMBOL:PERCENT"));

    let t = rebalance::parse_targets("KRYX:50,ZZZ:10,CASH:5").unwrap();
    let e = rebalance::check_symbols(&t, &["KRYX", "vltx"])
        .unwrap_err()
        .to_string();
    assert!(e.contains("ZZZ") && e.contains("KRYX, VLTX"), "{e}");
    assert!(rebalance::check_symbols(&t[..1], &["KRYX"]).is_ok());
}

#[test]
fn rebalance_plan_in_whole_shares() {
    let holdings = vec![
        Holding {
            symbol: "A".into(),
            quantity: 10.0,
            price: 100.0,
            fx_to_base: 1.0,
            multiplier: 1.0,
        },
        // USD stock in a CAD account: 5 × 50 × 1.25 = 312.50 CAD
        Holding {
            symbol: "B".into(),
            quantity: 5.0,
            price: 50.0,
            fx_to_base: 1.25,
            multiplier: 1.0,
        },
        Holding {
            symbol: "C".into(),
            quantity: 3.0,
            price: 10.0,
            fx_to_base: 1.0,
            multiplier: 1.0,
        },
    ];
    // Basis 2,000: positions 1,342.50 + cash 657.50.
    let targets = rebalance::parse_targets("A:40,B:50").unwrap();
    let plan = rebalance::plan(&holdings, 657.5, 2000.0, &targets);
    let rows: Vec<(&str, Action, f64, f64)> = plan
        .rows
        .iter()
        .map(|r| (r.symbol.as_str(), r.action, r.shares, r.amount))
        .collect();
    // A: 1,000 → 800: sell 2 (200). B: 312.50 → 1,000: 687.50 / 62.50 = 11 shares. C: unlisted → sell all.
    assert_eq!(
        rows,
        vec![
            ("A", Action::Sell, 2.0, 200.0),
            ("B", Action::Buy, 11.0, 687.5),
            ("C", Action::Sell, 3.0, 30.0)
        ]
    );
    approx(plan.rows[0].current_weight, 0.5);
    approx(plan.rows[1].target_weight, 0.5);
    approx(plan.cash_target_weight, 0.10);
    // 657.50 + 200 − 687.50 + 30 = 200 → 10%
    approx(plan.cash_after_weight, 0.10);

    // Rounds toward zero: 150 / 100 → 1 share, never 2.
    let plan = rebalance::plan(
        &holdings[..1],
        0.0,
        1150.0,
        &rebalance::parse_targets("A:100").unwrap(),
    );
    assert_eq!(
        (plan.rows[0].action, plan.rows[0].shares),
        (Action::Buy, 1.0)
    );
    assert_eq!(Action::Hold.label(), "HOLD");
}

#[test]
fn technical_indicators() {
    let up: Vec<f64> = (1..=20).map(f64::from).collect();
    approx(technicals::sma(&up, 3).unwrap(), 19.0);
    // EMA(3) of 1,2,3,4: seed 2, then 2 + 0.5·(4 − 2) = 3
    approx(technicals::ema(&[1.0, 2.0, 3.0, 4.0], 3).unwrap(), 3.0);
    approx(technicals::rsi(&up, 14).unwrap(), 100.0);
    // RSI(2) of 1,2,1,2: seed gain .5 loss .5; then gain .75, loss .25 → RS 3 → 75
    approx(technicals::rsi(&[1.0, 2.0, 1.0, 2.0], 2).unwrap(), 75.0);
    // On a straight line EMA(n) lags by (n − 1)/2: MACD(3,5,2) = (t − 1) − (t − 2) = 1, flat.
    let m = technicals::macd(&up, 3, 5, 2).unwrap();
    approx(m.macd, 1.0);
    approx(m.signal, 1.0);
    approx(m.histogram, 0.0);
    let b = technicals::bollinger(&[1.0, 2.0, 3.0], 3, 2.0).unwrap();
    approx(b.middle, 2.0);
    approx(b.upper, 2.0 + 2.0 * (2.0f64 / 3.0).sqrt());
    approx(b.lower, 2.0 - 2.0 * (2.0f64 / 3.0).sqrt());
    let bar = |high, low, close| Bar {
        high,
        low,
        close,
        ..Bar::default()
    };
    // True ranges 3, 1, 3 → seed (3 + 1)/2 = 2 → (2·1 + 3)/2 = 2.5
    let bars = [
        bar(10.0, 10.0, 10.0),
        bar(12.0, 9.0, 11.0),
        bar(11.5, 10.5, 11.0),
        bar(14.0, 12.0, 13.0),
    ];
    approx(technicals::atr(&bars, 2).unwrap(), 2.5);
    assert!(technicals::sma(&up, 21).is_none());
    assert!(technicals::rsi(&up[..14], 14).is_none());
    assert!(technicals::macd(&up, 5, 3, 2).is_none());
}
