//! On-demand requests: historical bars, contract details, option chains and quotes, snapshots,
//! dividends, what-if margin, news, executions, completed orders.
//!
//! Bars and contract details are cached (bars also in SQLite when a database is attached) and
//! identical in-flight requests are coalesced; historical requests go through the pacer so IB
//! never has reason to send error 162. Every request is bounded by a timeout and every failure
//! is a `GatewayError` whose words a user can act on.

use super::coalesce::Coalescer;
use super::deadline::{self, CALL_DEADLINE};
use super::pacing::{HistoricalPacer, PacingLimits, RequestKind};
use super::shared::Shared;
use super::unknown::UnknownContracts;
use super::{
    BarSpec, ContractQuery, GatewayError, WhatIfOrder, cleaning, convert, quotes, session,
};
use crate::model::*;
use futures::StreamExt;
use ibapi::Client;
use ibapi::contracts::{Contract, OptionRight, SecurityType};
use ibapi::market_data::TradingHours;
use ibapi::market_data::realtime::TickTypes;
use ibapi::orders::Orders;
use ibapi::subscriptions::SubscriptionItem;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Historical requests can legitimately take longer (years of bars).
const HISTORICAL_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a snapshot may take to fill in (within the call's deadline).
const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(6);
/// Intraday bars are served from cache for this long.
const INTRADAY_FRESH_MS: i64 = 60_000;
/// Option chains change at most daily.
const CHAIN_FRESH_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;
/// Daily bars cached longer ago than this are fetched in full again rather than topped up.
const TOP_UP_MAX_DAYS: i64 = 60;

/// The recent days to ask for, and the cached series they extend.
struct TopUp {
    duration: String,
    cached: Arc<Vec<Bar>>,
}

/// The cached series with `recent` laid over its end: bars from the first recent day on are
/// replaced, and as many of the oldest dropped as were added, so the series keeps the span
/// it was asked for.
fn merge_top_up(cached: &[Bar], recent: Vec<Bar>) -> Vec<Bar> {
    let Some(first_new) = recent.first().map(|b| b.time) else {
        return cached.to_vec();
    };
    let kept: Vec<Bar> = cached
        .iter()
        .filter(|b| b.time < first_new)
        .cloned()
        .collect();
    let added = (kept.len() + recent.len()).saturating_sub(cached.len());
    kept.into_iter().skip(added).chain(recent).collect()
}

type BarsResult = Result<Arc<Vec<Bar>>, GatewayError>;
/// Bars with when they were fetched (epoch ms).
type CachedBars = (Millis, Arc<Vec<Bar>>);
type DetailsResult = Result<Vec<ContractInfo>, GatewayError>;

pub struct RequestsInner {
    shared: Arc<Shared>,
    pacer: HistoricalPacer,
    bars: Mutex<HashMap<String, CachedBars>>,
    bars_inflight: Coalescer<String, BarsResult>,
    details: Mutex<HashMap<ContractQuery, Vec<ContractInfo>>>,
    details_inflight: Coalescer<ContractQuery, DetailsResult>,
    chains: Mutex<HashMap<String, (Millis, Vec<OptionChainDef>)>>,
    providers: Mutex<Option<Vec<String>>>,
    scanner_params: Mutex<Option<(Millis, research::ScannerChoices)>>,
    /// Contracts IB said it does not know, answered without asking again for a few minutes.
    pub unknown: UnknownContracts,
}

impl RequestsInner {
    pub fn new(shared: Arc<Shared>, pacing: PacingLimits) -> Self {
        RequestsInner {
            shared,
            pacer: HistoricalPacer::new(pacing),
            bars: Mutex::new(HashMap::new()),
            bars_inflight: Coalescer::default(),
            details: Mutex::new(HashMap::new()),
            details_inflight: Coalescer::default(),
            chains: Mutex::new(HashMap::new()),
            providers: Mutex::new(None),
            scanner_params: Mutex::new(None),
            unknown: UnknownContracts::default(),
        }
    }

    fn client(&self) -> Result<Arc<Client>, GatewayError> {
        self.shared.client()
    }

    fn now(&self) -> Millis {
        self.shared.store.now()
    }

    /// `call` within the on-demand deadline, ending early if the gateway stalls or goes down.
    async fn bounded<T>(
        &self,
        call: impl std::future::Future<Output = T>,
    ) -> Result<T, GatewayError> {
        deadline::bounded(&self.shared, CALL_DEADLINE, call).await
    }

    // -----------------------------------------------------------------------------------------
    // Historical bars

    /// Fresh enough to serve without asking IB: daily (or longer) bars fetched today (UTC),
    /// intraday bars fetched within the last minute.
    fn is_fresh(spec: &BarSpec, fetched: Millis, now: Millis) -> bool {
        if !spec.bar_size.is_intraday() {
            fetched.div_euclid(DAY_MS) == now.div_euclid(DAY_MS)
        } else {
            now - fetched < INTRADAY_FRESH_MS
        }
    }

    fn fresh_from_cache(&self, spec: &BarSpec, key: &str) -> Option<Arc<Vec<Bar>>> {
        let now = self.now();
        if let Some((fetched, bars)) = self.bars.lock().get(key)
            && Self::is_fresh(spec, *fetched, now)
        {
            return Some(bars.clone());
        }
        let db = self.shared.store.db()?;
        match db.get_bars(key) {
            Ok(Some((fetched, bars))) if Self::is_fresh(spec, fetched, now) => {
                let bars = Arc::new(bars);
                self.bars
                    .lock()
                    .insert(key.to_string(), (fetched, bars.clone()));
                Some(bars)
            }
            Ok(_) => None,
            Err(e) => {
                tracing::warn!("could not read cached bars for {key}: {e}");
                None
            }
        }
    }

    pub fn cached_bars(&self, spec: &BarSpec) -> Option<(Millis, Arc<Vec<Bar>>)> {
        let key = spec.cache_key();
        if let Some(hit) = self.bars.lock().get(&key) {
            return Some(hit.clone());
        }
        let db = self.shared.store.db()?;
        match db.get_bars(&key) {
            Ok(Some((fetched, bars))) => Some((fetched, Arc::new(bars))),
            _ => None,
        }
    }

    pub async fn historical_bars(&self, spec: &BarSpec) -> BarsResult {
        self.bars(spec, false).await
    }

    /// Daily bars for `spec` fetched and stored without anyone waiting for them, with a share
    /// of the open-request slots that leaves the rest to callers: used to warm the cache for
    /// every holding after connecting.
    pub async fn warm_bars(&self, spec: &BarSpec) -> BarsResult {
        self.bars(spec, true).await
    }

    /// Bars from the cache when fresh, else one request (coalesced with identical ones in
    /// flight); `background` requests use the pacer's background share.
    async fn bars(&self, spec: &BarSpec, background: bool) -> BarsResult {
        let key = spec.cache_key();
        if let Some(bars) = self.fresh_from_cache(spec, &key) {
            if !background {
                super::count_cache_hit();
            }
            return Ok(bars);
        }
        self.bars_inflight
            .run(key.clone(), || async {
                // Another caller may have filled the cache while we queued.
                if let Some(bars) = self.fresh_from_cache(spec, &key) {
                    return Ok(bars);
                }
                self.fetch_bars(spec, &key, background).await
            })
            .await
    }

    async fn fetch_bars(&self, spec: &BarSpec, key: &str, background: bool) -> BarsResult {
        if let Some(top_up) = self.top_up_plan(spec) {
            match self.request_bars(spec, &top_up.duration, background).await {
                Ok(recent) => {
                    let merged = merge_top_up(&top_up.cached, recent);
                    return Ok(self.remember_bars(key, merged));
                }
                // The cached series is still good as a base; a full request is the fallback.
                Err(e) => tracing::debug!("top-up of {key} failed ({e}); fetching in full"),
            }
        }
        let bars = self.request_bars(spec, &spec.duration, background).await?;
        Ok(self.remember_bars(key, bars))
    }

    /// When daily bars for `spec` are cached from an earlier day, only the days since the last
    /// cached bar need asking for (one overlapping day replaces a bar that was still forming).
    fn top_up_plan(&self, spec: &BarSpec) -> Option<TopUp> {
        // Adjusted bars are rewritten backwards at every dividend: only a full request is right.
        if spec.bar_size != BarSize::Day1 || spec.what_to_show == WhatToShow::AdjustedLast {
            return None;
        }
        let (_, cached) = self.cached_bars(spec)?;
        let last = cached.last()?.time;
        let now_secs = self.now().div_euclid(1_000);
        let gap_days = (now_secs - last).div_euclid(86_400) + 1;
        if gap_days > TOP_UP_MAX_DAYS || cached.len() < 2 {
            return None;
        }
        Some(TopUp {
            duration: format!("{} D", gap_days.max(1)),
            cached,
        })
    }

    /// One historical request on the wire, paced; bars as the model keeps them.
    async fn request_bars(
        &self,
        spec: &BarSpec,
        duration_text: &str,
        background: bool,
    ) -> Result<Vec<Bar>, GatewayError> {
        let bar_size = convert::bar_size(spec.bar_size);
        let what = convert::what_to_show(spec.what_to_show);
        let duration: ibapi::market_data::historical::Duration =
            duration_text.trim().parse().map_err(|_| {
                GatewayError::Other(format!(
                    "unknown duration '{duration_text}' (use IB's wording: '30 D', '6 M', '1 Y')"
                ))
            })?;
        let client = self.client()?;
        let bar_secs = spec.bar_size.seconds();
        let kind = if background {
            RequestKind::background(bar_secs)
        } else {
            RequestKind::foreground(bar_secs)
        };
        let pace_key = format!("{}|{duration_text}", spec.cache_key());
        let _permit = self
            .pacer
            .acquire(&pace_key, kind)
            .await
            .map_err(|refusal| GatewayError::Other(refusal.to_string()))?;
        let contract = convert::contract_from_parts(
            &spec.symbol,
            &spec.sec_type,
            &spec.exchange,
            &spec.currency,
        );
        let fetch = client
            .historical_data(&contract, bar_size)
            .duration(duration)
            .what_to_show(what)
            .trading_hours(TradingHours::from_use_rth(spec.use_rth))
            .fetch();
        let data = match deadline::bounded(&self.shared, HISTORICAL_TIMEOUT, fetch).await {
            Err(e) => return Err(e),
            Ok(Err(e)) => return Err(map_err(e, &format!("historical bars for {}", spec.symbol))),
            Ok(Ok(d)) => d,
        };
        Ok(data.bars.iter().filter_map(convert::bar).collect())
    }

    /// Keeps fetched bars in memory and SQLite (stamped now) and hands them out.
    fn remember_bars(&self, key: &str, bars: Vec<Bar>) -> Arc<Vec<Bar>> {
        let fetched = self.now();
        if let Some(db) = self.shared.store.db()
            && let Err(e) = db.put_bars(key, fetched, &bars)
        {
            tracing::warn!("could not cache bars for {key} in SQLite: {e}");
        }
        let bars = Arc::new(bars);
        self.bars
            .lock()
            .insert(key.to_string(), (fetched, bars.clone()));
        bars
    }

    // -----------------------------------------------------------------------------------------
    // Contracts

    pub async fn contract_details(&self, query: &ContractQuery) -> DetailsResult {
        let query = normalize_query(query);
        if let Some(hit) = self.details.lock().get(&query) {
            super::count_cache_hit();
            return Ok(hit.clone());
        }
        let unknown_key = UnknownContracts::key_of(&query);
        if let Some(e) = self.unknown.get(&unknown_key) {
            return Err(e);
        }
        let found = self
            .details_inflight
            .run(query.clone(), || async {
                if let Some(hit) = self.details.lock().get(&query) {
                    return Ok(hit.clone());
                }
                let client = self.client()?;
                let contract = query_contract(&query);
                let found = self
                    .bounded(client.contract_details(&contract))
                    .await?
                    .map_err(|e| map_err(e, &format!("contract details for {}", query.symbol)))?;
                if found.is_empty() {
                    return Err(not_found(&query));
                }
                let infos: Vec<ContractInfo> = found.iter().map(convert::contract_info).collect();
                self.details.lock().insert(query.clone(), infos.clone());
                Ok(infos)
            })
            .await;
        self.unknown.note(&unknown_key, found)
    }

    pub async fn search_contracts(
        &self,
        pattern: &str,
    ) -> Result<Vec<ContractMatch>, GatewayError> {
        let client = self.client()?;
        let found = self
            .bounded(client.matching_symbols(pattern))
            .await?
            .map_err(|e| map_err(e, &format!("symbol search for '{pattern}'")))?;
        Ok(found
            .iter()
            .map(|d| ContractMatch {
                con_id: d.contract.contract_id,
                symbol: d.contract.symbol.as_str().to_string(),
                sec_type: d.contract.security_type.as_str().to_string(),
                primary_exchange: d.contract.primary_exchange.to_string(),
                currency: d.contract.currency.to_string(),
                description: d.contract.description.clone(),
            })
            .collect())
    }

    /// The underlying's con_id and currency, from a position we hold or from contract details.
    async fn underlying(&self, symbol: &str) -> Result<(i32, String), GatewayError> {
        let snap = self.shared.store.snapshot();
        if let Some(p) = snap.positions.values().find(|p| {
            p.instrument.symbol.eq_ignore_ascii_case(symbol)
                && p.instrument.sec_type == "STK"
                && p.instrument.con_id != 0
        }) {
            return Ok((p.instrument.con_id, p.instrument.currency.clone()));
        }
        let details = self
            .contract_details(&ContractQuery {
                symbol: symbol.to_string(),
                ..ContractQuery::default()
            })
            .await?;
        details
            .first()
            .map(|d| (d.instrument.con_id, d.instrument.currency.clone()))
            .ok_or_else(|| GatewayError::NotFound(format!("no contract found for {symbol}")))
    }

    // -----------------------------------------------------------------------------------------
    // Options

    pub async fn option_chain(&self, symbol: &str) -> Result<Vec<OptionChainDef>, GatewayError> {
        let symbol = symbol.trim().to_ascii_uppercase();
        let now = self.now();
        if let Some((fetched, chain)) = self.chains.lock().get(&symbol)
            && now - fetched < CHAIN_FRESH_MS
        {
            return Ok(chain.clone());
        }
        let (con_id, _) = self.underlying(&symbol).await?;
        let client = self.client()?;
        let read = async {
            let mut sub = client
                .option_chain(&symbol, SecurityType::Stock, con_id)
                .subscribe()
                .await?;
            let mut defs = Vec::new();
            while let Some(item) = sub.next().await {
                match item {
                    Ok(SubscriptionItem::Data(c)) => {
                        let mut strikes: Vec<f64> = c
                            .strikes
                            .iter()
                            .copied()
                            .filter_map(cleaning::price)
                            .collect();
                        strikes.sort_by(f64::total_cmp);
                        strikes.dedup();
                        let mut expirations = c.expirations.clone();
                        expirations.sort();
                        defs.push(OptionChainDef {
                            exchange: c.exchange,
                            trading_class: c.trading_class,
                            multiplier: c.multiplier,
                            expirations,
                            strikes,
                        });
                    }
                    Ok(SubscriptionItem::Notice(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(defs)
        };
        let defs = self
            .bounded(read)
            .await?
            .map_err(|e| map_err(e, &format!("option chain for {symbol}")))?;
        if defs.is_empty() {
            return Err(GatewayError::NotFound(format!(
                "IB lists no options for {symbol}"
            )));
        }
        self.chains.lock().insert(symbol, (now, defs.clone()));
        Ok(defs)
    }

    pub async fn option_quotes(
        &self,
        symbol: &str,
        expiry: &str,
        strikes: &[f64],
    ) -> Result<Vec<OptionQuote>, GatewayError> {
        let symbol = symbol.trim().to_ascii_uppercase();
        let (_, currency) = self.underlying(&symbol).await?;
        let client = self.client()?;
        let mut wanted = Vec::new();
        for &strike in strikes {
            for right in [OptionRight::Call, OptionRight::Put] {
                wanted.push((strike, right));
            }
        }
        let client_ref = &client;
        let currency_ref = currency.as_str();
        let symbol_ref = symbol.as_str();
        // Up to 8 snapshots at a time, each bounded by `SNAPSHOT_TIMEOUT`: the batch's deadline
        // grows with the number of rounds; a stall or disconnect still ends it at once.
        let rounds = wanted.len().div_ceil(8).max(1) as u32;
        let limit = CALL_DEADLINE.max(SNAPSHOT_TIMEOUT * rounds + Duration::from_secs(2));
        let snapshots = futures::stream::iter(wanted)
            .map(|(strike, right)| async move {
                let mut contract = Contract::option(symbol_ref, expiry, strike, right);
                if !currency_ref.is_empty() {
                    contract.currency = currency_ref.into();
                }
                contract.multiplier = "100".into();
                option_snapshot(client_ref, &contract, expiry, strike, right).await
            })
            .buffer_unordered(8)
            .collect::<Vec<OptionQuote>>();
        let mut results = deadline::bounded(&self.shared, limit, snapshots).await?;
        results.sort_by(|a, b| a.strike.total_cmp(&b.strike).then(a.right.cmp(&b.right)));
        if results
            .iter()
            .all(|q| q.bid.is_none() && q.ask.is_none() && q.last.is_none() && q.delta.is_none())
        {
            return Err(GatewayError::NotFound(format!(
                "IB returned no option prices for {symbol} {expiry} (check the expiry and strikes against the chain)"
            )));
        }
        Ok(results)
    }

    // -----------------------------------------------------------------------------------------
    // Snapshots

    pub async fn quote_snapshot(&self, query: &ContractQuery) -> Result<Quote, GatewayError> {
        let query = normalize_query(query);
        if let Some(e) = self.unknown.get(&UnknownContracts::key_of(&query)) {
            return Err(e);
        }
        let client = self.client()?;
        let contract = query_contract(&query);
        let ticks = self
            .bounded(
                client
                    .market_data(&contract)
                    .snapshot_once(SNAPSHOT_TIMEOUT),
            )
            .await?
            .map_err(|e| map_err(e, &format!("quote for {}", query.symbol)))?;
        let inst = convert::instrument(&contract);
        let mut q = Quote {
            symbol: quotes::quote_key(&inst.symbol, &inst.sec_type, &inst.currency, "", 0.0, ""),
            con_id: inst.con_id,
            currency: inst.currency.clone(),
            ..Quote::default()
        };
        for t in &ticks {
            quotes::apply_tick(&mut q, t);
        }
        q.updated = self.now();
        let known = [q.bid, q.ask, q.last, q.close, q.open, q.high, q.low];
        if known.iter().all(Option::is_none) {
            return Err(GatewayError::NotFound(format!(
                "IB returned no prices for {} (no market data permission, or no trading yet)",
                query.symbol
            )));
        }
        Ok(q)
    }

    pub async fn dividends(&self, query: &ContractQuery) -> Result<DividendInfo, GatewayError> {
        let query = normalize_query(query);
        if let Some(e) = self.unknown.get(&UnknownContracts::key_of(&query)) {
            return Err(e);
        }
        let client = self.client()?;
        let contract = query_contract(&query);
        // Generic tick 456 arrives as tick string 59 "IBDividends": past12m,next12m,nextDate,nextAmount.
        let mut sub = self
            .bounded(
                client
                    .market_data(&contract)
                    .generic_ticks(&["456"])
                    .subscribe(),
            )
            .await?
            .map_err(|e| map_err(e, &format!("dividends for {}", query.symbol)))?;
        let ticks = sub
            .collect_until(SNAPSHOT_TIMEOUT, |ticks| ticks.iter().any(is_dividend_tick))
            .await;
        sub.cancel().await;
        let mut info = DividendInfo {
            symbol: query.symbol.clone(),
            currency: query.currency.clone().unwrap_or_default(),
            ..DividendInfo::default()
        };
        let Some(text) = ticks.iter().find_map(|t| match t {
            TickTypes::String(s) if s.tick_type as i32 == 59 => Some(s.value.clone()),
            _ => None,
        }) else {
            return Err(GatewayError::NotFound(format!(
                "IB sent no dividend data for {}",
                query.symbol
            )));
        };
        parse_dividends(&text, &mut info);
        Ok(info)
    }

    // -----------------------------------------------------------------------------------------
    // What-if (the only order-shaped request ever sent; whatIf = true, never transmitted)

    pub async fn what_if(&self, order: &WhatIfOrder) -> Result<WhatIfResult, GatewayError> {
        let quantity = cleaning::size(order.quantity).ok_or_else(|| {
            GatewayError::Other(format!(
                "quantity must be a positive number, got {}",
                order.quantity
            ))
        })?;
        let limit = match order.order_type {
            OrderType::Mkt => None,
            OrderType::Lmt => {
                Some(order.limit_price.and_then(cleaning::price).ok_or_else(|| {
                    GatewayError::Other("a LMT what-if needs a positive limit price".to_string())
                })?)
            }
        };
        let contract = self.what_if_contract(&order.account, &order.symbol).await?;
        let client = self.client()?;
        let builder = client.order(&contract);
        let builder = match order.action {
            Side::Buy => builder.buy(quantity),
            Side::Sell => builder.sell(quantity),
        };
        let builder = match limit {
            Some(p) => builder.limit(p),
            None => builder.market(),
        };
        let builder = if order.account.is_empty() {
            builder
        } else {
            builder.account(order.account.clone())
        };
        // `analyze()` forces whatIf = true: IB computes margin and never works the order.
        let state = self.bounded(builder.analyze()).await?.map_err(|e| {
            map_err(
                e,
                &format!(
                    "what-if for {} {} {}",
                    order.action.ib(),
                    quantity,
                    order.symbol
                ),
            )
        })?;
        Ok(WhatIfResult {
            init_margin_before: cleaning::amount_opt(state.initial_margin_before),
            maint_margin_before: cleaning::amount_opt(state.maintenance_margin_before),
            equity_with_loan_before: cleaning::amount_opt(state.equity_with_loan_before),
            init_margin_change: cleaning::amount_opt(state.initial_margin_change),
            maint_margin_change: cleaning::amount_opt(state.maintenance_margin_change),
            equity_with_loan_change: cleaning::amount_opt(state.equity_with_loan_change),
            init_margin_after: cleaning::amount_opt(state.initial_margin_after),
            maint_margin_after: cleaning::amount_opt(state.maintenance_margin_after),
            equity_with_loan_after: cleaning::amount_opt(state.equity_with_loan_after),
            commission: cleaning::amount_opt(state.commission),
            commission_currency: state.commission_currency.clone(),
            margin_currency: state.margin_currency.clone(),
            warning: state.warning_text.clone(),
        })
    }

    /// The contract to simulate: the held instrument when the account holds the symbol (right
    /// con_id and currency), else the stock's contract details.
    async fn what_if_contract(
        &self,
        account: &str,
        symbol: &str,
    ) -> Result<Contract, GatewayError> {
        let snap = self.shared.store.snapshot();
        let held = snap.positions.values().find(|p| {
            (account.is_empty() || p.account == account)
                && p.instrument.symbol.eq_ignore_ascii_case(symbol)
                && p.instrument.sec_type == "STK"
        });
        if let Some(p) = held {
            return Ok(convert::contract_for(&p.instrument));
        }
        let details = self
            .contract_details(&ContractQuery {
                symbol: symbol.to_string(),
                ..ContractQuery::default()
            })
            .await?;
        details
            .first()
            .map(|d| convert::contract_for(&d.instrument))
            .ok_or_else(|| GatewayError::NotFound(format!("no contract found for {symbol}")))
    }

    // -----------------------------------------------------------------------------------------
    // News

    async fn provider_codes(&self, client: &Client) -> Result<Vec<String>, GatewayError> {
        if let Some(codes) = self.providers.lock().clone() {
            return Ok(codes);
        }
        let providers = self
            .bounded(client.news_providers())
            .await?
            .map_err(|e| map_err(e, "news providers"))?;
        let codes: Vec<String> = providers.into_iter().map(|p| p.code).collect();
        *self.providers.lock() = Some(codes.clone());
        Ok(codes)
    }

    pub async fn news(&self, symbol: &str, days: u32) -> Result<Vec<NewsHeadline>, GatewayError> {
        let symbol = symbol.trim().to_ascii_uppercase();
        let (con_id, _) = self.underlying(&symbol).await?;
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
        let read = async {
            let mut sub = client
                .historical_news(con_id, &code_refs, start, end, 100)
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
        Ok(headlines)
    }

    // -----------------------------------------------------------------------------------------
    // Orders and executions (read-only)

    pub fn pacing_limits(&self) -> &PacingLimits {
        self.pacer.limits()
    }

    pub fn pacing_usage(&self) -> super::pacing::PacingUsage {
        self.pacer.usage()
    }

    /// The gateway's clock, epoch ms.
    pub async fn server_time(&self) -> Result<Millis, GatewayError> {
        let client = self.client()?;
        let t = self
            .bounded(client.server_time())
            .await?
            .map_err(|e| map_err(e, "current time"))?;
        Ok((t.unix_timestamp_nanos() / 1_000_000) as Millis)
    }

    pub async fn executions(&self) -> Result<Vec<Fill>, GatewayError> {
        let client = self.client()?;
        self.bounded(session::read_executions(&client))
            .await?
            .map_err(|e| map_err(e, "executions"))
    }

    pub async fn completed_orders(&self) -> Result<Vec<OrderView>, GatewayError> {
        let client = self.client()?;
        let read = async {
            let mut sub = client.completed_orders(false).await?;
            let mut out = Vec::new();
            while let Some(item) = sub.next().await {
                match item {
                    Ok(SubscriptionItem::Data(Orders::OrderData(d))) => {
                        out.push(convert::order_view(&d))
                    }
                    Ok(_) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(out)
        };
        self.bounded(read)
            .await?
            .map_err(|e| map_err(e, "completed orders"))
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// Fills in the defaults (STK, SMART, USD; FX `USD.CAD` → CASH on IDEALPRO) and upper-cases.
fn normalize_query(q: &ContractQuery) -> ContractQuery {
    let symbol = q.symbol.trim().to_ascii_uppercase();
    let sec_type = q.sec_type.as_deref().map(|s| s.trim().to_ascii_uppercase());
    let is_fx_pair = symbol.len() == 7 && symbol.as_bytes().get(3) == Some(&b'.');
    if sec_type.as_deref() == Some("CASH") || (sec_type.is_none() && is_fx_pair) {
        let (base, quote) = match symbol.split_once('.') {
            Some((b, qt)) => (b.to_string(), qt.to_string()),
            None => (
                symbol.clone(),
                q.currency.clone().unwrap_or_else(|| "USD".into()),
            ),
        };
        return ContractQuery {
            symbol: base,
            sec_type: Some("CASH".into()),
            exchange: Some("IDEALPRO".into()),
            currency: Some(quote.to_ascii_uppercase()),
        };
    }
    ContractQuery {
        symbol,
        sec_type: Some(sec_type.unwrap_or_else(|| "STK".into())),
        exchange: Some(
            q.exchange
                .as_deref()
                .map(|e| e.trim().to_ascii_uppercase())
                .unwrap_or_else(|| "SMART".into()),
        ),
        currency: Some(
            q.currency
                .as_deref()
                .map(|c| c.trim().to_ascii_uppercase())
                .unwrap_or_else(|| "USD".into()),
        ),
    }
}

fn query_contract(q: &ContractQuery) -> Contract {
    convert::contract_from_parts(
        &q.symbol,
        q.sec_type.as_deref().unwrap_or("STK"),
        q.exchange.as_deref().unwrap_or("SMART"),
        q.currency.as_deref().unwrap_or("USD"),
    )
}

fn not_found(q: &ContractQuery) -> GatewayError {
    GatewayError::NotFound(format!(
        "no contract found for {} ({} on {} in {})",
        q.symbol,
        q.sec_type.as_deref().unwrap_or("STK"),
        q.exchange.as_deref().unwrap_or("SMART"),
        q.currency.as_deref().unwrap_or("USD")
    ))
}

/// Maps an ibapi error to words: `what` names the request ("historical bars for KRYX").
pub fn map_err(e: ibapi::Error, what: &str) -> GatewayError {
    match e {
        ibapi::Error::Notice(n) => match n.code {
            200 => {
                GatewayError::NotFound(format!("{what}: IB knows no such contract ({})", n.message))
            }
            162 => GatewayError::Rejected {
                code: 162,
                message: format!(
                    "{what}: IB refused the historical data request ({})",
                    n.message
                ),
            },
            354 | 10167 | 10089..=10091 => GatewayError::Rejected {
                code: n.code,
                message: format!(
                    "{what}: no market data subscription for this instrument ({})",
                    n.message
                ),
            },
            code => GatewayError::Rejected {
                code,
                message: format!("{what}: {}", n.message),
            },
        },
        ibapi::Error::ConnectionReset | ibapi::Error::ConnectionFailed | ibapi::Error::Shutdown => {
            GatewayError::NotConnected(format!("the gateway connection dropped during {what}"))
        }
        e if e.is_connection_lost() => {
            GatewayError::NotConnected(format!("the gateway connection dropped during {what}"))
        }
        ibapi::Error::Timeout => GatewayError::Timeout(CALL_DEADLINE),
        e => GatewayError::Other(format!("{what} failed: {e}")),
    }
}

fn is_dividend_tick(t: &TickTypes) -> bool {
    matches!(t, TickTypes::String(s) if s.tick_type as i32 == 59)
}

/// "0.83,0.92,20250315,0.23" → past 12m, next 12m, next date, next amount.
fn parse_dividends(text: &str, info: &mut DividendInfo) {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let num = |i: usize| {
        parts
            .get(i)
            .and_then(|s| s.parse::<f64>().ok())
            .and_then(cleaning::finite)
    };
    info.past_12m = num(0);
    info.next_12m = num(1);
    info.next_date = parts
        .get(2)
        .filter(|s| s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()))
        .map(|s| s.to_string());
    info.next_amount = num(3);
}

/// One option's snapshot: bid/ask/last and greeks (model computation preferred).
async fn option_snapshot(
    client: &Client,
    contract: &Contract,
    expiry: &str,
    strike: f64,
    right: OptionRight,
) -> OptionQuote {
    let mut q = OptionQuote {
        expiry: expiry.to_string(),
        strike,
        right: match right {
            OptionRight::Call => "C".into(),
            OptionRight::Put => "P".into(),
        },
        ..OptionQuote::default()
    };
    let Ok(ticks) = client
        .market_data(contract)
        .snapshot_once(SNAPSHOT_TIMEOUT)
        .await
    else {
        return q;
    };
    let mut quote = Quote::default();
    let mut best_rank = 0;
    for t in &ticks {
        quotes::apply_tick(&mut quote, t);
        if let TickTypes::OptionComputation(c) = t {
            // Model (13/83) beats last (12/82) beats bid/ask.
            let rank = match c.field as i32 {
                13 | 83 => 3,
                12 | 82 => 2,
                _ => 1,
            };
            if rank >= best_rank {
                best_rank = rank;
                q.implied_vol = cleaning::implied_vol(c.implied_volatility).or(q.implied_vol);
                q.delta = cleaning::delta(c.delta).or(q.delta);
                q.gamma = cleaning::greek(c.gamma).or(q.gamma);
                q.theta = cleaning::greek(c.theta).or(q.theta);
                q.vega = cleaning::greek(c.vega).or(q.vega);
                q.underlying_price = c
                    .underlying_price
                    .and_then(cleaning::price)
                    .or(q.underlying_price);
            }
        }
    }
    q.bid = quote.bid;
    q.ask = quote.ask;
    q.last = quote.last;
    q.mode = quote.mode;
    q
}

#[path = "research.rs"]
pub(super) mod research;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_get_ib_defaults() {
        let q = normalize_query(&ContractQuery {
            symbol: " kryx ".into(),
            ..ContractQuery::default()
        });
        assert_eq!(q.symbol, "KRYX");
        assert_eq!(q.sec_type.as_deref(), Some("STK"));
        assert_eq!(q.exchange.as_deref(), Some("SMART"));
        assert_eq!(q.currency.as_deref(), Some("USD"));
        let fx = normalize_query(&ContractQuery {
            symbol: "usd.cad".into(),
            ..ContractQuery::default()
        });
        assert_eq!(
            (
                fx.symbol.as_str(),
                fx.sec_type.as_deref(),
                fx.exchange.as_deref(),
                fx.currency.as_deref()
            ),
            ("USD", Some("CASH"), Some("IDEALPRO"), Some("CAD"))
        );
    }

    #[test]
    fn dividend_strings_parse_and_clean() {
        let mut info = DividendInfo::default();
        parse_dividends("0.83,0.92,20250315,0.23", &mut info);
        assert_eq!(
            (
                info.past_12m,
                info.next_12m,
                info.next_date.as_deref(),
                info.next_amount
            ),
            (Some(0.83), Some(0.92), Some("20250315"), Some(0.23))
        );
        let mut info = DividendInfo::default();
        parse_dividends("NaN,,,", &mut info);
        assert_eq!((info.past_12m, info.next_date), (None, None));
    }

    #[test]
    fn freshness_policy() {
        let daily = BarSpec::daily("KRYX", "1 Y");
        let day0 = 20_000 * DAY_MS;
        assert!(RequestsInner::is_fresh(
            &daily,
            day0 + 1_000,
            day0 + DAY_MS - 1
        ));
        assert!(!RequestsInner::is_fresh(
            &daily,
            day0 + DAY_MS - 1,
            day0 + DAY_MS + 1
        ));
        let mut intraday = daily.clone();
        intraday.bar_size = BarSize::Min5;
        assert!(RequestsInner::is_fresh(&intraday, 0, 59_000));
        assert!(!RequestsInner::is_fresh(&intraday, 0, 61_000));
    }
}
