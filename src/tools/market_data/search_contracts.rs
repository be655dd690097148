//! `ibkr_search_contracts`: contracts matching a symbol or part of a company name.

use crate::tools::format as f;
use crate::tools::support::{self, Meta, gateway_error};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// Symbol or company name (or part of it).
    pub query: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SearchOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub query: String,
    pub matches: Vec<SearchRow>,
    /// What the markdown warns about, in its words (stale data, delayed quotes, missing FX,
    /// partial coverage, ...); empty when it warns about nothing.
    pub warnings: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SearchRow {
    pub con_id: i32,
    pub symbol: String,
    pub sec_type: String,
    pub primary_exchange: String,
    pub currency: String,
    pub description: String,
}

pub struct SearchContracts;

impl Tool for SearchContracts {
    const NAME: &'static str = "ibkr_search_contracts";
    const GROUP: crate::model::ToolGroup = crate::model::ToolGroup::MarketData;
    const DESCRIPTION: &'static str = "Find contracts by symbol or company name: con_id, symbol, type, exchange, currency, description.";
    type Params = SearchParams;
    type Output = SearchOut;
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

    async fn run(ctx: &ToolContext, p: SearchParams) -> Result<Answer<SearchOut>, ToolError> {
        let q = p.query.trim().to_string();
        if q.is_empty() || q.len() > 64 {
            return Err(ToolError::new(format!(
                "{}: `query` must be 1–64 characters (a symbol or part of a company name)",
                Self::NAME
            )));
        }
        let matches = ctx
            .requests()?
            .search_contracts(&q)
            .await
            .map_err(|e| gateway_error(Self::NAME, &format!("matches for \"{q}\""), &e))?
            .into_iter()
            .map(|m| SearchRow {
                con_id: m.con_id,
                symbol: m.symbol,
                sec_type: m.sec_type,
                primary_exchange: m.primary_exchange,
                currency: m.currency,
                description: m.description,
            })
            .collect::<Vec<_>>();
        let mut out = SearchOut {
            warnings: Vec::new(),
            meta: support::meta(ctx.now(), None),
            query: q,
            matches,
        };
        let markdown = render(&out);
        out.warnings = crate::tools::format::warnings_in(&markdown);
        Ok(Answer {
            markdown,
            data: out,
        })
    }
}

pub fn render(out: &SearchOut) -> String {
    let q = &out.query;
    let mut md = out.meta.header(&format!("Contract Search: \"{q}\""));
    md.push('\n');
    if out.matches.is_empty() {
        let _ = writeln!(md, "No contract matches \"{q}\".");
        return md;
    }
    let rows: Vec<Vec<String>> = out
        .matches
        .iter()
        .map(|m| {
            vec![
                m.con_id.to_string(),
                m.symbol.clone(),
                m.sec_type.clone(),
                m.primary_exchange.clone(),
                m.currency.clone(),
                m.description.clone(),
            ]
        })
        .collect();
    md.push_str(&f::table(
        &[
            "con_id",
            "Symbol",
            "Type",
            "Exchange",
            "Currency",
            "Description",
        ],
        &[],
        &rows,
    ));
    md
}

/// One line with the answer's key figures, for the cockpit's prompt pane and the journal.
pub fn headline(out: &SearchOut) -> String {
    use crate::tools::format as f;
    let first: Vec<String> = out
        .matches
        .iter()
        .take(3)
        .map(|m| format!("{} {} {}", m.symbol, m.sec_type, m.primary_exchange))
        .collect();
    f::headline(&[
        format!("{} match(es) for \"{}\"", out.matches.len(), out.query),
        first.join(", "),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_search_contracts() {
        let found = SearchOut {
            warnings: Vec::new(),
            meta: support::meta(1_777_828_664_000, None),
            query: "kry".into(),
            matches: vec![
                SearchRow {
                    con_id: 412_001,
                    symbol: "KRYX".into(),
                    sec_type: "STK".into(),
                    primary_exchange: "NASDAQ".into(),
                    currency: "USD".into(),
                    description: "Kryx Therapeutics Inc".into(),
                },
                SearchRow {
                    con_id: 512_044,
                    symbol: "KRYX".into(),
                    sec_type: "STK".into(),
                    primary_exchange: "TSE".into(),
                    currency: "CAD".into(),
                    description: "Kryx Therapeutics Inc (Toronto)".into(),
                },
            ],
        };
        let none = SearchOut {
            warnings: Vec::new(),
            meta: support::meta(1_777_828_664_000, None),
            query: "zzzz".into(),
            matches: vec![],
        };
        insta::assert_snapshot!(
            "render_search_contracts",
            format!("{}\n---\n\n{}", render(&found), render(&none))
        );
        insta::assert_snapshot!(
            "headline_search_contracts",
            [headline(&found), headline(&none)].join("\n")
        );
    }
}
