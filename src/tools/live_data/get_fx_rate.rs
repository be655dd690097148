//! `ibkr_get_fx_rate`: a currency pair's rate with inverse, bid/ask, spread in pips, day range
//! and daily change.

use crate::gateway::{ContractQuery, GatewayError};
use crate::model::{DataMode, Quote};
use crate::tools::format as f;
use crate::tools::params::values::currency_pair;
use crate::tools::support::{self, Meta, gateway_error};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FxParams {
    /// Currency pair as six letters, e.g. `USDCAD` (case-insensitive; `USD.CAD` and `USD/CAD` also accepted).
    pub pair: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct FxOut {
    #[serde(flatten)]
    pub meta: Meta,
    /// `USD.CAD`
    pub pair: String,
    /// Units of the quote currency per unit of the base currency (mid, else last).
    #[serde(serialize_with = "crate::tools::format::dp5")]
    pub rate: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp5")]
    pub inverse: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp5")]
    pub bid: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp5")]
    pub ask: Option<f64>,
    /// Ask − bid in pips (0.0001; 0.01 for JPY).
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub spread_pips: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp5")]
    pub high: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp5")]
    pub low: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp5")]
    pub previous_close: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp5")]
    pub change: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub change_pct: Option<f64>,
    #[serde(serialize_with = "DataMode::serialize_label")]
    #[schemars(with = "String")]
    pub data_mode: DataMode,
    /// What the markdown warns about, in its words (stale data, delayed quotes, missing FX,
    /// partial coverage, ...); empty when it warns about nothing.
    pub warnings: Vec<String>,
}

/// Inverts a quote of `B.A` into `A.B` (bid and ask swap).
fn invert(q: &Quote) -> Quote {
    let inv = |x: Option<f64>| x.filter(|v| *v > 0.0).map(|v| 1.0 / v);
    Quote {
        bid: inv(q.ask),
        ask: inv(q.bid),
        last: inv(q.last),
        open: inv(q.open),
        high: inv(q.low),
        low: inv(q.high),
        close: inv(q.close),
        ..q.clone()
    }
}

/// A one-off snapshot of `base.quote` on IDEALPRO, else of `quote.base` inverted.
async fn snapshot_rate(
    ctx: &ToolContext,
    tool: &str,
    base: &str,
    quote: &str,
) -> Result<Quote, ToolError> {
    let req = ctx.requests()?;
    let query = |b: &str, c: &str| ContractQuery {
        symbol: b.to_string(),
        sec_type: Some("CASH".into()),
        exchange: Some("IDEALPRO".into()),
        currency: Some(c.to_string()),
    };
    match req.quote_snapshot(&query(base, quote)).await {
        Ok(q) if q.price().is_some() => Ok(q),
        first => match req.quote_snapshot(&query(quote, base)).await {
            Ok(q) if q.price().is_some() => Ok(invert(&q)),
            _ => Err(match first {
                Err(e @ GatewayError::NotConnected(_)) => {
                    gateway_error(tool, &format!("a rate for {base}.{quote}"), &e)
                }
                _ => ToolError::new(format!(
                    "{tool}: no FX quote for {base}.{quote} (IB knows no such pair, or it has no price now)."
                )),
            }),
        },
    }
}

pub struct FxRate;

impl Tool for FxRate {
    const NAME: &'static str = "ibkr_get_fx_rate";
    const GROUP: crate::model::ToolGroup = crate::model::ToolGroup::LiveData;
    const DESCRIPTION: &'static str = "Live FX rate of a currency pair with inverse, bid, ask, spread in pips, day high/low and daily change.";
    type Params = FxParams;
    type Output = FxOut;
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

    async fn run(ctx: &ToolContext, p: FxParams) -> Result<Answer<FxOut>, ToolError> {
        let (base, quote) = currency_pair(Self::NAME, &p.pair)?;
        let pair = format!("{base}.{quote}");
        let snap = ctx.store.snapshot();
        let now = ctx.now();
        let direct = snap.quotes.get(&pair).cloned();
        let reverse = snap.quotes.get(&format!("{quote}.{base}")).map(invert);
        let q = match direct.or(reverse).filter(|q| q.price().is_some()) {
            Some(q) => q,
            None => snapshot_rate(ctx, Self::NAME, &base, &quote).await?,
        };
        let stale = ctx.staleness(&snap, now);
        let pip = if quote == "JPY" { 0.01 } else { 0.0001 };
        let rate = q.price();
        let change = q.change();
        let mut out = FxOut {
            warnings: Vec::new(),
            meta: support::meta(now, stale.as_ref()),
            pair,
            rate: f::json_num(rate),
            inverse: f::json_num(rate.filter(|r| *r > 0.0).map(|r| 1.0 / r)),
            bid: f::json_num(q.bid),
            ask: f::json_num(q.ask),
            spread_pips: f::json_num(q.bid.zip(q.ask).map(|(b, a)| f::round((a - b) / pip, 2))),
            high: f::json_num(q.high),
            low: f::json_num(q.low),
            previous_close: f::json_num(q.close),
            change: f::json_num(change.map(|c| c.0)),
            change_pct: f::json_num(change.map(|c| f::round(c.1, 4))),
            data_mode: q.mode,
        };
        let markdown = render(&out);
        out.warnings = crate::tools::format::warnings_in(&markdown);
        Ok(Answer {
            markdown,
            data: out,
        })
    }
}

pub fn render(out: &FxOut) -> String {
    let (base, quote) = out.pair.split_once('.').unwrap_or((&out.pair, ""));
    let mut md = out.meta.header(&format!("FX: {base}/{quote}"));
    md.push('\n');
    let r5 = |v: Option<f64>| f::number(v, 5);
    md.push_str(&f::kv_table(&[
        (
            "Rate",
            format!("{}{}", r5(out.rate), f::mode_marker(out.data_mode)),
        ),
        (&format!("Inverse ({quote}/{base})"), r5(out.inverse)),
        ("Bid", r5(out.bid)),
        ("Ask", r5(out.ask)),
        (
            "Spread",
            out.spread_pips
                .map_or_else(|| f::NA.to_string(), |s| format!("{s:.1} pips")),
        ),
        ("Day High", r5(out.high)),
        ("Day Low", r5(out.low)),
        (
            "Change",
            format!("{} ({})", f::number(out.change, 5), f::pct(out.change_pct)),
        ),
    ]));
    let _ = writeln!(md, "\n_1 {base} = {} {quote}_", r5(out.rate));
    if out.data_mode.is_delayed() {
        md.push_str("\n_Delayed FX data (no live subscription)._\n");
    }
    md
}

/// One line with the answer's key figures, for the cockpit's prompt pane and the journal.
pub fn headline(out: &FxOut) -> String {
    use crate::tools::format as f;
    f::headline(&[
        format!(
            "{} {}{}",
            out.pair,
            f::number(out.rate, 5),
            f::mode_marker(out.data_mode)
        ),
        format!("day {}", f::pct(out.change_pct)),
        format!("spread {} pips", f::number(out.spread_pips, 1)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_get_fx_rate() {
        let live = FxOut {
            warnings: Vec::new(),
            meta: support::meta(1_777_828_664_000, None),
            pair: "USD.CAD".into(),
            rate: Some(1.365),
            inverse: Some(1.0 / 1.365),
            bid: Some(1.36495),
            ask: Some(1.36505),
            spread_pips: Some(1.0),
            high: Some(1.3702),
            low: Some(1.3611),
            previous_close: Some(1.3688),
            change: Some(1.365 - 1.3688),
            change_pct: Some(-0.2776),
            data_mode: DataMode::Live,
        };
        let stale = crate::store::Staleness {
            age_ms: 95_000,
            reason: "gateway disconnected: connection refused".into(),
        };
        let delayed = FxOut {
            warnings: Vec::new(),
            meta: support::meta(1_777_828_664_000, Some(&stale)),
            pair: "EUR.JPY".into(),
            rate: Some(162.41),
            inverse: Some(1.0 / 162.41),
            bid: None,
            ask: None,
            spread_pips: None,
            high: None,
            low: None,
            previous_close: None,
            change: None,
            change_pct: None,
            data_mode: DataMode::Delayed,
        };
        insta::assert_snapshot!(
            "render_get_fx_rate",
            format!("{}\n---\n\n{}", render(&live), render(&delayed))
        );
        insta::assert_snapshot!(
            "headline_get_fx_rate",
            [headline(&live), headline(&delayed)].join("\n")
        );
    }
}
