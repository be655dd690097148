//! `ibkr_sector_exposure`: sector weights of the book (IB contract-details industry; ETFs and
//! anything else through the configurable sector table) with the HHI concentration index.

use super::AccountParams;
use crate::analytics::concentration;
use crate::gateway::ContractQuery;
use crate::tools::format::fx_lines;
use crate::tools::format::{self as f, Align};
use crate::tools::risk_data::{self, Book};
use crate::tools::support::{FxUsed, Meta};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use futures::StreamExt;
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// How long a sector answer may spend fetching contract details it has not cached yet. IB
/// allows ~50 messages a second, so a 2,000-position book is classified over a few calls;
/// the largest positions go first and the rest are reported as pending, never guessed.
const DETAILS_BUDGET: Duration = Duration::from_secs(8);
const DETAILS_CONCURRENCY: usize = 16;

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SectorRow {
    pub sector: String,
    /// Gross value (Σ |value|), base currency.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub value: f64,
    /// Percent of gross position value.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub weight_pct: f64,
    pub positions: usize,
    /// Held symbols in this sector, largest first (at most 10).
    pub top_symbols: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SectorOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub account: String,
    pub base_currency: String,
    pub sectors: Vec<SectorRow>,
    /// Herfindahl–Hirschman index of sector weights (0–10,000).
    #[serde(serialize_with = "crate::tools::format::dp4")]
    pub hhi: Option<f64>,
    /// 10,000 / HHI: equally weighted sectors with the same concentration.
    #[serde(serialize_with = "crate::tools::format::dp1")]
    pub effective_sectors: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub gross_value: f64,
    /// Symbols classified through the configured ETF/sector table (`[sectors]` in config).
    pub mapped_by_config: Vec<String>,
    /// Symbols whose contract details were not available within this call.
    pub pending: Vec<String>,
    pub fx_rates: Vec<FxUsed>,
    pub unconverted: Vec<String>,
    /// How the figures are computed (also the markdown's method note).
    pub method: String,
    /// What the markdown warns about, in its words (stale data, delayed quotes, missing FX,
    /// partial coverage, ...); empty when it warns about nothing.
    pub warnings: Vec<String>,
}

pub struct SectorExposure;

/// Sector of every holding: the config table first, then IB's contract details (as many as
/// the time budget allows). Returns the sectors, the symbols mapped by config, and the symbols
/// still pending.
async fn classify(
    ctx: &ToolContext,
    book: &Book,
) -> (BTreeMap<String, String>, Vec<String>, Vec<String>) {
    let config_sector = |s: &str| {
        ctx.config
            .sectors
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(s))
            .map(|(_, v)| v.clone())
    };
    let mut mapped_by_config = Vec::new();
    let mut to_fetch = Vec::new();
    let mut sector_of: BTreeMap<String, String> = BTreeMap::new();
    for h in &book.holdings {
        match config_sector(&h.symbol) {
            Some(s) => {
                mapped_by_config.push(h.symbol.clone());
                sector_of.insert(h.symbol.clone(), s);
            }
            None => to_fetch.push((
                h.symbol.clone(),
                h.position.instrument.sec_type.clone(),
                h.currency.clone(),
            )),
        }
    }
    let mut pending = Vec::new();
    if to_fetch.is_empty() {
        return (sector_of, mapped_by_config, pending);
    }
    let req = ctx.requests().ok();
    let deadline = tokio::time::Instant::now() + DETAILS_BUDGET;
    let found: Vec<(String, Option<String>)> = futures::stream::iter(to_fetch)
        .map(|(symbol, sec_type, currency)| async move {
            let Some(req) = req else {
                return (symbol, None);
            };
            if tokio::time::Instant::now() >= deadline {
                return (symbol, None);
            }
            let q = ContractQuery {
                symbol: symbol.clone(),
                sec_type: Some(sec_type).filter(|s| !s.is_empty()),
                exchange: Some("SMART".into()),
                currency: Some(currency),
            };
            let got = tokio::time::timeout_at(deadline, req.contract_details(&q)).await;
            let sector = match got {
                Ok(Ok(infos)) => infos.first().map(|i| {
                    let s = i.industry.trim();
                    if s.is_empty() {
                        "Unclassified".to_string()
                    } else {
                        s.to_string()
                    }
                }),
                Ok(Err(_)) => Some("Unclassified".to_string()),
                Err(_) => None,
            };
            (symbol, sector)
        })
        .buffered(DETAILS_CONCURRENCY)
        .collect()
        .await;
    for (sym, sector) in found {
        match sector {
            Some(s) => {
                sector_of.insert(sym, s);
            }
            None => pending.push(sym),
        }
    }
    (sector_of, mapped_by_config, pending)
}

/// Gross value per sector, largest first.
fn sector_rows(book: &Book, sector_of: &BTreeMap<String, String>) -> Vec<SectorRow> {
    let gross = book.gross_base();
    let mut by_sector: BTreeMap<String, (f64, Vec<String>)> = BTreeMap::new();
    for h in &book.holdings {
        let Some(v) = h.value_base else { continue };
        let sector = sector_of
            .get(&h.symbol)
            .cloned()
            .unwrap_or_else(|| "Pending (details not fetched yet)".to_string());
        let e = by_sector.entry(sector).or_default();
        e.0 += v.abs();
        e.1.push(h.symbol.clone());
    }
    let mut sectors: Vec<SectorRow> = by_sector
        .into_iter()
        .map(|(sector, (value, syms))| SectorRow {
            sector,
            value: f::round(value, 2),
            weight_pct: if gross > 0.0 {
                f::round(value / gross * 100.0, 4)
            } else {
                0.0
            },
            positions: syms.len(),
            top_symbols: syms.into_iter().take(10).collect(),
        })
        .collect();
    sectors.sort_by(|a, b| b.value.total_cmp(&a.value).then(a.sector.cmp(&b.sector)));
    sectors
}

impl Tool for SectorExposure {
    const NAME: &'static str = "ibkr_sector_exposure";
    const GROUP: crate::model::ToolGroup = crate::model::ToolGroup::Intelligence;
    const DESCRIPTION: &'static str = "Sector weights of the book (IB contract-details industry; ETFs through the configurable sector table) with the HHI concentration index.";
    type Params = AccountParams;
    type Output = SectorOut;
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

    async fn run(ctx: &ToolContext, p: AccountParams) -> Result<Answer<SectorOut>, ToolError> {
        let view = ctx.live()?;
        let book = risk_data::book(ctx, &view.snap, p.account.as_deref()).await?;
        let (sector_of, mapped_by_config, pending) = classify(ctx, &book).await;
        let sectors = sector_rows(&book, &sector_of);
        let weights: Vec<f64> = sectors.iter().map(|s| s.value).collect();
        let hhi = f::json_num(Some(concentration::hhi(&weights))).map(|x| f::round(x, 2));
        let eff = hhi.filter(|h| *h > 0.0).map(|h| f::round(10_000.0 / h, 2));
        let mut out = SectorOut {
            method: method_words(&book.base),
            warnings: Vec::new(),
            meta: view.meta(),
            account: book.account_label.clone(),
            base_currency: book.base.clone(),
            sectors,
            hhi,
            effective_sectors: eff,
            gross_value: f::round(book.gross_base(), 2),
            mapped_by_config,
            pending,
            fx_rates: book.fx.clone(),
            unconverted: book.unconverted.clone(),
        };
        let markdown = render(&out);
        out.warnings = crate::tools::format::warnings_in(&markdown);
        Ok(Answer {
            markdown,
            data: out,
        })
    }
}

pub fn render(out: &SectorOut) -> String {
    let base = out.base_currency.as_str();
    let mut md = out.meta.header("Sector Exposure");
    let _ = writeln!(md, "Account: {}\n", out.account);
    let rows: Vec<Vec<String>> = out
        .sectors
        .iter()
        .map(|s| {
            vec![
                s.sector.clone(),
                f::money(Some(s.value), base),
                f::pct_plain(Some(s.weight_pct), 1),
                s.positions.to_string(),
                s.top_symbols
                    .iter()
                    .take(5)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
            ]
        })
        .collect();
    md.push_str(&f::table(
        &["Sector", "Gross Value", "Weight", "Positions", "Largest"],
        &[
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Left,
        ],
        &rows,
    ));
    let level = match out.hhi {
        Some(h) if h >= 2_500.0 => " — highly concentrated",
        Some(h) if h >= 1_500.0 => " — moderately concentrated",
        Some(_) => " — diversified",
        None => "",
    };
    let _ = writeln!(md, "\n**Sector HHI**: {}{level}", f::number(out.hhi, 0));
    let _ = writeln!(
        md,
        "**Effective number of sectors**: {}",
        f::number(out.effective_sectors, 1)
    );
    let _ = writeln!(
        md,
        "**Gross value**: {}",
        f::money(Some(out.gross_value), base)
    );
    if !out.mapped_by_config.is_empty() {
        let _ = writeln!(
            md,
            "\n_Mapped through the sector table in config (`[sectors]`): {}._",
            out.mapped_by_config.join(", ")
        );
    }
    if !out.pending.is_empty() {
        let _ = writeln!(
            md,
            "\n⚠️ Contract details for {} position(s) were not fetched within this call (IB allows ~50 requests a second); they are shown as Pending and will be classified on a later call.",
            out.pending.len()
        );
    }
    md.push_str(&f::method_line(&out.method));
    md.push_str(&fx_lines(&out.fx_rates, &out.unconverted));
    md
}

/// How the exposure is measured, in the base currency `base`.
fn method_words(base: &str) -> String {
    format!(
        "weights are shares of gross position value in {base}; sector from IB contract details (industry); HHI = Σ (100 × weight)² over sectors (10,000 = one sector)"
    )
}

/// One line with the answer's key figures, for the cockpit's prompt pane and the journal.
pub fn headline(out: &SectorOut) -> String {
    use crate::tools::format as f;
    let top = out
        .sectors
        .iter()
        .max_by(|a, b| a.weight_pct.total_cmp(&b.weight_pct))
        .map(|s| format!("top {} {}", s.sector, f::pct_plain(Some(s.weight_pct), 1)))
        .unwrap_or_default();
    f::headline(&[
        format!("{} sector(s)", out.sectors.len()),
        top,
        format!("HHI {}", f::number(out.hhi, 0)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::support;

    #[test]
    fn render_sector_exposure() {
        let row = |sector: &str, value: f64, weight: f64, symbols: &[&str]| SectorRow {
            sector: sector.into(),
            value,
            weight_pct: weight,
            positions: symbols.len(),
            top_symbols: symbols.iter().map(|s| s.to_string()).collect(),
        };
        let out = SectorOut {
            method: method_words("USD"),
            warnings: Vec::new(),
            meta: support::meta(1_777_828_664_000, None),
            account: "DU****4321".into(),
            base_currency: "USD".into(),
            sectors: vec![
                row("Healthcare", 79_616.0, 62.4, &["KRYX", "HDRX"]),
                row(
                    "Technology",
                    32_100.0,
                    25.16,
                    &["VLTX", "QQQ", "XLK", "OMRA", "FELN", "ZNTR"],
                ),
                row(
                    "Pending (details not fetched yet)",
                    15_870.0,
                    12.44,
                    &["SPY"],
                ),
            ],
            hhi: Some(4_684.3),
            effective_sectors: Some(2.13),
            gross_value: 127_586.0,
            mapped_by_config: vec!["QQQ".into(), "XLK".into()],
            pending: vec!["SPY".into()],
            fx_rates: vec![FxUsed {
                pair: "CAD.USD".into(),
                rate: 0.7326,
            }],
            unconverted: vec![],
        };
        insta::assert_snapshot!("render_sector_exposure", render(&out));
        insta::assert_snapshot!("headline_sector_exposure", [headline(&out)].join("\n"));
    }
}
