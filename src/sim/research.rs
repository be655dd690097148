//! Research data the simulated gateway serves: fundamental ratios (generic tick 258 → tick 47),
//! shortability (generic tick 236 → ticks 46/89), stock borrow fee rates (`FEE_RATE` daily bars),
//! and market scanners (parameters XML, ranked results).
//!
//! Everything derives from the instrument and the seed so repeated runs agree, and from the same
//! numbers the other requests serve: the ratios' yield is the dividend tick's next-12-month amount
//! over the price, their 52-week range is tick 165's, their beta is the universe's.

use super::history::{self, DailyBar, OutBar};
use super::market::{AssetKind, Instrument, Market, stable_hash};
use super::{clock, proto as pb};

/// Shares outstanding: a deterministic multiple of the average daily volume (a daily turnover
/// between 0.25% and 0.67% of the float, typical of listed stocks).
pub fn shares_outstanding(inst: &Instrument) -> f64 {
    let multiple = 150.0 + (stable_hash(&format!("shares|{}", inst.symbol)) % 250) as f64;
    (inst.avg_volume * multiple).round()
}

/// Trailing-twelve-month EPS: an earnings yield of 2–8% of the previous close, in cents.
pub fn ttm_eps(inst: &Instrument) -> f64 {
    let earnings_yield = 0.02 + (stable_hash(&format!("eps|{}", inst.symbol)) % 60) as f64 / 1000.0;
    (inst.prev_close * earnings_yield * 100.0).round() / 100.0
}

/// Market capitalisation in millions of the instrument's currency (IB's MKTCAP unit).
pub fn market_cap_millions(inst: &Instrument) -> f64 {
    shares_outstanding(inst) * inst.mark() / 1e6
}

/// IB's fundamental-ratios string (tick 47): `KEY=VALUE;` pairs with IB's field names.
pub fn fundamental_ratios(m: &Market, inst: &Instrument) -> String {
    if inst.kind == AssetKind::Fx {
        return String::new();
    }
    let (lo, hi) = history::range_52w(m, inst);
    let price = inst.mark();
    let eps = ttm_eps(inst);
    let annual_div = inst.quarterly_dividend() * 4.0;
    let fields = [
        ("CURRENCY", inst.currency.clone()),
        ("MKTCAP", format!("{:.2}", market_cap_millions(inst))),
        ("TTMEPSXCLX", format!("{eps:.2}")),
        ("PEEXCLXOR", format!("{:.2}", price / eps)),
        ("YIELD", format!("{:.4}", annual_div / price * 100.0)),
        ("IAD", format!("{annual_div:.2}")),
        ("NHIG", format!("{:.2}", inst.round(hi))),
        ("NLOW", format!("{:.2}", inst.round(lo))),
        ("BETA", format!("{:.2}", inst.beta)),
        ("VOL10DAVG", format!("{:.4}", inst.avg_volume / 1e6)),
    ];
    fields.iter().map(|(k, v)| format!("{k}={v};")).collect()
}

/// Shortability: (tick 46 level, tick 89 shares). Levels are IB's: above 2.5 easy to borrow (at
/// least 1,000 shares), above 1.5 hard to borrow (a locate is needed), else not available.
pub fn shortable(inst: &Instrument) -> (f64, f64) {
    if inst.kind == AssetKind::Etf {
        return (3.0, (inst.avg_volume * 5.0 / 100.0).round() * 100.0);
    }
    let h = stable_hash(&format!("short|{}", inst.symbol));
    match h % 10 {
        0 => (1.0, 0.0),
        1 | 2 => (2.0, (100 + (h >> 8) % 9 * 100) as f64),
        _ => {
            let multiple = 2.0 + ((h >> 8) % 8) as f64;
            (3.0, (inst.avg_volume * multiple / 100.0).round() * 100.0)
        }
    }
}

/// Annual borrow fee rate in percent, consistent with the shortable level: general collateral
/// (0.25–0.5%) when easy to borrow, 5–45% when hard, 60–150% when none are available.
pub fn fee_rate_pct(inst: &Instrument) -> f64 {
    let (level, _) = shortable(inst);
    let h = stable_hash(&format!("fee|{}", inst.symbol)) % 1000;
    let f = h as f64 / 1000.0;
    let rate = if level > 2.5 {
        0.25 + 0.25 * f
    } else if level > 1.5 {
        5.0 + 40.0 * f
    } else {
        60.0 + 90.0 * f
    };
    (rate * 100.0).round() / 100.0
}

/// `FEE_RATE` daily bars: the fee rate each session (constant over the window, as a rate that
/// has not been repriced), no volume.
pub fn fee_rate_bars(inst: &Instrument, days: &[DailyBar], start: i64) -> Vec<OutBar> {
    let v = fee_rate_pct(inst);
    days.iter()
        .filter(|b| clock::midnight(b.date) >= start - 86_400)
        .map(|b| OutBar {
            date: clock::ymd(b.date),
            open: v,
            high: v,
            low: v,
            close: v,
            volume: -1.0,
            wap: -1.0,
            count: -1,
        })
        .collect()
}

/// Today's historical and implied volatility (annualized fractions), as the last
/// `HISTORICAL_VOLATILITY` / `OPTION_IMPLIED_VOLATILITY` bars give them: the sample σ of the last
/// 20 daily log returns × √252, and that × 1.1 + 0.02. Ticks 104/106 send these, so the ticks and
/// the bars agree.
pub fn current_volatility(m: &Market, inst: &Instrument) -> (f64, f64) {
    let series = history::daily_series(m, inst, clock::now_secs());
    let tail = &series[series.len().saturating_sub(21)..];
    let rets: Vec<f64> = tail
        .windows(2)
        .filter(|p| p[0].close > 0.0 && p[1].close > 0.0)
        .map(|p| (p[1].close / p[0].close).ln())
        .collect();
    if rets.len() < 2 {
        let v = inst.annual_vol();
        return (v, v * 1.1 + 0.02);
    }
    let mean = rets.iter().sum::<f64>() / rets.len() as f64;
    let var = rets.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (rets.len() as f64 - 1.0);
    let hv = (var * 252.0).sqrt();
    (hv, hv * 1.1 + 0.02)
}

// ---------------------------------------------------------------------------------- scanners

/// Scan codes served, with TWS's display names.
pub const SCAN_CODES: [(&str, &str); 5] = [
    ("TOP_PERC_GAIN", "Top % Gainers"),
    ("TOP_PERC_LOSE", "Top % Losers"),
    ("MOST_ACTIVE", "Most Active"),
    ("HOT_BY_VOLUME", "Hot Contracts by Volume"),
    ("HIGH_DIVIDEND_YIELD_IB", "High Dividend Yield"),
];

/// Location codes served: (code, display name, currency, primary exchanges; empty = any).
pub const LOCATIONS: [(&str, &str, &str, &[&str]); 3] = [
    (
        "STK.US.MAJOR",
        "US Stocks: Listed/NASDAQ",
        "USD",
        &["NYSE", "NASDAQ", "ARCA"],
    ),
    ("STK.US", "US Stocks", "USD", &[]),
    ("STK.NA.CANADA", "Canadian Stocks", "CAD", &[]),
];

/// Most rows IB returns for one scan.
pub const MAX_ROWS: usize = 50;

/// The scanner parameters document (the shape of IB's `reqScannerParameters` XML, cut down to
/// what is served here).
pub fn scanner_parameters_xml() -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ScanParameterResponse>\
         <InstrumentList varName=\"instrumentList\"><Instrument><name>US Stocks</name><type>STK</type>\
         <filters>PRICE,VOLUME,MKTCAP</filters></Instrument></InstrumentList>\
         <LocationTree varName=\"locationTree\">",
    );
    for (code, name, _, _) in LOCATIONS {
        xml.push_str(&format!(
            "<Location><displayName>{name}</displayName><locationCode>{code}</locationCode>\
             <instruments>STK</instruments></Location>"
        ));
    }
    xml.push_str("</LocationTree><ScanTypeList varName=\"scanTypeList\">");
    for (code, name) in SCAN_CODES {
        xml.push_str(&format!(
            "<ScanType><displayName>{name}</displayName><scanCode>{code}</scanCode>\
             <instruments>STK</instruments></ScanType>"
        ));
    }
    xml.push_str(
        "</ScanTypeList><FilterList varName=\"filterList\">\
         <RangeFilter><id>PRICE</id><AbstractField><code>abovePrice</code></AbstractField>\
         <AbstractField><code>belowPrice</code></AbstractField></RangeFilter>\
         <RangeFilter><id>VOLUME</id><AbstractField><code>aboveVolume</code></AbstractField></RangeFilter>\
         <RangeFilter><id>MKTCAP</id><AbstractField><code>marketCapAbove1e6</code></AbstractField>\
         <AbstractField><code>marketCapBelow1e6</code></AbstractField></RangeFilter>\
         </FilterList></ScanParameterResponse>",
    );
    xml
}

/// Percent change from the previous close (the number "% gainers/losers" rank by).
pub fn change_pct(inst: &Instrument) -> f64 {
    (inst.mark() / inst.prev_close - 1.0) * 100.0
}

/// Ranks the market for one scan: the indices of the instruments, best first. An unknown scan
/// code or location is an error in IB's words.
pub fn scan(m: &Market, s: &ScannerSubscription) -> Result<Vec<usize>, String> {
    let code = s.scan_code.clone().unwrap_or_default();
    if !SCAN_CODES.iter().any(|(c, _)| *c == code) {
        return Err(format!("Scanner type {code} is not valid"));
    }
    let location = s.location_code.clone().unwrap_or_default();
    let Some((_, _, currency, exchanges)) = LOCATIONS.iter().find(|l| l.0 == location) else {
        return Err(format!("Invalid location code {location}"));
    };
    let mut hits: Vec<(usize, f64)> = m
        .instruments
        .iter()
        .enumerate()
        .filter(|(_, i)| i.kind != AssetKind::Fx && i.currency == *currency)
        .filter(|(_, i)| exchanges.is_empty() || exchanges.contains(&i.primary_exch.as_str()))
        .filter(|(_, i)| s.above_price.is_none_or(|p| i.mark() > p))
        .filter(|(_, i)| s.below_price.is_none_or(|p| i.mark() < p))
        .filter(|(_, i)| s.above_volume.is_none_or(|v| i.volume > v as f64))
        .filter(|(_, i)| {
            s.market_cap_above
                .is_none_or(|c| market_cap_millions(i) > c)
        })
        .filter(|(_, i)| {
            s.market_cap_below
                .is_none_or(|c| market_cap_millions(i) < c)
        })
        .filter_map(|(idx, i)| {
            let score = match code.as_str() {
                "TOP_PERC_GAIN" => Some(change_pct(i)).filter(|c| *c > 0.0),
                "TOP_PERC_LOSE" => Some(-change_pct(i)).filter(|c| *c > 0.0),
                "MOST_ACTIVE" => Some(i.volume),
                "HOT_BY_VOLUME" => Some(i.volume / i.avg_volume.max(1.0)),
                _ => Some(i.quarterly_dividend() * 4.0 / i.mark()).filter(|y| *y > 0.0),
            }?;
            Some((idx, score))
        })
        .collect();
    hits.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let rows = match s.number_of_rows {
        Some(n) if n > 0 => (n as usize).min(MAX_ROWS),
        _ => MAX_ROWS,
    };
    Ok(hits.into_iter().take(rows).map(|(i, _)| i).collect())
}

/// One scan result row for the wire.
pub fn scanner_element(rank: usize, inst: &Instrument) -> ScannerDataElement {
    ScannerDataElement {
        rank: Some(rank as i32),
        contract: Some(pb::Contract {
            con_id: Some(inst.con_id),
            symbol: Some(inst.symbol.clone()),
            sec_type: Some(inst.sec_type().into()),
            exchange: Some("SMART".into()),
            primary_exch: Some(inst.primary_exch.clone()),
            currency: Some(inst.currency.clone()),
            local_symbol: Some(inst.symbol.clone()),
            trading_class: Some(inst.symbol.clone()),
            ..Default::default()
        }),
        market_name: Some(inst.symbol.clone()),
        distance: Some(String::new()),
        benchmark: Some(String::new()),
        projection: Some(String::new()),
        combo_key: Some(String::new()),
    }
}

/// What the simulator serves for one symbol's research requests, for tests and conformance
/// clients to check answers against.
#[derive(Debug, Clone, PartialEq)]
pub struct ResearchTruth {
    /// Tick 47's `KEY=VALUE;` string.
    pub ratios: String,
    pub market_cap_millions: f64,
    pub ttm_eps: f64,
    pub beta: f64,
    pub low_52w: f64,
    pub high_52w: f64,
    /// Tick 46.
    pub shortable_level: f64,
    /// Tick 89.
    pub shortable_shares: f64,
    /// `FEE_RATE` bars, percent per year.
    pub fee_rate_pct: f64,
    /// Last versus previous close, percent.
    pub change_pct: f64,
}

impl super::SimHandle {
    /// The research data served for `symbol` (`None` for a symbol the market does not list).
    pub fn research(&self, symbol: &str) -> Option<ResearchTruth> {
        let w = self.shared.world.lock();
        let inst = w.market.get(w.market.by_key(symbol)?);
        let (low_52w, high_52w) = history::range_52w(&w.market, inst);
        let (shortable_level, shortable_shares) = shortable(inst);
        Some(ResearchTruth {
            ratios: fundamental_ratios(&w.market, inst),
            market_cap_millions: market_cap_millions(inst),
            ttm_eps: ttm_eps(inst),
            beta: inst.beta,
            low_52w: inst.round(low_52w),
            high_52w: inst.round(high_52w),
            shortable_level,
            shortable_shares,
            fee_rate_pct: fee_rate_pct(inst),
            change_pct: change_pct(inst),
        })
    }

    /// The symbols a scan returns, best first.
    pub fn scan(&self, scan_code: &str, location: &str, rows: i32) -> Result<Vec<String>, String> {
        let w = self.shared.world.lock();
        let sub = ScannerSubscription {
            scan_code: Some(scan_code.into()),
            location_code: Some(location.into()),
            number_of_rows: Some(rows),
            ..Default::default()
        };
        Ok(scan(&w.market, &sub)?
            .into_iter()
            .map(|i| w.market.get(i).symbol.clone())
            .collect())
    }
}

// Protobuf messages of the scanner subscription (tags from IB's ScannerSubscription.proto,
// ScannerSubscriptionRequest.proto, ScannerData.proto).

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct ScannerSubscription {
    #[prost(int32, optional, tag = "1")]
    pub number_of_rows: Option<i32>,
    #[prost(string, optional, tag = "2")]
    pub instrument: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub location_code: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub scan_code: Option<String>,
    #[prost(double, optional, tag = "5")]
    pub above_price: Option<f64>,
    #[prost(double, optional, tag = "6")]
    pub below_price: Option<f64>,
    #[prost(int64, optional, tag = "7")]
    pub above_volume: Option<i64>,
    #[prost(double, optional, tag = "8")]
    pub market_cap_above: Option<f64>,
    #[prost(double, optional, tag = "9")]
    pub market_cap_below: Option<f64>,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct ScannerSubscriptionRequest {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub scanner_subscription: Option<ScannerSubscription>,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct ScannerDataElement {
    #[prost(int32, optional, tag = "1")]
    pub rank: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub contract: Option<pb::Contract>,
    #[prost(string, optional, tag = "3")]
    pub market_name: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub distance: Option<String>,
    #[prost(string, optional, tag = "5")]
    pub benchmark: Option<String>,
    #[prost(string, optional, tag = "6")]
    pub projection: Option<String>,
    #[prost(string, optional, tag = "7")]
    pub combo_key: Option<String>,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct ScannerData {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(message, repeated, tag = "2")]
    pub scanner_data_element: Vec<ScannerDataElement>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(code: &str, location: &str) -> ScannerSubscription {
        ScannerSubscription {
            scan_code: Some(code.into()),
            location_code: Some(location.into()),
            ..Default::default()
        }
    }

    #[test]
    fn gainers_rank_by_change_and_unknown_codes_are_refused() {
        let market = crate::sim::universe::base_market(7);
        let m = &market;
        let rows = scan(m, &sub("TOP_PERC_GAIN", "STK.US.MAJOR")).unwrap();
        let changes: Vec<f64> = rows.iter().map(|i| change_pct(m.get(*i))).collect();
        assert!(changes.windows(2).all(|w| w[0] >= w[1]), "{changes:?}");
        assert!(changes.iter().all(|c| *c > 0.0));
        assert!(
            scan(m, &sub("NOPE", "STK.US.MAJOR"))
                .unwrap_err()
                .contains("NOPE")
        );
        assert!(
            scan(m, &sub("MOST_ACTIVE", "STK.XX"))
                .unwrap_err()
                .contains("STK.XX")
        );
    }

    #[test]
    fn ratios_agree_with_the_dividend_tick() {
        let market = crate::sim::universe::base_market(7);
        let m = &market;
        let idx = m.by_key("HDRX").unwrap();
        let inst = m.get(idx);
        let s = fundamental_ratios(m, inst);
        let get = |k: &str| -> f64 {
            s.split(';')
                .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
                .unwrap()
                .parse()
                .unwrap()
        };
        let yield_pct = inst.quarterly_dividend() * 4.0 / inst.mark() * 100.0;
        assert!((get("YIELD") - yield_pct).abs() < 1e-3);
        assert!((get("PEEXCLXOR") - inst.mark() / get("TTMEPSXCLX")).abs() < 0.01);
        assert!(get("NLOW") <= get("NHIG"));
    }
}
