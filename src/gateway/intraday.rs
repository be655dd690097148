//! Backfill of today's one-minute prices for the movers' sparklines. Live quotes add one point
//! per minute from then on (`quotes::push_intraday`); this fills the part of the day before the
//! cockpit started. Only the largest positions are backfilled: historical requests are paced
//! (60 per 10 minutes), and a sparkline for the 500th position is not worth that budget.

use super::{BarSpec, Requests, quotes};
use crate::model::BarSize;
use crate::store::Store;

/// Fetches today's one-minute bars (including extended hours) for up to `max_symbols` held
/// stocks, largest absolute market value first, and stores their closes. Returns how many
/// symbols were filled; failures are skipped (the sparkline then starts from live samples).
pub async fn backfill(requests: &Requests, store: &Store, max_symbols: usize) -> usize {
    let snap = store.snapshot();
    let mut held: Vec<(String, String, f64)> = snap
        .positions
        .values()
        .filter(|p| p.instrument.sec_type == "STK")
        .map(|p| {
            let value = p.market_value.unwrap_or(p.quantity * p.avg_cost).abs();
            (
                p.instrument.symbol.clone(),
                p.instrument.currency.clone(),
                value,
            )
        })
        .collect();
    held.sort_by(|a, b| b.2.total_cmp(&a.2));
    held.dedup_by(|a, b| a.0 == b.0);
    let mut filled = 0;
    for (symbol, currency, _) in held.into_iter().take(max_symbols) {
        let spec = BarSpec {
            currency,
            bar_size: BarSize::Min1,
            use_rth: false,
            ..BarSpec::daily(&symbol, "1 D")
        };
        match requests.historical_bars(&spec).await {
            Ok(bars) if !bars.is_empty() => {
                let closes: Vec<f64> = bars.iter().map(|b| b.close).collect();
                store.update(|st| quotes::backfill_intraday(st, &symbol, &closes));
                filled += 1;
            }
            Ok(_) => {}
            Err(e) => tracing::debug!("intraday backfill for {symbol}: {e}"),
        }
    }
    filled
}
