//! Reference data: contract details, symbol search, option chains and calculators, news.

use super::*;
use crate::calendar;

impl Session {
    pub(super) fn req_contract_details(&self, r: pb::ContractDataRequest) {
        let req_id = r.req_id.unwrap_or(0);
        let c = r.contract.unwrap_or_default();
        let sec_type = c.sec_type.clone().unwrap_or_default().to_ascii_uppercase();
        let answers: Vec<pb::ContractData> = {
            let w = self.shared.world.lock();
            if sec_type == "OPT" {
                options::contract_details(&w.market, &c, clock::now_secs())
                    .into_iter()
                    .map(|(contract, details)| pb::ContractData {
                        req_id: Some(req_id),
                        contract: Some(contract),
                        contract_details: Some(details),
                    })
                    .collect()
            } else {
                let st = if sec_type.is_empty() {
                    "STK"
                } else {
                    sec_type.as_str()
                };
                w.market
                    .lookup(
                        c.con_id.unwrap_or(0),
                        c.symbol.as_deref().unwrap_or(""),
                        st,
                        c.currency.as_deref().unwrap_or(""),
                    )
                    .map(|i| {
                        let inst = w.market.get(i);
                        pb::ContractData {
                            req_id: Some(req_id),
                            contract: Some(full_contract(inst)),
                            contract_details: Some(stock_details(inst, clock::now_secs())),
                        }
                    })
                    .into_iter()
                    .collect()
            }
        };
        if answers.is_empty() {
            self.error(
                req_id,
                200,
                "No security definition has been found for the request",
            );
            return;
        }
        for a in answers {
            self.send(In::ContractData, &a);
        }
        self.send(
            In::ContractDataEnd,
            &pb::ReqIdOnly {
                req_id: Some(req_id),
            },
        );
    }

    pub(super) fn req_matching_symbols(&self, r: pb::MatchingSymbolsRequest) {
        let req_id = r.req_id.unwrap_or(0);
        let pat = r.pattern.unwrap_or_default().trim().to_ascii_uppercase();
        let descs: Vec<pb::ContractDescription> = {
            let w = self.shared.world.lock();
            let mut hits: Vec<(u8, &Instrument)> = w
                .market
                .instruments
                .iter()
                .filter(|i| i.kind != AssetKind::Fx || pat.len() == 3)
                .filter_map(|i| {
                    let sym = i.symbol.to_ascii_uppercase();
                    let name = i.long_name.to_ascii_uppercase();
                    if pat.is_empty() {
                        None
                    } else if sym == pat {
                        Some((0, i))
                    } else if sym.starts_with(&pat) {
                        Some((1, i))
                    } else if name.contains(&pat) {
                        Some((2, i))
                    } else {
                        None
                    }
                })
                .collect();
            hits.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.symbol.cmp(&b.1.symbol)));
            hits.into_iter()
                .take(16)
                .map(|(_, i)| {
                    let mut c = full_contract(i);
                    c.exchange = None;
                    c.description = Some(i.long_name.clone());
                    let derivs = if i.kind == AssetKind::Fx {
                        vec![]
                    } else {
                        vec!["OPT".to_string(), "CFD".to_string()]
                    };
                    pb::ContractDescription {
                        contract: Some(c),
                        derivative_sec_types: derivs,
                    }
                })
                .collect()
        };
        self.send(
            In::SymbolSamples,
            &pb::SymbolSamples {
                req_id: Some(req_id),
                contract_descriptions: descs,
            },
        );
    }

    pub(super) fn req_option_params(&self, r: pb::SecDefOptParamsRequest) {
        let req_id = r.req_id.unwrap_or(0);
        let chains = {
            let w = self.shared.world.lock();
            let sym = r.underlying_symbol.unwrap_or_default();
            w.market
                .lookup(r.underlying_con_id.unwrap_or(0), &sym, "STK", "")
                .map(|i| options::chains(&w.market, i, clock::now_secs()))
        };
        let Some(chains) = chains else {
            self.error(
                req_id,
                200,
                "No security definition has been found for the request",
            );
            return;
        };
        for ch in chains {
            self.send(
                In::SecurityDefinitionOptionParameter,
                &pb::SecDefOptParameter {
                    req_id: Some(req_id),
                    exchange: Some(ch.exchange),
                    underlying_con_id: Some(ch.underlying_con_id),
                    trading_class: Some(ch.trading_class),
                    multiplier: Some("100".into()),
                    expirations: ch.expirations,
                    strikes: ch.strikes,
                },
            );
        }
        self.send(
            In::SecurityDefinitionOptionParameterEnd,
            &pb::ReqIdOnly {
                req_id: Some(req_id),
            },
        );
    }

    pub(super) fn send_computation(&self, req_id: i32, q: Option<options::OptionQuote>) {
        match q {
            Some(q) => self.send(
                In::TickOptionComputation,
                &pb::TickOptionComputation {
                    req_id: Some(req_id),
                    tick_type: Some(53),
                    tick_attrib: Some(1),
                    implied_vol: Some(q.iv),
                    delta: Some(q.delta),
                    opt_price: Some(q.model),
                    pv_dividend: Some(q.pv_dividend),
                    gamma: Some(q.gamma),
                    vega: Some(q.vega),
                    theta: Some(q.theta),
                    und_price: Some(q.underlying),
                },
            ),
            None => self.error(
                req_id,
                200,
                "No security definition has been found for the request",
            ),
        }
    }

    pub(super) fn req_calc_option_price(&self, r: pb::CalculateOptionPriceRequest) {
        let req_id = r.req_id.unwrap_or(0);
        let q = {
            let w = self.shared.world.lock();
            r.contract
                .as_ref()
                .and_then(|c| options::OptionSpec::from_contract(&w.market, c))
                .map(|o| o.quote_with(&w.market, clock::now_secs(), r.volatility, r.under_price))
        };
        self.send_computation(req_id, q);
    }

    pub(super) fn req_calc_implied_vol(&self, r: pb::CalculateImpliedVolatilityRequest) {
        let req_id = r.req_id.unwrap_or(0);
        let q = {
            let w = self.shared.world.lock();
            r.contract
                .as_ref()
                .and_then(|c| options::OptionSpec::from_contract(&w.market, c))
                .map(|o| {
                    let vol = o.implied_vol_for(
                        &w.market,
                        clock::now_secs(),
                        r.option_price.unwrap_or(0.0),
                        r.under_price,
                    );
                    o.quote_with(&w.market, clock::now_secs(), Some(vol), r.under_price)
                })
        };
        self.send_computation(req_id, q);
    }

    pub(super) fn req_historical_news(&self, r: pb::HistoricalNewsRequest) {
        let req_id = r.req_id.unwrap_or(0);
        let symbol = {
            let w = self.shared.world.lock();
            w.market
                .by_con_id(r.con_id.unwrap_or(0))
                .map(|i| w.market.get(i).symbol.clone())
        };
        let Some(symbol) = symbol else {
            self.error(
                req_id,
                200,
                "No security definition has been found for the request",
            );
            return;
        };
        let now = clock::now_secs();
        let end = r
            .end_date_time
            .as_deref()
            .and_then(clock::parse_request_time)
            .unwrap_or(now)
            .min(now);
        let start = r
            .start_date_time
            .as_deref()
            .and_then(clock::parse_request_time)
            .unwrap_or(end - 7 * 86_400);
        let providers: Vec<String> = r
            .provider_codes
            .unwrap_or_default()
            .split('+')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        let limit = r.total_results.unwrap_or(10).clamp(1, 300) as usize;
        let seed = self.shared.world.lock().market.seed;
        let (items, more) = news::headlines(seed, &symbol, start, end, &providers, limit);
        for h in items {
            self.send(
                In::HistoricalNews,
                &pb::HistoricalNews {
                    req_id: Some(req_id),
                    time: Some(clock::news_time(h.time)),
                    provider_code: Some(h.provider),
                    article_id: Some(h.article_id),
                    headline: Some(h.headline),
                },
            );
        }
        self.send(
            In::HistoricalNewsEnd,
            &pb::HistoricalNewsEnd {
                req_id: Some(req_id),
                has_more: Some(more),
            },
        );
    }

    pub(super) fn req_news_article(&self, r: pb::NewsArticleRequest) {
        let req_id = r.req_id.unwrap_or(0);
        let seed = self.shared.world.lock().market.seed;
        match news::article(seed, r.article_id.as_deref().unwrap_or("")) {
            Some(text) => self.send(
                In::NewsArticle,
                &pb::NewsArticle {
                    req_id: Some(req_id),
                    article_type: Some(0),
                    article_text: Some(text),
                },
            ),
            None => self.error(
                req_id,
                10172,
                "Failed to request news article: article not found",
            ),
        }
    }
}

pub(super) fn full_contract(inst: &Instrument) -> pb::Contract {
    let (local, class) = match inst.kind {
        AssetKind::Fx => (inst.key(), inst.key()),
        _ => (inst.symbol.clone(), trading_class(inst)),
    };
    pb::Contract {
        con_id: Some(inst.con_id),
        symbol: Some(inst.symbol.clone()),
        sec_type: Some(inst.sec_type().into()),
        exchange: Some(inst.exchange.clone()),
        primary_exch: Some(inst.primary_exch.clone()),
        currency: Some(inst.currency.clone()),
        local_symbol: Some(local),
        trading_class: Some(class),
        ..Default::default()
    }
}

/// Trading and liquid hours for the coming week from the exchange calendar, IB style
/// (`YYYYMMDD:HHMM-YYYYMMDD:HHMM;…`, closed days as `YYYYMMDD:CLOSED`).
pub(crate) fn session_hours(now: i64, liquid: bool, fx: bool) -> String {
    let venue = if fx {
        calendar::Venue::Fx
    } else {
        calendar::Venue::UsEquity
    };
    calendar::hours_text(venue, calendar::ny_date(now), 7, liquid)
}

/// IB's trading class for a US stock: `NMS` (National Market System) for NASDAQ listings, the
/// symbol for NYSE, ARCA and the other exchanges.
fn trading_class(inst: &Instrument) -> String {
    if inst.primary_exch == "NASDAQ" {
        "NMS".into()
    } else {
        inst.symbol.clone()
    }
}

/// The venues IB routes a US stock to, in IB's order (`SMART` first, each venue once, the
/// primary listing among them and not repeated).
const US_STOCK_EXCHANGES: &str = "SMART,AMEX,NYSE,CBOE,PHLX,ISE,CHX,ARCA,NASDAQ,DRCTEDGE,BEX,BATS,EDGEA,BYX,IEX,EDGX,FOXRIVER,PEARL,NYSENAT,LTSE,MEMX,IBEOS,OVERNIGHT,TPLUS0,PSX";

fn stock_details(inst: &Instrument, now: i64) -> pb::ContractDetails {
    let fx = inst.kind == AssetKind::Fx;
    pb::ContractDetails {
        market_name: Some(if fx { inst.key() } else { inst.symbol.clone() }),
        min_tick: Some(format!("{}", inst.min_tick)),
        order_types: Some("ACTIVETIM,AD,ADJUST,ALERT,ALLOC,AVGCOST,BASKET,COND,CONDORDER,DAY,DEACT,GAT,GTC,GTD,LIT,LMT,MIT,MKT,MTL,NGCOMB,OCA,REL,SCALE,STP,STPLMT,TRAIL,WHATIF".into()),
        valid_exchanges: Some(if fx { "IDEALPRO" } else { US_STOCK_EXCHANGES }.into()),
        price_magnifier: Some(1),
        under_con_id: Some(0),
        long_name: Some(inst.long_name.clone()),
        contract_month: None,
        industry: Some(inst.industry.clone()),
        category: Some(inst.category.clone()),
        subcategory: Some(inst.subcategory.clone()),
        time_zone_id: Some("US/Eastern".into()),
        trading_hours: Some(session_hours(now, false, fx)),
        liquid_hours: Some(session_hours(now, true, fx)),
        under_symbol: None,
        under_sec_type: None,
        market_rule_ids: Some(if fx { "239".into() } else { "26,26,26".into() }),
        real_expiration_date: None,
        stock_type: Some(match inst.kind {
            AssetKind::Etf => "ETF".into(),
            AssetKind::Stock => "COMMON".into(),
            AssetKind::Fx => String::new(),
        }),
        min_size: Some("1".into()),
        size_increment: Some("1".into()),
        suggested_size_increment: Some("100".into()),
    }
}
