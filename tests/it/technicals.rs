//! Indicators: the production code (`analytics::technicals`, on the `ta` crate) against the
//! hand-written reference in `reference::technicals`, and the reference against arithmetic done
//! by hand.

use crate::reference::technicals as reference;
use ibkr_cockpit::analytics::technicals;
use ibkr_cockpit::model::Bar;

#[track_caller]
fn approx(got: f64, want: f64, tol: f64, what: &str) {
    assert!(
        (got - want).abs() <= tol * want.abs().max(1.0),
        "{what}: got {got}, want {want}"
    );
}

/// A year of daily bars from a fixed-seed random walk (a 64-bit LCG, so the series needs no
/// crate and never changes): closes wander around 100 with ~2% daily moves.
fn year_of_bars() -> Vec<Bar> {
    let mut state: u64 = 0x5eed_1234_abcd_0001;
    let mut uniform = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut close: f64 = 100.0;
    (0..260)
        .map(|i| {
            let open = close * (1.0 + 0.01 * (uniform() - 0.5));
            close *= 1.0 + 0.04 * (uniform() - 0.5);
            let high = open.max(close) * (1.0 + 0.01 * uniform());
            let low = open.min(close) * (1.0 - 0.01 * uniform());
            Bar {
                time: i64::from(i) * 86_400,
                open,
                high,
                low,
                close,
                volume: 1000.0,
                ..Bar::default()
            }
        })
        .collect()
}

#[test]
fn production_matches_the_reference_on_a_year_of_bars() {
    let bars = year_of_bars();
    let closes: Vec<f64> = bars.iter().map(|b| b.close).collect();
    let got = technicals::indicators(&bars);
    // The EMA start (first close vs SMA seed) has decayed below 1e-7 after 230+ bars.
    let tol = 1e-7;
    for (name, g, w) in [
        ("SMA 20", got.sma20, reference::sma(&closes, 20)),
        ("SMA 50", got.sma50, reference::sma(&closes, 50)),
        ("SMA 200", got.sma200, reference::sma(&closes, 200)),
        ("EMA 12", got.ema12, reference::ema(&closes, 12)),
        ("EMA 26", got.ema26, reference::ema(&closes, 26)),
        ("RSI 14", got.rsi14, reference::rsi(&closes, 14)),
        ("ATR 14", got.atr14, reference::atr(&bars, 14)),
    ] {
        approx(g.expect(name), w.expect(name), tol, name);
    }
    let (m, rm) = (
        got.macd.expect("MACD"),
        reference::macd(&closes, 12, 26, 9).expect("MACD"),
    );
    approx(m.macd, rm.macd, tol, "MACD");
    approx(m.signal, rm.signal, tol, "MACD signal");
    approx(m.histogram, rm.histogram, tol, "MACD histogram");
    let (b, rb) = (
        got.bollinger.expect("Bollinger"),
        reference::bollinger(&closes, 20, 2.0).expect("Bollinger"),
    );
    approx(b.upper, rb.upper, 1e-12, "Bollinger upper");
    approx(b.middle, rb.middle, 1e-12, "Bollinger middle");
    approx(b.lower, rb.lower, 1e-12, "Bollinger lower");
    let last = closes[closes.len() - 1];
    approx(
        got.atr_pct.expect("ATR %"),
        reference::atr(&bars, 14).expect("ATR") / last * 100.0,
        tol,
        "ATR %",
    );
}

#[test]
fn production_on_short_series() {
    let up: Vec<f64> = (1..=20).map(f64::from).collect();
    // SMA 3 of 18, 19, 20 = 19; Bollinger of 1, 2, 3: mean 2, population σ = √(2/3).
    approx(technicals::sma(&up, 3).unwrap(), 19.0, 1e-12, "SMA");
    let b = technicals::bollinger(&[1.0, 2.0, 3.0], 3, 2.0).unwrap();
    approx(b.upper, 2.0 + 2.0 * (2.0f64 / 3.0).sqrt(), 1e-12, "upper");
    // Only gains: overbought (`ta` starts both averages at 0.1, so not yet exactly 100).
    assert!(technicals::rsi(&up, 14).unwrap() > 90.0);
    assert!(technicals::sma(&up, 21).is_none());
    assert!(technicals::rsi(&up[..14], 14).is_none());
    assert!(technicals::macd(&up, 5, 3, 2).is_none());
    assert!(technicals::macd(&up[..9], 3, 8, 3).is_none());
    assert!(technicals::atr(&[Bar::default(); 14], 14).is_none());
}

/// The reference itself, on cases worked out by hand.
#[test]
fn reference_by_hand() {
    let up: Vec<f64> = (1..=20).map(f64::from).collect();
    approx(reference::sma(&up, 3).unwrap(), 19.0, 1e-9, "SMA");
    // EMA(3) of 1,2,3,4: seed 2, then 2 + 0.5·(4 − 2) = 3
    approx(
        reference::ema(&[1.0, 2.0, 3.0, 4.0], 3).unwrap(),
        3.0,
        1e-9,
        "EMA",
    );
    approx(reference::rsi(&up, 14).unwrap(), 100.0, 1e-9, "RSI up");
    // RSI(2) of 1,2,1,2: seed gain .5 loss .5; then gain .75, loss .25 → RS 3 → 75
    approx(
        reference::rsi(&[1.0, 2.0, 1.0, 2.0], 2).unwrap(),
        75.0,
        1e-9,
        "RSI",
    );
    // On a straight line EMA(n) lags by (n − 1)/2: MACD(3,5,2) = (t − 1) − (t − 2) = 1, flat.
    let m = reference::macd(&up, 3, 5, 2).unwrap();
    approx(m.macd, 1.0, 1e-9, "MACD");
    approx(m.signal, 1.0, 1e-9, "signal");
    approx(m.histogram, 0.0, 1e-9, "histogram");
    let b = reference::bollinger(&[1.0, 2.0, 3.0], 3, 2.0).unwrap();
    approx(b.middle, 2.0, 1e-9, "middle");
    approx(b.upper, 2.0 + 2.0 * (2.0f64 / 3.0).sqrt(), 1e-9, "upper");
    approx(b.lower, 2.0 - 2.0 * (2.0f64 / 3.0).sqrt(), 1e-9, "lower");
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
    approx(reference::atr(&bars, 2).unwrap(), 2.5, 1e-9, "ATR");
    assert!(reference::sma(&up, 21).is_none());
    assert!(reference::rsi(&up[..14], 14).is_none());
    assert!(reference::macd(&up, 5, 3, 2).is_none());
}
