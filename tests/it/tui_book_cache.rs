//! The cockpit derives its rows, weights and movers once per store snapshot (not once per frame)
//! and refetches correlations at most once a minute when the top holdings churn. These tests
//! check, on books from the simulator, that the cached view is exactly what a fresh build shows
//! through every sort, and that churn in the top holdings does not refetch (or blank) the heatmap.

use crate::support::tui;

use ibkr_cockpit::store::LiveState;
use ibkr_cockpit::tui::app::{Action, CORR_REFRESH_MS, Effect, Fetch};
use ibkr_cockpit::tui::book::{self, BookView, SortColumn};
use std::sync::Arc;

/// A newer snapshot in which the heaviest holding is gone: the top holdings change.
fn without_heaviest(state: &LiveState, heaviest: &str) -> LiveState {
    let mut next = state.clone();
    Arc::make_mut(&mut next.positions).retain(|_, p| p.instrument.symbol != heaviest);
    next.version += 1;
    next
}

fn correlation_fetches(effects: &[Effect]) -> usize {
    effects
        .iter()
        .filter(|e| matches!(e, Effect::FetchCorrelation { .. }))
        .count()
}

#[tokio::test]
async fn cached_rows_match_a_fresh_build_through_every_sort() {
    let mut c = tui::start_big(500).await;
    let state = c.state.clone();
    assert!(state.positions.len() >= 500, "{}", state.positions.len());
    assert_eq!(c.app.book.version, Some(state.version));
    assert_eq!(c.app.book.by_weight, book::symbols_by_weight(&state));
    let (gainers, losers) = book::movers(&state, 5);
    assert_eq!(
        book::split_movers(&c.app.book.movers, 5),
        (gainers, losers),
        "movers from the cache are the movers of the snapshot"
    );
    // Every column, both directions: the re-sorted cache equals sorting the store's order.
    for _ in 0..SortColumn::ALL.len() {
        for _ in 0..2 {
            let fresh = book::sorted_rows(&state, c.app.sort, c.app.descending);
            assert_eq!(c.app.book.rows, fresh, "sort {:?}", c.app.sort);
            assert_eq!(c.app.rows(&state), fresh);
            c.app.handle(Action::SortReverse, &state);
        }
        c.app.handle(Action::SortNext, &state);
    }
    // A snapshot the app has not seen yet is rendered from a fresh build, never stale rows.
    let heaviest = c.app.book.by_weight[0].clone();
    let next = without_heaviest(&state, &heaviest);
    let shown = c.app.book_of(&next);
    assert!(shown.rows.iter().all(|r| r.symbol != heaviest));
    assert_eq!(
        *shown,
        BookView::build(&next, c.app.sort, c.app.descending),
        "uncached snapshot built on the spot"
    );
    c.shutdown().await;
}

#[tokio::test]
async fn top_holdings_churn_refetches_correlations_at_most_once_a_minute() {
    let mut c = tui::start().await;
    assert!(
        matches!(c.app.corr, Fetch::Ready(_)),
        "seed book correlations loaded"
    );
    let t0 = c.app.now;
    let heaviest = c.app.book.by_weight[0].clone();
    let next = without_heaviest(&c.state, &heaviest);

    // Within the minute: the old matrix stays on screen and nothing is fetched.
    c.app.handle(Action::Tick(t0 + CORR_REFRESH_MS / 2), &next);
    let effects = c.app.handle(Action::StateChanged, &next);
    assert_eq!(correlation_fetches(&effects), 0, "{effects:?}");
    assert!(matches!(c.app.corr, Fetch::Ready(_)));

    // A minute on: one fetch for the new top holdings, the old matrix shown until it lands.
    c.app.handle(Action::Tick(t0 + CORR_REFRESH_MS + 1), &next);
    let effects = c.app.handle(Action::StateChanged, &next);
    assert_eq!(correlation_fetches(&effects), 1, "{effects:?}");
    assert!(matches!(c.app.corr, Fetch::Ready(_)));
    let Some(Effect::FetchCorrelation { symbols }) = effects.first() else {
        panic!("expected a correlation fetch: {effects:?}");
    };
    assert!(symbols.iter().all(|(s, _)| *s != heaviest), "{symbols:?}");

    // It lands through the real effect runner (daily bars from the simulator).
    c.state = next;
    c.run_effects(effects).await;
    let Fetch::Ready(pair) = &c.app.corr else {
        panic!("correlations after refresh: {:?}", c.app.corr);
    };
    assert!(
        !pair.d60.symbols.contains(&heaviest),
        "{:?}",
        pair.d60.symbols
    );
    c.shutdown().await;
}
