//! The demo's margin history: 60 days of daily samples leading up to the simulated book's
//! figures today, so `ibkr_margin_history` has something to show the moment the demo starts.
//! The path is a deterministic walk of the book's gross value (about 1.3% a day) with cash held
//! fixed and requirements proportional to the positions — the simulator's own margin model.

use crate::model::Millis;
use crate::sim::SimWorldView;
use crate::store::Store;
use crate::store::margin_history::{self, MarginSample};

/// Days of seeded history.
pub const DAYS: i64 = 60;
const DAY_MS: i64 = 86_400_000;
/// Daily standard deviation of the walk.
const DAILY_VOL: f64 = 0.013;

/// Writes the seeded samples for the primary simulated account (no-op without a database).
pub fn seed_margin_history(store: &Store, world: &SimWorldView, now: Millis) {
    let (Some(db), Some(a)) = (store.db(), world.accounts.first()) else {
        return;
    };
    if a.gross_position_value <= 0.0 || a.net_liquidation <= 0.0 {
        return;
    }
    let maint_share = a.maint_margin / a.gross_position_value;
    let init_share = a.init_margin / a.gross_position_value;
    let cash = a.net_liquidation - a.gross_position_value;
    // Walk backwards from today's gross value: day k's value is today's divided by the
    // returns of the days after it.
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64 ^ a.account.len() as u64;
    let mut gpv = a.gross_position_value;
    let today = now - now.rem_euclid(DAY_MS) + 21 * 3_600_000;
    for k in 1..=DAYS {
        let z = normal(&mut rng);
        gpv /= 1.0 + DAILY_VOL * z;
        let nlv = gpv + cash;
        let maint = gpv * maint_share;
        let init = gpv * init_share;
        let sample = MarginSample {
            time: today - k * DAY_MS,
            currency: a.base_currency.clone(),
            nlv,
            equity_with_loan: Some(nlv),
            gross_position_value: Some(gpv),
            init_margin: Some(init),
            maint_margin: Some(maint),
            excess_liquidity: Some(nlv - maint),
            available_funds: Some(nlv - init),
            cushion: (nlv != 0.0).then(|| (nlv - maint) / nlv),
            leverage: (nlv != 0.0).then(|| gpv / nlv),
            margin_use: (nlv != 0.0).then(|| maint / nlv),
        };
        if let Err(e) = margin_history::record(db, &a.account, &sample) {
            tracing::warn!("demo: could not seed margin history: {e}");
            return;
        }
    }
}

/// A standard normal draw (Box–Muller on a xorshift generator): deterministic per account.
fn normal(state: &mut u64) -> f64 {
    let mut next = || {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        ((*state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let (u1, u2) = (next(), next());
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}
