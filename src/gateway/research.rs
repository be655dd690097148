//! Research requests: news headlines and articles, generic research ticks (fundamental ratios
//! 258, 52-week statistics 165, dividends 456, shortability 236, option volatilities 104/106),
//! daily research bars (historical and implied volatility, borrow fee rate), and market
//! scanners (parameters and one snapshot of results).
//!
//! A child of `requests` so it shares its client, deadlines, pacer and negative cache. Every
//! historical request goes through the pacer; every request is bounded by a deadline; a symbol IB
//! does not know is remembered for a few minutes.

use super::*;
use ibapi::market_data::historical::{BarSize, WhatToShow};
use ibapi::scanner::ScannerSubscription;

/// Most headlines one historical-news request asks for (IB allows 300; the client's field is a byte).
pub const MAX_HEADLINES: u32 = 255;
/// Scanner parameters hardly change; IB's document is megabytes, so it is read once an hour.
const SCANNER_PARAMS_FRESH_MS: i64 = 3_600_000;

/// Daily research series IB serves as historical bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResearchSeries {
    /// `HISTORICAL_VOLATILITY`: 30-day realized volatility, annualized fraction.
    HistoricalVolatility,
    /// `OPTION_IMPLIED_VOLATILITY`: 30-day implied volatility, annualized fraction.
    ImpliedVolatility,
    /// `FEE_RATE`: stock borrow fee rate, percent per year.
    FeeRate,
}

impl ResearchSeries {
    pub fn ib(self) -> &'static str {
        match self {
            ResearchSeries::HistoricalVolatility => "HISTORICAL_VOLATILITY",
            ResearchSeries::ImpliedVolatility => "OPTION_IMPLIED_VOLATILITY",
            ResearchSeries::FeeRate => "FEE_RATE",
        }
    }
    fn what(self) -> WhatToShow {
        match self {
            ResearchSeries::HistoricalVolatility => WhatToShow::HistoricalVolatility,
            ResearchSeries::ImpliedVolatility => WhatToShow::OptionImpliedVolatility,
            ResearchSeries::FeeRate => WhatToShow::FeeRate,
        }
    }
}

/// What IB's generic research ticks said about one contract (`None` = not sent).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResearchTicks {
    /// Tick 47 (generic 258): IB's `KEY=VALUE;` fundamental-ratios string.
    pub ratios: Option<String>,
    /// Tick 59 (generic 456): IB's dividend string.
    pub dividends: Option<String>,
    /// Ticks 19/20 (generic 165): 52-week low and high.
    pub low_52w: Option<f64>,
    pub high_52w: Option<f64>,
    /// Tick 21 (generic 165): average daily volume.
    pub avg_volume: Option<f64>,
    /// Tick 46 (generic 236): IB's shortable level.
    pub shortable: Option<f64>,
    /// Tick 89 (generic 236): shares available to short.
    pub shortable_shares: Option<f64>,
    /// Tick 23 (generic 104): 30-day historical volatility, fraction.
    pub hv: Option<f64>,
    /// Tick 24 (generic 106): 30-day option implied volatility, fraction.
    pub iv: Option<f64>,
    /// Last price (tick 4/68), else the previous close (9/75), for ratios computed on it.
    pub price: Option<f64>,
}

/// One scanner result row.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanHit {
    /// IB's rank, 0 = best.
    pub rank: i32,
    pub symbol: String,
    pub con_id: i32,
    pub sec_type: String,
    pub currency: String,
    pub primary_exchange: String,
}

/// The choices a gateway's scanner parameters document offers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScannerChoices {
    pub scan_codes: Vec<String>,
    pub locations: Vec<String>,
}

/// A scan: IB's scan code and location plus the filters the tool exposes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScanRequest {
    pub scan_code: String,
    pub location: String,
    pub rows: i32,
    pub above_price: Option<f64>,
    pub below_price: Option<f64>,
    pub above_volume: Option<i32>,
    /// Millions (IB's scanner unit).
    pub market_cap_above: Option<f64>,
    pub market_cap_below: Option<f64>,
}

impl RequestsInner {
    // -----------------------------------------------------------------------------------------
    // News

    /// Headlines for `symbol` over the last `days` days, newest first, at most `limit`.
    pub async fn news_headlines(
        &self,
        symbol: &str,
        days: u32,
        limit: u32,
    ) -> Result<Vec<NewsHeadline>, GatewayError> {
        let symbol = symbol.trim().to_ascii_uppercase();
        let key = UnknownContracts::key(&symbol, "STK", "");
        if let Some(e) = self.unknown.get(&key) {
            return Err(e);
        }
        let con_id = self.unknown.note(&key, self.underlying(&symbol).await)?.0;
        let client = self.client()?;
        let codes = self.provider_codes(&client).await?;
        if codes.is_empty() {
            return Err(GatewayError::NotFound(
                "this IB login has no news providers (subscribe to a news feed in Account Management)".into(),
            ));
        }
        let code_refs: Vec<&str> = codes.iter().map(String::as_str).collect();
        let end = time::OffsetDateTime::now_utc();
        let start = end - time::Duration::days(i64::from(days.clamp(1, 365)));
        let limit = limit.clamp(1, MAX_HEADLINES);
        let read = async {
            let mut sub = client
                .historical_news(con_id, &code_refs, start, end, limit as u8)
                .await?;
            let mut out = Vec::new();
            while let Some(item) = sub.next().await {
                match item {
                    Ok(SubscriptionItem::Data(a)) => out.push(NewsHeadline {
                        time: (a.time.unix_timestamp_nanos() / 1_000_000) as Millis,
                        provider: a.provider_code,
                        article_id: a.article_id,
                        headline: a.headline,
                        symbol: symbol.clone(),
                    }),
                    Ok(SubscriptionItem::Notice(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(out)
        };
        let mut headlines = self
            .bounded(read)
            .await?
            .map_err(|e| map_err(e, &format!("news for {symbol}")))?;
        headlines.sort_by_key(|h| std::cmp::Reverse(h.time));
        headlines.truncate(limit as usize);
        Ok(headlines)
    }

    /// The provider codes this login can read (cached for the connection's life).
    pub async fn news_provider_codes(&self) -> Result<Vec<String>, GatewayError> {
        let client = self.client()?;
        self.provider_codes(&client).await
    }

    /// One article: (is binary/PDF, body as IB sent it).
    pub async fn news_article(
        &self,
        provider: &str,
        article_id: &str,
    ) -> Result<(bool, String), GatewayError> {
        let client = self.client()?;
        let body = self
            .bounded(client.news_article(provider, article_id))
            .await?
            .map_err(|e| map_err(e, &format!("news article {provider}:{article_id}")))?;
        let binary = matches!(body.article_type, ibapi::news::ArticleType::Binary);
        Ok((binary, body.article_text))
    }

    // -----------------------------------------------------------------------------------------
    // Generic research ticks

    /// Subscribes to `generic` ticks for one stock, reads until `done` says everything asked
    /// for has arrived (or the snapshot timeout), cancels, and decodes what came.
    pub async fn research_ticks(
        &self,
        query: &ContractQuery,
        generic: &[&str],
        done: fn(&ResearchTicks) -> bool,
    ) -> Result<ResearchTicks, GatewayError> {
        let query = normalize_query(query);
        let key = UnknownContracts::key_of(&query);
        if let Some(e) = self.unknown.get(&key) {
            return Err(e);
        }
        let client = self.client()?;
        let contract = query_contract(&query);
        let what = format!("research ticks for {}", query.symbol);
        let subscribed = self
            .bounded(
                client
                    .market_data(&contract)
                    .generic_ticks(generic)
                    .subscribe(),
            )
            .await?
            .map_err(|e| map_err(e, &what));
        let mut sub = self.unknown.note(&key, subscribed)?;
        let ticks = sub
            .collect_until(SNAPSHOT_TIMEOUT, |t| done(&decode_research_ticks(t)))
            .await;
        sub.cancel().await;
        Ok(decode_research_ticks(&ticks))
    }

    // -----------------------------------------------------------------------------------------
    // Daily research bars

    /// Daily bars of a research series over `duration` (IB's wording, `"1 Y"`), through the
    /// historical pacer. Values as IB sends them (volatility as a fraction, fee rate in percent).
    pub async fn research_bars(
        &self,
        symbol: &str,
        series: ResearchSeries,
        duration: &str,
    ) -> Result<Vec<Bar>, GatewayError> {
        let symbol = symbol.trim().to_ascii_uppercase();
        let key = UnknownContracts::key(&symbol, "STK", "USD");
        if let Some(e) = self.unknown.get(&key) {
            return Err(e);
        }
        let duration: ibapi::market_data::historical::Duration =
            duration.trim().parse().map_err(|_| {
                GatewayError::Other(format!("unknown duration '{duration}' (use '1 Y', '30 D')"))
            })?;
        let client = self.client()?;
        let pace_key = format!("{symbol}|{}|{duration}", series.ib());
        let _permit = self
            .pacer
            .acquire(&pace_key, RequestKind::foreground(86_400))
            .await
            .map_err(|refusal| GatewayError::Other(refusal.to_string()))?;
        let contract = convert::contract_from_parts(&symbol, "STK", "SMART", "USD");
        let fetch = client
            .historical_data(&contract, BarSize::Day)
            .duration(duration)
            .what_to_show(series.what())
            .trading_hours(TradingHours::Regular)
            .fetch();
        let what = format!("{} bars for {symbol}", series.ib());
        let data = match deadline::bounded(&self.shared, HISTORICAL_TIMEOUT, fetch).await {
            Err(e) => return Err(e),
            Ok(r) => self.unknown.note(&key, r.map_err(|e| map_err(e, &what)))?,
        };
        Ok(data.bars.iter().filter_map(convert::bar).collect())
    }

    // -----------------------------------------------------------------------------------------
    // Scanners

    /// The scan codes and locations the gateway offers (its parameters document, cached).
    pub async fn scanner_choices(&self) -> Result<ScannerChoices, GatewayError> {
        let now = self.now();
        if let Some((fetched, choices)) = self.scanner_params.lock().clone()
            && now - fetched < SCANNER_PARAMS_FRESH_MS
        {
            return Ok(choices);
        }
        let client = self.client()?;
        let xml = self
            .bounded(client.scanner_parameters())
            .await?
            .map_err(|e| map_err(e, "scanner parameters"))?;
        let choices = ScannerChoices {
            scan_codes: xml_values(&xml, "scanCode"),
            locations: xml_values(&xml, "locationCode"),
        };
        *self.scanner_params.lock() = Some((now, choices.clone()));
        Ok(choices)
    }

    /// One batch of scan results, then the subscription is cancelled.
    pub async fn scan(&self, req: &ScanRequest) -> Result<Vec<ScanHit>, GatewayError> {
        let client = self.client()?;
        let sub = ScannerSubscription {
            number_of_rows: req.rows,
            instrument: Some("STK".into()),
            location_code: Some(req.location.clone()),
            scan_code: Some(req.scan_code.clone()),
            above_price: req.above_price,
            below_price: req.below_price,
            above_volume: req.above_volume,
            market_cap_above: req.market_cap_above,
            market_cap_below: req.market_cap_below,
            ..ScannerSubscription::default()
        };
        let what = format!("scanner {} in {}", req.scan_code, req.location);
        let read = async {
            let mut subscription = client.scanner_subscription(&sub, &[]).await?;
            let first = loop {
                match subscription.next().await {
                    Some(Ok(SubscriptionItem::Data(rows))) => break Ok(rows),
                    Some(Ok(SubscriptionItem::Notice(_))) => continue,
                    Some(Err(e)) => break Err(e),
                    None => break Ok(Vec::new()),
                }
            };
            subscription.cancel().await;
            first
        };
        let rows = self.bounded(read).await?.map_err(|e| map_err(e, &what))?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let c = r.contract_details.contract;
                ScanHit {
                    rank: r.rank,
                    symbol: c.symbol.to_string(),
                    con_id: c.contract_id,
                    sec_type: c.security_type.to_string(),
                    currency: c.currency.to_string(),
                    primary_exchange: c.primary_exchange.to_string(),
                }
            })
            .collect())
    }
}

/// The research requests on the public handle (tools call these).
impl super::super::Requests {
    /// Headlines for `symbol` over the last `days` days, newest first, at most `limit`.
    pub async fn news_headlines(
        &self,
        symbol: &str,
        days: u32,
        limit: u32,
    ) -> Result<Vec<NewsHeadline>, GatewayError> {
        self.inner.news_headlines(symbol, days, limit).await
    }
    /// The news provider codes this login can read.
    pub async fn news_provider_codes(&self) -> Result<Vec<String>, GatewayError> {
        self.inner.news_provider_codes().await
    }
    /// One article: (is binary/PDF, body as IB sent it).
    pub async fn news_article(
        &self,
        provider: &str,
        article_id: &str,
    ) -> Result<(bool, String), GatewayError> {
        self.inner.news_article(provider, article_id).await
    }
    /// Generic research ticks for one stock, read until `done` or the snapshot timeout.
    pub async fn research_ticks(
        &self,
        query: &ContractQuery,
        generic: &[&str],
        done: fn(&ResearchTicks) -> bool,
    ) -> Result<ResearchTicks, GatewayError> {
        self.inner.research_ticks(query, generic, done).await
    }
    /// Daily bars of a research series (volatility, fee rate), paced.
    pub async fn research_bars(
        &self,
        symbol: &str,
        series: ResearchSeries,
        duration: &str,
    ) -> Result<Vec<Bar>, GatewayError> {
        self.inner.research_bars(symbol, series, duration).await
    }
    /// Scan codes and locations of the gateway's scanner parameters.
    pub async fn scanner_choices(&self) -> Result<ScannerChoices, GatewayError> {
        self.inner.scanner_choices().await
    }
    /// One batch of scanner results.
    pub async fn scan(&self, req: &ScanRequest) -> Result<Vec<ScanHit>, GatewayError> {
        self.inner.scan(req).await
    }
}

/// Every `<tag>value</tag>` in a document, in order, each once. IB's scanner parameters are a
/// flat enough XML that the two tags we read never nest.
pub fn xml_values(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out: Vec<String> = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        rest = &rest[i + open.len()..];
        let Some(j) = rest.find(&close) else { break };
        let value = rest[..j].trim().to_string();
        if !value.is_empty() && !out.contains(&value) {
            out.push(value);
        }
        rest = &rest[j + close.len()..];
    }
    out
}

/// Reads the research ticks out of a market-data stream. Tick 47 (fundamental ratios) decodes
/// as an unknown tick type in ibapi 5.5 (IB retired it in TWS 10.47), so a string tick of
/// unknown type carrying `KEY=VALUE;` pairs is taken as the ratios.
pub fn decode_research_ticks(ticks: &[TickTypes]) -> ResearchTicks {
    use ibapi::contracts::tick_types::TickType as T;
    let mut out = ResearchTicks::default();
    let mut close = None;
    for t in ticks {
        match t {
            TickTypes::String(s) => match s.tick_type {
                T::IbDividends => out.dividends = Some(s.value.clone()),
                T::Unknown if s.value.contains('=') && s.value.contains(';') => {
                    out.ratios = Some(s.value.clone())
                }
                _ => {}
            },
            TickTypes::Generic(g) => {
                let v = cleaning::finite(g.value);
                match g.tick_type {
                    T::Shortable => out.shortable = v,
                    T::ShortableShares => out.shortable_shares = v.filter(|x| *x >= 0.0),
                    T::OptionHistoricalVol => out.hv = v.filter(|x| *x > 0.0),
                    T::OptionImpliedVol => out.iv = v.filter(|x| *x > 0.0),
                    _ => {}
                }
            }
            TickTypes::Size(s) => {
                let v = cleaning::finite(s.size).filter(|x| *x >= 0.0);
                match s.tick_type {
                    T::ShortableShares => out.shortable_shares = v,
                    T::AvgVolume => out.avg_volume = v,
                    _ => {}
                }
            }
            TickTypes::Price(p) => {
                let v = cleaning::price(p.price);
                match p.tick_type {
                    T::Low52Week => out.low_52w = v,
                    T::High52Week => out.high_52w = v,
                    T::Last | T::DelayedLast => out.price = v.or(out.price),
                    T::Close | T::DelayedClose => close = v,
                    _ => {}
                }
            }
            TickTypes::PriceSize(p) => {
                if matches!(p.price_tick_type, T::Last | T::DelayedLast) {
                    out.price = cleaning::price(p.price).or(out.price);
                }
            }
            _ => {}
        }
    }
    out.price = out.price.or(close);
    out
}

/// `KEY=VALUE;` pairs of IB's fundamental-ratios string, keys upper-case.
pub fn parse_ratios(text: &str) -> Vec<(String, String)> {
    text.split(';')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim().to_ascii_uppercase(), v.trim().to_string()))
        .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scanner_xml_values_are_read_once_each_in_order() {
        let xml = "<a><scanCode>TOP_PERC_GAIN</scanCode><x><scanCode> MOST_ACTIVE </scanCode></x>\
                   <scanCode>TOP_PERC_GAIN</scanCode><locationCode>STK.US</locationCode></a>";
        assert_eq!(
            xml_values(xml, "scanCode"),
            ["TOP_PERC_GAIN", "MOST_ACTIVE"]
        );
        assert_eq!(xml_values(xml, "locationCode"), ["STK.US"]);
        assert!(xml_values("<scanCode>unterminated", "scanCode").is_empty());
    }

    #[test]
    fn ratio_pairs_skip_empty_values() {
        let r = parse_ratios("MKTCAP=1234.5;PEEXCLXOR=;beta=1.2;junk;");
        assert_eq!(
            r,
            vec![
                ("MKTCAP".to_string(), "1234.5".to_string()),
                ("BETA".to_string(), "1.2".to_string())
            ]
        );
    }
}
