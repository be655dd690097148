//! `ibkr_var_estimate`: Value at Risk at 95%/99% and expected shortfall at 97.5% of the book in
//! its base currency, by the parametric (covariance) method, historical simulation, or both,
//! with component VaR per position and the part that comes from currency moves. The math is
//! `analytics::book_var`; this file gathers the holdings, their daily closes and their
//! currencies' FX closes, and writes the answer.

use super::{TABLE_ROWS, date_of_day, delayed_symbols, footer, window_words};
use crate::analytics::base_currency::{self, SplitReturns};
use crate::analytics::book_var::{self, BookInput, Method, MethodResult};
use crate::analytics::returns::{self, ReturnKind};
use crate::store::Staleness;
use crate::tools::format::{self as f, Align};
use crate::tools::risk_data::{self, Book, History, Missing};
use crate::tools::support::{self, FxUsed, Meta};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Confidence level(s) of the VaR.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum Confidence {
    #[serde(rename = "95")]
    P95,
    #[serde(rename = "99")]
    P99,
    /// Both 95% and 99% (default).
    #[default]
    #[serde(rename = "both")]
    Both,
}

/// Which VaR method(s) to run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum VarMethod {
    /// Variance–covariance, normal P&L.
    Parametric,
    /// Historical simulation: today's holdings over each past day's returns.
    Historical,
    /// Both, side by side (default).
    #[default]
    Both,
}

impl VarMethod {
    fn runs(self, m: Method) -> bool {
        matches!(
            (self, m),
            (VarMethod::Both, _)
                | (VarMethod::Parametric, Method::Parametric)
                | (VarMethod::Historical, Method::Historical)
        )
    }
}

fn method_name(m: Method) -> &'static str {
    match m {
        Method::Parametric => "parametric",
        Method::Historical => "historical",
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VarParams {
    /// `95`, `99` or `both` (default).
    #[serde(default)]
    pub confidence: Confidence,
    /// `parametric`, `historical` or `both` (default).
    #[serde(default)]
    pub method: VarMethod,
    /// Daily returns used, in sessions (20–756; default 252).
    #[schemars(range(min = 20, max = 756))]
    pub lookback_days: Option<u32>,
    /// Horizon in trading days (1–250; default 1): √h scaling for parametric, overlapping h-day
    /// windows for historical.
    #[schemars(range(min = 1, max = 250))]
    pub horizon_days: Option<u32>,
    /// Account id (or masked form). Default: the primary account.
    pub account: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct VarLevel {
    /// `parametric` or `historical`.
    pub method: String,
    /// Percent, e.g. 95.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub confidence_pct: f64,
    /// Normal quantile used (parametric only).
    #[serde(serialize_with = "crate::tools::format::dp4")]
    pub z: Option<f64>,
    /// Loss not exceeded with this confidence over the horizon, base currency (positive).
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub var: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub var_pct_of_nlv: Option<f64>,
    /// The part of the VaR from currency moves, base currency (0 for a book in its base currency).
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub currency_var: f64,
    /// The VaR with FX rates held fixed (price moves only).
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub var_without_fx: f64,
    /// Historical: end date of the scenario the VaR is read from.
    pub scenario_date: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EsLevel {
    /// `parametric` or `historical`.
    pub method: String,
    /// 97.5.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub confidence_pct: f64,
    /// Average loss beyond the VaR at this confidence, base currency (positive).
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub expected_shortfall: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub es_pct_of_nlv: Option<f64>,
    /// The part from currency moves.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub currency_es: f64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct VarComponent {
    pub symbol: String,
    /// Signed value, base currency.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub value_base: f64,
    /// Parametric component VaR at the highest confidence reported, base currency (sums to VaR).
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub component_var: Option<f64>,
    /// Share of the parametric VaR, percent (negative: the position hedges the rest).
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub share_pct: Option<f64>,
    /// Parametric VaR added per unit of base currency in the position.
    #[serde(serialize_with = "crate::tools::format::dp4")]
    pub marginal_var: Option<f64>,
    /// Historical component VaR: the position's loss in the VaR scenario (sums to VaR).
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub historical_component_var: Option<f64>,
    /// Share of the historical VaR, percent.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub historical_share_pct: Option<f64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct VarOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub account: String,
    pub base_currency: String,
    /// Every method run, with the numbers used.
    pub method: String,
    pub lookback_days: u32,
    /// Daily returns used (common dates of every holding and FX pair).
    pub data_points: usize,
    pub horizon_days: u32,
    /// Historical scenarios (overlapping h-day windows); null when historical was not asked.
    pub historical_scenarios: Option<usize>,
    pub first_date: Option<String>,
    pub last_date: Option<String>,
    /// One-day standard deviation of the book's P&L in base currency (sample covariance).
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub sigma_daily: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub net_liquidation: Option<f64>,
    /// Gross value of the positions the VaR covers, base currency.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub covered_gross_value: f64,
    /// One row per method and confidence, parametric first.
    pub levels: Vec<VarLevel>,
    /// Expected shortfall at 97.5%, one per method.
    pub expected_shortfall: Vec<EsLevel>,
    /// Confidence (percent) of the component breakdown.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub components_confidence_pct: f64,
    pub components: Vec<VarComponent>,
    /// Positions left out (no history or no FX rate).
    pub missing: Vec<Missing>,
    /// Currencies whose daily FX history could not be had: their rate is held fixed, so their
    /// currency risk is not in the VaR.
    pub currency_risk_missing: Vec<Missing>,
    pub fx_rates: Vec<FxUsed>,
    pub delayed: Vec<String>,
    /// Currencies without a rate (footnote).
    #[serde(skip)]
    pub unconverted: Vec<String>,
    /// What the markdown warns about, in its words (stale data, delayed quotes, missing FX,
    /// partial coverage, ...); empty when it warns about nothing.
    pub warnings: Vec<String>,
}

pub struct VarEstimate;

/// Holdings that cannot be valued in base currency (left out, and said so).
fn unvalued(book: &Book) -> Vec<Missing> {
    book.holdings
        .iter()
        .filter(|h| h.value_base.is_none())
        .map(|h| Missing {
            symbol: h.symbol.clone(),
            reason: format!("no price or no {}→{} rate", h.currency, book.base),
        })
        .collect()
}

/// Label of a currency's FX series inside the aligned history (cannot clash with a symbol).
fn fx_label(ccy: &str) -> String {
    format!("FX:{ccy}")
}

/// The book's holdings as base-currency return series on common dates.
struct Returns {
    symbols: Vec<String>,
    values: Vec<f64>,
    split: Vec<SplitReturns>,
    dates: Vec<i64>,
}

/// Aligns every holding's closes with its currency's FX closes and splits each holding's
/// base-currency returns into price and currency parts. A holding whose currency has no FX
/// history keeps its price risk, with its currency's rate held fixed (`fx.missing` says which).
fn base_returns(
    tool: &str,
    book: &Book,
    hist: &History,
    fx: &History,
    lookback: usize,
) -> Result<Returns, ToolError> {
    let mut series = Vec::new();
    let mut held: Vec<(String, Option<String>)> = Vec::new();
    for (symbol, closes) in &hist.series {
        let ccy = book
            .find(symbol)
            .map_or(book.base.clone(), |h| h.currency.clone());
        if ccy != book.base && fx.series.iter().any(|(c, _)| *c == ccy) {
            held.push((symbol.clone(), Some(ccy)));
        } else {
            // In the base currency, or its currency has no FX history (then its currency risk
            // is left out and the answer says so).
            held.push((symbol.clone(), None));
        }
        series.push((symbol.clone(), closes.clone()));
    }
    for (ccy, closes) in &fx.series {
        series.push((fx_label(ccy), closes.clone()));
    }
    let aligned = returns::align(&series)
        .returns(ReturnKind::Simple, Some(lookback))
        .map_err(|e| ToolError::new(format!("{tool}: could not compute returns: {e}")))?;
    let row = |label: &str| {
        aligned
            .symbols
            .iter()
            .position(|s| s == label)
            .map(|i| &aligned.returns[i])
    };
    let mut out = Returns {
        symbols: Vec::new(),
        values: Vec::new(),
        split: Vec::new(),
        dates: aligned.dates.clone(),
    };
    for (symbol, ccy) in held {
        let Some(price) = row(&symbol) else { continue };
        let fx_row = ccy.as_deref().and_then(|c| row(&fx_label(c)));
        let split = base_currency::combine(price, fx_row.map(Vec::as_slice))
            .map_err(|e| ToolError::new(format!("{tool}: {e}")))?;
        out.values
            .push(book.find(&symbol).and_then(|h| h.value_base).unwrap_or(0.0));
        out.symbols.push(symbol);
        out.split.push(split);
    }
    Ok(out)
}

/// Component rows at the highest confidence computed, largest first.
fn components(
    r: &Returns,
    parametric: Option<&MethodResult>,
    historical: Option<&MethodResult>,
) -> Vec<VarComponent> {
    let top = |m: Option<&MethodResult>| m.and_then(|m| m.var.last().cloned());
    let (p, h) = (top(parametric), top(historical));
    let share = |value: f64, total: f64| {
        if total == 0.0 {
            0.0
        } else {
            f::round(value / total * 100.0, 4)
        }
    };
    let mut rows: Vec<VarComponent> = r
        .symbols
        .iter()
        .enumerate()
        .map(|(i, s)| VarComponent {
            symbol: s.clone(),
            value_base: f::round(r.values[i], 2),
            component_var: p.as_ref().map(|m| f::round(m.components[i], 2)),
            share_pct: p.as_ref().map(|m| share(m.components[i], m.value)),
            marginal_var: p.as_ref().map(|m| {
                if r.values[i] == 0.0 {
                    0.0
                } else {
                    f::round(m.components[i] / r.values[i], 6)
                }
            }),
            historical_component_var: h.as_ref().map(|m| f::round(m.components[i], 2)),
            historical_share_pct: h.as_ref().map(|m| share(m.components[i], m.value)),
        })
        .collect();
    rows.sort_by(|a, b| {
        let key = |c: &VarComponent| {
            c.component_var
                .or(c.historical_component_var)
                .unwrap_or(0.0)
        };
        key(b)
            .total_cmp(&key(a))
            .then_with(|| a.symbol.cmp(&b.symbol))
    });
    rows
}

fn pct_of(v: f64, nlv: Option<f64>) -> Option<f64> {
    nlv.filter(|n| *n != 0.0)
        .map(|n| f::round(v / n * 100.0, 4))
}

/// VaR rows and the ES row of one method.
fn method_rows(m: &MethodResult, nlv: Option<f64>) -> (Vec<VarLevel>, EsLevel) {
    let name = method_name(m.method);
    let levels = m
        .var
        .iter()
        .zip(&m.var_price_only)
        .map(|(v, fixed)| VarLevel {
            method: name.into(),
            confidence_pct: f::round(v.confidence * 100.0, 2),
            z: (m.method == Method::Parametric)
                .then(|| f::round(crate::analytics::normal::quantile(v.confidence), 6)),
            var: f::round(v.value, 2),
            var_pct_of_nlv: pct_of(v.value, nlv),
            currency_var: f::round(v.currency_part, 2),
            var_without_fx: f::round(*fixed, 2),
            scenario_date: date_of_day(v.scenario_date.as_ref()),
        })
        .collect();
    let es = EsLevel {
        method: name.into(),
        confidence_pct: f::round(m.es.confidence * 100.0, 2),
        expected_shortfall: f::round(m.es.value, 2),
        es_pct_of_nlv: pct_of(m.es.value, nlv),
        currency_es: f::round(m.es.currency_part, 2),
    };
    (levels, es)
}

impl Tool for VarEstimate {
    const NAME: &'static str = "ibkr_var_estimate";
    const GROUP: crate::model::ToolGroup = crate::model::ToolGroup::Risk;
    const DESCRIPTION: &'static str = "Value at Risk at 95%/99% and expected shortfall at 97.5% in base currency (currency risk included), parametric and/or historical simulation, with component VaR per position and the part from currency moves.";
    type Params = VarParams;
    type Output = VarOut;
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

    async fn run(ctx: &ToolContext, p: VarParams) -> Result<Answer<VarOut>, ToolError> {
        let view = ctx.live()?;
        let inputs = gather(ctx, &view, &p).await?;
        let mut out = estimate(&view, inputs, &p)?;
        let markdown = render(&out);
        out.warnings = crate::tools::format::warnings_in(&markdown);
        Ok(Answer {
            markdown,
            data: out,
        })
    }
}

/// Everything the VaR is computed from.
struct Inputs {
    book: Book,
    returns: Returns,
    /// Holdings left out (no price, no rate, no history).
    missing: Vec<Missing>,
    /// Currencies whose FX history is missing (rate held fixed).
    fx_missing: Vec<Missing>,
    stale: Option<Staleness>,
}

/// The book, its holdings' daily closes and their currencies' FX closes, as base-currency
/// returns on common dates.
async fn gather(
    ctx: &ToolContext,
    view: &support::LiveView,
    p: &VarParams,
) -> Result<Inputs, ToolError> {
    let tool = VarEstimate::NAME;
    let lookback = p.lookback_days.unwrap_or(252) as usize;
    let book = risk_data::book(ctx, &view.snap, p.account.as_deref()).await?;
    if book.holdings.is_empty() {
        return Err(ToolError::new(format!(
            "{tool}: the account {} holds no positions: its VaR is zero.",
            book.account_label
        )));
    }
    let mut missing = unvalued(&book);
    let items: Vec<(String, String)> = book
        .holdings
        .iter()
        .filter(|h| h.value_base.is_some())
        .map(|h| (h.symbol.clone(), h.currency.clone()))
        .collect();
    let mut currencies: Vec<String> = items
        .iter()
        .map(|(_, c)| c.clone())
        .filter(|c| *c != book.base)
        .collect();
    currencies.sort();
    currencies.dedup();
    let hist = risk_data::history(ctx, &items, lookback).await;
    let fx = risk_data::fx_history(ctx, &book.base, &currencies, lookback).await;
    missing.extend(hist.missing.iter().cloned());
    if hist.series.is_empty() {
        return Err(ToolError::new(format!(
            "{tool}: no daily history is available for any position: {}",
            risk_data::missing_words(&missing, 10)
        )));
    }
    let returns = base_returns(tool, &book, &hist, &fx, lookback)?;
    let points = returns.dates.len();
    if points < 2 || returns.symbols.is_empty() {
        return Err(ToolError::new(format!(
            "{tool}: the positions share only {points} daily return(s); at least two are needed."
        )));
    }
    Ok(Inputs {
        stale: risk_data::worst_stale(
            view.stale.clone(),
            risk_data::worst_stale(hist.stale, fx.stale),
        ),
        book,
        returns,
        missing,
        fx_missing: fx.missing,
    })
}

/// Runs the asked methods (parametric always runs: its σ describes the data) and builds the
/// answer.
fn estimate(view: &support::LiveView, inputs: Inputs, p: &VarParams) -> Result<VarOut, ToolError> {
    let tool = VarEstimate::NAME;
    let horizon = p.horizon_days.unwrap_or(1);
    let Inputs {
        book,
        returns: r,
        missing,
        fx_missing,
        stale,
    } = inputs;
    let points = r.dates.len();
    if p.method.runs(Method::Historical) && (horizon as usize) > points {
        return Err(ToolError::new(format!(
            "{tool}: a {horizon}-day historical VaR needs at least {horizon} daily returns; {points} are available. Use a shorter `horizon_days` or `method` = `parametric`."
        )));
    }
    let confidences: &[f64] = match p.confidence {
        Confidence::P95 => &[0.95],
        Confidence::P99 => &[0.99],
        Confidence::Both => &[0.95, 0.99],
    };
    let input = BookInput {
        values: &r.values,
        returns: &r.split,
        dates: &r.dates,
    };
    let err = |e: crate::analytics::AnalyticsError| ToolError::new(format!("{tool}: {e}"));
    let parametric = book_var::parametric(input, confidences, horizon as usize).map_err(err)?;
    let historical = if p.method.runs(Method::Historical) {
        Some(book_var::historical(input, confidences, horizon as usize).map_err(err)?)
    } else {
        None
    };
    let parametric_shown = p.method.runs(Method::Parametric).then_some(&parametric);
    let nlv = book.nlv();
    let mut levels = Vec::new();
    let mut es = Vec::new();
    let mut method_words = Vec::new();
    for m in parametric_shown.into_iter().chain(historical.as_ref()) {
        let (l, e) = method_rows(m, nlv);
        levels.extend(l);
        es.push(e);
        method_words.push(m.method_text(&book.base));
    }
    Ok(VarOut {
        warnings: Vec::new(),
        meta: support::meta(view.now, stale.as_ref()),
        account: book.account_label.clone(),
        base_currency: book.base.clone(),
        method: method_words.join("; "),
        lookback_days: p.lookback_days.unwrap_or(252),
        data_points: points,
        horizon_days: horizon,
        historical_scenarios: historical.as_ref().map(|h| h.scenarios),
        first_date: date_of_day(r.dates.first()),
        last_date: date_of_day(r.dates.last()),
        sigma_daily: f::round(parametric.sigma_daily.unwrap_or(0.0), 2),
        net_liquidation: nlv,
        covered_gross_value: f::round(r.values.iter().map(|v| v.abs()).sum(), 2),
        levels,
        expected_shortfall: es,
        components_confidence_pct: f::round(confidences.last().copied().unwrap_or(0.99) * 100.0, 2),
        components: components(&r, parametric_shown, historical.as_ref()),
        missing,
        currency_risk_missing: fx_missing,
        fx_rates: book.fx.clone(),
        delayed: delayed_symbols(&book),
        unconverted: book.unconverted.clone(),
    })
}

/// Methods present in the answer, in column order.
fn methods_of(out: &VarOut) -> Vec<String> {
    let mut m: Vec<String> = out
        .expected_shortfall
        .iter()
        .map(|e| e.method.clone())
        .collect();
    m.dedup();
    m
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|first| first.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The measures table: one column per method.
fn measures_table(out: &VarOut, methods: &[String]) -> String {
    let base = out.base_currency.as_str();
    let with_pct = |v: f64, pct: Option<f64>| {
        format!(
            "{} ({} of NLV)",
            f::money(Some(v), base),
            f::pct_plain(pct, 2)
        )
    };
    let level = |m: &str, c: f64| {
        out.levels
            .iter()
            .find(|l| l.method == m && l.confidence_pct == c)
    };
    let mut confidences: Vec<f64> = out.levels.iter().map(|l| l.confidence_pct).collect();
    confidences.sort_by(f64::total_cmp);
    confidences.dedup();
    let top = confidences.last().copied().unwrap_or(99.0);
    let mut rows: Vec<Vec<String>> = Vec::new();
    for &c in &confidences {
        let mut row = vec![format!("VaR {c}%")];
        row.extend(methods.iter().map(|m| {
            level(m, c).map_or_else(|| f::NA.to_string(), |l| with_pct(l.var, l.var_pct_of_nlv))
        }));
        rows.push(row);
    }
    let mut es_row = vec!["Expected shortfall 97.5%".to_string()];
    es_row.extend(methods.iter().map(|m| {
        out.expected_shortfall
            .iter()
            .find(|e| e.method == *m)
            .map_or_else(
                || f::NA.to_string(),
                |e| with_pct(e.expected_shortfall, e.es_pct_of_nlv),
            )
    }));
    rows.push(es_row);
    let mut fx_row = vec![format!("of VaR {top}%: from currency moves")];
    fx_row.extend(
        methods
            .iter()
            .map(|m| f::money(level(m, top).map(|l| l.currency_var), base)),
    );
    rows.push(fx_row);
    let mut fixed_row = vec![format!("VaR {top}% with FX rates fixed")];
    fixed_row.extend(
        methods
            .iter()
            .map(|m| f::money(level(m, top).map(|l| l.var_without_fx), base)),
    );
    rows.push(fixed_row);
    let mut headers: Vec<String> = vec!["Measure".into()];
    headers.extend(methods.iter().map(|m| capitalised(m)));
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let aligns: Vec<Align> = std::iter::once(Align::Left)
        .chain(std::iter::repeat_n(Align::Right, methods.len()))
        .collect();
    f::table(&header_refs, &aligns, &rows)
}

fn components_table(out: &VarOut, methods: &[String]) -> String {
    let base = out.base_currency.as_str();
    let parametric = methods.iter().any(|m| m == "parametric");
    let historical = methods.iter().any(|m| m == "historical");
    let mut headers = vec!["Symbol", "Value"];
    if parametric {
        headers.extend(["Parametric", "Share"]);
    }
    if historical {
        headers.extend(["Historical", "Share"]);
    }
    let rows: Vec<Vec<String>> = out
        .components
        .iter()
        .take(TABLE_ROWS)
        .map(|c| {
            let mut row = vec![c.symbol.clone(), f::money(Some(c.value_base), base)];
            if parametric {
                row.push(f::money(c.component_var, base));
                row.push(f::pct_plain(c.share_pct, 1));
            }
            if historical {
                row.push(f::money(c.historical_component_var, base));
                row.push(f::pct_plain(c.historical_share_pct, 1));
            }
            row
        })
        .collect();
    let aligns: Vec<Align> = std::iter::once(Align::Left)
        .chain(std::iter::repeat_n(Align::Right, headers.len() - 1))
        .collect();
    f::table(&headers, &aligns, &rows)
}

pub fn render(out: &VarOut) -> String {
    let base = out.base_currency.as_str();
    let horizon = out.horizon_days;
    let methods = methods_of(out);
    let title = match methods.as_slice() {
        [one] => format!("Value at Risk ({horizon}-Day, {})", capitalised(one)),
        _ => format!("Value at Risk ({horizon}-Day)"),
    };
    let mut md = out.meta.header(&title);
    let _ = writeln!(md, "Account: {}\n", out.account);
    md.push_str(&measures_table(out, &methods));
    let _ = writeln!(
        md,
        "\n**Daily P&L volatility (1σ)**: {}",
        f::money(Some(out.sigma_daily), base)
    );
    let _ = writeln!(md, "**NLV**: {}", f::money(out.net_liquidation, base));
    let scenarios = match out.historical_scenarios {
        Some(n) if horizon == 1 => format!("; historical: {n} one-day scenarios"),
        Some(n) => format!("; historical: {n} overlapping {horizon}-day scenarios"),
        None => String::new(),
    };
    let days = if horizon == 1 {
        "one day".to_string()
    } else {
        format!("{horizon} days")
    };
    let _ = writeln!(
        md,
        "**Data points**: {} daily returns{}{scenarios}\n",
        out.data_points,
        window_words(&out.first_date, &out.last_date)
    );
    let _ = writeln!(md, "## Component VaR ({}%)", out.components_confidence_pct);
    md.push_str(&components_table(out, &methods));
    if out.components.len() > TABLE_ROWS {
        let _ = writeln!(
            md,
            "\n_Largest {TABLE_ROWS} of {} components shown; all are in the JSON answer._",
            out.components.len()
        );
    }
    let c = out.components_confidence_pct;
    let _ = writeln!(
        md,
        "\n_VaR {c}%: over {days}, losses should exceed this on at most {} in 100 occasions. Expected shortfall 97.5%: the average loss on the worst 2.5% of occasions, what a loss beyond the VaR costs on average. The currency line is the part of the VaR that comes from FX rates moving against {base}; parametric assumes normal P&L, historical replays the past {} days' moves on today's holdings._",
        f::number(Some(100.0 - c), 0),
        out.data_points
    );
    let _ = writeln!(
        md,
        "\n_Method: {}. Fat tails and correlation breakdowns make real losses exceed a parametric VaR more often than the confidence suggests; a historical VaR only knows the days in its window._",
        out.method
    );
    if !out.currency_risk_missing.is_empty() {
        let _ = writeln!(
            md,
            "\n⚠️ Currency risk left out (rate held fixed) for: {}.",
            risk_data::missing_words(&out.currency_risk_missing, 10)
        );
    }
    footer(
        &mut md,
        &out.missing,
        "the VaR",
        &out.fx_rates,
        &out.unconverted,
        &out.delayed,
    );
    md
}

/// One line with the answer's key figures, for the cockpit's prompt pane and the journal.
pub fn headline(out: &VarOut) -> String {
    use crate::tools::format as f;
    let ccy = &out.base_currency;
    let Some(first) = out.levels.first() else {
        return format!("VaR not computed ({} daily returns)", out.data_points);
    };
    let levels: Vec<String> = out
        .levels
        .iter()
        .filter(|l| l.method == first.method)
        .map(|l| {
            format!(
                "{}% {} {ccy}",
                f::number(Some(l.confidence_pct), 0),
                f::number(Some(l.var), 0)
            )
        })
        .collect();
    let es = out
        .expected_shortfall
        .iter()
        .find(|e| e.method == first.method)
        .map(|e| {
            format!(
                "ES 97.5% {} {ccy}",
                f::number(Some(e.expected_shortfall), 0)
            )
        })
        .unwrap_or_default();
    f::headline(&[
        format!("VaR {}", levels.join(" · ")),
        es,
        format!("{}, {} d horizon", first.method, out.horizon_days),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_var_estimate() {
        let component =
            |symbol: &str, value: f64, cvar: f64, share: f64, hvar: f64, hshare: f64| {
                VarComponent {
                    symbol: symbol.into(),
                    value_base: value,
                    component_var: Some(cvar),
                    share_pct: Some(share),
                    marginal_var: Some(cvar / value),
                    historical_component_var: Some(hvar),
                    historical_share_pct: Some(hshare),
                }
            };
        let level = |method: &str,
                     c: f64,
                     z: Option<f64>,
                     var: f64,
                     pct: f64,
                     fx: f64,
                     fixed: f64,
                     date: Option<&str>| VarLevel {
            method: method.into(),
            confidence_pct: c,
            z,
            var,
            var_pct_of_nlv: Some(pct),
            currency_var: fx,
            var_without_fx: fixed,
            scenario_date: date.map(Into::into),
        };
        let out = VarOut {
            warnings: Vec::new(),
            meta: support::meta(1_777_828_664_000, None),
            account: "DU****4321".into(),
            base_currency: "CAD".into(),
            method: "parametric (variance–covariance): …; historical simulation: …".into(),
            lookback_days: 252,
            data_points: 251,
            horizon_days: 10,
            historical_scenarios: Some(242),
            first_date: Some("2025-05-02".into()),
            last_date: Some("2026-05-01".into()),
            sigma_daily: 2_412.77,
            net_liquidation: Some(120_675.0),
            covered_gross_value: 111_716.0,
            levels: vec![
                level(
                    "parametric",
                    95.0,
                    Some(1.644854),
                    12_549.9,
                    10.3997,
                    1_020.5,
                    11_700.2,
                    None,
                ),
                level(
                    "parametric",
                    99.0,
                    Some(2.326348),
                    17_749.6,
                    14.7086,
                    1_443.3,
                    16_548.0,
                    None,
                ),
                level(
                    "historical",
                    95.0,
                    None,
                    13_020.0,
                    10.7893,
                    0.0,
                    12_400.0,
                    Some("2026-03-12"),
                ),
                level(
                    "historical",
                    99.0,
                    None,
                    21_310.4,
                    17.6593,
                    2_105.0,
                    19_980.1,
                    Some("2025-08-05"),
                ),
            ],
            expected_shortfall: vec![
                EsLevel {
                    method: "parametric".into(),
                    confidence_pct: 97.5,
                    expected_shortfall: 17_655.2,
                    es_pct_of_nlv: Some(14.6304),
                    currency_es: 1_435.6,
                },
                EsLevel {
                    method: "historical".into(),
                    confidence_pct: 97.5,
                    expected_shortfall: 22_870.0,
                    es_pct_of_nlv: Some(18.9517),
                    currency_es: 2_300.1,
                },
            ],
            components_confidence_pct: 99.0,
            components: vec![
                component("KRYX", 65_016.0, 13_120.4, 73.92, 15_002.3, 70.4),
                component("VLTX", 32_100.0, 5_210.1, 29.35, 7_100.0, 33.32),
                component("HDRX", -14_600.0, -580.9, -3.27, -791.9, -3.72),
            ],
            missing: vec![Missing {
                symbol: "OMRA".into(),
                reason: "no price or no HKD→CAD rate".into(),
            }],
            currency_risk_missing: vec![Missing {
                symbol: "EUR".into(),
                reason: "no daily EUR.CAD history: pacing window full, try again in 4 min".into(),
            }],
            fx_rates: vec![FxUsed {
                pair: "USD.CAD".into(),
                rate: 1.36,
            }],
            delayed: vec!["VLTX".into()],
            unconverted: vec!["HKD".into()],
        };
        insta::assert_snapshot!("render_var_estimate", render(&out));
        insta::assert_snapshot!("headline_var_estimate", [headline(&out)].join("\n"));
    }
}
