//! Options: chain definitions, Black–Scholes prices and greeks with a volatility smile, option
//! contract details, and the IB dividends string (generic tick 456).

use super::clock;
use super::history::HISTORY_DAYS;
use super::market::{AssetKind, Instrument, Market, stable_hash};
use super::proto as pb;
use super::session::session_hours;
use time::{Date, Duration as TDuration, Weekday};

pub const RISK_FREE: f64 = 0.045;

/// One option contract the client asked about.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionSpec {
    pub underlying: usize,
    /// `YYYYMMDD`
    pub expiry: String,
    pub expiry_date: Date,
    pub strike: f64,
    /// `C` or `P`
    pub right: char,
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct OptionQuote {
    pub bid: f64,
    pub ask: f64,
    pub last: f64,
    pub close: f64,
    pub model: f64,
    pub iv: f64,
    pub delta: f64,
    pub gamma: f64,
    pub vega: f64,
    pub theta: f64,
    pub pv_dividend: f64,
    pub underlying: f64,
    pub bid_size: f64,
    pub ask_size: f64,
    pub volume: f64,
}

fn parse_ymd(s: &str) -> Option<Date> {
    let y: i32 = s.get(0..4)?.parse().ok()?;
    let m: u8 = s.get(4..6)?.parse().ok()?;
    let month = time::Month::try_from(m).ok()?;
    match s.get(6..8) {
        Some(d) => Date::from_calendar_date(y, month, d.parse().ok()?).ok(),
        // A contract month (YYYYMM) means that month's standard (third-Friday) expiry.
        None => third_friday(y, month),
    }
}

fn third_friday(y: i32, m: time::Month) -> Option<Date> {
    let first = Date::from_calendar_date(y, m, 1).ok()?;
    let offset = (7 + 4 - i64::from(first.weekday().number_days_from_monday())) % 7;
    Some(first + TDuration::days(offset + 14))
}

fn underlying_of(m: &Market, c: &pb::Contract) -> Option<usize> {
    let sym = c.symbol.clone().unwrap_or_default();
    let i = m.lookup(0, &sym, "STK", "")?;
    (m.get(i).kind != AssetKind::Fx).then_some(i)
}

impl OptionSpec {
    pub fn from_contract(m: &Market, c: &pb::Contract) -> Option<OptionSpec> {
        let underlying = underlying_of(m, c)?;
        let expiry_text = c
            .last_trade_date_or_contract_month
            .clone()
            .or(c.last_trade_date.clone())?;
        let expiry_date = parse_ymd(expiry_text.trim())?;
        let strike = c.strike.filter(|s| *s > 0.0 && s.is_finite())?;
        let right = match c.right.as_deref().map(|r| r.trim().to_ascii_uppercase()) {
            Some(r) if r == "C" || r == "CALL" => 'C',
            Some(r) if r == "P" || r == "PUT" => 'P',
            _ => return None,
        };
        Some(OptionSpec {
            underlying,
            expiry: clock::ymd(expiry_date),
            expiry_date,
            strike,
            right,
        })
    }

    fn years_to_expiry(&self, now: i64) -> f64 {
        let expiry = clock::midnight(self.expiry_date) + 20 * 3600;
        ((expiry - now) as f64 / (365.0 * 86_400.0)).max(1.0 / (365.0 * 24.0))
    }

    /// Volatility the market quotes at this strike (a smile around the underlying's own vol).
    pub fn smile_vol(&self, inst: &Instrument, spot: f64) -> f64 {
        let k = (self.strike / spot).ln();
        (inst.annual_vol() * (1.0 - 0.25 * k + 1.2 * k * k)).clamp(0.05, 3.0)
    }

    pub fn quote(&self, m: &Market, now: i64) -> OptionQuote {
        self.quote_with(m, now, None, None)
    }

    /// Quote at a given volatility and underlying price (the calculator requests).
    pub fn quote_with(
        &self,
        m: &Market,
        now: i64,
        vol: Option<f64>,
        und: Option<f64>,
    ) -> OptionQuote {
        let inst = m.get(self.underlying);
        let spot = und
            .filter(|u| *u > 0.0 && u.is_finite())
            .unwrap_or_else(|| inst.mark());
        let sigma = vol
            .filter(|v| *v > 0.0 && v.is_finite())
            .unwrap_or_else(|| self.smile_vol(inst, spot));
        let t = self.years_to_expiry(now);
        let g = black_scholes(
            self.right == 'C',
            spot,
            self.strike,
            t,
            RISK_FREE,
            inst.div_yield,
            sigma,
        );
        let half = (g.price * 0.03).max(0.02) / 2.0;
        let r2 = |x: f64| ((x * 100.0).round() / 100.0).max(0.0);
        let bid = r2(g.price - half);
        let ask = r2(g.price + half).max(bid + 0.01);
        let seedish = (stable_hash(&format!("{}{}{}", self.expiry, self.strike, self.right)) % 1000)
            as f64
            / 1000.0;
        OptionQuote {
            bid,
            ask,
            last: r2(g.price),
            close: r2(g.price * (0.97 + 0.06 * seedish)),
            model: g.price,
            iv: sigma,
            delta: g.delta,
            gamma: g.gamma,
            vega: g.vega,
            theta: g.theta,
            pv_dividend: spot * (1.0 - (-inst.div_yield * t).exp()),
            underlying: spot,
            bid_size: 10.0 + (seedish * 40.0).round(),
            ask_size: 12.0 + (seedish * 35.0).round(),
            volume: (seedish * 900.0).round(),
        }
    }

    /// Implied volatility that reproduces `price` (bisection; 0 when no vol fits).
    pub fn implied_vol_for(&self, m: &Market, now: i64, price: f64, und: Option<f64>) -> f64 {
        let inst = m.get(self.underlying);
        let spot = und.filter(|u| *u > 0.0).unwrap_or_else(|| inst.mark());
        let t = self.years_to_expiry(now);
        let (mut lo, mut hi) = (0.001, 5.0);
        for _ in 0..80 {
            let mid = (lo + hi) / 2.0;
            let p = black_scholes(
                self.right == 'C',
                spot,
                self.strike,
                t,
                RISK_FREE,
                inst.div_yield,
                mid,
            )
            .price;
            if p > price { hi = mid } else { lo = mid }
        }
        (lo + hi) / 2.0
    }

    pub fn local_symbol(&self, underlying: &str) -> String {
        format!(
            "{:<6}{}{}{:08}",
            underlying,
            &self.expiry[2..],
            self.right,
            (self.strike * 1000.0).round() as i64
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Greeks {
    pub price: f64,
    pub delta: f64,
    pub gamma: f64,
    /// Per 1 volatility point.
    pub vega: f64,
    /// Per calendar day.
    pub theta: f64,
}

fn norm_cdf(x: f64) -> f64 {
    0.5 * (1.0 + erf(x / std::f64::consts::SQRT_2))
}

fn norm_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7), plenty for quotes.
fn erf(x: f64) -> f64 {
    let s = x.signum();
    let x = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let y = 1.0
        - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736) * t
            + 0.254_829_592)
            * t
            * (-x * x).exp();
    s * y
}

/// Black–Scholes–Merton with a continuous dividend yield.
pub fn black_scholes(call: bool, s: f64, k: f64, t: f64, r: f64, q: f64, sigma: f64) -> Greeks {
    let st = sigma * t.sqrt();
    let d1 = ((s / k).ln() + (r - q + 0.5 * sigma * sigma) * t) / st;
    let d2 = d1 - st;
    let (dq, dr) = ((-q * t).exp(), (-r * t).exp());
    let gamma = dq * norm_pdf(d1) / (s * st);
    let vega = s * dq * norm_pdf(d1) * t.sqrt() / 100.0;
    if call {
        let price = s * dq * norm_cdf(d1) - k * dr * norm_cdf(d2);
        let theta = (-s * dq * norm_pdf(d1) * sigma / (2.0 * t.sqrt()) - r * k * dr * norm_cdf(d2)
            + q * s * dq * norm_cdf(d1))
            / 365.0;
        Greeks {
            price,
            delta: dq * norm_cdf(d1),
            gamma,
            vega,
            theta,
        }
    } else {
        let price = k * dr * norm_cdf(-d2) - s * dq * norm_cdf(-d1);
        let theta = (-s * dq * norm_pdf(d1) * sigma / (2.0 * t.sqrt())
            + r * k * dr * norm_cdf(-d2)
            - q * s * dq * norm_cdf(-d1))
            / 365.0;
        Greeks {
            price,
            delta: dq * (norm_cdf(d1) - 1.0),
            gamma,
            vega,
            theta,
        }
    }
}

pub struct Chain {
    pub exchange: String,
    pub underlying_con_id: i32,
    pub trading_class: String,
    pub expirations: Vec<String>,
    pub strikes: Vec<f64>,
}

/// Listed expiries: the next four Fridays plus the next eight monthly (third-Friday) expiries.
pub fn expirations(now: i64) -> Vec<Date> {
    let today = clock::date_of(now);
    let mut out = Vec::new();
    let mut d = today + TDuration::days(1);
    while out.len() < 4 {
        if d.weekday() == Weekday::Friday {
            out.push(d);
        }
        d += TDuration::days(1);
    }
    let (mut y, mut m) = (today.year(), today.month());
    let mut added = 0;
    while added < 8 {
        if let Some(f) = third_friday(y, m).filter(|f| *f > today) {
            out.push(f);
            added += 1;
        }
        m = m.next();
        if m == time::Month::January {
            y += 1;
        }
    }
    out.sort();
    out.dedup();
    out
}

fn strike_step(price: f64) -> f64 {
    match price {
        p if p < 25.0 => 0.5,
        p if p < 60.0 => 1.0,
        p if p < 150.0 => 2.5,
        p if p < 400.0 => 5.0,
        _ => 10.0,
    }
}

pub fn strikes(price: f64) -> Vec<f64> {
    let step = strike_step(price);
    let lo = ((price * 0.5) / step).floor() as i64;
    let hi = ((price * 1.5) / step).ceil() as i64;
    (lo.max(1)..=hi).map(|i| i as f64 * step).collect()
}

pub fn chains(m: &Market, idx: usize, now: i64) -> Vec<Chain> {
    let inst = m.get(idx);
    let exp: Vec<String> = expirations(now).into_iter().map(clock::ymd).collect();
    let ks = strikes(inst.prev_close);
    ["SMART", "CBOE"]
        .iter()
        .map(|ex| Chain {
            exchange: ex.to_string(),
            underlying_con_id: inst.con_id,
            trading_class: inst.symbol.clone(),
            expirations: exp.clone(),
            strikes: ks.clone(),
        })
        .collect()
}

/// Contract details for every option matching a (possibly partial) OPT contract, capped at 500.
pub fn contract_details(
    m: &Market,
    c: &pb::Contract,
    now: i64,
) -> Vec<(pb::Contract, pb::ContractDetails)> {
    let Some(idx) = underlying_of(m, c) else {
        return Vec::new();
    };
    let inst = m.get(idx);
    let want_exp = c
        .last_trade_date_or_contract_month
        .clone()
        .filter(|s| !s.is_empty())
        .and_then(|s| parse_ymd(&s));
    let want_strike = c.strike.filter(|s| *s > 0.0);
    let want_right = c
        .right
        .as_deref()
        .and_then(|r| r.chars().next())
        .map(|ch| ch.to_ascii_uppercase())
        .filter(|ch| *ch == 'C' || *ch == 'P');
    let mut out = Vec::new();
    for e in expirations(now) {
        if want_exp.is_some_and(|w| w != e) {
            continue;
        }
        for k in strikes(inst.prev_close) {
            if want_strike.is_some_and(|w| (w - k).abs() > 1e-6) {
                continue;
            }
            for r in ['C', 'P'] {
                if want_right.is_some_and(|w| w != r) || out.len() >= 500 {
                    continue;
                }
                let spec = OptionSpec {
                    underlying: idx,
                    expiry: clock::ymd(e),
                    expiry_date: e,
                    strike: k,
                    right: r,
                };
                out.push(option_contract(inst, &spec, now));
            }
        }
    }
    out
}

fn option_contract(
    inst: &Instrument,
    spec: &OptionSpec,
    now: i64,
) -> (pb::Contract, pb::ContractDetails) {
    let local = spec.local_symbol(&inst.symbol);
    let con_id = 500_000_000 + (stable_hash(&local) % 400_000_000) as i32;
    let contract = pb::Contract {
        con_id: Some(con_id),
        symbol: Some(inst.symbol.clone()),
        sec_type: Some("OPT".into()),
        last_trade_date_or_contract_month: Some(spec.expiry.clone()),
        strike: Some(spec.strike),
        right: Some(spec.right.to_string()),
        multiplier: Some(100.0),
        exchange: Some("SMART".into()),
        currency: Some(inst.currency.clone()),
        local_symbol: Some(local),
        trading_class: Some(inst.symbol.clone()),
        ..Default::default()
    };
    let details = pb::ContractDetails {
        market_name: Some(inst.symbol.clone()),
        min_tick: Some("0.01".into()),
        order_types: Some("LMT,MKT,STP,STPLMT,WHATIF".into()),
        valid_exchanges: Some("SMART,CBOE,AMEX,ISE,PHLX,BOX".into()),
        price_magnifier: Some(1),
        under_con_id: Some(inst.con_id),
        long_name: Some(inst.long_name.clone()),
        contract_month: Some(spec.expiry[..6].to_string()),
        industry: Some(inst.industry.clone()),
        category: Some(inst.category.clone()),
        subcategory: Some(inst.subcategory.clone()),
        time_zone_id: Some("US/Eastern".into()),
        trading_hours: Some(session_hours(now, true, false)),
        liquid_hours: Some(session_hours(now, true, false)),
        under_symbol: Some(inst.symbol.clone()),
        under_sec_type: Some("STK".into()),
        real_expiration_date: Some(spec.expiry.clone()),
        min_size: Some("1".into()),
        size_increment: Some("1".into()),
        suggested_size_increment: Some("1".into()),
        ..Default::default()
    };
    (contract, details)
}

/// IB's dividends string for generic tick 456: `past12,next12,nextDate,nextAmount`.
pub fn dividend_string(inst: &Instrument, now: i64) -> String {
    let q = inst.quarterly_dividend();
    if q <= 0.0 {
        return "0,0,,0".into();
    }
    // Same quarterly cycle as the ADJUSTED_LAST history: the series index of today is HISTORY_DAYS.
    let phase = (stable_hash(&inst.symbol) % 63) as usize;
    let k = (1..=63)
        .find(|k| (HISTORY_DAYS + k + phase).is_multiple_of(63))
        .unwrap_or(63);
    let (mut d, _) = clock::current_session(now);
    for _ in 0..k {
        d = clock::next_weekday(d);
    }
    format!("{:.2},{:.2},{},{:.2}", q * 4.0, q * 4.0, clock::ymd(d), q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_call_parity_holds() {
        let (s, k, t, r, q, v) = (100.0, 95.0, 0.5, 0.045, 0.01, 0.3);
        let c = black_scholes(true, s, k, t, r, q, v);
        let p = black_scholes(false, s, k, t, r, q, v);
        let parity = c.price - p.price - (s * (-q * t).exp() - k * (-r * t).exp());
        assert!(parity.abs() < 1e-4, "{parity}");
        assert!(c.delta > 0.5 && c.delta < 1.0 && p.delta < 0.0);
        assert!(c.gamma > 0.0 && c.vega > 0.0 && c.theta < 0.0);
    }

    #[test]
    fn expiries_are_future_fridays() {
        let now = clock::now_secs();
        let e = expirations(now);
        assert!(e.len() >= 8);
        assert!(
            e.iter()
                .all(|d| d.weekday() == Weekday::Friday && *d > clock::date_of(now))
        );
    }
}
