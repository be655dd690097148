//! `ibkr_get_option_chain`: expirations and the ATM strike, or the near-ATM calls and puts of
//! one expiration with bid/ask/last, implied volatility and Greeks.

use super::lookup::quote_for;
use crate::gateway::GatewayError;
use crate::model::{OptionChainDef, OptionQuote};
use crate::tools::format::{self as f, Align};
use crate::tools::params::values::{day_number, expiration};
use crate::tools::support::{self, Meta, gateway_error};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

fn default_strikes() -> u32 {
    5
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OptionChainParams {
    /// Underlying symbol, e.g. KRYX.
    pub symbol: String,
    /// Expiration `YYYYMMDD`. Without it: the list of expirations and the ATM strike.
    pub expiration: Option<String>,
    /// Strikes on each side of the ATM strike (1–10, default 5).
    #[serde(default = "default_strikes")]
    #[schemars(range(min = 1, max = 10))]
    pub strikes_around_atm: u32,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct OptionRow {
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub strike: f64,
    /// `C` or `P`.
    pub right: String,
    pub atm: bool,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub bid: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub ask: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub last: Option<f64>,
    /// Implied volatility as a fraction (0.35 = 35%).
    #[serde(serialize_with = "crate::tools::format::dp4")]
    pub implied_vol: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp3")]
    pub delta: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp4")]
    pub gamma: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp3")]
    pub theta: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp3")]
    pub vega: Option<f64>,
    pub delayed: bool,
}

impl OptionRow {
    fn from_quote(q: &OptionQuote, atm: Option<f64>) -> Self {
        OptionRow {
            strike: q.strike,
            right: q.right.clone(),
            atm: Some(q.strike) == atm,
            bid: f::json_num(q.bid),
            ask: f::json_num(q.ask),
            last: f::json_num(q.last),
            implied_vol: f::json_num(q.implied_vol),
            delta: f::json_num(q.delta),
            gamma: f::json_num(q.gamma),
            theta: f::json_num(q.theta),
            vega: f::json_num(q.vega),
            delayed: q.mode.is_delayed(),
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct OptionChainOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub symbol: String,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub underlying_price: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub atm_strike: Option<f64>,
    /// Every expiration, `YYYYMMDD`, soonest first.
    pub expirations: Vec<String>,
    /// The requested expiration (null without one).
    pub expiration: Option<String>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub strikes: Vec<f64>,
    pub calls: Vec<OptionRow>,
    pub puts: Vec<OptionRow>,
    /// What the markdown warns about, in its words (stale data, delayed quotes, missing FX,
    /// partial coverage, ...); empty when it warns about nothing.
    pub warnings: Vec<String>,
}

/// Every listed expiration, sorted and de-duplicated.
fn expirations_of(defs: &[OptionChainDef]) -> Vec<String> {
    let mut expirations: Vec<String> = defs
        .iter()
        .flat_map(|d| d.expirations.iter().cloned())
        .collect();
    expirations.sort();
    expirations.dedup();
    expirations
}

/// Strikes of the chosen expiration's own chain (or of every chain without one).
fn strikes_of(defs: &[OptionChainDef], exp: Option<&str>) -> Vec<f64> {
    let mut s: Vec<f64> = defs
        .iter()
        .filter(|d| exp.is_none_or(|e| d.expirations.iter().any(|x| x == e)))
        .flat_map(|d| d.strikes.iter().copied())
        .filter(|x| x.is_finite())
        .collect();
    s.sort_by(f64::total_cmp);
    s.dedup();
    s
}

/// The error for an expiration the chain does not list, naming the nearest one.
fn no_such_expiration(tool: &str, symbol: &str, e: &str, expirations: &[String]) -> ToolError {
    let target = day_number(e).unwrap_or(0);
    let nearest = expirations
        .iter()
        .min_by_key(|x| (day_number(x).unwrap_or(i64::MAX / 2) - target).abs())
        .cloned()
        .unwrap_or_default();
    ToolError::new(format!(
        "{tool}: {symbol} has no expiration {e}. Nearest: {nearest}. Available: {}",
        expirations.join(", ")
    ))
}

pub struct OptionChain;

impl Tool for OptionChain {
    const NAME: &'static str = "ibkr_get_option_chain";
    const GROUP: crate::model::ToolGroup = crate::model::ToolGroup::MarketData;
    const DESCRIPTION: &'static str = "Option chain: expirations and ATM strike, or near-ATM calls and puts of one expiration with bid/ask/last, IV and Greeks.";
    type Params = OptionChainParams;
    type Output = OptionChainOut;
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

    async fn run(
        ctx: &ToolContext,
        p: OptionChainParams,
    ) -> Result<Answer<OptionChainOut>, ToolError> {
        let symbol = support::symbol(Self::NAME, &p.symbol)?;
        let expiration = expiration(Self::NAME, p.expiration.as_deref())?;
        let req = ctx.requests()?;
        let defs = req.option_chain(&symbol).await.map_err(|e| match e {
            GatewayError::NotFound(_) | GatewayError::Rejected { code: 200, .. } => ToolError::new(
                format!("{}: no option chain for `{symbol}` ({e}).", Self::NAME),
            ),
            other => gateway_error(Self::NAME, &format!("the option chain of {symbol}"), &other),
        })?;
        let expirations = expirations_of(&defs);
        if expirations.is_empty() {
            return Err(ToolError::new(format!(
                "{}: `{symbol}` has no listed options.",
                Self::NAME
            )));
        }
        let snap = ctx.store.snapshot();
        let underlying = quote_for(ctx, &snap, Self::NAME, &symbol)
            .await
            .ok()
            .and_then(|(q, _)| q.price());
        if let Some(e) = &expiration
            && !expirations.contains(e)
        {
            return Err(no_such_expiration(Self::NAME, &symbol, e, &expirations));
        }
        let all_strikes = strikes_of(&defs, expiration.as_deref());
        let atm = underlying.and_then(|u| {
            all_strikes
                .iter()
                .copied()
                .min_by(|a, b| (a - u).abs().total_cmp(&(b - u).abs()))
        });
        let mut out = OptionChainOut {
            warnings: Vec::new(),
            meta: support::meta(ctx.now(), None),
            symbol: symbol.clone(),
            underlying_price: f::json_num(underlying),
            atm_strike: atm,
            expirations,
            expiration: expiration.clone(),
            strikes: Vec::new(),
            calls: Vec::new(),
            puts: Vec::new(),
        };
        match &expiration {
            None => out.strikes = all_strikes,
            Some(e) => {
                let n = p.strikes_around_atm as usize;
                let centre = atm
                    .and_then(|a| all_strikes.iter().position(|s| *s == a))
                    .unwrap_or(all_strikes.len() / 2);
                let lo = centre.saturating_sub(n);
                let hi = (centre + n + 1).min(all_strikes.len());
                let chosen: Vec<f64> = all_strikes[lo..hi].to_vec();
                let quotes = req
                    .option_quotes(&symbol, e, &chosen)
                    .await
                    .map_err(|err| {
                        gateway_error(Self::NAME, &format!("option quotes for {symbol} {e}"), &err)
                    })?;
                for q in &quotes {
                    let row = OptionRow::from_quote(q, atm);
                    if q.right.eq_ignore_ascii_case("P") {
                        out.puts.push(row);
                    } else {
                        out.calls.push(row);
                    }
                }
                out.calls.sort_by(|a, b| a.strike.total_cmp(&b.strike));
                out.puts.sort_by(|a, b| a.strike.total_cmp(&b.strike));
                out.strikes = chosen;
            }
        }
        let markdown = render(&out);
        out.warnings = crate::tools::format::warnings_in(&markdown);
        Ok(Answer {
            markdown,
            data: out,
        })
    }
}

pub fn render(out: &OptionChainOut) -> String {
    let symbol = &out.symbol;
    let mut md = out.meta.header(&match &out.expiration {
        Some(e) => format!("Option Chain: {symbol} {}", f::ib_date(e)),
        None => format!("Option Chain: {symbol}"),
    });
    md.push('\n');
    let _ = writeln!(
        md,
        "**Underlying**: {}",
        f::money(out.underlying_price, "USD")
    );
    let _ = writeln!(
        md,
        "**ATM Strike**: {}",
        out.atm_strike
            .map_or_else(|| f::NA.to_string(), |a| format!("{a}"))
    );
    if out.expiration.is_none() {
        let _ = writeln!(
            md,
            "**Expirations** ({}): {}",
            out.expirations.len(),
            out.expirations
                .iter()
                .map(|e| f::ib_date(e))
                .collect::<Vec<_>>()
                .join(", ")
        );
        md.push_str("\n_Pass `expiration` (YYYYMMDD) for near-ATM calls and puts with Greeks._\n");
        return md;
    }
    for (label, rows) in [("Calls", &out.calls), ("Puts", &out.puts)] {
        let _ = writeln!(md, "\n## {label}");
        md.push_str(&option_table(rows));
    }
    if out.calls.iter().chain(out.puts.iter()).any(|r| r.delayed) {
        md.push_str("\n_Delayed option data (no live subscription)._\n");
    }
    md
}

fn option_table(rows: &[OptionRow]) -> String {
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                if r.atm {
                    format!("**{}** ◀ ATM", r.strike)
                } else {
                    format!("{}", r.strike)
                },
                f::number(r.bid, 2),
                f::number(r.ask, 2),
                f::number(r.last, 2),
                f::pct_plain(r.implied_vol.map(|v| v * 100.0), 1),
                f::number(r.delta, 3),
                f::number(r.gamma, 4),
                f::number(r.theta, 3),
                f::number(r.vega, 3),
            ]
        })
        .collect();
    let mut aligns = vec![Align::Right; 9];
    aligns[0] = Align::Left;
    f::table(
        &[
            "Strike", "Bid", "Ask", "Last", "IV", "Delta", "Gamma", "Theta", "Vega",
        ],
        &aligns,
        &table,
    )
}

/// One line with the answer's key figures, for the cockpit's prompt pane and the journal.
pub fn headline(out: &OptionChainOut) -> String {
    use crate::tools::format as f;
    let underlying = format!("{} @ {}", out.symbol, f::number(out.underlying_price, 2));
    match &out.expiration {
        Some(e) => f::headline(&[
            underlying,
            format!("expiry {}", f::ib_date(e)),
            format!("ATM {}", f::number(out.atm_strike, 2)),
            format!("{} calls, {} puts", out.calls.len(), out.puts.len()),
        ]),
        None => f::headline(&[
            underlying,
            format!("{} expirations", out.expirations.len()),
            out.expirations
                .first()
                .map(|e| format!("next {}", f::ib_date(e)))
                .unwrap_or_default(),
        ]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(strike: f64, right: &str, atm: bool, delta: f64, delayed: bool) -> OptionRow {
        OptionRow {
            strike,
            right: right.into(),
            atm,
            bid: Some(2.10),
            ask: Some(2.25),
            last: if delayed { None } else { Some(2.18) },
            implied_vol: Some(0.412),
            delta: Some(delta),
            gamma: Some(0.0412),
            theta: Some(-0.031),
            vega: Some(0.087),
            delayed,
        }
    }

    #[test]
    fn render_get_option_chain() {
        let expirations = vec!["20260515".to_string(), "20260619".into(), "20260717".into()];
        let list = OptionChainOut {
            warnings: Vec::new(),
            meta: support::meta(1_777_828_664_000, None),
            symbol: "KRYX".into(),
            underlying_price: Some(54.18),
            atm_strike: Some(55.0),
            expirations: expirations.clone(),
            expiration: None,
            strikes: vec![50.0, 52.5, 55.0, 57.5, 60.0],
            calls: vec![],
            puts: vec![],
        };
        let chain = OptionChainOut {
            expiration: Some("20260619".into()),
            strikes: vec![52.5, 55.0, 57.5],
            calls: vec![
                row(52.5, "C", false, 0.62, false),
                row(55.0, "C", true, 0.48, false),
            ],
            puts: vec![row(55.0, "P", true, -0.52, true)],
            ..list
        };
        let list = OptionChainOut {
            warnings: Vec::new(),
            meta: support::meta(1_777_828_664_000, None),
            symbol: "KRYX".into(),
            underlying_price: None,
            atm_strike: None,
            expirations,
            expiration: None,
            strikes: vec![],
            calls: vec![],
            puts: vec![],
        };
        insta::assert_snapshot!(
            "render_get_option_chain",
            format!("{}\n---\n\n{}", render(&list), render(&chain))
        );
        insta::assert_snapshot!(
            "headline_get_option_chain",
            [headline(&list), headline(&chain)].join("\n")
        );
    }
}
