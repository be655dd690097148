//! Market data: live and delayed streams, snapshots, generic ticks, option greeks, sentinels.

use super::*;

impl Session {
    pub(super) fn req_market_data(&mut self, r: pb::MarketDataRequest) {
        let req_id = r.req_id.unwrap_or(0);
        let c = r.contract.unwrap_or_default();
        let sec_type = c
            .sec_type
            .clone()
            .unwrap_or_else(|| "STK".into())
            .to_ascii_uppercase();
        let symbol = c.symbol.clone().unwrap_or_default().to_ascii_uppercase();
        let generic: Vec<i32> = r
            .generic_tick_list
            .unwrap_or_default()
            .split(',')
            .filter_map(|t| t.trim().parse().ok())
            .collect();
        let target = if sec_type == "OPT" {
            let w = self.shared.world.lock();
            options::OptionSpec::from_contract(&w.market, &c).map(MdTarget::Option)
        } else {
            let w = self.shared.world.lock();
            w.market
                .lookup(
                    c.con_id.unwrap_or(0),
                    &symbol,
                    &sec_type,
                    c.currency.as_deref().unwrap_or(""),
                )
                .map(MdTarget::Instrument)
        };
        let Some(target) = target else {
            self.error(
                req_id,
                200,
                "No security definition has been found for the request",
            );
            return;
        };
        // A streaming subscription holds one of the account's market-data lines until it is
        // cancelled; a snapshot holds none (a re-request on a live id keeps its line).
        let snapshot = r.snapshot.unwrap_or(false) || r.regulatory_snapshot.unwrap_or(false);
        if !snapshot && !self.md.contains_key(&req_id) && !self.shared.take_line() {
            self.error(req_id, 101, "Max number of tickers has been reached.");
            return;
        }
        let underlying_key = {
            let w = self.shared.world.lock();
            match &target {
                MdTarget::Instrument(i) => w.market.get(*i).key(),
                MdTarget::Option(o) => w.market.get(o.underlying).symbol.clone(),
            }
        };
        let subscribed = !self
            .shared
            .faults
            .lock()
            .no_subscription
            .contains(&underlying_key);
        let delayed = match (subscribed, self.market_data_type) {
            (true, _) => false,
            (false, 3 | 4) => true,
            (false, _) => {
                self.error(
                    req_id,
                    354,
                    "Requested market data is not subscribed. Check API status by selecting the Account menu then under Management choose Market Data Subscription Manager and/or Delayed Market Data.",
                );
                if !snapshot && !self.md.contains_key(&req_id) {
                    self.shared.release_lines(1);
                }
                return;
            }
        };
        let reported_type = match (delayed, self.market_data_type) {
            (true, 4) => 4,
            (true, _) => 3,
            (false, 2) => 2,
            (false, _) => 1,
        };
        self.send(
            In::MarketDataType,
            &pb::MarketDataType {
                req_id: Some(req_id),
                market_data_type: Some(reported_type),
            },
        );
        if delayed {
            self.error(
                req_id,
                10167,
                "Requested market data is not subscribed. Displaying delayed market data.",
            );
        }
        let min_tick = {
            let w = self.shared.world.lock();
            match &target {
                MdTarget::Instrument(i) => w.market.get(*i).min_tick,
                MdTarget::Option(_) => 0.01,
            }
        };
        self.send(
            In::TickReqParams,
            &pb::TickReqParams {
                req_id: Some(req_id),
                min_tick: Some(format!("{min_tick}")),
                bbo_exchange: Some("9c0001".into()),
                snapshot_permissions: Some(3),
            },
        );
        let mut sub = MdSub {
            target,
            delayed,
            generic,
            sent: 0,
            last_bid: f64::NAN,
            last_ask: f64::NAN,
            last_last: f64::NAN,
        };
        self.send_full_quote(req_id, &mut sub);
        if snapshot {
            self.send(
                In::TickSnapshotEnd,
                &pb::ReqIdOnly {
                    req_id: Some(req_id),
                },
            );
        } else {
            self.md.insert(req_id, sub);
        }
    }

    pub(super) fn tick_price(&self, req_id: i32, tick_type: i32, price: f64, size: Option<f64>) {
        self.send(
            In::TickPrice,
            &pb::TickPrice {
                req_id: Some(req_id),
                tick_type: Some(tick_type),
                price: Some(price),
                size: size.map(dec),
                attr_mask: Some(0),
            },
        );
    }

    pub(super) fn tick_size(&self, req_id: i32, tick_type: i32, size: f64) {
        self.send(
            In::TickSize,
            &pb::TickSize {
                req_id: Some(req_id),
                tick_type: Some(tick_type),
                size: Some(dec(size)),
            },
        );
    }

    pub(super) fn tick_string(&self, req_id: i32, tick_type: i32, value: String) {
        self.send(
            In::TickString,
            &pb::TickString {
                req_id: Some(req_id),
                tick_type: Some(tick_type),
                value: Some(value),
            },
        );
    }

    pub(super) fn tick_generic(&self, req_id: i32, tick_type: i32, value: f64) {
        self.send(
            In::TickGeneric,
            &pb::TickGeneric {
                req_id: Some(req_id),
                tick_type: Some(tick_type),
                value: Some(value),
            },
        );
    }

    /// Every field of the quote (initial answer and snapshots).
    pub(super) fn send_full_quote(&self, req_id: i32, sub: &mut MdSub) {
        let d = sub.delayed;
        let t = |live: i32, delayed: i32| if d { delayed } else { live };
        match sub.target.clone() {
            MdTarget::Instrument(i) => {
                let inst = self.shared.world.lock().market.get(i).clone();
                let (bid_sz, ask_sz) = book_sizes(&inst);
                self.tick_price(req_id, t(1, 66), inst.bid(), Some(bid_sz));
                self.tick_price(req_id, t(2, 67), inst.ask(), Some(ask_sz));
                if inst.kind != AssetKind::Fx {
                    self.tick_price(req_id, t(4, 68), inst.mark(), Some(inst.last_size));
                    self.tick_size(req_id, t(8, 74), inst.volume);
                    self.tick_string(req_id, t(45, 88), clock::now_secs().to_string());
                }
                self.tick_price(req_id, t(6, 72), inst.round(inst.high), None);
                self.tick_price(req_id, t(7, 73), inst.round(inst.low), None);
                self.tick_price(req_id, t(9, 75), inst.round(inst.prev_close), None);
                self.tick_price(req_id, t(14, 76), inst.round(inst.open), None);
                sub.last_bid = inst.bid();
                sub.last_ask = inst.ask();
                sub.last_last = inst.mark();
                self.send_generic_ticks(req_id, &inst, &sub.generic);
            }
            MdTarget::Option(o) => self.send_option_quote(req_id, &o, d, true),
        }
        self.maybe_sentinel(req_id, sub);
    }

    pub(super) fn send_generic_ticks(&self, req_id: i32, inst: &Instrument, generic: &[i32]) {
        for g in generic {
            match g {
                456 => {
                    let s = options::dividend_string(inst, clock::now_secs());
                    self.tick_string(req_id, 59, s);
                }
                104 => self.send_volatility_tick(req_id, inst, 23),
                106 => self.send_volatility_tick(req_id, inst, 24),
                165 => {
                    let (lo, hi) = {
                        let w = self.shared.world.lock();
                        history::range_52w(&w.market, inst)
                    };
                    self.tick_price(req_id, 19, inst.round(lo), None);
                    self.tick_price(req_id, 20, inst.round(hi), None);
                    self.tick_size(req_id, 21, inst.avg_volume);
                }
                233 => {
                    let v = format!(
                        "{:.2};{};{};{};{:.4};false",
                        inst.mark(),
                        dec(inst.last_size),
                        clock::now_millis(),
                        dec(inst.volume),
                        (inst.open + inst.mark()) / 2.0
                    );
                    self.tick_string(req_id, 48, v);
                }
                236 => self.send_shortable(req_id, inst),
                258 => self.send_fundamental_ratios(req_id, inst),
                _ => {}
            }
        }
    }

    pub(super) fn send_option_quote(
        &self,
        req_id: i32,
        o: &options::OptionSpec,
        delayed: bool,
        full: bool,
    ) {
        let q = {
            let w = self.shared.world.lock();
            o.quote(&w.market, clock::now_secs())
        };
        let t = |live: i32, del: i32| if delayed { del } else { live };
        self.tick_price(req_id, t(1, 66), q.bid, Some(q.bid_size));
        self.tick_price(req_id, t(2, 67), q.ask, Some(q.ask_size));
        self.tick_price(req_id, t(4, 68), q.last, Some(1.0));
        if full {
            self.tick_price(req_id, t(9, 75), q.close, None);
            self.tick_size(req_id, t(8, 74), q.volume);
        }
        for (live, del, price) in [
            (10, 80, q.bid),
            (11, 81, q.ask),
            (12, 82, q.last),
            (13, 83, q.model),
        ] {
            self.send(
                In::TickOptionComputation,
                &pb::TickOptionComputation {
                    req_id: Some(req_id),
                    tick_type: Some(if delayed { del } else { live }),
                    tick_attrib: Some(1),
                    implied_vol: Some(q.iv),
                    delta: Some(q.delta),
                    opt_price: Some(price),
                    pv_dividend: Some(q.pv_dividend),
                    gamma: Some(q.gamma),
                    vega: Some(q.vega),
                    theta: Some(q.theta),
                    und_price: Some(q.underlying),
                },
            );
        }
    }

    /// With the sentinel fault on, some ticks carry IB's "no value" markers.
    pub(super) fn maybe_sentinel(&self, req_id: i32, sub: &mut MdSub) {
        sub.sent += 1;
        if !self.shared.faults.lock().sentinels || sub.sent % 3 != 1 {
            return;
        }
        const SENTINELS: [f64; 4] = [-1.0, 0.0, f64::MAX, f64::NAN];
        let v = SENTINELS[((sub.sent / 3) % 4) as usize];
        let tt = if sub.delayed {
            [66, 67, 68, 75]
        } else {
            [1, 2, 4, 9]
        }[((sub.sent / 12) % 4) as usize];
        self.tick_price(
            req_id,
            tt,
            v,
            if tt == 9 || tt == 75 { None } else { Some(0.0) },
        );
        if sub.sent % 2 == 1 {
            self.tick_size(req_id, if sub.delayed { 74 } else { 8 }, -1.0);
        }
    }

    pub(super) fn stream_update(&self, req_id: i32, sub: &mut MdSub) {
        let d = sub.delayed;
        let t = |live: i32, delayed: i32| if d { delayed } else { live };
        match sub.target.clone() {
            MdTarget::Instrument(i) => {
                let inst = self.shared.world.lock().market.get(i).clone();
                let (bid_sz, ask_sz) = book_sizes(&inst);
                if inst.bid() != sub.last_bid {
                    sub.last_bid = inst.bid();
                    self.tick_price(req_id, t(1, 66), sub.last_bid, Some(bid_sz));
                }
                if inst.ask() != sub.last_ask {
                    sub.last_ask = inst.ask();
                    self.tick_price(req_id, t(2, 67), sub.last_ask, Some(ask_sz));
                }
                if inst.kind != AssetKind::Fx {
                    if inst.mark() != sub.last_last || self.tick_no.is_multiple_of(4) {
                        sub.last_last = inst.mark();
                        self.tick_price(req_id, t(4, 68), sub.last_last, Some(inst.last_size));
                        self.tick_string(req_id, t(45, 88), clock::now_secs().to_string());
                    }
                    if self.tick_no.is_multiple_of(4) {
                        self.tick_size(req_id, t(8, 74), inst.volume);
                        self.tick_price(req_id, t(6, 72), inst.round(inst.high), None);
                        self.tick_price(req_id, t(7, 73), inst.round(inst.low), None);
                    }
                }
            }
            MdTarget::Option(o) => {
                if self.tick_no.is_multiple_of(4) {
                    self.send_option_quote(req_id, &o, d, false);
                }
            }
        }
        self.maybe_sentinel(req_id, sub);
    }
}

fn book_sizes(inst: &Instrument) -> (f64, f64) {
    match inst.kind {
        AssetKind::Fx => (1_000_000.0, 2_000_000.0),
        _ => {
            let base = (inst.avg_volume / 20_000.0).round().clamp(1.0, 50.0) * 100.0;
            (base, base + 100.0)
        }
    }
}
