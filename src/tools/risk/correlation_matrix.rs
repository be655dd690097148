//! `ibkr_correlation_matrix`: Pearson correlation of daily returns between holdings (or given
//! symbols), with the extreme and average pairs and the data window used.

use super::{date_of_day, delayed_symbols, footer, held_items, window_words};
use crate::analytics::{correlation, stats};
use crate::tools::format::{self as f, Align};
use crate::tools::risk_data::{self, Book, History, Missing};
use crate::tools::support::{self, FxUsed, Meta};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Matrices up to this many symbols are printed in full; larger ones list the extreme pairs.
const MATRIX_TABLE_MAX: usize = 12;
/// The JSON carries the full matrix up to this many symbols (500² numbers is megabytes).
const MATRIX_JSON_MAX: usize = 100;

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
    #[serde(serialize_with = "crate::tools::format::dp4")]
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
    #[serde(serialize_with = "crate::tools::format::dp4")]
    pub matrix: Option<Vec<Vec<Option<f64>>>>,
    pub highest: Option<CorrelationPair>,
    pub lowest: Option<CorrelationPair>,
    #[serde(serialize_with = "crate::tools::format::dp4")]
    pub average_pairwise: Option<f64>,
    pub pairs: usize,
    /// The 10 most correlated pairs, highest first.
    pub top_pairs: Vec<CorrelationPair>,
    /// The 10 least correlated pairs, lowest first.
    pub bottom_pairs: Vec<CorrelationPair>,
    pub missing: Vec<Missing>,
    pub delayed: Vec<String>,
    /// FX rates used to value the book (footnote).
    #[serde(skip)]
    pub fx_rates: Vec<FxUsed>,
    /// Currencies without a rate (footnote).
    #[serde(skip)]
    pub unconverted: Vec<String>,
    /// What the markdown warns about, in its words (stale data, delayed quotes, missing FX,
    /// partial coverage, ...); empty when it warns about nothing.
    pub warnings: Vec<String>,
}

pub struct CorrelationMatrix;

impl Tool for CorrelationMatrix {
    const NAME: &'static str = "ibkr_correlation_matrix";
    const GROUP: crate::model::ToolGroup = crate::model::ToolGroup::Risk;
    const DESCRIPTION: &'static str = "Pearson correlation of daily returns between holdings (or given symbols): matrix, highest, lowest and average pairwise, data points used.";
    type Params = CorrelationParams;
    type Output = CorrelationOut;
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

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
        let stale = risk_data::worst_stale(view.stale.clone(), hist.stale.clone());
        let mut out = correlation(
            support::meta(view.now, stale.as_ref()),
            &book,
            &hist,
            lookback,
        )?;
        let markdown = render(&out);
        out.warnings = crate::tools::format::warnings_in(&markdown);
        Ok(Answer {
            markdown,
            data: out,
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

/// The correlation answer's numbers.
fn correlation(
    meta: Meta,
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
    let r = correlation::of_daily_closes(&hist.series, lookback as usize).map_err(|e| {
        ToolError::new(format!(
            "{tool}: could not correlate the symbols' daily returns: {e}"
        ))
    })?;
    let points = r.days.len();
    let m = &r.matrix;
    let summary = stats::pair_summary(m);
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
        warnings: Vec::new(),
        meta,
        account: book.account_label.clone(),
        method: format!("Pearson correlation of {points} daily simple returns (close to close)"),
        lookback_days: lookback,
        data_points: points,
        first_date: date_of_day(r.days.first()),
        last_date: date_of_day(r.days.last()),
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
        fx_rates: book.fx.clone(),
        unconverted: book.unconverted.clone(),
    })
}

pub fn render(out: &CorrelationOut) -> String {
    let lookback = out.lookback_days;
    let mut md = out
        .meta
        .header(&format!("Correlation Matrix ({lookback}D)"));
    let _ = writeln!(md, "Account: {}\n", out.account);
    if out.symbols.len() <= MATRIX_TABLE_MAX {
        render_matrix(&mut md, out);
    } else {
        render_extreme_pairs(&mut md, out);
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
        window_words(&out.first_date, &out.last_date)
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
    footer(
        &mut md,
        &out.missing,
        "the matrix",
        &out.fx_rates,
        &out.unconverted,
        &out.delayed,
    );
    md
}

fn render_matrix(md: &mut String, out: &CorrelationOut) {
    let n = out.symbols.len();
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
}

fn render_extreme_pairs(md: &mut String, out: &CorrelationOut) {
    let _ = writeln!(
        md,
        "{} symbols: {} pairs. The full matrix is {}; the extreme pairs:\n",
        out.symbols.len(),
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

/// One line with the answer's key figures, for the cockpit's prompt pane and the journal.
pub fn headline(out: &CorrelationOut) -> String {
    use crate::tools::format as f;
    let pair = |p: &Option<CorrelationPair>, word: &str| {
        p.as_ref()
            .map(|p| {
                format!(
                    "{word} {}/{} {}",
                    p.a,
                    p.b,
                    f::number(Some(p.correlation), 2)
                )
            })
            .unwrap_or_default()
    };
    f::headline(&[
        format!(
            "{} symbols, {} daily returns",
            out.symbols.len(),
            out.data_points
        ),
        format!("average {}", f::number(out.average_pairwise, 2)),
        pair(&out.highest, "highest"),
        pair(&out.lowest, "lowest"),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(a: &str, b: &str, c: f64) -> CorrelationPair {
        CorrelationPair {
            a: a.into(),
            b: b.into(),
            correlation: c,
        }
    }

    #[test]
    fn render_correlation_matrix() {
        let out = CorrelationOut {
            warnings: Vec::new(),
            meta: support::meta(1_777_828_664_000, None),
            account: "DU****4321".into(),
            method: "Pearson correlation of 41 daily simple returns (close to close)".into(),
            lookback_days: 60,
            data_points: 41,
            first_date: Some("2026-03-04".into()),
            last_date: Some("2026-05-01".into()),
            symbols: vec!["KRYX".into(), "VLTX".into(), "OMRA".into()],
            matrix: Some(vec![
                vec![Some(1.0), Some(0.8123), Some(-0.1044)],
                vec![Some(0.8123), Some(1.0), None],
                vec![Some(-0.1044), None, Some(1.0)],
            ]),
            highest: Some(p("KRYX", "VLTX", 0.8123)),
            lowest: Some(p("KRYX", "OMRA", -0.1044)),
            average_pairwise: Some(0.354),
            pairs: 2,
            top_pairs: vec![p("KRYX", "VLTX", 0.8123), p("KRYX", "OMRA", -0.1044)],
            bottom_pairs: vec![p("KRYX", "OMRA", -0.1044), p("KRYX", "VLTX", 0.8123)],
            missing: vec![Missing {
                symbol: "FELN".into(),
                reason: "unknown symbol (no such contract)".into(),
            }],
            delayed: vec!["OMRA".into()],
            fx_rates: vec![FxUsed {
                pair: "CAD.USD".into(),
                rate: 0.7326,
            }],
            unconverted: vec![],
        };
        let symbols: Vec<String> = (0..14).map(|i| format!("S{i:02}")).collect();
        let large = CorrelationOut {
            symbols,
            matrix: None,
            pairs: 91,
            missing: vec![],
            delayed: vec![],
            fx_rates: vec![],
            unconverted: vec!["HKD".into()],
            ..out
        };
        let out = CorrelationOut {
            warnings: Vec::new(),
            meta: support::meta(1_777_828_664_000, None),
            account: large.account.clone(),
            method: large.method.clone(),
            lookback_days: 60,
            data_points: 41,
            first_date: large.first_date.clone(),
            last_date: large.last_date.clone(),
            symbols: vec!["KRYX".into(), "VLTX".into(), "OMRA".into()],
            matrix: Some(vec![
                vec![Some(1.0), Some(0.8123), Some(-0.1044)],
                vec![Some(0.8123), Some(1.0), None],
                vec![Some(-0.1044), None, Some(1.0)],
            ]),
            highest: large.highest.clone(),
            lowest: large.lowest.clone(),
            average_pairwise: large.average_pairwise,
            pairs: 2,
            top_pairs: large.top_pairs.clone(),
            bottom_pairs: large.bottom_pairs.clone(),
            missing: vec![Missing {
                symbol: "FELN".into(),
                reason: "unknown symbol (no such contract)".into(),
            }],
            delayed: vec!["OMRA".into()],
            fx_rates: vec![FxUsed {
                pair: "CAD.USD".into(),
                rate: 0.7326,
            }],
            unconverted: vec![],
        };
        insta::assert_snapshot!(
            "render_correlation_matrix",
            format!("{}\n---\n\n{}", render(&out), render(&large))
        );
        insta::assert_snapshot!(
            "headline_correlation_matrix",
            [headline(&out), headline(&large)].join("\n")
        );
    }
}
