//! Background warming of the daily-bar cache: once the initial sync has put the book in the
//! store, every holding's daily history is fetched (or topped up from the database) within the
//! pacer's background share, largest holdings first. The first VaR or correlation answer after
//! start then covers the whole book instead of waiting on hundreds of requests, and a restart
//! asks IB only for the days it has not seen.

use super::BarSpec;
use super::events;
use super::requests::RequestsInner;
use super::shared::Shared;
use futures::StreamExt;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// The lookback the risk tools use by default (a year of returns); its spec covers their
/// other usual windows too (see `BarSpec::daily_returns`).
const WARM_LOOKBACK: usize = 252;

/// Waits for the initial sync, then warms every holding's daily bars once.
pub async fn run(shared: Arc<Shared>, requests: Arc<RequestsInner>) {
    let mut synced = shared.synced.subscribe();
    tokio::select! {
        _ = shared.cancel.cancelled() => return,
        r = synced.wait_for(|s| *s) => if r.is_err() { return },
    }
    let specs = holdings_to_warm(&shared);
    if specs.is_empty() {
        return;
    }
    let started = Instant::now();
    let total = specs.len();
    shared.warming.store(true, Ordering::Relaxed);
    let concurrency = requests.pacing_limits().background_open.max(1);
    let warm = futures::stream::iter(specs)
        .map(|spec| {
            let requests = requests.clone();
            async move { requests.warm_bars(&spec).await.is_ok() }
        })
        .buffer_unordered(concurrency)
        .filter(|ok| std::future::ready(*ok))
        .count();
    let warmed = tokio::select! {
        _ = shared.cancel.cancelled() => None,
        n = warm => Some(n),
    };
    shared.warming.store(false, Ordering::Relaxed);
    let Some(warmed) = warmed else {
        return;
    };
    events::supervisor(
        &shared.store,
        shared.role,
        format!(
            "daily history ready for {warmed} of {total} holding(s) in {:.1}s",
            started.elapsed().as_secs_f64()
        ),
    );
}

/// One daily-bar spec per held symbol (options count for their underlying, as the risk tools
/// price them), largest position first.
fn holdings_to_warm(shared: &Shared) -> Vec<BarSpec> {
    let snap = shared.store.snapshot();
    let mut held: Vec<(f64, &str, &str)> = snap
        .positions
        .values()
        .filter(|p| p.quantity != 0.0)
        .filter(|p| matches!(p.instrument.sec_type.as_str(), "STK" | "OPT"))
        .filter(|p| shared.cfg.account.as_ref().is_none_or(|a| *a == p.account))
        .map(|p| {
            let size = p.market_value.unwrap_or(p.quantity * p.avg_cost).abs();
            (
                size,
                p.instrument.symbol.as_str(),
                p.instrument.currency.as_str(),
            )
        })
        .collect();
    held.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut seen = BTreeSet::new();
    held.into_iter()
        .filter(|(_, symbol, ccy)| seen.insert((*symbol, *ccy)))
        .map(|(_, symbol, ccy)| BarSpec::daily_returns(symbol, ccy, WARM_LOOKBACK))
        .collect()
}
