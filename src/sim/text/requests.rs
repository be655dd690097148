//! Text requests → the protobuf requests the session handles. Field layouts are those of the
//! classic protocol at the negotiated version (157–178). A request we do not translate keeps
//! its id and an empty body, so the session still counts it and answers it as unsupported.

use super::Reader;
use crate::sim::proto as pb;
use crate::sim::wire::ClientFrame;
use ibapi::OutgoingMessages as Out;
use prost::Message;

/// Translates one text request frame. `None`: the payload has no message id.
pub fn to_request(payload: &[u8], version: i32) -> Option<ClientFrame> {
    let mut r = Reader::new(payload);
    let id = r.int()?;
    let body = match Out::try_from(id).ok() {
        Some(kind) => body(kind, &mut r, version),
        None => Vec::new(),
    };
    Some(ClientFrame { id, body })
}

/// `conId, symbol, secType, lastTradeDateOrContractMonth, strike, right, multiplier, exchange,
/// primaryExchange, currency, localSymbol, tradingClass`.
fn contract(r: &mut Reader) -> pb::Contract {
    pb::Contract {
        con_id: r.int().filter(|c| *c != 0),
        symbol: r.opt(),
        sec_type: r.opt(),
        last_trade_date_or_contract_month: r.opt(),
        strike: r.dbl().filter(|s| *s != 0.0 && *s != f64::MAX),
        right: r.opt(),
        multiplier: r.dbl(),
        exchange: r.opt(),
        primary_exch: r.opt(),
        currency: r.opt(),
        local_symbol: r.opt(),
        trading_class: r.opt(),
        ..Default::default()
    }
}

/// Skips a BAG contract's legs (`n` then 4 fields per leg) when the contract is a combo.
fn skip_bag_legs(r: &mut Reader, c: &pb::Contract) {
    if c.sec_type.as_deref() == Some("BAG") {
        let n = r.int().unwrap_or(0).clamp(0, 1_000) as usize;
        r.skip(4 * n);
    }
}

/// A number the client left unset: empty, or IB's `UNSET_DOUBLE` / `UNSET_INTEGER` sentinels.
fn set(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite() && x.abs() < f64::MAX / 2.0 && *x != f64::from(i32::MAX))
}

/// `reqId, numberOfRows, instrument, locationCode, scanCode, abovePrice, belowPrice, aboveVolume,
/// marketCapAbove, marketCapBelow`, then ratings, maturities, coupons, excludeConvertible,
/// averageOptionVolumeAbove, scannerSettingPairs and stockTypeFilter (12 fields the simulated
/// scans do not use), then the filter options and the subscription options as `tag=value;`
/// lists (no version field from 143 on, below every text version served). Filter options name
/// the same limits as the fields (`priceAbove`, `priceBelow`, `volumeAbove`,
/// `marketCapAbove1e6`, `marketCapBelow1e6`); a filter option wins over an empty field.
fn scanner_subscription(r: &mut Reader) -> Vec<u8> {
    use crate::sim::research::{ScannerSubscription, ScannerSubscriptionRequest};
    let req_id = r.int();
    let mut sub = ScannerSubscription {
        number_of_rows: r.int().filter(|n| *n > 0 && *n != i32::MAX),
        instrument: r.opt(),
        location_code: r.opt(),
        scan_code: r.opt(),
        above_price: set(r.dbl()),
        below_price: set(r.dbl()),
        above_volume: set(r.dbl()).map(|v| v as i64),
        market_cap_above: set(r.dbl()),
        market_cap_below: set(r.dbl()),
    };
    r.skip(12);
    let filters = r.str();
    for pair in filters.split(';') {
        let Some((tag, value)) = pair.split_once('=') else {
            continue;
        };
        let value = set(value.trim().parse().ok());
        match tag.trim() {
            "priceAbove" => sub.above_price = value.or(sub.above_price),
            "priceBelow" => sub.below_price = value.or(sub.below_price),
            "volumeAbove" => {
                sub.above_volume = value.map(|v| v as i64).or(sub.above_volume);
            }
            "marketCapAbove1e6" => sub.market_cap_above = value.or(sub.market_cap_above),
            "marketCapBelow1e6" => sub.market_cap_below = value.or(sub.market_cap_below),
            _ => {}
        }
    }
    ScannerSubscriptionRequest {
        req_id,
        scanner_subscription: Some(sub),
    }
    .encode_to_vec()
}

fn req_id_only(r: &mut Reader, versioned: bool) -> Vec<u8> {
    if versioned {
        r.skip(1);
    }
    pb::ReqIdOnly { req_id: r.int() }.encode_to_vec()
}

fn body(kind: Out, r: &mut Reader, version: i32) -> Vec<u8> {
    match kind {
        Out::StartApi => {
            r.skip(1);
            pb::StartApiRequest {
                client_id: r.int(),
                optional_capabilities: r.opt(),
            }
            .encode_to_vec()
        }
        Out::RequestMarketData => {
            r.skip(1);
            let req_id = r.int();
            let c = contract(r);
            skip_bag_legs(r, &c);
            if r.bool() == Some(true) {
                r.skip(3);
            }
            pb::MarketDataRequest {
                req_id,
                contract: Some(c),
                generic_tick_list: r.opt(),
                snapshot: r.bool(),
                regulatory_snapshot: r.bool(),
                ..Default::default()
            }
            .encode_to_vec()
        }
        Out::CancelMarketData
        | Out::CancelHistoricalData
        | Out::CancelAccountSummary
        | Out::CancelImpliedVolatility
        | Out::CancelOptionPrice
        | Out::CancelRealTimeBars
        | Out::CancelScannerSubscription => req_id_only(r, true),
        Out::CancelPnL
        | Out::CancelPnLSingle
        | Out::CancelHeadTimestamp
        | Out::CancelHistogramData
        | Out::CancelTickByTickData => req_id_only(r, false),
        // Requests the session refuses with IB's error: only the id is needed.
        Out::RequestMarketDepth | Out::RequestFundamentalData => req_id_only(r, true),
        Out::RequestTickByTickData
        | Out::RequestHistoricalTicks
        | Out::RequestHistogramData
        | Out::RequestSmartComponents
        | Out::RequestSoftDollarTiers
        | Out::RequestWshMetaData
        | Out::RequestWshEventData
        | Out::RequestUserInfo => req_id_only(r, false),
        Out::RequestScannerSubscription => scanner_subscription(r),
        Out::PlaceOrder => place_order(r, version),
        Out::CancelOrder => {
            r.skip(1);
            pb::CancelOrderRequest { order_id: r.int() }.encode_to_vec()
        }
        Out::RequestAccountData => {
            r.skip(1);
            pb::AccountDataRequest {
                subscribe: r.bool(),
                acct_code: r.opt(),
            }
            .encode_to_vec()
        }
        Out::RequestExecutions => {
            r.skip(1);
            let req_id = r.int();
            pb::ExecutionRequest {
                req_id,
                execution_filter: Some(pb::ExecutionFilter {
                    client_id: r.int(),
                    acct_code: r.opt(),
                    time: r.opt(),
                    symbol: r.opt(),
                    sec_type: r.opt(),
                    exchange: r.opt(),
                    side: r.opt(),
                    last_n_days: None,
                    specific_dates: Vec::new(),
                }),
            }
            .encode_to_vec()
        }
        Out::RequestContractData => {
            r.skip(1);
            let req_id = r.int();
            pb::ContractDataRequest {
                req_id,
                contract: Some(contract(r)),
            }
            .encode_to_vec()
        }
        Out::RequestHistoricalData => {
            let req_id = r.int();
            let c = contract(r);
            r.skip(1); // includeExpired
            let end_date_time = r.opt();
            let bar_size_setting = r.opt();
            let duration = r.opt();
            let use_rth = r.bool();
            let what_to_show = r.opt();
            let format_date = r.int();
            skip_bag_legs(r, &c);
            pb::HistoricalDataRequest {
                req_id,
                contract: Some(c),
                end_date_time,
                bar_size_setting,
                duration,
                use_rth,
                what_to_show,
                format_date,
                keep_up_to_date: r.bool(),
            }
            .encode_to_vec()
        }
        Out::ReqCalcImpliedVolat => {
            r.skip(1);
            let req_id = r.int();
            pb::CalculateImpliedVolatilityRequest {
                req_id,
                contract: Some(contract(r)),
                option_price: r.dbl(),
                under_price: r.dbl(),
            }
            .encode_to_vec()
        }
        Out::ReqCalcOptionPrice => {
            r.skip(1);
            let req_id = r.int();
            pb::CalculateOptionPriceRequest {
                req_id,
                contract: Some(contract(r)),
                volatility: r.dbl(),
                under_price: r.dbl(),
            }
            .encode_to_vec()
        }
        Out::RequestMarketDataType => {
            r.skip(1);
            pb::MarketDataTypeRequest {
                market_data_type: r.int(),
            }
            .encode_to_vec()
        }
        Out::RequestAccountSummary => {
            r.skip(1);
            pb::AccountSummaryRequest {
                req_id: r.int(),
                group: r.opt(),
                tags: r.opt(),
            }
            .encode_to_vec()
        }
        Out::RequestSecurityDefinitionOptionalParameters => pb::SecDefOptParamsRequest {
            req_id: r.int(),
            underlying_symbol: r.opt(),
            fut_fop_exchange: r.opt(),
            underlying_sec_type: r.opt(),
            underlying_con_id: r.int(),
        }
        .encode_to_vec(),
        Out::RequestMatchingSymbols => pb::MatchingSymbolsRequest {
            req_id: r.int(),
            pattern: r.opt(),
        }
        .encode_to_vec(),
        Out::RequestNewsArticle => pb::NewsArticleRequest {
            req_id: r.int(),
            provider_code: r.opt(),
            article_id: r.opt(),
        }
        .encode_to_vec(),
        Out::RequestHistoricalNews => pb::HistoricalNewsRequest {
            req_id: r.int(),
            con_id: r.int(),
            provider_codes: r.opt(),
            start_date_time: r.opt(),
            end_date_time: r.opt(),
            total_results: r.int(),
        }
        .encode_to_vec(),
        Out::RequestAccountUpdatesMulti => {
            r.skip(1);
            pb::AccountUpdatesMultiRequest {
                req_id: r.int(),
                account: r.opt(),
                model_code: r.opt(),
                ledger_and_nlv: r.bool(),
            }
            .encode_to_vec()
        }
        Out::RequestPositionsMulti => {
            r.skip(1);
            pb::PositionsMultiRequest {
                req_id: r.int(),
                account: r.opt(),
                model_code: r.opt(),
            }
            .encode_to_vec()
        }
        Out::CancelAccountUpdatesMulti | Out::CancelPositionsMulti => req_id_only(r, true),
        Out::RequestPnL => pb::PnLRequest {
            req_id: r.int(),
            account: r.opt(),
            model_code: r.opt(),
        }
        .encode_to_vec(),
        Out::RequestPnLSingle => pb::PnLSingleRequest {
            req_id: r.int(),
            account: r.opt(),
            model_code: r.opt(),
            con_id: r.int(),
        }
        .encode_to_vec(),
        Out::RequestCompletedOrders => {
            pb::CompletedOrdersRequest { api_only: r.bool() }.encode_to_vec()
        }
        Out::RequestHeadTimestamp => {
            let req_id = r.int();
            let c = contract(r);
            r.skip(1); // includeExpired
            pb::HeadTimestampRequest {
                req_id,
                contract: Some(c),
                use_rth: r.bool(),
                what_to_show: r.opt(),
                format_date: r.int(),
            }
            .encode_to_vec()
        }
        Out::RequestMarketRule => pb::MarketRuleRequest {
            market_rule_id: r.int(),
        }
        .encode_to_vec(),
        Out::RequestRealTimeBars => {
            r.skip(1);
            let req_id = r.int();
            pb::RealTimeBarsRequest {
                req_id,
                contract: Some(contract(r)),
                bar_size: r.int(),
                what_to_show: r.opt(),
                use_rth: r.bool(),
            }
            .encode_to_vec()
        }
        // Requests without fields the session reads (or not served): id only.
        _ => Vec::new(),
    }
}

/// `placeOrder` in the classic layout; the session needs the contract, the order's core fields
/// and, above all, the what-if flag (a real order is refused and counted).
fn place_order(r: &mut Reader, version: i32) -> Vec<u8> {
    let order_id = r.int();
    let c = contract(r);
    r.skip(2); // secIdType, secId
    let action = r.opt();
    let total_quantity = r.opt();
    let order_type = r.opt();
    let lmt_price = r.dbl();
    let aux_price = r.dbl();
    let tif = r.opt();
    r.skip(1); // ocaGroup
    let account = r.opt();
    r.skip(3); // openClose, origin, orderRef
    let transmit = r.bool();
    let parent_id = r.int();
    r.skip(4); // blockOrder, sweepToFill, displaySize, triggerMethod
    let outside_rth = r.bool();
    r.skip(1); // hidden
    if c.sec_type.as_deref() == Some("BAG") {
        let legs = r.int().unwrap_or(0).clamp(0, 1_000) as usize;
        r.skip(8 * legs);
        let order_legs = r.int().unwrap_or(0).clamp(0, 1_000) as usize;
        r.skip(order_legs);
        let params = r.int().unwrap_or(0).clamp(0, 1_000) as usize;
        r.skip(2 * params);
    }
    // sharesAllocation, discretionaryAmt, goodAfterTime, goodTillDate, faGroup, faMethod,
    // faPercentage (+ faProfile before 177)
    r.skip(if version < 177 { 8 } else { 7 });
    // modelCode … deltaNeutralOrderType, deltaNeutralAuxPrice: 24 fields
    r.skip(22);
    let dn_order_type = r.opt();
    r.skip(1);
    if dn_order_type.is_some() {
        r.skip(8);
    }
    // continuousUpdate, referencePriceType, trailStopPrice, trailingPercent,
    // scaleInitLevelSize, scaleSubsLevelSize, scalePriceIncrement
    r.skip(6);
    let scale_increment = r.dbl().unwrap_or(0.0);
    if scale_increment > 0.0 && scale_increment < f64::MAX {
        r.skip(7);
    }
    r.skip(3); // scaleTable, activeStartTime, activeStopTime
    if r.opt().is_some() {
        r.skip(1); // hedgeParam
    }
    r.skip(4); // optOutSmartRouting, clearingAccount, clearingIntent, notHeld
    if r.bool() == Some(true) {
        r.skip(3); // delta-neutral contract
    }
    if r.opt().is_some() {
        let params = r.int().unwrap_or(0).clamp(0, 1_000) as usize;
        r.skip(2 * params);
    }
    r.skip(1); // algoId
    let what_if = r.bool();
    pb::PlaceOrderRequest {
        order_id,
        contract: Some(c),
        order: Some(pb::Order {
            order_id,
            parent_id,
            action,
            total_quantity,
            order_type,
            lmt_price,
            aux_price,
            tif,
            account,
            outside_rth,
            what_if,
            transmit,
            ..Default::default()
        }),
    }
    .encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::research::ScannerSubscriptionRequest;

    /// The fields ib_async 2.1 writes for `reqScannerSubscription` with one filter option.
    #[test]
    fn a_text_scanner_subscription_keeps_its_scan_and_limits() {
        let fields = [
            "22",
            "7",
            "10",
            "STK",
            "STK.US",
            "MOST_ACTIVE",
            "1.7976931348623157E308",
            "",
            "2147483647",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "priceAbove=20;marketCapBelow1e6=5000;",
            "",
        ];
        let payload: Vec<u8> = fields
            .iter()
            .flat_map(|f| [f.as_bytes(), b"\0"].concat())
            .collect();
        let Some(frame) = to_request(&payload, 176) else {
            panic!("a text frame with a message id");
        };
        assert_eq!(frame.id, 22);
        let r = ScannerSubscriptionRequest::decode(frame.body.as_slice()).unwrap_or_default();
        let sub = r.scanner_subscription.unwrap_or_default();
        assert_eq!(r.req_id, Some(7));
        assert_eq!(sub.number_of_rows, Some(10));
        assert_eq!(sub.location_code.as_deref(), Some("STK.US"));
        assert_eq!(sub.scan_code.as_deref(), Some("MOST_ACTIVE"));
        assert_eq!(sub.above_price, Some(20.0));
        assert_eq!(sub.above_volume, None);
        assert_eq!(sub.market_cap_below, Some(5000.0));
    }
}
