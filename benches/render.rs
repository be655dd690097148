//! Full-frame render time of the cockpit at 200×50 (targets in BENCHMARKS.md: under 2 ms for the
//! seed book, under 5 ms for 500 positions). Renders into ratatui's TestBackend, so this measures
//! our view code (rows, sorting, FX weights, layout, widgets), not the terminal.

#[path = "../tests/tui_fixture/mod.rs"]
mod tui_fixture;

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::hint::black_box;

fn render_frames(c: &mut Criterion) {
    let mut group = c.benchmark_group("render_200x50");
    for (name, store) in [
        ("seed_book", tui_fixture::seed_store()),
        ("500_positions", tui_fixture::big_store(500)),
    ] {
        let state = store.snapshot();
        let app = tui_fixture::seed_app_for(&state);
        let mut terminal = Terminal::new(TestBackend::new(200, 50)).expect("test terminal");
        group.bench_function(name, |b| {
            b.iter(|| {
                terminal
                    .draw(|f| {
                        ibkr_cockpit::tui::screen::draw(f, black_box(&app), black_box(&state))
                    })
                    .expect("draw");
            })
        });
    }
    group.finish();
}

criterion_group!(benches, render_frames);
criterion_main!(benches);
