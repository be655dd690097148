//! Translation between ibapi's types and our domain model. Every number goes through
//! `cleaning` on the way; nothing here talks to the network.

use super::cleaning;
use crate::model::{self, Bar, ContractInfo, Fill, Instrument, Millis, OrderView};
use ibapi::contracts::{
    Contract, ContractDetails, Currency, Exchange, OptionRight, SecurityType, Symbol,
};
use ibapi::market_data::historical::{BarSize, BarTimestamp, WhatToShow};

/// Our instrument from an ibapi contract.
pub fn instrument(c: &Contract) -> Instrument {
    Instrument {
        con_id: c.contract_id,
        symbol: c.symbol.as_str().to_string(),
        sec_type: c.security_type.as_str().to_string(),
        exchange: c.exchange.to_string(),
        primary_exchange: c.primary_exchange.to_string(),
        currency: c.currency.to_string(),
        expiry: c.last_trade_date_or_contract_month.clone(),
        strike: cleaning::finite(c.strike).unwrap_or(0.0),
        right: match c.right {
            Some(OptionRight::Call) => "C".into(),
            Some(OptionRight::Put) => "P".into(),
            None => String::new(),
        },
        multiplier: c
            .multiplier
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(cleaning::price)
            .unwrap_or(1.0),
    }
}

/// The ibapi contract to request data for an instrument we hold (con_id is authoritative).
pub fn contract_for(inst: &Instrument) -> Contract {
    let exchange = if inst.sec_type == "CASH" {
        "IDEALPRO".to_string()
    } else if inst.exchange.is_empty() {
        "SMART".to_string()
    } else {
        inst.exchange.clone()
    };
    Contract {
        contract_id: inst.con_id,
        symbol: Symbol::from(inst.symbol.as_str()),
        security_type: sec_type(&inst.sec_type),
        exchange: Exchange::from(exchange.as_str()),
        primary_exchange: Exchange::from(inst.primary_exchange.as_str()),
        currency: Currency::from(inst.currency.as_str()),
        last_trade_date_or_contract_month: inst.expiry.clone(),
        strike: inst.strike,
        right: match inst.right.as_str() {
            "C" => Some(OptionRight::Call),
            "P" => Some(OptionRight::Put),
            _ => None,
        },
        multiplier: if inst.sec_type == "OPT" && inst.multiplier > 1.0 {
            format!("{}", inst.multiplier)
        } else {
            String::new()
        },
        ..Default::default()
    }
}

/// A stock/ETF/FX/... contract from loose user input.
pub fn contract_from_parts(
    symbol: &str,
    sec_type_s: &str,
    exchange: &str,
    currency: &str,
) -> Contract {
    Contract {
        symbol: Symbol::from(symbol),
        security_type: sec_type(sec_type_s),
        exchange: Exchange::from(exchange),
        currency: Currency::from(currency),
        ..Default::default()
    }
}

/// An FX pair contract on IDEALPRO: `base` priced in `quote` (USD.CAD = CAD per USD).
pub fn fx_contract(base: &str, quote: &str) -> Contract {
    contract_from_parts(base, "CASH", "IDEALPRO", quote)
}

pub fn sec_type(s: &str) -> SecurityType {
    match s.trim().to_ascii_uppercase().as_str() {
        "" | "STK" | "ETF" => SecurityType::Stock,
        other => other.parse::<SecurityType>().unwrap_or(SecurityType::Stock),
    }
}

/// Our bar size as ibapi's.
pub fn bar_size(b: model::BarSize) -> BarSize {
    use model::BarSize as B;
    match b {
        B::Min1 => BarSize::Min,
        B::Min2 => BarSize::Min2,
        B::Min3 => BarSize::Min3,
        B::Min5 => BarSize::Min5,
        B::Min10 => BarSize::Min10,
        B::Min15 => BarSize::Min15,
        B::Min20 => BarSize::Min20,
        B::Min30 => BarSize::Min30,
        B::Hour1 => BarSize::Hour,
        B::Hour2 => BarSize::Hour2,
        B::Hour3 => BarSize::Hour3,
        B::Hour4 => BarSize::Hour4,
        B::Hour8 => BarSize::Hour8,
        B::Day1 => BarSize::Day,
        B::Week1 => BarSize::Week,
        B::Month1 => BarSize::Month,
    }
}

/// Our bar data type as ibapi's.
pub fn what_to_show(w: model::WhatToShow) -> WhatToShow {
    use model::WhatToShow as W;
    match w {
        W::Trades => WhatToShow::Trades,
        W::Midpoint => WhatToShow::MidPoint,
        W::Bid => WhatToShow::Bid,
        W::Ask => WhatToShow::Ask,
        W::AdjustedLast => WhatToShow::AdjustedLast,
    }
}

/// One bar, with IB's sentinels cleaned (a bar with no usable close is dropped by the caller).
pub fn bar(b: &ibapi::market_data::historical::Bar) -> Option<Bar> {
    let time = match b.date {
        BarTimestamp::Date(d) => d.midnight().assume_utc().unix_timestamp(),
        BarTimestamp::DateTime(dt) => dt.unix_timestamp(),
    };
    let close = cleaning::price(b.close)?;
    Some(Bar {
        time,
        open: cleaning::price(b.open).unwrap_or(close),
        high: cleaning::price(b.high).unwrap_or(close),
        low: cleaning::price(b.low).unwrap_or(close),
        close,
        volume: cleaning::finite(b.volume)
            .filter(|v| *v >= 0.0)
            .unwrap_or(0.0),
        wap: cleaning::price(b.wap).unwrap_or(close),
        count: b.count.max(0),
    })
}

pub fn contract_info(d: &ContractDetails) -> ContractInfo {
    ContractInfo {
        instrument: instrument(&d.contract),
        long_name: d.long_name.clone(),
        industry: d.industry.clone(),
        category: d.category.clone(),
        subcategory: d.subcategory.clone(),
        min_tick: cleaning::price(d.min_tick).unwrap_or(0.01),
        trading_class: d.contract.trading_class.clone(),
        trading_hours: d.trading_hours.join(";"),
        liquid_hours: d.liquid_hours.join(";"),
        time_zone: d.time_zone_id.clone(),
    }
}

/// An execution as a fill (commission merged later).
pub fn fill(data: &ibapi::orders::ExecutionData) -> Fill {
    let e = &data.execution;
    Fill {
        exec_id: e.execution_id.clone(),
        order_id: e.order_id,
        account: e.account_number.clone(),
        instrument: instrument(&data.contract),
        side: e.side.as_str().to_string(),
        shares: cleaning::quantity(e.shares).unwrap_or(0.0),
        price: cleaning::price(e.price).unwrap_or(0.0),
        time: parse_ib_time(&e.time).unwrap_or(0),
        exchange: e.exchange.clone(),
        commission: None,
        commission_currency: String::new(),
        realized_pnl: None,
    }
}

/// An open or completed order as a read-only view.
pub fn order_view(d: &ibapi::orders::OrderData) -> OrderView {
    let o = &d.order;
    OrderView {
        order_id: d.order_id,
        perm_id: o.perm_id,
        client_id: o.client_id,
        account: o.account.clone(),
        instrument: instrument(&d.contract),
        action: o.action.as_str().to_string(),
        quantity: cleaning::quantity(o.total_quantity).unwrap_or(0.0),
        filled: cleaning::quantity(o.filled_quantity).unwrap_or(0.0),
        remaining: cleaning::quantity(o.total_quantity - o.filled_quantity).unwrap_or(0.0),
        order_type: o.order_type.clone(),
        limit_price: o.limit_price.and_then(cleaning::price),
        stop_price: o.aux_price.and_then(cleaning::price),
        tif: o.tif.as_str().to_string(),
        status: d.order_state.status.as_str().to_string(),
        avg_fill_price: None,
        completed_time: d.order_state.completed_time.clone(),
    }
}

/// Parses IB's execution / news time strings into epoch ms: `YYYYMMDD-HH:MM:SS` (UTC),
/// `YYYYMMDD HH:MM:SS [zone]` (zone ignored: treated as UTC), or a plain epoch-seconds number.
pub fn parse_ib_time(s: &str) -> Option<Millis> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<i64>() {
        return Some(secs * 1000);
    }
    let bytes = s.as_bytes();
    if bytes.len() < 17 {
        return None;
    }
    let num = |a: usize, b: usize| s.get(a..b).and_then(|x| x.parse::<i64>().ok());
    let (y, mo, d) = (num(0, 4)?, num(4, 6)?, num(6, 8)?);
    let (h, mi, se) = (num(9, 11)?, num(12, 14)?, num(15, 17)?);
    let month = time::Month::try_from(u8::try_from(mo).ok()?).ok()?;
    let date = time::Date::from_calendar_date(i32::try_from(y).ok()?, month, u8::try_from(d).ok()?)
        .ok()?;
    let t = time::Time::from_hms(
        u8::try_from(h).ok()?,
        u8::try_from(mi).ok()?,
        u8::try_from(se).ok()?,
    )
    .ok()?;
    Some(date.with_time(t).assume_utc().unix_timestamp() * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_sizes_and_data_types_map_to_the_same_ib_wording() {
        // ibapi writes its enums in IB's wording; ours serialize to the same strings.
        use model::BarSize as B;
        for b in [
            B::Min1,
            B::Min2,
            B::Min3,
            B::Min5,
            B::Min10,
            B::Min15,
            B::Min20,
            B::Min30,
            B::Hour1,
            B::Hour2,
            B::Hour3,
            B::Hour4,
            B::Hour8,
            B::Day1,
            B::Week1,
            B::Month1,
        ] {
            assert_eq!(bar_size(b).to_string(), b.ib(), "{b:?}");
        }
        use model::WhatToShow as W;
        for w in [W::Trades, W::Midpoint, W::Bid, W::Ask, W::AdjustedLast] {
            assert_eq!(what_to_show(w).to_string(), w.ib(), "{w:?}");
        }
    }

    #[test]
    fn ib_times_parse() {
        assert_eq!(parse_ib_time("20250102-14:30:00"), Some(1_735_828_200_000));
        assert_eq!(
            parse_ib_time("20250102 14:30:00 US/Eastern"),
            Some(1_735_828_200_000)
        );
        assert_eq!(parse_ib_time("1735828200"), Some(1_735_828_200_000));
        assert_eq!(parse_ib_time("garbage"), None);
    }

    #[test]
    fn contracts_round_trip_through_instruments() {
        let c = fx_contract("USD", "CAD");
        let i = instrument(&c);
        assert_eq!(
            (i.symbol.as_str(), i.sec_type.as_str(), i.currency.as_str()),
            ("USD", "CASH", "CAD")
        );
        let back = contract_for(&i);
        assert_eq!(back.exchange.to_string(), "IDEALPRO");
    }
}
