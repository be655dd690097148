//! The session's protobuf replies → the classic text messages of the negotiated version
//! (157–178). Layouts follow IB's server at those versions: which messages still carry a
//! version field, which fields a version added (`advancedOrderRejectJson` 166, size rules 164,
//! `pendingPriceRevision` 178, the FA profile dropped at 177, …).

use super::Fields;
use crate::sim::proto as pb;
use crate::sim::wire::PROTOBUF_OFFSET;
use ibapi::IncomingMessages as In;
use prost::Message;
use std::collections::HashMap;

/// Version-dependent fields (`MIN_SERVER_VER_*`).
const SIZE_RULES: i32 = 164;
const ADVANCED_ORDER_REJECT: i32 = 166;
const PEGBEST_PEGMID_OFFSETS: i32 = 170;
const BOND_ISSUERID: i32 = 176;
const FA_PROFILE_DESUPPORT: i32 = 177;
const PENDING_PRICE_REVISION: i32 = 178;

/// Per-connection translator. Text clients get a historical request's bars and its end in one
/// message, so bars wait here for their end.
pub struct TextReplies {
    version: i32,
    pending_bars: HashMap<i32, Vec<pb::HistoricalDataBar>>,
}

impl TextReplies {
    pub fn new(version: i32) -> Self {
        TextReplies {
            version,
            pending_bars: HashMap::new(),
        }
    }

    /// Re-encodes a buffer of protobuf frames (`[len][id+200][body]…`) as text frames.
    pub fn translate(&mut self, frames: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(frames.len() + frames.len() / 2);
        let mut rest = frames;
        while rest.len() >= 8 {
            let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            if len < 4 || rest.len() < 4 + len {
                break;
            }
            let raw_id = i32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]);
            let body = &rest[8..4 + len];
            self.message(raw_id - PROTOBUF_OFFSET, body, &mut out);
            rest = &rest[4 + len..];
        }
        out
    }

    fn message(&mut self, id: i32, b: &[u8], out: &mut Vec<u8>) {
        let v = self.version;
        let mut push = |f: &Fields| out.extend_from_slice(&f.frame());
        match In::from(id) {
            In::Error => {
                let m = pb::ErrorMessage::decode(b).unwrap_or_default();
                let mut f = Fields::new(4);
                f.int(2)
                    .opt_int(m.id.map(i64::from))
                    .opt_int(m.error_code.map(i64::from))
                    .opt(&m.error_msg);
                if v >= ADVANCED_ORDER_REJECT {
                    f.opt(&m.advanced_order_reject_json);
                }
                push(&f);
            }
            In::NextValidId => {
                let m = pb::NextValidId::decode(b).unwrap_or_default();
                push(Fields::new(9).int(1).opt_int(m.order_id.map(i64::from)));
            }
            In::ManagedAccounts => {
                let m = pb::ManagedAccounts::decode(b).unwrap_or_default();
                push(Fields::new(15).int(1).opt(&m.accounts_list));
            }
            In::CurrentTime => {
                let m = pb::CurrentTime::decode(b).unwrap_or_default();
                push(Fields::new(49).int(1).opt_int(m.current_time));
            }
            In::AccountSummary => {
                let m = pb::AccountSummary::decode(b).unwrap_or_default();
                push(
                    Fields::new(63)
                        .int(1)
                        .opt_int(m.req_id.map(i64::from))
                        .opt(&m.account)
                        .opt(&m.tag)
                        .opt(&m.value)
                        .opt(&m.currency),
                );
            }
            In::AccountSummaryEnd => {
                let m = pb::ReqIdOnly::decode(b).unwrap_or_default();
                push(Fields::new(64).int(1).opt_int(m.req_id.map(i64::from)));
            }
            In::AccountValue => {
                let m = pb::AccountValue::decode(b).unwrap_or_default();
                push(
                    Fields::new(6)
                        .int(2)
                        .opt(&m.key)
                        .opt(&m.value)
                        .opt(&m.currency)
                        .opt(&m.account_name),
                );
            }
            In::PortfolioValue => {
                let m = pb::PortfolioValue::decode(b).unwrap_or_default();
                let c = m.contract.unwrap_or_default();
                let mut f = Fields::new(7);
                f.int(8)
                    .opt_int(c.con_id.map(i64::from))
                    .opt(&c.symbol)
                    .opt(&c.sec_type)
                    .opt(&c.last_trade_date_or_contract_month)
                    .dbl(Some(c.strike.unwrap_or(0.0)))
                    .opt(&c.right)
                    .str(&multiplier(c.multiplier))
                    .opt(&c.primary_exch)
                    .opt(&c.currency)
                    .opt(&c.local_symbol)
                    .opt(&c.trading_class)
                    .opt(&m.position)
                    .dbl(m.market_price)
                    .dbl(m.market_value)
                    .dbl(m.average_cost)
                    .dbl(m.unrealized_pnl)
                    .dbl(m.realized_pnl)
                    .opt(&m.account_name);
                push(&f);
            }
            In::AccountUpdateTime => {
                let m = pb::AccountUpdateTime::decode(b).unwrap_or_default();
                push(Fields::new(8).int(1).opt(&m.time_stamp));
            }
            In::AccountDownloadEnd => {
                let m = pb::AccountDataEnd::decode(b).unwrap_or_default();
                push(Fields::new(54).int(1).opt(&m.account_name));
            }
            In::Position => {
                let m = pb::Position::decode(b).unwrap_or_default();
                let c = m.contract.unwrap_or_default();
                let mut f = Fields::new(61);
                f.int(3).opt(&m.account);
                contract_fields(&mut f, &c, false);
                f.opt(&m.position).dbl(m.avg_cost);
                push(&f);
            }
            In::PositionEnd => push(Fields::new(62).int(1)),
            In::AccountUpdateMulti => {
                let m = pb::AccountUpdateMulti::decode(b).unwrap_or_default();
                push(
                    Fields::new(73)
                        .int(1)
                        .opt_int(m.req_id.map(i64::from))
                        .opt(&m.account)
                        .opt(&m.model_code)
                        .opt(&m.key)
                        .opt(&m.value)
                        .opt(&m.currency),
                );
            }
            In::AccountUpdateMultiEnd => {
                let m = pb::ReqIdOnly::decode(b).unwrap_or_default();
                push(Fields::new(74).int(1).opt_int(m.req_id.map(i64::from)));
            }
            In::PositionMulti => {
                let m = pb::PositionMulti::decode(b).unwrap_or_default();
                let c = m.contract.unwrap_or_default();
                let mut f = Fields::new(71);
                f.int(1).opt_int(m.req_id.map(i64::from)).opt(&m.account);
                contract_fields(&mut f, &c, false);
                f.opt(&m.position).dbl(m.avg_cost).opt(&m.model_code);
                push(&f);
            }
            In::PositionMultiEnd => {
                let m = pb::ReqIdOnly::decode(b).unwrap_or_default();
                push(Fields::new(72).int(1).opt_int(m.req_id.map(i64::from)));
            }
            In::PnL => {
                let m = pb::PnL::decode(b).unwrap_or_default();
                push(
                    Fields::new(94)
                        .opt_int(m.req_id.map(i64::from))
                        .dbl_or(m.daily_pn_l, f64::MAX)
                        .dbl_or(m.unrealized_pn_l, f64::MAX)
                        .dbl_or(m.realized_pn_l, f64::MAX),
                );
            }
            In::PnLSingle => {
                let m = pb::PnLSingle::decode(b).unwrap_or_default();
                push(
                    Fields::new(95)
                        .opt_int(m.req_id.map(i64::from))
                        .opt(&m.position)
                        .dbl_or(m.daily_pn_l, f64::MAX)
                        .dbl_or(m.unrealized_pn_l, f64::MAX)
                        .dbl_or(m.realized_pn_l, f64::MAX)
                        .dbl_or(m.value, f64::MAX),
                );
            }
            In::MarketDataType => {
                let m = pb::MarketDataType::decode(b).unwrap_or_default();
                push(
                    Fields::new(58)
                        .int(1)
                        .opt_int(m.req_id.map(i64::from))
                        .opt_int(m.market_data_type.map(i64::from)),
                );
            }
            In::TickReqParams => {
                let m = pb::TickReqParams::decode(b).unwrap_or_default();
                push(
                    Fields::new(81)
                        .opt_int(m.req_id.map(i64::from))
                        .opt(&m.min_tick)
                        .opt(&m.bbo_exchange)
                        .opt_int(m.snapshot_permissions.map(i64::from)),
                );
            }
            In::TickPrice => {
                let m = pb::TickPrice::decode(b).unwrap_or_default();
                push(
                    Fields::new(1)
                        .int(6)
                        .opt_int(m.req_id.map(i64::from))
                        .opt_int(m.tick_type.map(i64::from))
                        .dbl(m.price)
                        .opt(&m.size)
                        .int(m.attr_mask.unwrap_or(0) as i64),
                );
            }
            In::TickSize => {
                let m = pb::TickSize::decode(b).unwrap_or_default();
                push(
                    Fields::new(2)
                        .int(6)
                        .opt_int(m.req_id.map(i64::from))
                        .opt_int(m.tick_type.map(i64::from))
                        .opt(&m.size),
                );
            }
            In::TickString => {
                let m = pb::TickString::decode(b).unwrap_or_default();
                push(
                    Fields::new(46)
                        .int(6)
                        .opt_int(m.req_id.map(i64::from))
                        .opt_int(m.tick_type.map(i64::from))
                        .opt(&m.value),
                );
            }
            In::TickGeneric => {
                let m = pb::TickGeneric::decode(b).unwrap_or_default();
                push(
                    Fields::new(45)
                        .int(6)
                        .opt_int(m.req_id.map(i64::from))
                        .opt_int(m.tick_type.map(i64::from))
                        .dbl(m.value),
                );
            }
            In::TickOptionComputation => {
                let m = pb::TickOptionComputation::decode(b).unwrap_or_default();
                // IB's "not computed": -1 for prices and volatility, -2 for the greeks.
                push(
                    Fields::new(21)
                        .opt_int(m.req_id.map(i64::from))
                        .opt_int(m.tick_type.map(i64::from))
                        .int(m.tick_attrib.unwrap_or(0) as i64)
                        .dbl_or(m.implied_vol, -1.0)
                        .dbl_or(m.delta, -2.0)
                        .dbl_or(m.opt_price, -1.0)
                        .dbl_or(m.pv_dividend, -1.0)
                        .dbl_or(m.gamma, -2.0)
                        .dbl_or(m.vega, -2.0)
                        .dbl_or(m.theta, -2.0)
                        .dbl_or(m.und_price, -1.0),
                );
            }
            In::TickSnapshotEnd => {
                let m = pb::ReqIdOnly::decode(b).unwrap_or_default();
                push(Fields::new(57).int(1).opt_int(m.req_id.map(i64::from)));
            }
            In::HistoricalData => {
                let m = pb::HistoricalData::decode(b).unwrap_or_default();
                self.pending_bars
                    .entry(m.req_id.unwrap_or(0))
                    .or_default()
                    .extend(m.historical_data_bars);
            }
            In::HistoricalDataEnd => {
                let m = pb::HistoricalDataEnd::decode(b).unwrap_or_default();
                let req_id = m.req_id.unwrap_or(0);
                let bars = self.pending_bars.remove(&req_id).unwrap_or_default();
                let mut f = Fields::new(17);
                f.int(req_id as i64)
                    .opt(&m.start_date_str)
                    .opt(&m.end_date_str)
                    .int(bars.len() as i64);
                for bar in &bars {
                    f.opt(&bar.date)
                        .dbl(bar.open)
                        .dbl(bar.high)
                        .dbl(bar.low)
                        .dbl(bar.close)
                        .opt(&bar.volume)
                        .opt(&bar.wap)
                        .int(bar.bar_count.unwrap_or(-1) as i64);
                }
                push(&f);
            }
            In::HistoricalDataUpdate => {
                let m = pb::HistoricalDataUpdate::decode(b).unwrap_or_default();
                let bar = m.historical_data_bar.unwrap_or_default();
                push(
                    Fields::new(90)
                        .opt_int(m.req_id.map(i64::from))
                        .int(bar.bar_count.unwrap_or(-1) as i64)
                        .opt(&bar.date)
                        .dbl(bar.open)
                        .dbl(bar.close)
                        .dbl(bar.high)
                        .dbl(bar.low)
                        .opt(&bar.wap)
                        .opt(&bar.volume),
                );
            }
            In::HeadTimestamp => {
                let m = pb::HeadTimestamp::decode(b).unwrap_or_default();
                push(
                    Fields::new(88)
                        .opt_int(m.req_id.map(i64::from))
                        .opt(&m.head_timestamp),
                );
            }
            In::MarketRule => {
                let m = pb::MarketRule::decode(b).unwrap_or_default();
                let mut f = Fields::new(93);
                f.opt_int(m.market_rule_id.map(i64::from))
                    .int(m.price_increments.len() as i64);
                for p in &m.price_increments {
                    f.dbl(p.low_edge).dbl(p.increment);
                }
                push(&f);
            }
            In::FamilyCodes => {
                let m = pb::FamilyCodes::decode(b).unwrap_or_default();
                let mut f = Fields::new(78);
                f.int(m.family_codes.len() as i64);
                for c in &m.family_codes {
                    f.opt(&c.account_id).opt(&c.family_code);
                }
                push(&f);
            }
            In::MktDepthExchanges => {
                let m = pb::MarketDepthExchanges::decode(b).unwrap_or_default();
                let mut f = Fields::new(80);
                f.int(m.depth_market_data_descriptions.len() as i64);
                for d in &m.depth_market_data_descriptions {
                    f.opt(&d.exchange)
                        .opt(&d.sec_type)
                        .opt(&d.listing_exch)
                        .opt(&d.service_data_type)
                        .opt_int(d.agg_group.map(i64::from));
                }
                push(&f);
            }
            In::ScannerData => {
                // Version 3: the rows and their end in one message; each row is rank, the
                // contract (conId … localSymbol), marketName, tradingClass, distance, benchmark,
                // projection and the combo legs string.
                let m = crate::sim::research::ScannerData::decode(b).unwrap_or_default();
                let mut f = Fields::new(20);
                f.int(3)
                    .opt_int(m.req_id.map(i64::from))
                    .int(m.scanner_data_element.len() as i64);
                for e in &m.scanner_data_element {
                    let c = e.contract.clone().unwrap_or_default();
                    f.opt_int(e.rank.map(i64::from))
                        .opt_int(c.con_id.map(i64::from))
                        .opt(&c.symbol)
                        .opt(&c.sec_type)
                        .opt(&c.last_trade_date_or_contract_month)
                        .dbl_or(c.strike, 0.0)
                        .opt(&c.right)
                        .opt(&c.exchange)
                        .opt(&c.currency)
                        .opt(&c.local_symbol)
                        .opt(&e.market_name)
                        .opt(&c.trading_class)
                        .opt(&e.distance)
                        .opt(&e.benchmark)
                        .opt(&e.projection)
                        .opt(&e.combo_key);
                }
                push(&f);
            }
            In::ScannerParameters => {
                let m = pb::ScannerParameters::decode(b).unwrap_or_default();
                push(Fields::new(19).int(1).opt(&m.xml));
            }
            In::RealTimeBars => {
                let m = pb::RealTimeBarTick::decode(b).unwrap_or_default();
                push(
                    Fields::new(50)
                        .int(3)
                        .opt_int(m.req_id.map(i64::from))
                        .opt_int(m.time)
                        .dbl(m.open)
                        .dbl(m.high)
                        .dbl(m.low)
                        .dbl(m.close)
                        .opt(&m.volume)
                        .opt(&m.wap)
                        .opt_int(m.count.map(i64::from)),
                );
            }
            In::ContractData => {
                let m = pb::ContractData::decode(b).unwrap_or_default();
                push(&contract_data(v, &m));
            }
            In::ContractDataEnd => {
                let m = pb::ReqIdOnly::decode(b).unwrap_or_default();
                push(Fields::new(52).int(1).opt_int(m.req_id.map(i64::from)));
            }
            In::SymbolSamples => {
                let m = pb::SymbolSamples::decode(b).unwrap_or_default();
                let mut f = Fields::new(79);
                f.opt_int(m.req_id.map(i64::from))
                    .int(m.contract_descriptions.len() as i64);
                for d in &m.contract_descriptions {
                    let c = d.contract.clone().unwrap_or_default();
                    f.opt_int(c.con_id.map(i64::from))
                        .opt(&c.symbol)
                        .opt(&c.sec_type)
                        .opt(&c.primary_exch)
                        .opt(&c.currency)
                        .int(d.derivative_sec_types.len() as i64);
                    for t in &d.derivative_sec_types {
                        f.str(t);
                    }
                    if v >= BOND_ISSUERID {
                        f.opt(&c.description).str("");
                    }
                }
                push(&f);
            }
            In::SecurityDefinitionOptionParameter => {
                let m = pb::SecDefOptParameter::decode(b).unwrap_or_default();
                let mut f = Fields::new(75);
                f.opt_int(m.req_id.map(i64::from))
                    .opt(&m.exchange)
                    .opt_int(m.underlying_con_id.map(i64::from))
                    .opt(&m.trading_class)
                    .opt(&m.multiplier)
                    .int(m.expirations.len() as i64);
                for e in &m.expirations {
                    f.str(e);
                }
                f.int(m.strikes.len() as i64);
                for s in &m.strikes {
                    f.dbl(Some(*s));
                }
                push(&f);
            }
            In::SecurityDefinitionOptionParameterEnd => {
                let m = pb::ReqIdOnly::decode(b).unwrap_or_default();
                push(Fields::new(76).opt_int(m.req_id.map(i64::from)));
            }
            In::OpenOrder => {
                let m = pb::OpenOrder::decode(b).unwrap_or_default();
                push(&open_order(v, &m));
            }
            In::OpenOrderEnd => push(Fields::new(53).int(1)),
            In::OrderStatus => {
                let m = pb::OrderStatus::decode(b).unwrap_or_default();
                push(
                    Fields::new(3)
                        .opt_int(m.order_id.map(i64::from))
                        .opt(&m.status)
                        .opt(&m.filled)
                        .opt(&m.remaining)
                        .dbl(Some(m.avg_fill_price.unwrap_or(0.0)))
                        .opt_int(m.perm_id)
                        .int(m.parent_id.unwrap_or(0) as i64)
                        .dbl(Some(m.last_fill_price.unwrap_or(0.0)))
                        .opt_int(m.client_id.map(i64::from))
                        .opt(&m.why_held)
                        .dbl(Some(0.0)),
                );
            }
            In::CompletedOrder => {
                let m = pb::CompletedOrder::decode(b).unwrap_or_default();
                push(&completed_order(v, &m));
            }
            In::CompletedOrdersEnd => push(&Fields::new(102)),
            In::ExecutionData => {
                let m = pb::ExecutionDetails::decode(b).unwrap_or_default();
                let c = m.contract.unwrap_or_default();
                let e = m.execution.unwrap_or_default();
                let mut f = Fields::new(11);
                f.opt_int(m.req_id.map(i64::from))
                    .opt_int(e.order_id.map(i64::from));
                contract_fields(&mut f, &c, false);
                f.opt(&e.exec_id)
                    .opt(&e.time)
                    .opt(&e.acct_number)
                    .opt(&e.exchange)
                    .opt(&e.side)
                    .opt(&e.shares)
                    .dbl(e.price)
                    .opt_int(e.perm_id)
                    .opt_int(e.client_id.map(i64::from))
                    .int(e.is_liquidation.unwrap_or(false) as i64)
                    .opt(&e.cum_qty)
                    .dbl(e.avg_price)
                    .str("")
                    .str("")
                    .str("")
                    .str("")
                    .int(e.last_liquidity.unwrap_or(0) as i64);
                if v >= PENDING_PRICE_REVISION {
                    f.str("0");
                }
                push(&f);
            }
            In::ExecutionDataEnd => {
                let m = pb::ReqIdOnly::decode(b).unwrap_or_default();
                push(Fields::new(55).int(1).opt_int(m.req_id.map(i64::from)));
            }
            In::CommissionsReport => {
                let m = pb::CommissionAndFeesReport::decode(b).unwrap_or_default();
                push(
                    Fields::new(59)
                        .int(1)
                        .opt(&m.exec_id)
                        .dbl(m.commission_and_fees)
                        .opt(&m.currency)
                        .dbl_or(m.realized_pnl, f64::MAX)
                        .dbl(Some(f64::MAX))
                        .str(""),
                );
            }
            In::NewsProviders => {
                let m = pb::NewsProviders::decode(b).unwrap_or_default();
                let mut f = Fields::new(85);
                f.int(m.news_providers.len() as i64);
                for p in &m.news_providers {
                    f.opt(&p.provider_code).opt(&p.provider_name);
                }
                push(&f);
            }
            In::HistoricalNews => {
                let m = pb::HistoricalNews::decode(b).unwrap_or_default();
                push(
                    Fields::new(86)
                        .opt_int(m.req_id.map(i64::from))
                        .opt(&m.time)
                        .opt(&m.provider_code)
                        .opt(&m.article_id)
                        .opt(&m.headline),
                );
            }
            In::HistoricalNewsEnd => {
                let m = pb::HistoricalNewsEnd::decode(b).unwrap_or_default();
                push(
                    Fields::new(87)
                        .opt_int(m.req_id.map(i64::from))
                        .bool(m.has_more),
                );
            }
            In::NewsArticle => {
                let m = pb::NewsArticle::decode(b).unwrap_or_default();
                push(
                    Fields::new(83)
                        .opt_int(m.req_id.map(i64::from))
                        .int(m.article_type.unwrap_or(0) as i64)
                        .opt(&m.article_text),
                );
            }
            // Messages without a text form below the protobuf versions (e.g. CurrentTimeInMillis,
            // whose request a text client cannot send).
            other => tracing::debug!("sim: no text form for {other:?}"),
        }
    }
}

fn multiplier(m: Option<f64>) -> String {
    match m {
        Some(m) if m != 0.0 => crate::sim::session::dec(m),
        _ => String::new(),
    }
}

/// `conId, symbol, secType, lastTradeDateOrContractMonth, strike, right, multiplier, exchange,
/// [primaryExchange,] currency, localSymbol, tradingClass`.
fn contract_fields(f: &mut Fields, c: &pb::Contract, with_primary: bool) {
    f.opt_int(c.con_id.map(i64::from))
        .opt(&c.symbol)
        .opt(&c.sec_type)
        .opt(&c.last_trade_date_or_contract_month)
        .dbl(Some(c.strike.unwrap_or(0.0)))
        .opt(&c.right)
        .str(&multiplier(c.multiplier))
        .opt(&c.exchange);
    if with_primary {
        f.opt(&c.primary_exch);
    }
    f.opt(&c.currency)
        .opt(&c.local_symbol)
        .opt(&c.trading_class);
}

fn contract_data(v: i32, m: &pb::ContractData) -> Fields {
    let c = m.contract.clone().unwrap_or_default();
    let d = m.contract_details.clone().unwrap_or_default();
    let mut f = Fields::new(10);
    if v < SIZE_RULES {
        f.int(8);
    }
    f.opt_int(m.req_id.map(i64::from))
        .opt(&c.symbol)
        .opt(&c.sec_type)
        .opt(&c.last_trade_date_or_contract_month)
        .dbl(Some(c.strike.unwrap_or(0.0)))
        .opt(&c.right)
        .opt(&c.exchange)
        .opt(&c.currency)
        .opt(&c.local_symbol)
        .opt(&d.market_name)
        .opt(&c.trading_class)
        .opt_int(c.con_id.map(i64::from))
        .opt(&d.min_tick);
    if v < SIZE_RULES {
        f.str("1"); // mdSizeMultiplier, retired at 164
    }
    f.str(&multiplier(c.multiplier))
        .opt(&d.order_types)
        .opt(&d.valid_exchanges)
        .int(d.price_magnifier.unwrap_or(1) as i64)
        .int(d.under_con_id.unwrap_or(0) as i64)
        .opt(&d.long_name)
        .opt(&c.primary_exch)
        .opt(&d.contract_month)
        .opt(&d.industry)
        .opt(&d.category)
        .opt(&d.subcategory)
        .opt(&d.time_zone_id)
        .opt(&d.trading_hours)
        .opt(&d.liquid_hours)
        .str("") // evRule
        .str("") // evMultiplier
        .int(0) // secIdList
        .str("0") // aggGroup
        .opt(&d.under_symbol)
        .opt(&d.under_sec_type)
        .opt(&d.market_rule_ids)
        .opt(&d.real_expiration_date)
        .opt(&d.stock_type);
    if v == 163 {
        f.opt(&d.suggested_size_increment);
    }
    if v >= SIZE_RULES {
        f.opt(&d.min_size)
            .opt(&d.size_increment)
            .opt(&d.suggested_size_increment);
    }
    f
}

/// The fields an open order and a completed order share up to the FA block.
fn order_head(f: &mut Fields, c: &pb::Contract, o: &pb::Order) {
    contract_fields(f, c, false);
    f.opt(&o.action)
        .opt(&o.total_quantity)
        .opt(&o.order_type)
        .dbl(o.lmt_price)
        .dbl(o.aux_price)
        .opt(&o.tif)
        .str("") // ocaGroup
        .opt(&o.account)
        .str("") // openClose
        .str("0") // origin: customer
        .str(""); // orderRef
}

fn open_order(v: i32, m: &pb::OpenOrder) -> Fields {
    let c = m.contract.clone().unwrap_or_default();
    let o = m.order.clone().unwrap_or_default();
    let s = m.order_state.clone().unwrap_or_default();
    let mut f = Fields::new(5);
    f.opt_int(m.order_id.or(o.order_id).map(i64::from));
    order_head(&mut f, &c, &o);
    f.opt_int(o.client_id.map(i64::from))
        .opt_int(o.perm_id)
        .bool(o.outside_rth)
        .str("0") // hidden
        .str("0") // discretionaryAmt
        .str("") // goodAfterTime
        .str("") // sharesAllocation (deprecated)
        .str("") // faGroup
        .str("") // faMethod
        .str(""); // faPercentage
    if v < FA_PROFILE_DESUPPORT {
        f.str("");
    }
    f.str("") // modelCode
        .str("") // goodTillDate
        .str("") // rule80A
        .str("") // percentOffset
        .str("") // settlingFirm
        .str("0") // shortSaleSlot
        .str("") // designatedLocation
        .str("-1") // exemptCode
        .str("0") // auctionStrategy
        .empties(5) // startingPrice, stockRefPrice, delta, stockRangeLower, stockRangeUpper
        .str("") // displaySize
        .str("0") // blockOrder
        .str("0") // sweepToFill
        .str("0") // allOrNone
        .str("") // minQty
        .str("3") // ocaType
        .str("0") // eTradeOnly
        .str("0") // firmQuoteOnly
        .str("") // nbboPriceCap
        .int(o.parent_id.unwrap_or(0) as i64)
        .str("0") // triggerMethod
        .str("") // volatility
        .str("0") // volatilityType
        .str("") // deltaNeutralOrderType (none, so no delta-neutral block)
        .str("") // deltaNeutralAuxPrice
        .str("0") // continuousUpdate
        .str("0") // referencePriceType
        .str("") // trailStopPrice
        .str("") // trailingPercent
        .str("") // basisPoints
        .str("") // basisPointsType
        .str("") // comboLegsDescrip
        .int(0) // combo legs
        .int(0) // order combo legs
        .int(0) // smart combo routing params
        .str("") // scaleInitLevelSize
        .str("") // scaleSubsLevelSize
        .str("") // scalePriceIncrement (unset: no scale block)
        .str("") // hedgeType (none: no hedgeParam)
        .str("0") // optOutSmartRouting
        .str("") // clearingAccount
        .str("") // clearingIntent
        .str("0") // notHeld
        .str("0") // delta-neutral contract present
        .str("") // algoStrategy (none: no params)
        .str("0") // solicited
        .bool(o.what_if)
        .opt(&s.status)
        .str(&margin(s.init_margin_before))
        .str(&margin(s.maint_margin_before))
        .str(&margin(s.equity_with_loan_before))
        .str(&margin(s.init_margin_change))
        .str(&margin(s.maint_margin_change))
        .str(&margin(s.equity_with_loan_change))
        .str(&margin(s.init_margin_after))
        .str(&margin(s.maint_margin_after))
        .str(&margin(s.equity_with_loan_after))
        .dbl_or(s.commission_and_fees, f64::MAX)
        .dbl_or(s.min_commission_and_fees, f64::MAX)
        .dbl_or(s.max_commission_and_fees, f64::MAX)
        .opt(&s.commission_and_fees_currency)
        .opt(&s.warning_text)
        .str("0") // randomizeSize
        .str("0") // randomizePrice
        .int(0) // conditions
        .str("") // adjustedOrderType
        .str("") // triggerPrice
        .str("") // trailStopPrice
        .str("") // lmtPriceOffset
        .str("") // adjustedStopPrice
        .str("") // adjustedStopLimitPrice
        .str("") // adjustedTrailingAmount
        .str("0") // adjustableTrailingUnit
        .empties(3) // soft dollar tier name, value, display name
        .str("") // cashQty
        .str("0") // dontUseAutoPriceForHedge
        .str("0") // isOmsContainer
        .str("0") // discretionaryUpToLimitPrice
        .str(""); // usePriceMgmtAlgo
    if v >= 159 {
        f.str(""); // duration
    }
    if v >= 160 {
        f.str(""); // postToAts
    }
    if v >= 162 {
        f.str("0"); // autoCancelParent
    }
    if v >= PEGBEST_PEGMID_OFFSETS {
        f.empties(5);
    }
    f
}

fn completed_order(v: i32, m: &pb::CompletedOrder) -> Fields {
    let c = m.contract.clone().unwrap_or_default();
    let o = m.order.clone().unwrap_or_default();
    let s = m.order_state.clone().unwrap_or_default();
    let mut f = Fields::new(101);
    order_head(&mut f, &c, &o);
    f.opt_int(o.perm_id)
        .bool(o.outside_rth)
        .str("0") // hidden
        .str("0") // discretionaryAmt
        .str("") // goodAfterTime
        .str("") // faGroup
        .str("") // faMethod
        .str(""); // faPercentage
    if v < FA_PROFILE_DESUPPORT {
        f.str("");
    }
    f.str("") // modelCode
        .str("") // goodTillDate
        .str("") // rule80A
        .str("") // percentOffset
        .str("") // settlingFirm
        .str("0") // shortSaleSlot
        .str("") // designatedLocation
        .str("-1") // exemptCode
        .empties(5) // startingPrice, stockRefPrice, delta, stockRangeLower, stockRangeUpper
        .str("") // displaySize
        .str("0") // sweepToFill
        .str("0") // allOrNone
        .str("") // minQty
        .str("3") // ocaType
        .str("0") // triggerMethod
        .str("") // volatility
        .str("0") // volatilityType
        .str("") // deltaNeutralOrderType
        .str("") // deltaNeutralAuxPrice
        .str("0") // continuousUpdate
        .str("0") // referencePriceType
        .str("") // trailStopPrice
        .str("") // trailingPercent
        .str("") // comboLegsDescrip
        .int(0)
        .int(0)
        .int(0)
        .str("") // scaleInitLevelSize
        .str("") // scaleSubsLevelSize
        .str("") // scalePriceIncrement
        .str("") // hedgeType
        .str("") // clearingAccount
        .str("") // clearingIntent
        .str("0") // notHeld
        .str("0") // delta-neutral contract present
        .str("") // algoStrategy
        .str("0") // solicited
        .opt(&s.status)
        .str("0") // randomizeSize
        .str("0") // randomizePrice
        .int(0) // conditions
        .str("") // trailStopPrice
        .str("") // lmtPriceOffset
        .str("") // cashQty
        .str("0") // dontUseAutoPriceForHedge
        .str("0") // isOmsContainer
        .str("") // autoCancelDate
        .opt(&o.filled_quantity)
        .str("0") // refFuturesConId
        .str("0") // autoCancelParent
        .str("") // shareholder
        .str("0") // imbalanceOnly
        .str("0") // routeMarketableToBbo
        .str("") // parentPermId
        .opt(&s.completed_time)
        .opt(&s.completed_status);
    if v >= PEGBEST_PEGMID_OFFSETS {
        f.empties(5);
    }
    f
}

/// Margin figures travel as strings; "unset" is Double.MAX_VALUE.
fn margin(v: Option<f64>) -> String {
    match v {
        Some(v) => super::double(v),
        None => super::double(f64::MAX),
    }
}
