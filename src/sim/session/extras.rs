//! The cheap requests IB answers that the simulator serves from its own data (head timestamp,
//! market rules, family codes, scanner parameters, depth exchanges, 5-second real-time bars),
//! and IB's error for the ones it does not serve, so no request goes unanswered.

use super::*;

/// Real-time bars are 5 seconds; IB refuses any other size.
const REAL_TIME_BAR_SECS: i64 = 5;

/// A 5-second bar stream: the instrument and the last bar start sent.
#[derive(Debug, Clone)]
pub(super) struct RealTimeBars {
    inst: usize,
    last_start: i64,
}

/// Minimum price increments by market rule id: US stocks (26) and IDEALPRO FX (239).
fn market_rule(id: i32) -> Option<Vec<(f64, f64)>> {
    match id {
        26 => Some(vec![(0.0, 0.01)]),
        239 => Some(vec![(0.0, 0.00005)]),
        _ => None,
    }
}

impl Session {
    fn lookup(&self, c: &pb::Contract) -> Option<usize> {
        self.shared.world.lock().market.lookup(
            c.con_id.unwrap_or(0),
            c.symbol.as_deref().unwrap_or(""),
            c.sec_type.as_deref().unwrap_or("STK"),
            c.currency.as_deref().unwrap_or(""),
        )
    }

    pub(super) fn req_head_timestamp(&self, r: pb::HeadTimestampRequest) {
        let req_id = r.req_id.unwrap_or(0);
        let c = r.contract.unwrap_or_default();
        let Some(idx) = self.lookup(&c) else {
            self.error(
                req_id,
                200,
                "No security definition has been found for the request",
            );
            return;
        };
        let what = r.what_to_show.unwrap_or_default().to_ascii_uppercase();
        let first = {
            let w = self.shared.world.lock();
            let inst = w.market.get(idx);
            if inst.kind == AssetKind::Fx && what == "TRADES" {
                None
            } else {
                let series = history::daily_series(&w.market, inst, clock::now_secs());
                series.first().and_then(|b| {
                    crate::calendar::session(
                        history::venue(inst),
                        b.date,
                        r.use_rth.unwrap_or(true),
                    )
                })
            }
        };
        let Some(first) = first else {
            self.error(
                req_id,
                162,
                "Historical Market Data Service error message:No head time stamp",
            );
            return;
        };
        let stamp = if r.format_date == Some(2) {
            first.open.to_string()
        } else {
            clock::ymd_dash_hms(first.open)
        };
        self.send(
            In::HeadTimestamp,
            &pb::HeadTimestamp {
                req_id: Some(req_id),
                head_timestamp: Some(stamp),
            },
        );
    }

    pub(super) fn req_market_rule(&self, r: pb::MarketRuleRequest) {
        let id = r.market_rule_id.unwrap_or(0);
        match market_rule(id) {
            Some(increments) => self.send(
                In::MarketRule,
                &pb::MarketRule {
                    market_rule_id: Some(id),
                    price_increments: increments
                        .into_iter()
                        .map(|(low, inc)| pb::PriceIncrement {
                            low_edge: Some(low),
                            increment: Some(inc),
                        })
                        .collect(),
                },
            ),
            None => self.error(
                -1,
                321,
                &format!("Error validating request.-'cA' : cause - Invalid market rule id {id}"),
            ),
        }
    }

    pub(super) fn req_family_codes(&self) {
        let acct = self.account_id();
        self.send(
            In::FamilyCodes,
            &pb::FamilyCodes {
                family_codes: vec![pb::FamilyCode {
                    account_id: Some(acct),
                    family_code: Some(String::new()),
                }],
            },
        );
    }

    pub(super) fn req_scanner_parameters(&self) {
        self.send(
            In::ScannerParameters,
            &pb::ScannerParameters {
                xml: Some(crate::sim::research::scanner_parameters_xml()),
            },
        );
    }

    pub(super) fn req_mkt_depth_exchanges(&self) {
        let row = |exchange: &str, sec_type: &str| pb::DepthMarketDataDescription {
            exchange: Some(exchange.into()),
            sec_type: Some(sec_type.into()),
            listing_exch: Some(String::new()),
            service_data_type: Some("Deep".into()),
            agg_group: Some(i32::MAX),
        };
        self.send(
            In::MktDepthExchanges,
            &pb::MarketDepthExchanges {
                depth_market_data_descriptions: vec![
                    row("NASDAQ", "STK"),
                    row("ARCA", "STK"),
                    row("IDEALPRO", "CASH"),
                ],
            },
        );
    }

    pub(super) fn req_real_time_bars(&mut self, r: pb::RealTimeBarsRequest) {
        let req_id = r.req_id.unwrap_or(0);
        if i64::from(r.bar_size.unwrap_or(5)) != REAL_TIME_BAR_SECS {
            self.error(req_id, 321, "Error validating request.-'bY' : cause - Invalid bar size: only 5 seconds is supported for real time bars");
            return;
        }
        let c = r.contract.unwrap_or_default();
        let Some(inst) = self.lookup(&c) else {
            self.error(
                req_id,
                200,
                "No security definition has been found for the request",
            );
            return;
        };
        let mut stream = RealTimeBars {
            inst,
            last_start: 0,
        };
        self.send_real_time_bar(req_id, &mut stream);
        self.rt_bars.insert(req_id, stream);
    }

    /// The last completed 5-second bar of a stream, when it has not been sent yet.
    pub(super) fn send_real_time_bar(&self, req_id: i32, stream: &mut RealTimeBars) {
        let now = clock::now_secs();
        let start = now - now.rem_euclid(REAL_TIME_BAR_SECS) - REAL_TIME_BAR_SECS;
        if start <= stream.last_start {
            return;
        }
        stream.last_start = start;
        let (price, volume) = {
            let w = self.shared.world.lock();
            let inst = w.market.get(stream.inst);
            let fx = inst.kind == AssetKind::Fx;
            (inst.last, if fx { -1.0 } else { 100.0 })
        };
        self.send(
            In::RealTimeBars,
            &pb::RealTimeBarTick {
                req_id: Some(req_id),
                time: Some(start),
                open: Some(price),
                high: Some(price),
                low: Some(price),
                close: Some(price),
                volume: Some(dec(volume)),
                wap: Some(format!("{price}")),
                count: Some(if volume < 0.0 { -1 } else { 1 }),
            },
        );
    }

    pub(super) fn push_real_time_bars(&mut self) {
        let ids: Vec<i32> = self.rt_bars.keys().copied().collect();
        for id in ids {
            if let Some(mut s) = self.rt_bars.remove(&id) {
                self.send_real_time_bar(id, &mut s);
                self.rt_bars.insert(id, s);
            }
        }
    }

    /// IB's answer to a request the simulator does not serve: the error IB gives for missing
    /// permissions or an unsupported request, on the request's id.
    pub(super) fn refuse_unsupported(&self, kind: Out, body: &[u8]) {
        let req_id = wire::decode::<pb::ReqIdOnly>(body).req_id;
        let (code, msg) = match kind {
            Out::RequestMarketDepth => (
                10092,
                "Deep market data is not supported for this combination of security type/exchange"
                    .to_string(),
            ),
            Out::RequestTickByTickData => (
                10189,
                "Failed to request tick-by-tick data.:No market data permissions".to_string(),
            ),
            Out::RequestHistoricalTicks | Out::RequestHistogramData => (
                162,
                "Historical Market Data Service error message:No market data permissions"
                    .to_string(),
            ),
            Out::RequestFundamentalData => (10358, "Fundamentals data is not allowed.".to_string()),
            other => (
                321,
                format!(
                    "Error validating request.-'cB' : cause - {other:?} is not supported by this gateway"
                ),
            ),
        };
        match req_id {
            Some(id) => self.error(id, code, &msg),
            None => self.notice(code, &msg),
        }
    }
}
