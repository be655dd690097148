//! Stress tests on the margin picture: a uniform drawdown, the step search for the drawdowns
//! that restrict buying power and force liquidation, per-position gaps, and first-order rate,
//! FX and volatility shocks. All amounts in the account's base currency.
//!
//! Model (the seed's, and the simulator's margin model's shape): a drawdown d takes d × gross
//! position value off equity, and margin requirements scale with the positions' value, so
//! requirement(d) = requirement × (1 − d). Buying power is restricted when equity falls below
//! the initial requirement; positions are liquidated when it falls below the maintenance
//! requirement. Approximation: real requirements often rise as volatility rises.

/// The account's margin picture now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MarginState {
    /// Net liquidation value (equity).
    pub nlv: f64,
    pub gross_position_value: f64,
    pub init_margin: f64,
    pub maint_margin: f64,
}

/// The account after a uniform drawdown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StressPoint {
    /// Fraction, e.g. 0.20.
    pub drawdown: f64,
    /// Positive money lost: GPV × d.
    pub loss: f64,
    pub nlv: f64,
    pub init_margin: f64,
    pub maint_margin: f64,
    /// nlv − init_margin (negative: buying power restricted).
    pub excess_init: f64,
    /// nlv − maint_margin (negative: liquidation).
    pub excess_maint: f64,
}

impl StressPoint {
    pub fn restricted(&self) -> bool {
        self.excess_init < 0.0
    }
    pub fn liquidating(&self) -> bool {
        self.excess_maint < 0.0
    }
}

/// The account after a uniform drawdown `d` (fraction, 0 ≤ d ≤ 1).
pub fn apply_drawdown(state: &MarginState, d: f64) -> StressPoint {
    let loss = state.gross_position_value * d;
    let nlv = state.nlv - loss;
    let init_margin = state.init_margin * (1.0 - d);
    let maint_margin = state.maint_margin * (1.0 - d);
    StressPoint {
        drawdown: d,
        loss,
        nlv,
        init_margin,
        maint_margin,
        excess_init: nlv - init_margin,
        excess_maint: nlv - maint_margin,
    }
}

/// Result of the 1%-step search.
#[derive(Debug, Clone, PartialEq)]
pub struct Preflight {
    /// Step size used (0.01).
    pub step: f64,
    /// First step at which equity < initial requirement (0 = already restricted); `None` if no
    /// drawdown up to 100% gets there.
    pub restricts_at: Option<f64>,
    /// First step at which equity < maintenance requirement.
    pub liquidates_at: Option<f64>,
    /// The exact break-evens of the same linear model, (NLV − req) / (GPV − req), for readers
    /// who want more than 1% resolution; `None` when the requirement never binds.
    pub restricts_exact: Option<f64>,
    pub liquidates_exact: Option<f64>,
    /// Every step from 0% to the first liquidation step (or 100%).
    pub curve: Vec<StressPoint>,
}

impl Preflight {
    /// The largest step the account survives without restriction (the seed's "max DD before
    /// buying power restricted"): one step below `restricts_at`, floored at 0.
    pub fn max_drawdown_before_restriction(&self) -> Option<f64> {
        self.restricts_at.map(|d| self.step_below(d))
    }
    pub fn max_drawdown_before_liquidation(&self) -> Option<f64> {
        self.liquidates_at.map(|d| self.step_below(d))
    }
    /// In whole steps, so 7% − 1% is exactly 6/100 and not 0.060000000000000005.
    fn step_below(&self, d: f64) -> f64 {
        let per_unit = (1.0 / self.step).round();
        ((d * per_unit).round() - 1.0).max(0.0) / per_unit
    }
}

/// Steps the drawdown 1% at a time from 0% to 100% and reports where each threshold is crossed.
pub fn preflight(state: &MarginState) -> Preflight {
    const STEPS: u32 = 100;
    let step = 1.0 / STEPS as f64;
    let (mut restricts_at, mut liquidates_at) = (None, None);
    let mut curve = Vec::new();
    for k in 0..=STEPS {
        // From the integer, so 0.07 is 7/100 and not seven accumulated additions.
        let d = f64::from(k) / f64::from(STEPS);
        let p = apply_drawdown(state, d);
        curve.push(p);
        if restricts_at.is_none() && p.restricted() {
            restricts_at = Some(d);
        }
        if liquidates_at.is_none() && p.liquidating() {
            liquidates_at = Some(d);
            break;
        }
    }
    Preflight {
        step,
        restricts_at,
        liquidates_at,
        restricts_exact: break_even(state, state.init_margin),
        liquidates_exact: break_even(state, state.maint_margin),
        curve,
    }
}

/// d where NLV − GPV·d = req·(1 − d), i.e. d = (NLV − req) / (GPV − req), within [0, 1].
fn break_even(state: &MarginState, requirement: f64) -> Option<f64> {
    let cushion = state.nlv - requirement;
    if cushion < 0.0 {
        return Some(0.0);
    }
    let slope = state.gross_position_value - requirement;
    if slope <= 0.0 {
        return None;
    }
    let d = cushion / slope;
    (d <= 1.0).then_some(d)
}

/// One position for the gap scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct GapInput {
    pub symbol: String,
    /// Signed market value in base currency (short negative).
    pub value: f64,
    /// Standard deviation of daily returns (fraction); `NaN` if unknown.
    pub daily_vol: f64,
    /// An explicit move for this symbol (fraction, −0.15 = −15%), overriding the sigma gap.
    pub shock: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GapRow {
    pub symbol: String,
    /// The move applied (fraction); adverse to the position unless given explicitly.
    pub moved: f64,
    /// P&L (negative = loss).
    pub pnl: f64,
    /// Whether the move came from `shock` rather than sigma × vol.
    pub explicit: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GapResult {
    pub rows: Vec<GapRow>,
    pub total_pnl: f64,
    pub after: StressPoint,
    /// Symbols skipped for lack of a volatility estimate and an explicit shock.
    pub skipped: Vec<String>,
}

/// Each position gaps against itself by `sigma_multiplier` × its daily volatility (longs down,
/// shorts up), or by its explicit `shock`. Margin requirements scale with gross value after the
/// move (the same proportional model as `apply_drawdown`).
pub fn gap(state: &MarginState, positions: &[GapInput], sigma_multiplier: f64) -> GapResult {
    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    let mut gross_after = state.gross_position_value;
    for p in positions {
        let (moved, explicit) = match p.shock {
            Some(s) if s.is_finite() => (s, true),
            _ if p.daily_vol.is_finite() => {
                let size = sigma_multiplier * p.daily_vol;
                (if p.value < 0.0 { size } else { -size }, false)
            }
            _ => {
                skipped.push(p.symbol.clone());
                continue;
            }
        };
        let pnl = p.value * moved;
        // |v·(1 + m)| = |v|·(1 + m): a short grows when its price rises.
        gross_after += p.value.abs() * moved;
        rows.push(GapRow {
            symbol: p.symbol.clone(),
            moved,
            pnl,
            explicit,
        });
    }
    let total_pnl: f64 = rows.iter().map(|r| r.pnl).sum();
    let scale = if state.gross_position_value > 0.0 {
        (gross_after / state.gross_position_value).max(0.0)
    } else {
        1.0
    };
    let nlv = state.nlv + total_pnl;
    let (init_margin, maint_margin) = (state.init_margin * scale, state.maint_margin * scale);
    GapResult {
        rows,
        total_pnl,
        after: StressPoint {
            drawdown: if state.gross_position_value > 0.0 {
                -total_pnl / state.gross_position_value
            } else {
                0.0
            },
            loss: -total_pnl,
            nlv,
            init_margin,
            maint_margin,
            excess_init: nlv - init_margin,
            excess_maint: nlv - maint_margin,
        },
        skipped,
    }
}

/// Exposures for the macro shocks.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ShockExposure {
    /// Signed value of stock/ETF positions, base currency.
    pub equity_value: f64,
    /// Cash balance in base currency (negative = margin loan).
    pub cash: f64,
    /// Base-currency value of everything (positions and cash) held in other currencies.
    pub foreign_value: f64,
    /// Money P&L per +1 volatility point (Σ option vega × quantity × multiplier); 0 for a
    /// stock-only book.
    pub vega: f64,
}

/// The sensitivities the shocks assume; stated in the tool's output.
#[derive(Debug, Clone, PartialEq)]
pub struct ShockAssumptions {
    /// Equity price change per 1.00 (100%) rise in rates: −duration. Default 5 years, a
    /// deliberately round figure between empirical equity rate betas and dividend-discount
    /// durations; say so when reporting.
    pub equity_duration: f64,
}

impl Default for ShockAssumptions {
    fn default() -> Self {
        ShockAssumptions {
            equity_duration: 5.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ShockResult {
    /// Price effect of the rate move on equities: −duration × Δy × equity value.
    pub rates_pnl: f64,
    /// Change in yearly interest on a margin loan: loan × Δy (positive = more cost).
    pub financing_change_per_year: f64,
    /// Foreign value × FX move (the move is of foreign currencies against base).
    pub fx_pnl: f64,
    /// Vega × vol points.
    pub vol_pnl: f64,
    /// How parametric VaR scales with the vol move: 1 + vol_pct / 100.
    pub var_scale: f64,
    pub total_pnl: f64,
    /// One sentence per assumption, for the output.
    pub assumptions: Vec<String>,
}

/// First-order P&L of a rate move (`rates_bps`), a uniform move of every foreign currency
/// against base (`fx_pct`, +5 = foreign currencies 5% stronger), and a volatility move given two
/// ways: `vol_points` (absolute implied-vol points, applied to option vega) and `vol_pct`
/// (relative, +20 = volatility 20% higher, applied to VaR).
pub fn shocks(
    exposure: &ShockExposure,
    rates_bps: f64,
    fx_pct: f64,
    vol_points: f64,
    vol_pct: f64,
    assumptions: &ShockAssumptions,
) -> ShockResult {
    let dy = rates_bps / 10_000.0;
    let rates_pnl = -assumptions.equity_duration * dy * exposure.equity_value;
    let loan = (-exposure.cash).max(0.0);
    let financing_change_per_year = loan * dy;
    let fx_pnl = exposure.foreign_value * fx_pct / 100.0;
    let vol_pnl = exposure.vega * vol_points;
    let var_scale = 1.0 + vol_pct / 100.0;
    ShockResult {
        rates_pnl,
        financing_change_per_year,
        fx_pnl,
        vol_pnl,
        var_scale,
        total_pnl: rates_pnl + fx_pnl + vol_pnl,
        assumptions: vec![
            format!(
                "Rates: equity prices move by −{:.1} × the yield change (an assumed equity \
                 duration of {:.1} years); a margin loan's interest changes by loan × the yield \
                 change per year.",
                assumptions.equity_duration, assumptions.equity_duration
            ),
            "FX: every non-base currency moves by the same percentage against the base \
             currency; positions and cash in those currencies revalue one for one."
                .to_string(),
            "Volatility: stocks have no first-order price effect; options move by vega × vol \
             points; parametric VaR scales in proportion to volatility."
                .to_string(),
        ],
    }
}
