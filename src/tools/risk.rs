//! Risk tools over daily-return histories: `ibkr_correlation_matrix`, `ibkr_portfolio_beta`,
//! `ibkr_var_estimate`. The math is `analytics/` (Pearson correlation, OLS beta, covariance VaR
//! with Euler component VaR); this file fetches histories through the bar cache, values the
//! book in base currency and writes the answer, stating method and data window.

use super::format::{self as f, Align};
use super::risk_data::{self, Book, History, Missing};
use super::support::{self, FxUsed, Meta};
use super::{Answer, Tool, ToolContext, ToolError};
use crate::analytics::{beta, stats, var};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Matrices up to this many symbols are printed in full; larger ones list the extreme pairs.
const MATRIX_TABLE_MAX: usize = 12;
/// The JSON carries the full matrix up to this many symbols (500² numbers is megabytes).
const MATRIX_JSON_MAX: usize = 100;
/// Rows of per-position tables shown in markdown for large books (JSON has all).
const TABLE_ROWS: usize = 25;

fn date_of_day(day: Option<&i64>) -> Option<String> {
    day.map(|d| f::date(d * 86_400))
}

fn footer(md: &mut String, book: &Book, missing: &[Missing], what: &str) {
    if !missing.is_empty() {
        let _ = writeln!(
            md,
            "\n⚠️ Left out of {what} (no usable daily history): {}. Bars that were fetched are cached, so a later call only asks for the rest.",
            risk_data::missing_words(missing, 10)
        );
    }
    md.push_str(&super::account::fx_lines(&book.fx, &book.unconverted));
    let delayed: Vec<String> = book
        .holdings
        .iter()
        .filter(|h| h.delayed)
        .map(|h| h.symbol.clone())
        .take(30)
        .collect();
    if let Some(note) = f::delayed_note(&delayed) {
        md.push('\n');
        md.push_str(&note);
    }
}

fn delayed_symbols(book: &Book) -> Vec<String> {
    book.holdings
        .iter()
        .filter(|h| h.delayed)
        .map(|h| h.symbol.clone())
        .collect()
}

/// `(symbol, currency)` of every held position.
fn held_items(book: &Book) -> Vec<(String, String)> {
    book.holdings
        .iter()
        .map(|h| (h.symbol.clone(), h.currency.clone()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// ibkr_correlation_matrix

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrelationParams {
    /// Daily returns to use (20–756; default 60). 252 ≈ one year.
    #[schemars(range(min = 20, max = 756))]
    pub lookback_days: Option<u32>,
    /// Symbols to correlate (JSON array or "KRYX,VLTX"); default every held position.
    pub symbols: Option<Vec<String>>,
    /// Account id (or masked form) whose holdings are the default. Default: the primary account.
    pub account: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct CorrelationPair {
    pub a: String,
    pub b: String,
    pub correlation: f64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CorrelationOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub account: String,
    /// "Pearson correlation of daily simple returns".
    pub method: String,
    pub lookback_days: u32,
    /// Daily returns actually used (common dates of every symbol).
    pub data_points: usize,
    pub first_date: Option<String>,
    pub last_date: Option<String>,
    pub symbols: Vec<String>,
    /// Full matrix in `symbols` order (null entries: a constant series); omitted above 100 symbols.
    pub matrix: Option<Vec<Vec<Option<f64>>>>,
    pub highest: Option<CorrelationPair>,
    pub lowest: Option<CorrelationPair>,
    pub average_pairwise: Option<f64>,
    pub pairs: usize,
    /// The 10 most correlated pairs, highest first.
    pub top_pairs: Vec<CorrelationPair>,
    /// The 10 least correlated pairs, lowest first.
    pub bottom_pairs: Vec<CorrelationPair>,
    pub missing: Vec<Missing>,
    pub delayed: Vec<String>,
}

pub struct CorrelationMatrix;

impl Tool for CorrelationMatrix {
    const NAME: &'static str = "ibkr_correlation_matrix";
    const GROUP: crate::model::ToolGroup = crate::model::ToolGroup::Risk;
    const DESCRIPTION: &'static str = "Pearson correlation of daily returns between holdings (or given symbols): matrix, highest, lowest and average pairwise, data points used.";
    type Params = CorrelationParams;
    type Output = CorrelationOut;

    async fn run(
        ctx: &ToolContext,
        p: CorrelationParams,
    ) -> Result<Answer<CorrelationOut>, ToolError> {
        let lookback = p.lookback_days.unwrap_or(60);
        let view = ctx.live()?;
        let book = risk_data::book(ctx, &view.snap, p.account.as_deref()).await?;
        let items: Vec<(String, String)> = match &p.symbols {
            Some(list) if !list.is_empty() => support::symbols(Self::NAME, list)?
                .into_iter()
                .map(|s| {
                    let ccy = book.find(&s).map_or("USD".into(), |h| h.currency.clone());
                    (s, ccy)
                })
                .collect(),
            _ => held_items(&book),
        };
        if items.len() < 2 {
            return Err(ToolError::new(format!(
                "{}: correlation needs at least two symbols; {} given{}. Pass `symbols` such as \"KRYX,VLTX\".",
                Self::NAME,
                items.len(),
                if p.symbols.is_none() {
                    " (the account holds fewer than two positions)"
                } else {
                    ""
                }
            )));
        }
        let hist = risk_data::history(ctx, &items, lookback as usize).await;
        let out = correlation(&view, &book, &hist, lookback)?;
        let stale = risk_data::worst_stale(view.stale.clone(), hist.stale.clone());
        let mut md = support::header(
            &format!("Correlation Matrix ({lookback}D)"),
            view.now,
            stale.as_ref(),
        );
        let _ = writeln!(md, "Account: {}\n", out.account);
        let n = out.symbols.len();
        if n <= MATRIX_TABLE_MAX {
            let m = out.matrix.as_deref().unwrap_or_default();
            let mut headers: Vec<&str> = vec![""];
            headers.extend(out.symbols.iter().map(String::as_str));
            let aligns: Vec<Align> = std::iter::once(Align::Left)
                .chain(std::iter::repeat_n(Align::Right, n))
                .collect();
            let rows: Vec<Vec<String>> = out
                .symbols
                .iter()
                .zip(m)
                .map(|(s, row)| {
                    std::iter::once(s.clone())
                        .chain(row.iter().map(|v| f::number(*v, 2)))
                        .collect()
                })
                .collect();
            md.push_str(&f::table(&headers, &aligns, &rows));
        } else {
            let _ = writeln!(
                md,
                "{n} symbols: {} pairs. The full matrix is {}; the extreme pairs:\n",
                out.pairs,
                if out.matrix.is_some() {
                    "in the JSON answer"
                } else {
                    "too large to print (ask for up to 100 symbols to get it in JSON)"
                }
            );
            let pair_rows = |pairs: &[CorrelationPair]| -> Vec<Vec<String>> {
                pairs
                    .iter()
                    .map(|p| {
                        vec![
                            format!("{}/{}", p.a, p.b),
                            f::number(Some(p.correlation), 2),
                        ]
                    })
                    .collect()
            };
            md.push_str("### Most correlated\n");
            md.push_str(&f::table(
                &["Pair", "Correlation"],
                &[Align::Left, Align::Right],
                &pair_rows(&out.top_pairs),
            ));
            md.push_str("\n### Least correlated\n");
            md.push_str(&f::table(
                &["Pair", "Correlation"],
                &[Align::Left, Align::Right],
                &pair_rows(&out.bottom_pairs),
            ));
        }
        let pair_words = |p: &Option<CorrelationPair>| match p {
            Some(p) => format!("{}/{} = {:.2}", p.a, p.b, p.correlation),
            None => f::NA.to_string(),
        };
        let _ = writeln!(
            md,
            "\n**Highest correlation**: {}",
            pair_words(&out.highest)
        );
        let _ = writeln!(md, "**Lowest correlation**: {}", pair_words(&out.lowest));
        let _ = writeln!(
            md,
            "**Average pairwise correlation**: {}",
            f::number(out.average_pairwise, 2)
        );
        let _ = writeln!(
            md,
            "**Data points**: {} daily returns{}",
            out.data_points,
            match (&out.first_date, &out.last_date) {
                (Some(a), Some(b)) => format!(" ({a} to {b})"),
                _ => String::new(),
            }
        );
        if out.data_points < lookback as usize {
            let _ = writeln!(
                md,
                "\n_Only {} common daily returns exist for these symbols, fewer than the {lookback} asked._",
                out.data_points
            );
        }
        let _ = writeln!(
            md,
            "\n_Method: {}; an average pairwise correlation above 0.7 means the book behaves like one position._",
            out.method
        );
        footer(&mut md, &book, &out.missing, "the matrix");
        Ok(Answer {
            markdown: md,
            data: CorrelationOut {
                meta: support::meta(view.now, stale.as_ref()),
                ..out
            },
        })
    }
}

fn pair(symbols: &[String], i: usize, j: usize, v: f64) -> CorrelationPair {
    CorrelationPair {
        a: symbols[i].clone(),
        b: symbols[j].clone(),
        correlation: f::round(v, 4),
    }
}

/// The correlation answer's numbers (markdown is written by the tool).
fn correlation(
    view: &support::LiveView,
    book: &Book,
    hist: &History,
    lookback: u32,
) -> Result<CorrelationOut, ToolError> {
    let tool = CorrelationMatrix::NAME;
    if hist.series.len() < 2 {
        return Err(ToolError::new(format!(
            "{tool}: daily history is available for {} symbol(s), at least two are needed. Missing: {}",
            hist.series.len(),
            risk_data::missing_words(&hist.missing, 10)
        )));
    }
    let r = risk_data::aligned_returns(tool, hist, lookback as usize)?;
    let points = r.dates.len();
    if points < 2 {
        return Err(ToolError::new(format!(
            "{tool}: these symbols share only {points} daily return(s); at least two are needed."
        )));
    }
    let m = stats::correlation_matrix(&r.returns)
        .map_err(|e| ToolError::new(format!("{tool}: {e}")))?;
    let summary = stats::pair_summary(&m);
    let k = r.symbols.len();
    let mut all_pairs: Vec<(usize, usize, f64)> = Vec::with_capacity(k * (k - 1) / 2);
    for (i, row) in m.iter().enumerate() {
        for (j, v) in row.iter().enumerate().skip(i + 1) {
            if v.is_finite() {
                all_pairs.push((i, j, *v));
            }
        }
    }
    all_pairs.sort_by(|a, b| b.2.total_cmp(&a.2));
    let top: Vec<CorrelationPair> = all_pairs
        .iter()
        .take(10)
        .map(|&(i, j, v)| pair(&r.symbols, i, j, v))
        .collect();
    let bottom: Vec<CorrelationPair> = all_pairs
        .iter()
        .rev()
        .take(10)
        .map(|&(i, j, v)| pair(&r.symbols, i, j, v))
        .collect();
    Ok(CorrelationOut {
        meta: view.meta(),
        account: book.account_label.clone(),
        method: format!("Pearson correlation of {points} daily simple returns (close to close)"),
        lookback_days: lookback,
        data_points: points,
        first_date: date_of_day(r.dates.first()),
        last_date: date_of_day(r.dates.last()),
        matrix: (k <= MATRIX_JSON_MAX).then(|| {
            m.iter()
                .map(|row| {
                    row.iter()
                        .map(|v| v.is_finite().then(|| f::round(*v, 4)))
                        .collect()
                })
                .collect()
        }),
        highest: summary
            .as_ref()
            .map(|s| pair(&r.symbols, s.highest.0, s.highest.1, s.highest.2)),
        lowest: summary
            .as_ref()
            .map(|s| pair(&r.symbols, s.lowest.0, s.lowest.1, s.lowest.2)),
        average_pairwise: summary.as_ref().map(|s| f::round(s.average, 4)),
        pairs: summary.as_ref().map_or(0, |s| s.pairs),
        top_pairs: top,
        bottom_pairs: bottom,
        symbols: r.symbols,
        missing: hist.missing.clone(),
        delayed: delayed_symbols(book),
    })
}

// ---------------------------------------------------------------------------------------------
// ibkr_portfolio_beta

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BetaParams {
    /// Benchmark symbol (default SPY).
    pub benchmark: Option<String>,
    /// Daily returns to use (20–756; default 60).
    #[schemars(range(min = 20, max = 756))]
    pub lookback_days: Option<u32>,
    /// Account id (or masked form). Default: the primary account.
    pub account: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BetaRow {
    pub symbol: String,
    pub beta: Option<f64>,
    /// Signed market value, base currency.
    pub value_base: Option<f64>,
    /// Percent of gross position value (base currency).
    pub weight_pct: Option<f64>,
    /// value × beta, base currency.
    pub beta_adjusted_exposure: Option<f64>,
    pub delayed: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct BetaOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub account: String,
    pub base_currency: String,
    pub benchmark: String,
    pub method: String,
    pub lookback_days: u32,
    pub data_points: usize,
    pub first_date: Option<String>,
    pub last_date: Option<String>,
    /// Σ wᵢβᵢ with gross weights over positions that have a beta.
    pub portfolio_beta: Option<f64>,
    /// Σ valueᵢβᵢ, base currency: the benchmark exposure the book behaves like.
    pub beta_adjusted_exposure: Option<f64>,
    /// Beta-adjusted exposure as a percent of NLV.
    pub beta_adjusted_pct_of_nlv: Option<f64>,
    pub net_liquidation: Option<f64>,
    pub positions: Vec<BetaRow>,
    pub missing: Vec<Missing>,
    pub fx_rates: Vec<FxUsed>,
    pub unconverted: Vec<String>,
}

pub struct PortfolioBeta;

impl Tool for PortfolioBeta {
    const NAME: &'static str = "ibkr_portfolio_beta";
    const GROUP: crate::model::ToolGroup = crate::model::ToolGroup::Risk;
    const DESCRIPTION: &'static str = "Per-position beta against a benchmark (default SPY), the weighted portfolio beta and the beta-adjusted exposure in base currency.";
    type Params = BetaParams;
    type Output = BetaOut;

    async fn run(ctx: &ToolContext, p: BetaParams) -> Result<Answer<BetaOut>, ToolError> {
        let lookback = p.lookback_days.unwrap_or(60);
        let benchmark = support::symbol(Self::NAME, p.benchmark.as_deref().unwrap_or("SPY"))?;
        let view = ctx.live()?;
        let book = risk_data::book(ctx, &view.snap, p.account.as_deref()).await?;
        if book.holdings.is_empty() {
            return Err(ToolError::new(format!(
                "{}: the account {} holds no positions, so there is no beta to compute.",
                Self::NAME,
                book.account_label
            )));
        }
        let bench_hist =
            risk_data::history(ctx, &[(benchmark.clone(), "USD".into())], lookback as usize).await;
        if bench_hist.series.is_empty() {
            let unknown = bench_hist
                .missing
                .iter()
                .any(|m| m.reason.starts_with("unknown symbol"));
            return Err(ToolError::new(format!(
                "{}: no daily history for the benchmark {}.{}",
                Self::NAME,
                risk_data::missing_words(&bench_hist.missing, 1),
                if unknown {
                    " Try a benchmark IB knows, such as SPY or QQQ."
                } else {
                    ""
                }
            )));
        }
        let items: Vec<(String, String)> = held_items(&book)
            .into_iter()
            .filter(|(s, _)| *s != benchmark)
            .collect();
        let hist = risk_data::history(ctx, &items, lookback as usize).await;
        let mut all = History {
            series: bench_hist.series.clone(),
            missing: hist.missing.clone(),
            stale: risk_data::worst_stale(bench_hist.stale.clone(), hist.stale.clone()),
        };
        all.series.extend(hist.series.iter().cloned());
        let r = risk_data::aligned_returns(Self::NAME, &all, lookback as usize)?;
        let points = r.dates.len();
        if points < 2 {
            return Err(ToolError::new(format!(
                "{}: the holdings and {benchmark} share only {points} daily return(s); at least two are needed.",
                Self::NAME
            )));
        }
        let bench = &r.returns[0];
        let mut betas: std::collections::HashMap<&str, f64> = std::collections::HashMap::new();
        for (s, ret) in r.symbols.iter().zip(&r.returns).skip(1) {
            if let Ok(b) = beta::beta(ret, bench) {
                betas.insert(s.as_str(), b);
            }
        }
        // The benchmark held as a position has a beta of exactly 1.
        betas.insert(benchmark.as_str(), 1.0);
        let gross = book.gross_base();
        let rows: Vec<BetaRow> = book
            .holdings
            .iter()
            .map(|h| {
                let b = betas
                    .get(h.symbol.as_str())
                    .copied()
                    .filter(|b| b.is_finite());
                BetaRow {
                    symbol: h.symbol.clone(),
                    beta: b.map(|x| f::round(x, 4)),
                    value_base: h.value_base.map(|v| f::round(v, 2)),
                    weight_pct: h
                        .value_base
                        .filter(|_| gross > 0.0)
                        .map(|v| f::round(v.abs() / gross * 100.0, 4)),
                    beta_adjusted_exposure: h.value_base.zip(b).map(|(v, b)| f::round(v * b, 2)),
                    delayed: h.delayed,
                }
            })
            .collect();
        let inputs: Vec<(f64, f64)> = book
            .holdings
            .iter()
            .map(|h| {
                (
                    h.value_base.unwrap_or(f64::NAN),
                    betas.get(h.symbol.as_str()).copied().unwrap_or(f64::NAN),
                )
            })
            .collect();
        let pb = beta::portfolio_beta(&inputs);
        let nlv = book.nlv();
        let base = book.base.clone();
        let stale = risk_data::worst_stale(view.stale.clone(), all.stale.clone());
        let exposure =
            f::json_num(Some(pb.beta_adjusted_exposure)).filter(|_| pb.gross_value > 0.0);
        let out = BetaOut {
            meta: support::meta(view.now, stale.as_ref()),
            account: book.account_label.clone(),
            base_currency: base.clone(),
            benchmark: benchmark.clone(),
            method: format!(
                "OLS beta = cov(position, {benchmark}) / var({benchmark}) over {points} daily simple returns; portfolio beta weights each position by its share of gross value"
            ),
            lookback_days: lookback,
            data_points: points,
            first_date: date_of_day(r.dates.first()),
            last_date: date_of_day(r.dates.last()),
            portfolio_beta: f::json_num(Some(pb.beta)).map(|b| f::round(b, 4)),
            beta_adjusted_exposure: exposure.map(|e| f::round(e, 2)),
            beta_adjusted_pct_of_nlv: match (exposure, nlv) {
                (Some(e), Some(n)) if n != 0.0 => Some(f::round(e / n * 100.0, 4)),
                _ => None,
            },
            net_liquidation: nlv,
            positions: rows,
            missing: all.missing.clone(),
            fx_rates: book.fx.clone(),
            unconverted: book.unconverted.clone(),
        };
        let mut md = support::header(
            &format!("Portfolio Beta vs {benchmark} ({lookback}D)"),
            view.now,
            stale.as_ref(),
        );
        let _ = writeln!(md, "Account: {}\n", out.account);
        let _ = writeln!(
            md,
            "**Portfolio beta**: {}",
            f::number(out.portfolio_beta, 2)
        );
        let _ = writeln!(
            md,
            "**Beta-adjusted exposure**: {} ({} of NLV)",
            f::money(out.beta_adjusted_exposure, &base),
            f::pct_plain(out.beta_adjusted_pct_of_nlv, 1)
        );
        let _ = writeln!(md, "**NLV**: {}", f::money(nlv, &base));
        let _ = writeln!(
            md,
            "**Data points**: {points} daily returns{}\n",
            match (&out.first_date, &out.last_date) {
                (Some(a), Some(b)) => format!(" ({a} to {b})"),
                _ => String::new(),
            }
        );
        let table: Vec<Vec<String>> = out
            .positions
            .iter()
            .take(TABLE_ROWS)
            .map(|r| {
                vec![
                    r.symbol.clone(),
                    f::number(r.beta, 2),
                    f::pct_plain(r.weight_pct, 1),
                    f::money(r.value_base, &base),
                    f::money(r.beta_adjusted_exposure, &base),
                ]
            })
            .collect();
        md.push_str(&f::table(
            &["Symbol", "Beta", "Weight", "Value", "Beta-Adj. Exposure"],
            &[
                Align::Left,
                Align::Right,
                Align::Right,
                Align::Right,
                Align::Right,
            ],
            &table,
        ));
        if out.positions.len() > TABLE_ROWS {
            let _ = writeln!(
                md,
                "\n_Largest {TABLE_ROWS} of {} positions shown; all are in the JSON answer and in the totals._",
                out.positions.len()
            );
        }
        let _ = writeln!(md, "\n_Method: {}._", out.method);
        footer(&mut md, &book, &out.missing, "the betas");
        Ok(Answer {
            markdown: md,
            data: out,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// ibkr_var_estimate

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

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VarParams {
    /// `95`, `99` or `both` (default).
    #[serde(default)]
    pub confidence: Confidence,
    /// Daily returns used for the covariance matrix (20–756; default 252).
    #[schemars(range(min = 20, max = 756))]
    pub lookback_days: Option<u32>,
    /// Horizon in trading days (1–250; default 1), scaled by √h.
    #[schemars(range(min = 1, max = 250))]
    pub horizon_days: Option<u32>,
    /// Account id (or masked form). Default: the primary account.
    pub account: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct VarLevel {
    /// Percent, e.g. 95.
    pub confidence_pct: f64,
    /// Normal quantile used.
    pub z: f64,
    /// Loss not exceeded with this confidence over the horizon, base currency (positive).
    pub var: f64,
    pub var_pct_of_nlv: Option<f64>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct VarComponent {
    pub symbol: String,
    /// Signed value, base currency.
    pub value_base: f64,
    /// Component VaR at the highest confidence reported, base currency (sums to VaR).
    pub component_var: f64,
    /// Share of VaR, percent (negative: the position hedges the rest).
    pub share_pct: f64,
    /// VaR added per unit of base currency in the position.
    pub marginal_var: f64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct VarOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub account: String,
    pub base_currency: String,
    pub method: String,
    pub lookback_days: u32,
    pub data_points: usize,
    pub horizon_days: u32,
    pub first_date: Option<String>,
    pub last_date: Option<String>,
    /// One-day standard deviation of the book's P&L, base currency.
    pub sigma_daily: f64,
    pub net_liquidation: Option<f64>,
    /// Gross value of the positions the VaR covers, base currency.
    pub covered_gross_value: f64,
    pub levels: Vec<VarLevel>,
    /// Confidence (percent) of the component breakdown.
    pub components_confidence_pct: f64,
    pub components: Vec<VarComponent>,
    /// Positions left out (no history or no FX rate).
    pub missing: Vec<Missing>,
    pub fx_rates: Vec<FxUsed>,
    pub delayed: Vec<String>,
}

pub struct VarEstimate;

impl Tool for VarEstimate {
    const NAME: &'static str = "ibkr_var_estimate";
    const GROUP: crate::model::ToolGroup = crate::model::ToolGroup::Risk;
    const DESCRIPTION: &'static str = "Parametric (covariance) Value at Risk at 95%/99% in base currency, with component VaR per position.";
    type Params = VarParams;
    type Output = VarOut;

    async fn run(ctx: &ToolContext, p: VarParams) -> Result<Answer<VarOut>, ToolError> {
        let lookback = p.lookback_days.unwrap_or(252);
        let horizon = p.horizon_days.unwrap_or(1);
        let view = ctx.live()?;
        let book = risk_data::book(ctx, &view.snap, p.account.as_deref()).await?;
        if book.holdings.is_empty() {
            return Err(ToolError::new(format!(
                "{}: the account {} holds no positions: its VaR is zero.",
                Self::NAME,
                book.account_label
            )));
        }
        let mut missing: Vec<Missing> = book
            .holdings
            .iter()
            .filter(|h| h.value_base.is_none())
            .map(|h| Missing {
                symbol: h.symbol.clone(),
                reason: format!("no price or no {}→{} rate", h.currency, book.base),
            })
            .collect();
        let items: Vec<(String, String)> = book
            .holdings
            .iter()
            .filter(|h| h.value_base.is_some())
            .map(|h| (h.symbol.clone(), h.currency.clone()))
            .collect();
        let hist = risk_data::history(ctx, &items, lookback as usize).await;
        missing.extend(hist.missing.iter().cloned());
        if hist.series.is_empty() {
            return Err(ToolError::new(format!(
                "{}: no daily history is available for any position: {}",
                Self::NAME,
                risk_data::missing_words(&missing, 10)
            )));
        }
        let r = risk_data::aligned_returns(Self::NAME, &hist, lookback as usize)?;
        let points = r.dates.len();
        if points < 2 {
            return Err(ToolError::new(format!(
                "{}: the positions share only {points} daily return(s); at least two are needed.",
                Self::NAME
            )));
        }
        let values: Vec<f64> = r
            .symbols
            .iter()
            .map(|s| book.find(s).and_then(|h| h.value_base).unwrap_or(0.0))
            .collect();
        let cov = stats::covariance_matrix(&r.returns)
            .map_err(|e| ToolError::new(format!("{}: {e}", Self::NAME)))?;
        let confidences: &[f64] = match p.confidence {
            Confidence::P95 => &[0.95],
            Confidence::P99 => &[0.99],
            Confidence::Both => &[0.95, 0.99],
        };
        let mut results = Vec::with_capacity(confidences.len());
        for &c in confidences {
            results.push(
                var::parametric_var(&values, &cov, c, f64::from(horizon))
                    .map_err(|e| ToolError::new(format!("{}: {e}", Self::NAME)))?,
            );
        }
        let nlv = book.nlv();
        let base = book.base.clone();
        let levels: Vec<VarLevel> = results
            .iter()
            .map(|v| VarLevel {
                confidence_pct: f::round(v.confidence * 100.0, 2),
                z: f::round(v.z, 6),
                var: f::round(v.var, 2),
                var_pct_of_nlv: nlv
                    .filter(|n| *n != 0.0)
                    .map(|n| f::round(v.var / n * 100.0, 4)),
            })
            .collect();
        // Components at the highest confidence asked (99% when both).
        let Some(top) = results.last() else {
            return Err(ToolError::new(format!(
                "{}: no confidence level to compute",
                Self::NAME
            )));
        };
        let mut components: Vec<VarComponent> = r
            .symbols
            .iter()
            .enumerate()
            .map(|(i, s)| VarComponent {
                symbol: s.clone(),
                value_base: f::round(values[i], 2),
                component_var: f::round(top.component[i], 2),
                share_pct: f::round(top.component_share[i] * 100.0, 4),
                marginal_var: f::round(top.marginal[i], 6),
            })
            .collect();
        components.sort_by(|a, b| {
            b.component_var
                .total_cmp(&a.component_var)
                .then_with(|| a.symbol.cmp(&b.symbol))
        });
        let stale = risk_data::worst_stale(view.stale.clone(), hist.stale.clone());
        let conf_words = levels
            .iter()
            .map(|l| format!("{}%", l.confidence_pct))
            .collect::<Vec<_>>()
            .join(" and ");
        let out = VarOut {
            meta: support::meta(view.now, stale.as_ref()),
            account: book.account_label.clone(),
            base_currency: base.clone(),
            method: format!(
                "parametric VaR by the covariance method: {conf_words}, {horizon}-day horizon (√{horizon} scaling), zero-mean normal P&L, sample covariance of {points} daily simple returns; component VaR by Euler allocation (sums to VaR)"
            ),
            lookback_days: lookback,
            data_points: points,
            horizon_days: horizon,
            first_date: date_of_day(r.dates.first()),
            last_date: date_of_day(r.dates.last()),
            sigma_daily: f::round(top.sigma_daily, 2),
            net_liquidation: nlv,
            covered_gross_value: f::round(values.iter().map(|v| v.abs()).sum(), 2),
            levels,
            components_confidence_pct: f::round(top.confidence * 100.0, 2),
            components,
            missing,
            fx_rates: book.fx.clone(),
            delayed: delayed_symbols(&book),
        };
        let title = if horizon == 1 {
            "Value at Risk (1-Day, Parametric)".to_string()
        } else {
            format!("Value at Risk ({horizon}-Day, Parametric)")
        };
        let mut md = support::header(&title, view.now, stale.as_ref());
        let _ = writeln!(md, "Account: {}\n", out.account);
        for l in &out.levels {
            let _ = writeln!(
                md,
                "**VaR {}%**: {} ({} of NLV)",
                l.confidence_pct,
                f::money(Some(l.var), &base),
                f::pct_plain(l.var_pct_of_nlv, 2)
            );
        }
        let _ = writeln!(
            md,
            "**Daily P&L volatility (1σ)**: {}",
            f::money(Some(out.sigma_daily), &base)
        );
        let _ = writeln!(md, "**NLV**: {}", f::money(nlv, &base));
        let _ = writeln!(
            md,
            "**Data points**: {points} daily returns{}\n",
            match (&out.first_date, &out.last_date) {
                (Some(a), Some(b)) => format!(" ({a} to {b})"),
                _ => String::new(),
            }
        );
        let _ = writeln!(md, "## Component VaR ({}%)", out.components_confidence_pct);
        let rows: Vec<Vec<String>> = out
            .components
            .iter()
            .take(TABLE_ROWS)
            .map(|c| {
                vec![
                    c.symbol.clone(),
                    f::money(Some(c.value_base), &base),
                    f::money(Some(c.component_var), &base),
                    f::pct_plain(Some(c.share_pct), 1),
                ]
            })
            .collect();
        md.push_str(&f::table(
            &["Symbol", "Value", "Component VaR", "Share of VaR"],
            &[Align::Left, Align::Right, Align::Right, Align::Right],
            &rows,
        ));
        if out.components.len() > TABLE_ROWS {
            let _ = writeln!(
                md,
                "\n_Largest {TABLE_ROWS} of {} components shown; all are in the JSON answer._",
                out.components.len()
            );
        }
        let _ = writeln!(
            md,
            "\n_Method: {}. Fat tails and correlation breakdowns make real losses exceed this more often than the confidence suggests._",
            out.method
        );
        footer(&mut md, &book, &out.missing, "the VaR");
        Ok(Answer {
            markdown: md,
            data: out,
        })
    }
}
