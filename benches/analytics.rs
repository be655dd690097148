//! Analytics at scale: correlation matrix and parametric VaR over 500 symbols × 252 daily
//! returns (the target: under 100 ms each, from cached bars). Inputs are synthetic and
//! deterministic; nothing here touches the network or the gateway.
// A harness that fails loudly is what a benchmark or test wants; the no-panic rule is for
// the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{Criterion, criterion_group, criterion_main};
use ibkr_cockpit::analytics::{returns, stats, var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;

const SYMBOLS: usize = 500;
const DAYS: usize = 253;

/// Closes for `SYMBOLS` symbols: one market factor plus noise, so the matrix is realistic.
fn closes() -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let market: Vec<f64> = (0..DAYS).map(|_| rng.random_range(-0.02..0.02)).collect();
    (0..SYMBOLS)
        .map(|_| {
            let beta = rng.random_range(0.5..1.5);
            let mut price = rng.random_range(10.0..500.0);
            market
                .iter()
                .map(|m| {
                    price *= 1.0 + beta * m + rng.random_range(-0.015..0.015);
                    price
                })
                .collect()
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let closes = closes();
    let rets: Vec<Vec<f64>> = closes
        .iter()
        .filter_map(|c| returns::simple_returns(c).ok())
        .collect();
    let values: Vec<f64> = (0..SYMBOLS).map(|i| 1_000.0 + 10.0 * i as f64).collect();

    c.bench_function("returns 500x253 closes", |b| {
        b.iter(|| {
            for c in &closes {
                black_box(returns::simple_returns(black_box(c)).ok());
            }
        })
    });
    c.bench_function("correlation matrix 500x252", |b| {
        b.iter(|| black_box(stats::correlation_matrix(black_box(&rets)).ok()))
    });
    c.bench_function("covariance VaR 500x252 (matrix + VaR)", |b| {
        b.iter(|| {
            let cov = stats::covariance_matrix(black_box(&rets)).ok();
            black_box(cov.and_then(|m| var::parametric_var(&values, &m, 0.99, 1.0).ok()))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
