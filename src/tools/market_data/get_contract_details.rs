//! `ibkr_get_contract_details`: one contract's details, or the candidates when several match.

use crate::gateway::{ContractQuery, GatewayError};
use crate::model::ContractInfo;
use crate::tools::format as f;
use crate::tools::support::{self, Meta, gateway_error};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractParams {
    /// Symbol, e.g. KRYX.
    pub symbol: String,
    /// Security type (default `STK`).
    pub sec_type: Option<String>,
    /// Exchange (default `SMART`).
    pub exchange: Option<String>,
    /// Currency (default `USD` for stocks).
    pub currency: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ContractOut {
    pub con_id: i32,
    pub symbol: String,
    pub sec_type: String,
    pub long_name: String,
    pub industry: String,
    pub category: String,
    pub subcategory: String,
    pub exchange: String,
    pub primary_exchange: String,
    pub currency: String,
    /// IB's minimum price increment, as IB states it (not rounded: 0.00005 is a real tick).
    pub min_tick: f64,
    pub trading_class: String,
    pub trading_hours: String,
    pub liquid_hours: String,
    pub time_zone: String,
}

impl ContractOut {
    fn from_info(c: &ContractInfo) -> Self {
        ContractOut {
            con_id: c.instrument.con_id,
            symbol: c.instrument.symbol.clone(),
            sec_type: c.instrument.sec_type.clone(),
            long_name: c.long_name.clone(),
            industry: c.industry.clone(),
            category: c.category.clone(),
            subcategory: c.subcategory.clone(),
            exchange: c.instrument.exchange.clone(),
            primary_exchange: c.instrument.primary_exchange.clone(),
            currency: c.instrument.currency.clone(),
            min_tick: c.min_tick,
            trading_class: c.trading_class.clone(),
            trading_hours: c.trading_hours.clone(),
            liquid_hours: c.liquid_hours.clone(),
            time_zone: c.time_zone.clone(),
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ContractDetailsOut {
    #[serde(flatten)]
    pub meta: Meta,
    /// True when several contracts match: pass `exchange`/`currency`/`sec_type` to pick one.
    pub ambiguous: bool,
    pub contracts: Vec<ContractOut>,
    /// The symbol as asked (the title).
    #[serde(skip)]
    pub symbol: String,
    /// What the markdown warns about, in its words (stale data, delayed quotes, missing FX,
    /// partial coverage, ...); empty when it warns about nothing.
    pub warnings: Vec<String>,
}

pub struct ContractDetails;

fn query_from(symbol: &str, p: &ContractParams) -> ContractQuery {
    let up = |o: &Option<String>| {
        o.as_deref()
            .map(|s| s.trim().to_ascii_uppercase())
            .filter(|s| !s.is_empty())
    };
    ContractQuery {
        symbol: symbol.to_string(),
        sec_type: up(&p.sec_type),
        exchange: up(&p.exchange),
        currency: up(&p.currency),
    }
}

impl Tool for ContractDetails {
    const NAME: &'static str = "ibkr_get_contract_details";
    const GROUP: crate::model::ToolGroup = crate::model::ToolGroup::MarketData;
    const DESCRIPTION: &'static str = "Contract details: long name, industry/category, exchanges, min tick, trading class, con_id, trading hours; lists candidates when ambiguous.";
    type Params = ContractParams;
    type Output = ContractDetailsOut;
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

    async fn run(
        ctx: &ToolContext,
        p: ContractParams,
    ) -> Result<Answer<ContractDetailsOut>, ToolError> {
        let symbol = support::symbol(Self::NAME, &p.symbol)?;
        let query = query_from(&symbol, &p);
        let infos = match ctx.requests()?.contract_details(&query).await {
            Ok(v) => v,
            Err(e @ (GatewayError::NotFound(_) | GatewayError::Rejected { code: 200, .. })) => {
                return Err(ToolError::new(format!(
                    "{}: no contract found for `{symbol}` ({e}). Try ibkr_search_contracts to find the right symbol.",
                    Self::NAME
                )));
            }
            Err(e) => {
                return Err(gateway_error(
                    Self::NAME,
                    &format!("contract details for {symbol}"),
                    &e,
                ));
            }
        };
        if infos.is_empty() {
            return Err(ToolError::new(format!(
                "{}: no contract found for `{symbol}`. Try ibkr_search_contracts to find the right symbol.",
                Self::NAME
            )));
        }
        let contracts: Vec<ContractOut> = infos.iter().map(ContractOut::from_info).collect();
        let mut out = ContractDetailsOut {
            warnings: Vec::new(),
            meta: support::meta(ctx.now(), None),
            ambiguous: contracts.len() > 1,
            contracts,
            symbol,
        };
        let markdown = render(&out);
        out.warnings = crate::tools::format::warnings_in(&markdown);
        Ok(Answer {
            markdown,
            data: out,
        })
    }
}

pub fn render(out: &ContractDetailsOut) -> String {
    let symbol = &out.symbol;
    let mut md = out.meta.header(&format!("Contract Details: {symbol}"));
    md.push('\n');
    if out.ambiguous {
        let _ = writeln!(
            md,
            "`{symbol}` matches {} contracts; pass `exchange`, `currency` or `sec_type` to pick one.\n",
            out.contracts.len()
        );
        let rows: Vec<Vec<String>> = out
            .contracts
            .iter()
            .map(|c| {
                vec![
                    c.con_id.to_string(),
                    c.symbol.clone(),
                    c.sec_type.clone(),
                    c.primary_exchange.clone(),
                    c.currency.clone(),
                    c.long_name.clone(),
                ]
            })
            .collect();
        md.push_str(&f::table(
            &[
                "con_id",
                "Symbol",
                "Type",
                "Primary Exchange",
                "Currency",
                "Name",
            ],
            &[],
            &rows,
        ));
    } else if let Some(c) = out.contracts.first() {
        let or_na = |s: &str| {
            if s.is_empty() {
                f::NA.to_string()
            } else {
                s.to_string()
            }
        };
        md.push_str(&f::table(
            &["Field", "Value"],
            &[],
            &[
                vec!["Long Name".into(), or_na(&c.long_name)],
                vec!["Industry".into(), or_na(&c.industry)],
                vec!["Category".into(), or_na(&c.category)],
                vec!["Subcategory".into(), or_na(&c.subcategory)],
                vec!["Type".into(), or_na(&c.sec_type)],
                vec!["Exchange".into(), or_na(&c.exchange)],
                vec!["Primary Exchange".into(), or_na(&c.primary_exchange)],
                vec!["Currency".into(), or_na(&c.currency)],
                vec!["Min Tick".into(), format!("{}", c.min_tick)],
                vec!["Trading Class".into(), or_na(&c.trading_class)],
                vec!["con_id".into(), c.con_id.to_string()],
                vec!["Time Zone".into(), or_na(&c.time_zone)],
                vec!["Trading Hours".into(), or_na(&c.trading_hours)],
                vec!["Liquid Hours".into(), or_na(&c.liquid_hours)],
            ],
        ));
    }
    md
}

/// One line with the answer's key figures, for the cockpit's prompt pane and the journal.
pub fn headline(out: &ContractDetailsOut) -> String {
    use crate::tools::format as f;
    match out.contracts.as_slice() {
        [c] => f::headline(&[
            format!("{} {} {}", c.symbol, c.sec_type, c.long_name),
            format!("{} {}", c.primary_exchange, c.currency),
            format!("conId {}", c.con_id),
        ]),
        all => format!(
            "{}: {} contracts{}",
            out.symbol,
            all.len(),
            if out.ambiguous { " (ambiguous)" } else { "" }
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contract(con_id: i32, exchange: &str, currency: &str, industry: &str) -> ContractOut {
        ContractOut {
            con_id,
            symbol: "KRYX".into(),
            sec_type: "STK".into(),
            long_name: "Kryx Therapeutics Inc".into(),
            industry: industry.into(),
            category: "Biotechnology".into(),
            subcategory: String::new(),
            exchange: "SMART".into(),
            primary_exchange: exchange.into(),
            currency: currency.into(),
            min_tick: 0.01,
            trading_class: "KRYX".into(),
            trading_hours: "20260504:0400-20260504:2000".into(),
            liquid_hours: "20260504:0930-20260504:1600".into(),
            time_zone: "US/Eastern".into(),
        }
    }

    #[test]
    fn render_get_contract_details() {
        let one = ContractDetailsOut {
            warnings: Vec::new(),
            meta: support::meta(1_777_828_664_000, None),
            ambiguous: false,
            contracts: vec![contract(412_001, "NASDAQ", "USD", "Healthcare")],
            symbol: "KRYX".into(),
        };
        let several = ContractDetailsOut {
            warnings: Vec::new(),
            meta: support::meta(1_777_828_664_000, None),
            ambiguous: true,
            contracts: vec![
                contract(412_001, "NASDAQ", "USD", "Healthcare"),
                contract(512_044, "TSE", "CAD", ""),
            ],
            symbol: "KRYX".into(),
        };
        insta::assert_snapshot!(
            "render_get_contract_details",
            format!("{}\n---\n\n{}", render(&one), render(&several))
        );
        insta::assert_snapshot!(
            "headline_get_contract_details",
            [headline(&one), headline(&several)].join("\n")
        );
    }
}
