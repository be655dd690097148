//! `ibkr_geopolitical_risk`: the user's risk factors (`risk_factors.json` in the files dir, the
//! seed's format) scored against IB news for the held symbols each factor affects. Severity is
//! the factor's base severity raised by matching headlines in the window; each factor shows the
//! held exposure at risk. Example file: `examples/risk_factors.json`.

use super::keywords::{
    FileProblem, IdValue, Keyword, TextOrList, line_of, load_json, prose_keywords, tokens,
};
use crate::model::{NewsHeadline, ToolGroup};
use crate::store::LiveState;
use crate::tools::format::{self as f, Align};
use crate::tools::support::{self, Meta, resolve_account};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use futures::StreamExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

pub const RISK_FILE: &str = "risk_factors.json";

/// Each matching headline raises severity by one, at most this much in total.
const MAX_RAISE: u32 = 3;
/// Headlines listed per factor.
const HEADLINES_SHOWN: usize = 5;
/// News requests in flight at once (the gateway paces messages; this keeps bursts small).
const NEWS_CONCURRENCY: usize = 4;

fn default_days() -> u32 {
    3
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GeoParams {
    /// Account id (or its masked form as shown in answers). Default: the primary gateway's first account.
    pub account: Option<String>,
    /// News window in days (1–30, default 3).
    #[serde(default = "default_days")]
    #[schemars(range(min = 1, max = 30))]
    pub days: u32,
    /// Only factors at or above this severity (1–10).
    #[schemars(range(min = 1, max = 10))]
    pub min_severity: Option<u32>,
}

/// One factor as the file states it (the seed's format, plus optional `keywords`).
#[derive(Debug, Deserialize)]
struct FactorConfig {
    id: IdValue,
    name: String,
    #[serde(default)]
    search_query: String,
    /// `"KRYX,VLTX"` (the seed's form) or a list.
    affected_symbols: TextOrList,
    #[serde(default)]
    impact_channel: String,
    base_severity: f64,
    /// Extra words or phrases that count as a match.
    #[serde(default)]
    keywords: Vec<String>,
}

/// A bare list (the seed's form) or `{"risk_factors": [...]}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RiskFile {
    List(Vec<FactorConfig>),
    Wrapped { risk_factors: Vec<FactorConfig> },
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct HeadlineHit {
    pub time: String,
    pub symbol: String,
    pub provider: String,
    pub headline: String,
    /// The factor's keywords found in it.
    pub matched: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct FactorOut {
    pub id: String,
    pub name: String,
    pub impact_channel: String,
    pub base_severity: u32,
    /// Base severity raised by matching headlines (1–10).
    pub severity: u32,
    /// low (1–3) | elevated (4–6) | high (7–8) | severe (9–10)
    pub level: String,
    pub affected_symbols: Vec<String>,
    /// Affected symbols the account holds.
    pub held_symbols: Vec<String>,
    /// Gross market value of the held affected positions, base currency.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub exposure: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub exposure_pct_of_nlv: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub exposure_pct_of_gross: Option<f64>,
    pub matching_headlines: usize,
    /// Newest first, at most 5.
    pub headlines: Vec<HeadlineHit>,
    pub keywords: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct GeoOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub account: String,
    pub base_currency: String,
    pub file: String,
    pub days: u32,
    pub min_severity: Option<u32>,
    /// Highest severity first.
    pub factors: Vec<FactorOut>,
    /// Factors below `min_severity`, not shown.
    pub filtered_out: usize,
    pub headlines_scanned: usize,
    /// Symbols whose news could not be fetched, with why.
    pub news_errors: Vec<String>,
    pub method: String,
    /// What the markdown warns about, in its words (stale data, delayed quotes, missing FX,
    /// partial coverage, ...); empty when it warns about nothing.
    pub warnings: Vec<String>,
}

const METHOD: &str = "Severity = base_severity + 1 per distinct headline in the window that mentions one of the factor's keywords (words of search_query plus `keywords`), at most +3, capped at 10. Headlines are IB news for the held symbols the factor affects. Exposure = gross market value of those positions in the base currency.";

fn level(sev: u32) -> &'static str {
    match sev {
        0..=3 => "low",
        4..=6 => "elevated",
        7..=8 => "high",
        _ => "severe",
    }
}

fn missing_message(path: &std::path::Path) -> String {
    format!(
        "ibkr_geopolitical_risk: no risk factors file at {}. Create it (or set data.config_dir to the folder that holds it); \
         examples/risk_factors.json is a complete example to copy. It is a JSON list of factors, e.g.\n\
         [\n  {{\"id\": \"export-controls\", \"name\": \"Semiconductor export controls\", \
         \"search_query\": \"export controls chips\", \"affected_symbols\": \"KRYX,VLTX\", \
         \"impact_channel\": \"revenue\", \"base_severity\": 6}}\n]\n\
         base_severity is 1–10; affected_symbols is comma-separated; an optional `keywords` list adds match words.",
        path.display()
    )
}

/// A factor ready to score.
struct Factor {
    id: String,
    name: String,
    impact_channel: String,
    base: u32,
    symbols: Vec<String>,
    keywords: Vec<Keyword>,
}

fn prepare(list: Vec<FactorConfig>, text: &str, file: &str) -> Result<Vec<Factor>, ToolError> {
    let mut out = Vec::new();
    for (i, fc) in list.into_iter().enumerate() {
        let id = fc.id.as_string();
        let line = line_of(text, &format!("\"{id}\"")).unwrap_or(1);
        let bad = |what: String| {
            ToolError::new(format!(
                "ibkr_geopolitical_risk: {file} is not valid: factor {} (`{id}`, line {line}): {what}",
                i + 1
            ))
        };
        if !(fc.base_severity.is_finite() && (1.0..=10.0).contains(&fc.base_severity)) {
            return Err(bad(format!(
                "base_severity must be a number from 1 to 10, found {}",
                fc.base_severity
            )));
        }
        let mut symbols = Vec::new();
        for item in fc.affected_symbols.items() {
            for raw in item.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let s =
                    support::symbol("ibkr_geopolitical_risk", raw).map_err(|e| bad(e.message))?;
                if !symbols.contains(&s) {
                    symbols.push(s);
                }
            }
        }
        if symbols.is_empty() {
            return Err(bad(
                "affected_symbols is empty; list the symbols it affects, comma-separated (\"KRYX,VLTX\")"
                    .into(),
            ));
        }
        let mut keywords = prose_keywords(&fc.search_query);
        keywords.extend(fc.keywords.iter().filter_map(|k| Keyword::new(k)));
        if keywords.is_empty() {
            return Err(bad(
                "search_query has no usable words and no `keywords` are given; nothing could match a headline"
                    .into(),
            ));
        }
        out.push(Factor {
            id,
            name: fc.name,
            impact_channel: fc.impact_channel,
            base: fc.base_severity.round() as u32,
            symbols,
            keywords,
        });
    }
    Ok(out)
}

pub struct GeopoliticalRisk;

impl Tool for GeopoliticalRisk {
    const NAME: &'static str = "ibkr_geopolitical_risk";
    const GROUP: ToolGroup = ToolGroup::Briefing;
    const DESCRIPTION: &'static str = "Risk factors from risk_factors.json scored against IB news for the held symbols they affect: severity raised by matching headlines, held exposure at risk, grouped by factor.";
    type Params = GeoParams;
    type Output = GeoOut;
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

    async fn run(ctx: &ToolContext, p: GeoParams) -> Result<Answer<GeoOut>, ToolError> {
        let (path, text, file) = match load_json::<RiskFile>(ctx, RISK_FILE) {
            Ok(x) => x,
            Err(FileProblem::Missing(path)) => return Err(ToolError::new(missing_message(&path))),
            Err(FileProblem::Invalid(m)) => {
                return Err(ToolError::new(format!(
                    "ibkr_geopolitical_risk: {m}. Expected a JSON list of {{id, name, search_query, affected_symbols, impact_channel, base_severity}} (see examples/risk_factors.json)."
                )));
            }
        };
        let list = match file {
            RiskFile::List(l) | RiskFile::Wrapped { risk_factors: l } => l,
        };
        let file_name = path.display().to_string();
        let factors = prepare(list, &text, &file_name)?;

        let view = ctx.live()?;
        let snap = &view.snap;
        let acct = resolve_account(ctx, snap, p.account.as_deref())?;
        let base = acct.base_currency.clone();
        let exposure = Exposure::of(ctx, snap, &acct.account, &base).await;
        // News once per held symbol that any factor affects.
        let wanted: BTreeSet<String> = factors
            .iter()
            .flat_map(|fa| fa.symbols.iter())
            .filter(|s| exposure.held.contains_key(*s))
            .cloned()
            .collect();
        let (news, news_errors) = fetch_news(ctx, &wanted, p.days).await;
        let headlines_scanned = news.values().map(Vec::len).sum();
        let nlv = acct.net_liquidation();
        let mut scored: Vec<FactorOut> = factors
            .iter()
            .map(|fa| score(fa, &exposure, &news, nlv))
            .collect();
        let before = scored.len();
        if let Some(min) = p.min_severity {
            scored.retain(|fa| fa.severity >= min);
        }
        let filtered_out = before - scored.len();
        scored.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| {
                    b.exposure
                        .unwrap_or(0.0)
                        .total_cmp(&a.exposure.unwrap_or(0.0))
                })
                .then_with(|| a.id.cmp(&b.id))
        });

        let mut out = GeoOut {
            warnings: Vec::new(),
            meta: view.meta(),
            account: ctx.mask(&acct.account),
            base_currency: base,
            file: file_name,
            days: p.days,
            min_severity: p.min_severity,
            factors: scored,
            filtered_out,
            headlines_scanned,
            news_errors,
            method: METHOD.to_string(),
        };
        let markdown = render(&out);
        out.warnings = crate::tools::format::warnings_in(&markdown);
        Ok(Answer {
            markdown,
            data: out,
        })
    }
}

/// Held exposure per symbol in the base currency (gross), and the book's gross value.
struct Exposure {
    /// `None` for a symbol some of whose value could not be converted.
    held: BTreeMap<String, Option<f64>>,
    gross: f64,
}

impl Exposure {
    async fn of(ctx: &ToolContext, snap: &LiveState, account: &str, base: &str) -> Exposure {
        let mut held: BTreeMap<String, Option<f64>> = BTreeMap::new();
        let mut gross = 0.0;
        let mut rates: BTreeMap<String, Option<f64>> = BTreeMap::new();
        for pos in snap.positions_of(account).filter(|p| p.quantity != 0.0) {
            let ccy = &pos.instrument.currency;
            let rate = match rates.get(ccy) {
                Some(r) => *r,
                None => {
                    let r = support::fx_rate(ctx, snap, ccy, base).await;
                    rates.insert(ccy.clone(), r);
                    r
                }
            };
            let v = match (pos.market_value, rate) {
                (Some(mv), Some(r)) => Some((mv * r).abs()),
                _ => None,
            };
            gross += v.unwrap_or(0.0);
            let e = held
                .entry(pos.instrument.symbol.clone())
                .or_insert(Some(0.0));
            *e = match (*e, v) {
                (Some(a), Some(b)) => Some(a + b),
                _ => None,
            };
        }
        Exposure { held, gross }
    }
}

/// IB news of the last `days` days for each symbol, a few requests at a time; failures are
/// reported per symbol, in words, sorted.
async fn fetch_news(
    ctx: &ToolContext,
    wanted: &BTreeSet<String>,
    days: u32,
) -> (BTreeMap<String, Vec<NewsHeadline>>, Vec<String>) {
    let mut news: BTreeMap<String, Vec<NewsHeadline>> = BTreeMap::new();
    let mut news_errors = Vec::new();
    if wanted.is_empty() {
        return (news, news_errors);
    }
    match ctx.requests() {
        Ok(req) => {
            let results: Vec<(String, Result<Vec<NewsHeadline>, _>)> =
                futures::stream::iter(wanted.iter().cloned())
                    .map(|sym| async move {
                        let r = req.news(&sym, days).await;
                        (sym, r)
                    })
                    .buffer_unordered(NEWS_CONCURRENCY)
                    .collect()
                    .await;
            for (sym, r) in results {
                match r {
                    Ok(h) => {
                        news.insert(sym, h);
                    }
                    Err(e) => news_errors.push(format!("{sym}: {e}")),
                }
            }
            news_errors.sort();
        }
        Err(e) => news_errors.push(format!("all symbols: {}", e.message)),
    }
    (news, news_errors)
}

/// One factor scored: severity raised by the distinct matching headlines of its held symbols,
/// and the exposure at risk.
fn score(
    fa: &Factor,
    exposure: &Exposure,
    news: &BTreeMap<String, Vec<NewsHeadline>>,
    nlv: Option<f64>,
) -> FactorOut {
    let held_symbols: Vec<String> = fa
        .symbols
        .iter()
        .filter(|s| exposure.held.contains_key(*s))
        .cloned()
        .collect();
    let mut hits: Vec<HeadlineHit> = Vec::new();
    let mut seen = BTreeSet::new();
    for sym in &held_symbols {
        for h in news.get(sym).into_iter().flatten() {
            let stems = tokens(&h.headline);
            let matched: Vec<String> = fa
                .keywords
                .iter()
                .filter(|k| k.found_in(&stems))
                .map(|k| k.text.clone())
                .collect();
            // The same story filed under two symbols counts once.
            if !matched.is_empty() && seen.insert(h.headline.clone()) {
                hits.push(HeadlineHit {
                    time: f::utc(h.time),
                    symbol: sym.clone(),
                    provider: h.provider.clone(),
                    headline: h.headline.clone(),
                    matched,
                });
            }
        }
    }
    hits.sort_by(|a, b| b.time.cmp(&a.time));
    let raise = (hits.len() as u32).min(MAX_RAISE);
    let severity = (fa.base + raise).min(10);
    let held_exposure: Option<f64> = held_symbols
        .iter()
        .map(|s| exposure.held.get(s).copied().flatten())
        .sum::<Option<f64>>()
        .map(|v| f::round(v, 2));
    FactorOut {
        id: fa.id.clone(),
        name: fa.name.clone(),
        impact_channel: fa.impact_channel.clone(),
        base_severity: fa.base,
        severity,
        level: level(severity).to_string(),
        affected_symbols: fa.symbols.clone(),
        held_symbols,
        exposure: held_exposure,
        exposure_pct_of_nlv: match (held_exposure, nlv) {
            (Some(e), Some(n)) if n > 0.0 => Some(f::round(e / n * 100.0, 4)),
            _ => None,
        },
        exposure_pct_of_gross: match held_exposure {
            Some(e) if exposure.gross > 0.0 => Some(f::round(e / exposure.gross * 100.0, 4)),
            _ => None,
        },
        matching_headlines: hits.len(),
        headlines: hits.into_iter().take(HEADLINES_SHOWN).collect(),
        keywords: fa.keywords.iter().map(|k| k.text.clone()).collect(),
    }
}

/// The answer's markdown: the window, then each factor with its severity, exposure and headlines.
pub fn render(out: &GeoOut) -> String {
    let mut md = out
        .meta
        .header(&format!("Geopolitical Risk: {}", out.account));
    let ccy = out.base_currency.as_str();
    let _ = writeln!(
        md,
        "\n**Window**: last {} day(s) of IB news · **Headlines scanned**: {} · **Factors**: {}{}\n",
        out.days,
        out.headlines_scanned,
        out.factors.len(),
        if out.filtered_out > 0 {
            format!(
                " ({} below severity {} not shown)",
                out.filtered_out,
                out.min_severity.unwrap_or(0)
            )
        } else {
            String::new()
        }
    );
    if !out.news_errors.is_empty() {
        let _ = writeln!(
            md,
            "> ⚠️ News unavailable for {}: those factors keep their base severity.\n",
            out.news_errors.join("; ")
        );
    }
    if out.factors.is_empty() {
        md.push_str("No factor at or above the requested severity.\n");
    } else {
        let rows: Vec<Vec<String>> = out
            .factors
            .iter()
            .map(|fa| {
                vec![
                    fa.name.clone(),
                    format!("{}/10 {}", fa.severity, fa.level),
                    if fa.severity > fa.base_severity {
                        format!("{} → {}", fa.base_severity, fa.severity)
                    } else {
                        fa.base_severity.to_string()
                    },
                    if fa.held_symbols.is_empty() {
                        "none held".into()
                    } else {
                        fa.held_symbols.join(", ")
                    },
                    f::money_dp(fa.exposure, ccy, 0),
                    f::pct_plain(fa.exposure_pct_of_nlv, 1),
                    fa.matching_headlines.to_string(),
                ]
            })
            .collect();
        md.push_str(&f::table(
            &[
                "Factor",
                "Severity",
                "Base → Now",
                "Held Symbols",
                "Exposure",
                "% of NLV",
                "Headlines",
            ],
            &[
                Align::Left,
                Align::Left,
                Align::Right,
                Align::Left,
                Align::Right,
                Align::Right,
                Align::Right,
            ],
            &rows,
        ));
        for fa in &out.factors {
            factor_detail(&mut md, fa, ccy);
        }
    }
    md.push_str(&f::method_line(&out.method));
    md
}

/// One factor: its channel and keywords, the exposure and the matching headlines.
fn factor_detail(md: &mut String, fa: &FactorOut, ccy: &str) {
    let _ = writeln!(md, "\n### {} — {}/10 {}", fa.name, fa.severity, fa.level);
    let _ = writeln!(
        md,
        "**Channel**: {} · **Affects**: {} · **Keywords**: {}",
        if fa.impact_channel.is_empty() {
            f::NA
        } else {
            fa.impact_channel.as_str()
        },
        fa.affected_symbols.join(", "),
        fa.keywords.join(", ")
    );
    if fa.held_symbols.is_empty() {
        md.push_str("\nNo affected symbol is held: no exposure, no news fetched.\n");
        return;
    }
    let _ = writeln!(
        md,
        "**Exposure**: {} ({} of NLV, {} of gross)",
        f::money(fa.exposure, ccy),
        f::pct_plain(fa.exposure_pct_of_nlv, 1),
        f::pct_plain(fa.exposure_pct_of_gross, 1)
    );
    if fa.headlines.is_empty() {
        md.push_str("\nNo matching headline in the window.\n");
    } else {
        md.push('\n');
        for h in &fa.headlines {
            let _ = writeln!(
                md,
                "- {} [{}] {} — _{}_ (matched: {})",
                h.time,
                h.symbol,
                h.headline,
                h.provider,
                h.matched.join(", ")
            );
        }
        if fa.matching_headlines > fa.headlines.len() {
            let _ = writeln!(
                md,
                "- … and {} more",
                fa.matching_headlines - fa.headlines.len()
            );
        }
    }
}

/// One line with the answer's key figures, for the cockpit's prompt pane and the journal.
pub fn headline(out: &GeoOut) -> String {
    use crate::tools::format as f;
    let top = out
        .factors
        .iter()
        .max_by_key(|x| x.severity)
        .map(|x| format!("top: {} (severity {}/10)", x.name, x.severity))
        .unwrap_or_default();
    f::headline(&[
        format!("{} risk factor(s)", out.factors.len()),
        top,
        format!("{} headlines scanned", out.headlines_scanned),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn factor(id: &str, name: &str, held: &[&str], headlines: Vec<HeadlineHit>) -> FactorOut {
        let matching = headlines.len();
        let severity = 6 + matching as u32;
        FactorOut {
            id: id.into(),
            name: name.into(),
            impact_channel: "supply chain".into(),
            base_severity: 6,
            severity,
            level: level(severity).to_string(),
            affected_symbols: vec!["KRYX".into(), "VLTX".into()],
            held_symbols: held.iter().map(|s| s.to_string()).collect(),
            exposure: (!held.is_empty()).then_some(25_236.04),
            exposure_pct_of_nlv: (!held.is_empty()).then_some(102.5105),
            exposure_pct_of_gross: (!held.is_empty()).then_some(69.4),
            matching_headlines: matching,
            headlines,
            keywords: vec!["export".into(), "chip ban".into()],
        }
    }

    #[test]
    fn renders_factors_with_headlines_and_news_errors() {
        let hit = HeadlineHit {
            time: "2026-05-03 12:00:00 UTC".into(),
            symbol: "KRYX".into(),
            provider: "BRFG".into(),
            headline: "Chip ban widens to new export categories".into(),
            matched: vec!["export".into(), "chip ban".into()],
        };
        let out = GeoOut {
            warnings: Vec::new(),
            meta: Meta::fresh("2026-05-03 17:17:44 UTC"),
            account: "U****4321".into(),
            base_currency: "CAD".into(),
            file: "/home/user/.config/ibkr-cockpit/risk_factors.json".into(),
            days: 3,
            min_severity: Some(5),
            factors: vec![
                factor("chips", "Chip export controls", &["KRYX"], vec![hit]),
                factor("strait", "Strait closure", &[], Vec::new()),
            ],
            filtered_out: 1,
            headlines_scanned: 14,
            news_errors: vec!["VLTX: no news subscription".into()],
            method: METHOD.to_string(),
        };
        insta::assert_snapshot!("render_geopolitical_risk", render(&out));
        insta::assert_snapshot!("headline_geopolitical_risk", [headline(&out)].join("\n"));
    }
}
