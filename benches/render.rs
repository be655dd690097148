//! Full-frame render time of the cockpit at 200×50 (targets in BENCHMARKS.md: under 2 ms for the
//! seed book, under 5 ms for 500 and 2,000 positions). The book comes from the simulator (seed 7,
//! frozen prices, real adapter over TCP, correlations loaded); frames render into ratatui's
//! TestBackend, so this measures our view code (layout, widgets, the visible rows), not the
//! terminal. Rows, FX weights and sorting are derived once per store snapshot, not per frame:
//! `snapshot_to_rows` measures that step (what the UI does at most 5 times a second).
// A harness that fails loudly is what a benchmark or test wants; the no-panic rule is for
// the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// The integration tests' harness (simulator + adapter + cockpit app); this bench uses its
// cockpit builder only.
#[allow(dead_code)]
#[path = "../tests/it/support/mod.rs"]
mod test_support;

use test_support::{tui, world};

use criterion::{Criterion, criterion_group, criterion_main};
use ibkr_cockpit::tui::book::{BookView, SortColumn};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::hint::black_box;

fn render_frames(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let mut group = c.benchmark_group("render_200x50");
    let books = [
        ("seed_book", None),
        ("500_positions", Some(500)),
        ("2000_positions", Some(2000)),
    ];
    for (name, positions) in books {
        let cockpit = rt.block_on(tui::start_with(
            tui::frozen_sim(positions),
            world::default_config(),
        ));
        let (app, state) = (&cockpit.app, &cockpit.state);
        let mut terminal = Terminal::new(TestBackend::new(200, 50)).expect("test terminal");
        group.bench_function(name, |b| {
            b.iter(|| {
                terminal
                    .draw(|f| ibkr_cockpit::tui::screen::draw(f, black_box(app), black_box(state)))
                    .expect("draw");
            })
        });
        group.bench_function(format!("snapshot_to_rows/{name}"), |b| {
            b.iter(|| BookView::build(black_box(state), SortColumn::Weight, true))
        });
        rt.block_on(cockpit.shutdown());
    }
    group.finish();
}

criterion_group!(benches, render_frames);
criterion_main!(benches);
