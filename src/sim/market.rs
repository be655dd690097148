//! The simulated market: the instrument universe and its live prices.
//!
//! Prices are deterministic from the seed: every random draw comes from ChaCha RNGs seeded by
//! `seed` (plus a per-symbol hash for history), so two simulators with the same seed and the same
//! sequence of ticks/advances show the same numbers. Returns are built from a few sector factors
//! plus idiosyncratic noise, so correlations between holdings look like a real book.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use std::collections::HashMap;

/// Seconds in one regular trading session (09:30–16:00).
pub const SESSION_SECONDS: f64 = 23_400.0;
/// Live ticks run this many times faster than the wall clock, so a demo visibly moves.
const TICK_ACCELERATION: f64 = 4.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssetKind {
    Stock,
    Etf,
    Fx,
}

/// Sector factors. Index 0 is the market factor every stock loads on through its beta.
pub const SECTORS: [&str; 9] = [
    "Market",
    "Technology",
    "Semiconductors",
    "Financial",
    "Energy",
    "Healthcare",
    "Industrial",
    "Consumer",
    "Utilities",
];

/// One tradable instrument and its live state.
#[derive(Debug, Clone)]
pub struct Instrument {
    pub symbol: String,
    pub con_id: i32,
    pub kind: AssetKind,
    /// Quote currency (for FX, the second leg: `EUR.USD` → `USD`).
    pub currency: String,
    pub exchange: String,
    pub primary_exch: String,
    pub long_name: String,
    pub industry: String,
    pub category: String,
    pub subcategory: String,
    /// Index into `SECTORS`.
    pub sector: usize,
    pub beta: f64,
    /// Standard deviation of daily log returns.
    pub daily_vol: f64,
    /// Annual dividend yield (0 for none).
    pub div_yield: f64,
    pub avg_volume: f64,
    pub spread_bps: f64,
    pub min_tick: f64,
    // live state
    pub prev_close: f64,
    pub open: f64,
    pub last: f64,
    pub high: f64,
    pub low: f64,
    pub volume: f64,
    pub last_size: f64,
}

impl Instrument {
    /// `EUR.USD` for FX, the ticker otherwise: the key used in maps and in the world view.
    pub fn key(&self) -> String {
        match self.kind {
            AssetKind::Fx => format!("{}.{}", self.symbol, self.currency),
            _ => self.symbol.clone(),
        }
    }
    pub fn sec_type(&self) -> &'static str {
        match self.kind {
            AssetKind::Fx => "CASH",
            _ => "STK",
        }
    }
    pub fn spread(&self) -> f64 {
        (self.last * self.spread_bps / 10_000.0).max(self.min_tick)
    }
    /// Rounds to the instrument's tick and clears binary noise (94.32, not 94.32000000000001).
    pub fn round(&self, p: f64) -> f64 {
        let steps = (p / self.min_tick).round();
        let mut scale = 1.0;
        while (self.min_tick * scale).fract().abs() > 1e-9 && scale < 1e8 {
            scale *= 10.0;
        }
        (steps * self.min_tick * scale).round() / scale
    }
    pub fn bid(&self) -> f64 {
        self.round(self.last - self.spread() / 2.0)
    }
    pub fn ask(&self) -> f64 {
        self.round(self.bid() + self.spread())
            .max(self.bid() + self.min_tick)
    }
    pub fn mid(&self) -> f64 {
        (self.bid() + self.ask()) / 2.0
    }
    /// The price a portfolio is marked at: last for stocks, mid for FX.
    pub fn mark(&self) -> f64 {
        match self.kind {
            AssetKind::Fx => self.mid(),
            _ => self.round(self.last),
        }
    }
    pub fn annual_vol(&self) -> f64 {
        self.daily_vol * 252f64.sqrt()
    }
    /// Dividend paid each quarter (0 when the instrument pays none).
    pub fn quarterly_dividend(&self) -> f64 {
        ((self.prev_close * self.div_yield / 4.0) * 100.0).round() / 100.0
    }
}

/// Static description used to build an instrument.
pub struct Spec<'a> {
    pub symbol: &'a str,
    pub kind: AssetKind,
    pub currency: &'a str,
    pub primary: &'a str,
    pub long_name: &'a str,
    pub industry: &'a str,
    pub category: &'a str,
    pub subcategory: &'a str,
    pub sector: usize,
    pub beta: f64,
    pub daily_vol: f64,
    pub div_yield: f64,
    pub price: f64,
    /// Today's change against the previous close, e.g. -0.049.
    pub change: f64,
    pub avg_volume: f64,
}

/// Stable 64-bit hash of a string (FNV-1a), so per-symbol randomness survives restarts.
pub fn stable_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

pub struct Market {
    pub seed: u64,
    pub instruments: Vec<Instrument>,
    by_key: HashMap<String, usize>,
    by_con_id: HashMap<i32, usize>,
    rng: ChaCha8Rng,
    /// Minutes the market has been moved forward by `advance` (for reports).
    pub advanced_minutes: u64,
    pub ticks: u64,
    /// Generated daily history, kept so repeated requests do not regenerate it.
    pub history_memo: super::history::HistoryMemo,
}

impl Market {
    pub fn new(seed: u64) -> Self {
        Market {
            seed,
            instruments: Vec::new(),
            by_key: HashMap::new(),
            by_con_id: HashMap::new(),
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_71c4),
            advanced_minutes: 0,
            ticks: 0,
            history_memo: Default::default(),
        }
    }

    pub fn add(&mut self, con_id: i32, s: Spec<'_>) -> usize {
        let (exchange, min_tick, spread_bps) = match s.kind {
            AssetKind::Fx => (
                "IDEALPRO",
                if s.price > 20.0 { 0.005 } else { 0.00005 },
                0.6,
            ),
            AssetKind::Etf => ("SMART", 0.01, 1.5),
            AssetKind::Stock => ("SMART", 0.01, 6.0 + 10.0 * s.daily_vol * 100.0 / 3.0),
        };
        let prev_close = s.price / (1.0 + s.change);
        // Where the session opened: part of the day's move happened at the open.
        let open = prev_close * (1.0 + s.change * 0.4);
        let hi = s.price.max(open).max(prev_close.min(s.price.max(open)));
        let lo = s.price.min(open);
        let inst = Instrument {
            symbol: s.symbol.to_string(),
            con_id,
            kind: s.kind,
            currency: s.currency.to_string(),
            exchange: exchange.to_string(),
            primary_exch: s.primary.to_string(),
            long_name: s.long_name.to_string(),
            industry: s.industry.to_string(),
            category: s.category.to_string(),
            subcategory: s.subcategory.to_string(),
            sector: s.sector,
            beta: s.beta,
            daily_vol: s.daily_vol,
            div_yield: s.div_yield,
            avg_volume: s.avg_volume,
            spread_bps,
            min_tick,
            prev_close,
            open,
            last: s.price,
            high: hi * (1.0 + s.daily_vol * 0.15),
            low: lo * (1.0 - s.daily_vol * 0.15),
            volume: (s.avg_volume * 0.55).round(),
            last_size: 100.0,
        };
        let idx = self.instruments.len();
        self.by_key.insert(inst.key(), idx);
        self.by_con_id.insert(con_id, idx);
        self.instruments.push(inst);
        idx
    }

    pub fn get(&self, idx: usize) -> &Instrument {
        &self.instruments[idx]
    }
    pub fn by_key(&self, key: &str) -> Option<usize> {
        self.by_key.get(&key.to_ascii_uppercase()).copied()
    }
    pub fn by_con_id(&self, con_id: i32) -> Option<usize> {
        self.by_con_id.get(&con_id).copied()
    }

    /// Resolves a request contract: con_id first, then symbol (+ currency for CASH).
    pub fn lookup(
        &self,
        con_id: i32,
        symbol: &str,
        sec_type: &str,
        currency: &str,
    ) -> Option<usize> {
        if con_id > 0
            && let Some(i) = self.by_con_id(con_id)
        {
            return Some(i);
        }
        if sec_type.eq_ignore_ascii_case("CASH") {
            let cur = if currency.is_empty() { "USD" } else { currency };
            return self.by_key(&format!("{symbol}.{cur}"));
        }
        let idx = self.by_key(symbol)?;
        let inst = self.get(idx);
        if inst.kind == AssetKind::Fx {
            return None;
        }
        if !currency.is_empty() && !inst.currency.eq_ignore_ascii_case(currency) {
            return None;
        }
        Some(idx)
    }

    /// Value of one unit of `ccy` in USD (from the FX pairs in the universe).
    pub fn usd_value(&self, ccy: &str) -> f64 {
        if ccy == "USD" {
            return 1.0;
        }
        if let Some(i) = self.by_key(&format!("{ccy}.USD")) {
            return self.get(i).mid();
        }
        if let Some(i) = self.by_key(&format!("USD.{ccy}")) {
            let m = self.get(i).mid();
            if m > 0.0 {
                return 1.0 / m;
            }
        }
        1.0
    }

    /// Rate converting an amount in `from` into `to`.
    pub fn fx(&self, from: &str, to: &str) -> f64 {
        if from == to {
            return 1.0;
        }
        let t = self.usd_value(to);
        if t == 0.0 {
            1.0
        } else {
            self.usd_value(from) / t
        }
    }

    /// One live tick: every instrument moves by a small correlated step.
    pub fn tick(&mut self, dt_seconds: f64) {
        self.ticks += 1;
        let frac = (dt_seconds * TICK_ACCELERATION / SESSION_SECONDS).max(0.0);
        self.step(frac, dt_seconds * TICK_ACCELERATION / SESSION_SECONDS);
    }

    /// Moves the market forward by whole minutes (deterministic; used by `SimHandle::advance`).
    pub fn advance(&mut self, minutes: u32) {
        for _ in 0..minutes {
            self.step(60.0 / SESSION_SECONDS, 60.0 / SESSION_SECONDS);
        }
        self.advanced_minutes += u64::from(minutes);
    }

    /// `var_frac`: fraction of a session's variance this step carries; `vol_frac`: fraction of
    /// the day's volume that trades.
    fn step(&mut self, var_frac: f64, vol_frac: f64) {
        let scale = var_frac.sqrt();
        let factors: Vec<f64> = (0..SECTORS.len())
            .map(|_| self.rng.sample::<f64, _>(StandardNormal))
            .collect();
        for inst in &mut self.instruments {
            let z: f64 = self.rng.sample(StandardNormal);
            let (m, s) = (factors[0], factors[inst.sector.min(SECTORS.len() - 1)]);
            let r = match inst.kind {
                AssetKind::Fx => inst.daily_vol * scale * (0.3 * m + 0.95 * z),
                _ => inst.daily_vol * scale * (0.55 * inst.beta.min(1.6) * m + 0.45 * s + 0.65 * z),
            };
            inst.last *= r.exp();
            inst.high = inst.high.max(inst.last);
            inst.low = inst.low.min(inst.last);
            if inst.kind != AssetKind::Fx {
                let traded =
                    (inst.avg_volume * vol_frac * (0.5 + self.rng.random::<f64>())).round();
                let lot = if inst.avg_volume > 1e6 { 100.0 } else { 1.0 };
                inst.last_size =
                    ((traded / 10.0 / lot).round().max(1.0) * lot).min(traded.max(lot));
                inst.volume += traded;
            }
        }
    }
}
