//! What exists in the simulated market: the seed book's fictional stocks, a few well-known
//! names for comparisons, benchmark and sector ETFs, FX pairs, and (for scale tests) N generated
//! stocks. Prices are near the seed's sample numbers.

use super::market::{AssetKind, Market, SECTORS, Spec, stable_hash};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The seed book's holdings, in the seed's order.
pub const SEED_SYMBOLS: [&str; 5] = ["KRYX", "VLTX", "OMRA", "FELN", "HDRX"];

/// Benchmark ETFs tools compare against (beta, sector fallback).
pub const BENCHMARKS: [&str; 17] = [
    "SPY", "QQQ", "IWM", "DIA", "XLK", "XLF", "XLE", "XLV", "XLI", "XLY", "XLP", "XLU", "XLB",
    "XLRE", "XLC", "TLT", "GLD",
];

/// FX pairs quoted on IDEALPRO.
pub const FX_PAIRS: [&str; 8] = [
    "USD.CAD", "EUR.USD", "GBP.USD", "USD.JPY", "AUD.USD", "USD.CHF", "EUR.CAD", "GBP.CAD",
];

type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    usize,
    f64,
    f64,
    f64,
    f64,
    f64,
    f64,
);

// symbol, primary, long name, industry, category, subcategory, sector, beta, daily vol, yield,
// price, change today, average volume
const STOCKS: &[Row] = &[
    (
        "KRYX",
        "NASDAQ",
        "Kryx Semiconductor Corp",
        "Technology",
        "Semiconductors",
        "Electronic Compo-Semicon",
        2,
        1.45,
        0.029,
        0.0,
        54.18,
        -0.049,
        3_400_000.0,
    ),
    (
        "VLTX",
        "NASDAQ",
        "Voltex Systems Inc",
        "Technology",
        "Software",
        "Applications Software",
        1,
        1.20,
        0.022,
        0.0,
        94.32,
        -0.011,
        1_900_000.0,
    ),
    (
        "OMRA",
        "NYSE",
        "Omra Industrial Holdings",
        "Industrial",
        "Machinery-Diversified",
        "Machinery-General Industry",
        6,
        1.05,
        0.018,
        0.012,
        120.10,
        0.029,
        1_100_000.0,
    ),
    (
        "FELN",
        "NYSE",
        "Felandra Aerospace Corp",
        "Industrial",
        "Aerospace/Defense",
        "Aerospace/Defense-Equip",
        6,
        0.95,
        0.020,
        0.008,
        130.40,
        0.081,
        850_000.0,
    ),
    (
        "HDRX",
        "NASDAQ",
        "Hydrex Therapeutics Inc",
        "Consumer, Non-cyclical",
        "Pharmaceuticals",
        "Medical-Drugs",
        5,
        0.70,
        0.026,
        0.021,
        33.04,
        0.061,
        2_300_000.0,
    ),
    (
        "AAPL",
        "NASDAQ",
        "Apple Inc",
        "Technology",
        "Computers",
        "Computers",
        1,
        1.15,
        0.016,
        0.005,
        198.12,
        -0.0095,
        55_000_000.0,
    ),
    (
        "MSFT",
        "NASDAQ",
        "Microsoft Corp",
        "Technology",
        "Software",
        "Applications Software",
        1,
        1.05,
        0.015,
        0.007,
        420.27,
        0.0142,
        21_000_000.0,
    ),
    (
        "GOOGL",
        "NASDAQ",
        "Alphabet Inc-Cl A",
        "Communications",
        "Internet",
        "Web Portals/ISP",
        1,
        1.10,
        0.018,
        0.004,
        255.97,
        -0.0016,
        25_000_000.0,
    ),
    (
        "AMZN",
        "NASDAQ",
        "Amazon.com Inc",
        "Communications",
        "Internet",
        "E-Commerce/Products",
        7,
        1.20,
        0.019,
        0.0,
        182.41,
        0.0121,
        40_000_000.0,
    ),
    (
        "TSLA",
        "NASDAQ",
        "Tesla Inc",
        "Consumer, Cyclical",
        "Auto Manufacturers",
        "Auto-Cars/Light Trucks",
        7,
        1.90,
        0.035,
        0.0,
        238.05,
        -0.0142,
        95_000_000.0,
    ),
    (
        "NVDA",
        "NASDAQ",
        "NVIDIA Corp",
        "Technology",
        "Semiconductors",
        "Electronic Compo-Semicon",
        2,
        1.70,
        0.030,
        0.0003,
        131.60,
        0.021,
        250_000_000.0,
    ),
    (
        "JPM",
        "NYSE",
        "JPMorgan Chase & Co",
        "Financial",
        "Banks",
        "Money Center Banks",
        3,
        1.05,
        0.014,
        0.022,
        241.30,
        0.004,
        9_000_000.0,
    ),
    (
        "XOM",
        "NYSE",
        "Exxon Mobil Corp",
        "Energy",
        "Oil&Gas",
        "Oil Comp-Integrated",
        4,
        0.85,
        0.016,
        0.034,
        112.80,
        -0.006,
        15_000_000.0,
    ),
];

const ETFS: &[Row] = &[
    (
        "SPY",
        "ARCA",
        "SPDR S&P 500 ETF Trust",
        "Funds",
        "Equity Fund",
        "Growth&Income-Large Cap",
        0,
        1.0,
        0.010,
        0.013,
        561.20,
        0.0035,
        60_000_000.0,
    ),
    (
        "QQQ",
        "NASDAQ",
        "Invesco QQQ Trust Series 1",
        "Funds",
        "Equity Fund",
        "Growth-Large Cap",
        1,
        1.15,
        0.013,
        0.006,
        482.50,
        0.0051,
        40_000_000.0,
    ),
    (
        "IWM",
        "ARCA",
        "iShares Russell 2000 ETF",
        "Funds",
        "Equity Fund",
        "Small Cap",
        0,
        1.15,
        0.014,
        0.012,
        218.40,
        -0.002,
        30_000_000.0,
    ),
    (
        "DIA",
        "ARCA",
        "SPDR Dow Jones Industrial Average ETF",
        "Funds",
        "Equity Fund",
        "Growth&Income-Large Cap",
        0,
        0.95,
        0.010,
        0.016,
        421.70,
        0.0012,
        3_000_000.0,
    ),
    (
        "XLK",
        "ARCA",
        "Technology Select Sector SPDR Fund",
        "Funds",
        "Equity Fund",
        "Sector Fund-Technology",
        1,
        1.20,
        0.014,
        0.007,
        228.00,
        0.006,
        7_000_000.0,
    ),
    (
        "XLF",
        "ARCA",
        "Financial Select Sector SPDR Fund",
        "Funds",
        "Equity Fund",
        "Sector Fund-Financial",
        3,
        1.05,
        0.012,
        0.015,
        46.30,
        0.002,
        40_000_000.0,
    ),
    (
        "XLE",
        "ARCA",
        "Energy Select Sector SPDR Fund",
        "Funds",
        "Equity Fund",
        "Sector Fund-Energy",
        4,
        0.90,
        0.015,
        0.032,
        91.20,
        -0.004,
        15_000_000.0,
    ),
    (
        "XLV",
        "ARCA",
        "Health Care Select Sector SPDR Fund",
        "Funds",
        "Equity Fund",
        "Sector Fund-Health Care",
        5,
        0.70,
        0.010,
        0.016,
        148.60,
        0.003,
        8_000_000.0,
    ),
    (
        "XLI",
        "ARCA",
        "Industrial Select Sector SPDR Fund",
        "Funds",
        "Equity Fund",
        "Sector Fund-Industrial",
        6,
        1.00,
        0.011,
        0.014,
        131.40,
        0.005,
        9_000_000.0,
    ),
    (
        "XLY",
        "ARCA",
        "Consumer Discretionary Select Sector SPDR",
        "Funds",
        "Equity Fund",
        "Sector Fund-Consumer",
        7,
        1.10,
        0.013,
        0.008,
        196.00,
        0.001,
        4_000_000.0,
    ),
    (
        "XLP",
        "ARCA",
        "Consumer Staples Select Sector SPDR",
        "Funds",
        "Equity Fund",
        "Sector Fund-Consumer",
        8,
        0.55,
        0.008,
        0.026,
        79.50,
        -0.001,
        9_000_000.0,
    ),
    (
        "XLU",
        "ARCA",
        "Utilities Select Sector SPDR Fund",
        "Funds",
        "Equity Fund",
        "Sector Fund-Utilities",
        8,
        0.50,
        0.010,
        0.030,
        77.80,
        0.002,
        12_000_000.0,
    ),
    (
        "XLB",
        "ARCA",
        "Materials Select Sector SPDR Fund",
        "Funds",
        "Equity Fund",
        "Sector Fund-Basic Materials",
        6,
        1.00,
        0.012,
        0.019,
        90.10,
        -0.003,
        5_000_000.0,
    ),
    (
        "XLRE",
        "ARCA",
        "Real Estate Select Sector SPDR Fund",
        "Funds",
        "Equity Fund",
        "Sector Fund-Real Estate",
        8,
        0.85,
        0.012,
        0.033,
        41.20,
        0.001,
        6_000_000.0,
    ),
    (
        "XLC",
        "ARCA",
        "Communication Services Select Sector SPDR",
        "Funds",
        "Equity Fund",
        "Sector Fund-Communications",
        1,
        1.05,
        0.012,
        0.009,
        95.30,
        0.004,
        5_000_000.0,
    ),
    (
        "TLT",
        "NASDAQ",
        "iShares 20+ Year Treasury Bond ETF",
        "Funds",
        "Debt Fund",
        "Government-Treasury",
        8,
        -0.20,
        0.009,
        0.042,
        92.40,
        -0.002,
        35_000_000.0,
    ),
    (
        "GLD",
        "ARCA",
        "SPDR Gold Shares",
        "Funds",
        "Commodity Fund",
        "Precious Metals",
        8,
        0.10,
        0.009,
        0.0,
        238.60,
        0.004,
        8_000_000.0,
    ),
];

// pair, long name, price, change
const FX: &[(&str, &str, f64, f64)] = &[
    ("USD.CAD", "US Dollar / Canadian Dollar", 1.3600, -0.0012),
    (
        "EUR.USD",
        "European Monetary Union Euro / US Dollar",
        1.0842,
        0.0021,
    ),
    ("GBP.USD", "British Pound / US Dollar", 1.2718, 0.0008),
    ("USD.JPY", "US Dollar / Japanese Yen", 151.24, -0.0015),
    ("AUD.USD", "Australian Dollar / US Dollar", 0.6612, 0.0011),
    ("USD.CHF", "US Dollar / Swiss Franc", 0.8821, -0.0004),
    (
        "EUR.CAD",
        "European Monetary Union Euro / Canadian Dollar",
        1.4745,
        0.0009,
    ),
    (
        "GBP.CAD",
        "British Pound / Canadian Dollar",
        1.7297,
        -0.0004,
    ),
];

fn add_row(m: &mut Market, con_id: i32, r: &Row, kind: AssetKind) {
    m.add(
        con_id,
        Spec {
            symbol: r.0,
            kind,
            currency: "USD",
            primary: r.1,
            long_name: r.2,
            industry: r.3,
            category: r.4,
            subcategory: r.5,
            sector: r.6,
            beta: r.7,
            daily_vol: r.8,
            div_yield: r.9,
            price: r.10,
            change: r.11,
            avg_volume: r.12,
        },
    );
}

/// The fixed universe: seed stocks, known names, ETFs and FX pairs.
pub fn base_market(seed: u64) -> Market {
    let mut m = Market::new(seed);
    for (i, r) in STOCKS.iter().enumerate() {
        add_row(&mut m, 71_000_001 + i as i32, r, AssetKind::Stock);
    }
    for (i, r) in ETFS.iter().enumerate() {
        add_row(&mut m, 72_000_001 + i as i32, r, AssetKind::Etf);
    }
    for (i, (pair, name, price, change)) in FX.iter().enumerate() {
        let (base, quote) = pair.split_once('.').unwrap_or((pair, "USD"));
        m.add(
            73_000_001 + i as i32,
            Spec {
                symbol: base,
                kind: AssetKind::Fx,
                currency: quote,
                primary: "IDEALPRO",
                long_name: name,
                industry: "",
                category: "",
                subcategory: "",
                sector: 0,
                beta: 0.0,
                daily_vol: 0.005,
                div_yield: 0.0,
                price: *price,
                change: *change,
                avg_volume: 0.0,
            },
        );
    }
    m
}

/// Four-letter ticker for generated position `i`: a bijection on 0..26⁴ so names never collide.
pub fn generated_symbol(i: usize, seed: u64) -> String {
    const SPACE: u64 = 26 * 26 * 26 * 26;
    let mut n = ((i as u64)
        .wrapping_mul(7919)
        .wrapping_add(seed.wrapping_mul(104_729)))
        % SPACE;
    let mut s = [b'A'; 4];
    for c in s.iter_mut().rev() {
        *c = b'A' + (n % 26) as u8;
        n /= 26;
    }
    // Prefix-free from the fixed universe: generated names start with Q or Z.
    s[0] = if i.is_multiple_of(2) { b'Q' } else { b'Z' };
    String::from_utf8_lossy(&s).into_owned()
}

/// Adds `n` generated US stocks and returns their indices.
pub fn add_generated(m: &mut Market, n: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6e6e_6e6e);
    let mut out = Vec::with_capacity(n);
    let mut used = std::collections::HashSet::new();
    for i in 0..n {
        let mut sym = generated_symbol(i, seed);
        // The Q/Z prefix can fold two indices onto one name; walk forward until free.
        let mut k = i;
        while used.contains(&sym) || m.by_key(&sym).is_some() {
            k += n.max(1);
            sym = generated_symbol(k, seed.wrapping_add(1));
        }
        used.insert(sym.clone());
        let sector = 1 + (stable_hash(&sym) as usize % (SECTORS.len() - 1));
        let price = (10.0 * (rng.random::<f64>() * 3.4).exp()).round() / 1.0 + 0.37;
        let change = (rng.random::<f64>() - 0.5) * 0.06;
        let name = format!("{sym} {} Corp", SECTORS[sector]);
        let idx = m.add(
            74_000_001 + i as i32,
            Spec {
                symbol: &sym,
                kind: AssetKind::Stock,
                currency: "USD",
                primary: if i % 3 == 0 { "NYSE" } else { "NASDAQ" },
                long_name: &name,
                industry: SECTORS[sector],
                category: SECTORS[sector],
                subcategory: SECTORS[sector],
                sector,
                beta: 0.6 + rng.random::<f64>() * 1.0,
                daily_vol: 0.012 + rng.random::<f64>() * 0.02,
                div_yield: if rng.random::<f64>() < 0.4 {
                    rng.random::<f64>() * 0.04
                } else {
                    0.0
                },
                price,
                change,
                avg_volume: (200_000.0 + rng.random::<f64>() * 5_000_000.0).round(),
            },
        );
        out.push(idx);
    }
    out
}
