//! Drawdown arithmetic shared by `ibkr_margin` (summary) and `ibkr_stress_test`
//! (preflight/drawdown): both must give the same answer, so the model lives here, pure.
//!
//! Model (stated in the tools' output as an approximation): a drawdown `d` (fraction) of the
//! whole book loses `gross position value × d`; equity falls by that loss; margin requirements
//! scale with the position values, i.e. by `(1 − d)`. Buying power is restricted when equity
//! falls below the initial requirement; liquidation is forced when it falls below maintenance.

use serde::Serialize;

/// Account figures, all in the same (base) currency.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MarginInputs {
    /// Equity with loan value (falls back to NLV when IB does not report it).
    pub equity: f64,
    pub gross_position_value: f64,
    pub init_margin: f64,
    pub maint_margin: f64,
}

impl MarginInputs {
    /// The figures as IB reports them (equity with loan, else NLV); `None` until all are in.
    pub fn of(acct: &crate::model::AccountSnapshot) -> Option<MarginInputs> {
        use crate::model::tags;
        Some(MarginInputs {
            equity: acct
                .get(tags::EQUITY_WITH_LOAN)
                .or_else(|| acct.net_liquidation())?,
            gross_position_value: acct.gross_position_value()?,
            init_margin: acct.get(tags::INIT_MARGIN_REQ)?,
            maint_margin: acct.get(tags::MAINT_MARGIN_REQ)?,
        })
    }

    /// The exact drawdown (percent of gross position value) at which equity meets the
    /// requirement of `threshold`: the linear model's break-even, `Some(0)` when already
    /// breached, `None` when no drawdown up to 100% reaches it.
    pub fn break_even_pct(&self, threshold: Threshold) -> Option<f64> {
        let state = crate::analytics::stress::MarginState {
            nlv: self.equity,
            gross_position_value: self.gross_position_value,
            init_margin: self.init_margin,
            maint_margin: self.maint_margin,
        };
        let p = crate::analytics::stress::preflight(&state);
        match threshold {
            Threshold::BuyingPowerRestricted => p.restricts_exact,
            Threshold::ForcedLiquidation => p.liquidates_exact,
        }
        .map(|d| d * 100.0)
    }
}

/// The account after a drawdown of `drawdown_pct` percent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StressPoint {
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub drawdown_pct: f64,
    /// Negative: the money lost.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub loss: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub equity: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub init_margin: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub maint_margin: f64,
    /// Equity − initial requirement (negative: buying power restricted).
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub excess_init: f64,
    /// Equity − maintenance requirement (negative: forced liquidation).
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub excess_maint: f64,
}

/// The account after a drawdown of `drawdown_pct` percent (e.g. 20.0).
pub fn stress_at(m: &MarginInputs, drawdown_pct: f64) -> StressPoint {
    let d = drawdown_pct / 100.0;
    let loss = -m.gross_position_value * d;
    let equity = m.equity + loss;
    let init_margin = m.init_margin * (1.0 - d);
    let maint_margin = m.maint_margin * (1.0 - d);
    StressPoint {
        drawdown_pct,
        loss,
        equity,
        init_margin,
        maint_margin,
        excess_init: equity - init_margin,
        excess_maint: equity - maint_margin,
    }
}

/// Which line a drawdown crosses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threshold {
    /// Equity below the initial requirement.
    BuyingPowerRestricted,
    /// Equity below the maintenance requirement.
    ForcedLiquidation,
}

/// Steps the drawdown 1% at a time (0%, 1%, … 100%) and returns the first whole percentage at
/// which `threshold` is breached: `Some(0)` means it already is; `None` means not even a 100%
/// drawdown breaches it (e.g. no leverage).
pub fn first_breach_pct(m: &MarginInputs, threshold: Threshold) -> Option<u32> {
    (0..=100u32).find(|&pct| {
        let p = stress_at(m, pct as f64);
        match threshold {
            Threshold::BuyingPowerRestricted => p.excess_init < 0.0,
            Threshold::ForcedLiquidation => p.excess_maint < 0.0,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book() -> MarginInputs {
        MarginInputs {
            equity: 24_618.0,
            gross_position_value: 64_124.0,
            init_margin: 24_201.34,
            maint_margin: 22_012.81,
        }
    }

    #[test]
    fn stress_scales_margin_with_the_drawdown() {
        let p = stress_at(&book(), 20.0);
        assert!((p.loss - -12_824.8).abs() < 1e-6);
        assert!((p.equity - 11_793.2).abs() < 1e-6);
        assert!((p.maint_margin - 22_012.81 * 0.8).abs() < 1e-6);
        assert!((p.excess_maint - (11_793.2 - 17_610.248)).abs() < 1e-6);
    }

    #[test]
    fn breaches_are_found_in_whole_percent_steps() {
        // Available at 0%: 416.66; each 1% costs 641.24 − 242.01 = 399.23 → breach at 2%.
        assert_eq!(
            first_breach_pct(&book(), Threshold::BuyingPowerRestricted),
            Some(2)
        );
        // Excess 2,605.19; each 1% costs 641.24 − 220.13 = 421.11 → breach at 7%.
        assert_eq!(
            first_breach_pct(&book(), Threshold::ForcedLiquidation),
            Some(7)
        );
        let unlevered = MarginInputs {
            equity: 100.0,
            gross_position_value: 50.0,
            init_margin: 25.0,
            maint_margin: 12.5,
        };
        assert_eq!(
            first_breach_pct(&unlevered, Threshold::ForcedLiquidation),
            None
        );
        let breached = MarginInputs {
            maint_margin: 30_000.0,
            ..book()
        };
        assert_eq!(
            first_breach_pct(&breached, Threshold::ForcedLiquidation),
            Some(0)
        );
    }
}
