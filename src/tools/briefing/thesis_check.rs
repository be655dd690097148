//! `ibkr_thesis_check`: a deliberately simple keyword check of a news item against the user's own
//! thesis (`thesis_config.json` in the files dir): per pillar INTACT / WATCH / THREATENED /
//! CONFIRMED, naming the keywords that matched. The model does the reasoning; this surfaces the
//! structure. Format: `docs/thesis_config.md`, example: `examples/thesis_config.json`.

use super::keywords::{
    FileProblem, IdValue, Keyword, TextOrList, line_of, load_json, matched, prose_keywords, tokens,
};
use crate::model::ToolGroup;
use crate::tools::format as f;
use crate::tools::support::Meta;
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt::Write as _;

pub const THESIS_FILE: &str = "thesis_config.json";

/// Longest news item accepted (a long article pasted whole is fine; a book is not).
const MAX_NEWS_CHARS: usize = 50_000;

// ---------------------------------------------------------------------------------------------
// thesis_config.json

#[derive(Debug, Deserialize)]
struct ThesisConfig {
    thesis_name: String,
    #[serde(default)]
    time_horizon: Option<String>,
    pillars: Vec<PillarConfig>,
}

#[derive(Debug, Deserialize)]
struct PillarConfig {
    #[serde(default)]
    id: Option<IdValue>,
    name: String,
    /// Read so the seed's files parse; context for the reader, not matched.
    #[serde(default)]
    #[allow(dead_code)]
    description: String,
    /// What to watch: a sentence or a list. Tells whether the news is about this pillar.
    #[serde(default)]
    key_indicators: TextOrList,
    /// Prose: what "still true" looks like. Keywords are derived from it.
    #[serde(default)]
    intact_signal: String,
    /// Prose: what "no longer true" looks like. Keywords are derived from it.
    #[serde(default)]
    invalidation_signal: String,
    #[serde(default)]
    confirmation_keywords: Vec<String>,
    #[serde(default)]
    invalidation_keywords: Vec<String>,
}

const EXAMPLE: &str = r#"{
  "thesis_name": "Platform Buildout",
  "time_horizon": "3-5 years",
  "pillars": [
    {
      "id": "demand",
      "name": "End-market demand growth",
      "description": "Cloud and AI infrastructure spend keeps compounding",
      "key_indicators": ["cloud revenue", "capex guidance"],
      "intact_signal": "Guidance raised, orders accelerating, revenue above consensus",
      "invalidation_signal": "Guidance cut, order cancellations, inventory digestion",
      "confirmation_keywords": ["beats estimates"],
      "invalidation_keywords": ["guidance cut"]
    }
  ]
}"#;

fn missing_message(path: &std::path::Path) -> String {
    format!(
        "ibkr_thesis_check: no thesis file at {}. Create it (or set data.config_dir to the folder that holds it); \
         a complete example ships as examples/thesis_config.json and the format is described in docs/thesis_config.md. \
         Minimal format:\n{EXAMPLE}",
        path.display()
    )
}

/// A pillar ready to match: its keyword lists.
struct Pillar {
    id: String,
    name: String,
    indicators: Vec<Keyword>,
    /// (keyword, explicit?) — explicit keywords weigh twice a word derived from prose.
    confirm: Vec<(Keyword, bool)>,
    invalidate: Vec<(Keyword, bool)>,
}

fn prepare(
    cfg: &ThesisConfig,
    text: &str,
    path: &std::path::Path,
) -> Result<Vec<Pillar>, ToolError> {
    if cfg.pillars.is_empty() {
        return Err(ToolError::new(format!(
            "ibkr_thesis_check: {} is not valid: `pillars` is empty (line {}); add at least one pillar.",
            path.display(),
            line_of(text, "\"pillars\"").unwrap_or(1)
        )));
    }
    let mut out = Vec::new();
    for (i, p) in cfg.pillars.iter().enumerate() {
        let id =
            p.id.as_ref()
                .map_or_else(|| (i + 1).to_string(), IdValue::as_string);
        let intact = prose_keywords(&p.intact_signal);
        let invalid = prose_keywords(&p.invalidation_signal);
        // Words both signals use ("revenue", "growth") name the topic, not the direction.
        let intact_keys: BTreeSet<String> = intact.iter().map(Keyword::key).collect();
        let invalid_keys: BTreeSet<String> = invalid.iter().map(Keyword::key).collect();
        let explicit = |list: &[String]| -> Vec<(Keyword, bool)> {
            list.iter()
                .filter_map(|k| Keyword::new(k))
                .map(|k| (k, true))
                .collect()
        };
        let mut confirm = explicit(&p.confirmation_keywords);
        confirm.extend(
            intact
                .into_iter()
                .filter(|k| !invalid_keys.contains(&k.key()))
                .map(|k| (k, false)),
        );
        let mut invalidate = explicit(&p.invalidation_keywords);
        invalidate.extend(
            invalid
                .into_iter()
                .filter(|k| !intact_keys.contains(&k.key()))
                .map(|k| (k, false)),
        );
        if confirm.is_empty() && invalidate.is_empty() {
            let line = line_of(text, &format!("\"{}\"", p.name)).unwrap_or(1);
            return Err(ToolError::new(format!(
                "ibkr_thesis_check: {} is not valid: pillar `{}` (line {line}) has nothing to match — give it an intact_signal and an invalidation_signal (prose), or confirmation_keywords / invalidation_keywords (lists).",
                path.display(),
                p.name
            )));
        }
        let mut indicators: Vec<Keyword> = Vec::new();
        let mut seen = BTreeSet::new();
        for item in p.key_indicators.items() {
            indicators.extend(
                prose_keywords(&item)
                    .into_iter()
                    .filter(|k| seen.insert(k.key())),
            );
        }
        out.push(Pillar {
            id,
            name: p.name.clone(),
            indicators,
            confirm,
            invalidate,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// The tool

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    Intact,
    Confirmed,
    Watch,
    Threatened,
}

impl Verdict {
    fn label(self) -> &'static str {
        match self {
            Verdict::Intact => "🟢 INTACT",
            Verdict::Confirmed => "✅ CONFIRMED",
            Verdict::Watch => "🟡 WATCH",
            Verdict::Threatened => "🔴 THREATENED",
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThesisParams {
    /// The news to check: a headline or a few paragraphs.
    pub news_item: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PillarVerdict {
    pub id: String,
    pub name: String,
    /// INTACT | CONFIRMED | WATCH | THREATENED
    pub verdict: Verdict,
    pub matched_confirmation: Vec<String>,
    pub matched_invalidation: Vec<String>,
    /// Key-indicator words found: the news is about this pillar.
    pub matched_indicators: Vec<String>,
    /// Explicit keywords count 2, words derived from the signals' prose 1.
    pub confirmation_score: u32,
    pub invalidation_score: u32,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ThesisOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub thesis_name: String,
    pub time_horizon: Option<String>,
    /// The file read.
    pub file: String,
    /// INTACT | CONFIRMED | WATCH | THREATENED
    pub overall: Verdict,
    pub pillars: Vec<PillarVerdict>,
    /// How the verdicts are reached, in words.
    pub method: String,
    /// What the markdown warns about, in its words (stale data, delayed quotes, missing FX,
    /// partial coverage, ...); empty when it warns about nothing.
    pub warnings: Vec<String>,
}

const METHOD: &str = "Keyword check: per pillar, explicit confirmation/invalidation keywords score 2 and words derived from the intact/invalidation signal prose score 1 (words shared by both signals are ignored). Invalidation score ≥ 2 and above the confirmation score → THREATENED; any other invalidation match → WATCH; only confirmation matches → CONFIRMED; no match → INTACT. Overall: the worst pillar (THREATENED > WATCH), else CONFIRMED if any pillar is, else INTACT. No negation or context handling.";

pub struct ThesisCheck;

impl Tool for ThesisCheck {
    const NAME: &'static str = "ibkr_thesis_check";
    const GROUP: ToolGroup = ToolGroup::Briefing;
    const DESCRIPTION: &'static str = "Keyword check of a news item against your thesis_config.json: verdict per pillar (INTACT / WATCH / THREATENED / CONFIRMED) and overall, with the keywords that matched.";
    type Params = ThesisParams;
    type Output = ThesisOut;
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

    async fn run(ctx: &ToolContext, p: ThesisParams) -> Result<Answer<ThesisOut>, ToolError> {
        let news = p.news_item.trim();
        if news.is_empty() {
            return Err(ToolError::new(
                "ibkr_thesis_check: news_item is empty. Pass the headline or text to check, e.g. news_item=\"AcmeCorp raises guidance on cloud orders\".",
            ));
        }
        if news.chars().count() > MAX_NEWS_CHARS {
            return Err(ToolError::new(format!(
                "ibkr_thesis_check: news_item is {} characters; at most {MAX_NEWS_CHARS} are accepted (pass the relevant paragraphs).",
                news.chars().count()
            )));
        }
        let (path, text, cfg) = match load_json::<ThesisConfig>(ctx, THESIS_FILE) {
            Ok(x) => x,
            Err(FileProblem::Missing(path)) => return Err(ToolError::new(missing_message(&path))),
            Err(FileProblem::Invalid(m)) => {
                return Err(ToolError::new(format!(
                    "ibkr_thesis_check: {m}. Expected format (docs/thesis_config.md):\n{EXAMPLE}"
                )));
            }
        };
        let pillars = prepare(&cfg, &text, &path)?;
        let news_stems = tokens(news);

        let verdicts: Vec<PillarVerdict> = pillars
            .iter()
            .map(|pl| pillar_verdict(pl, &news_stems))
            .collect();
        let has = |v: Verdict| verdicts.iter().any(|p| p.verdict == v);
        let overall = if has(Verdict::Threatened) {
            Verdict::Threatened
        } else if has(Verdict::Watch) {
            Verdict::Watch
        } else if has(Verdict::Confirmed) {
            Verdict::Confirmed
        } else {
            Verdict::Intact
        };
        let mut out = ThesisOut {
            warnings: Vec::new(),
            meta: crate::tools::support::meta(ctx.now(), None),
            thesis_name: cfg.thesis_name.clone(),
            time_horizon: cfg.time_horizon.clone(),
            file: path.display().to_string(),
            overall,
            pillars: verdicts,
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

/// One pillar judged: explicit keywords score 2, words from the signal prose 1, each keyword
/// counted once.
fn pillar_verdict(pl: &Pillar, news_stems: &[String]) -> PillarVerdict {
    let score = |list: &[(Keyword, bool)]| -> (Vec<String>, u32) {
        let mut seen = BTreeSet::new();
        let mut names = Vec::new();
        let mut total = 0;
        for (k, explicit) in list.iter().filter(|(k, _)| k.found_in(news_stems)) {
            if seen.insert(k.key()) {
                names.push(k.text.clone());
                total += if *explicit { 2 } else { 1 };
            }
        }
        (names, total)
    };
    let (conf, cs) = score(&pl.confirm);
    let (inv, is) = score(&pl.invalidate);
    let verdict = if is >= 2 && is > cs {
        Verdict::Threatened
    } else if is >= 1 {
        Verdict::Watch
    } else if cs >= 1 {
        Verdict::Confirmed
    } else {
        Verdict::Intact
    };
    PillarVerdict {
        id: pl.id.clone(),
        name: pl.name.clone(),
        verdict,
        matched_confirmation: conf,
        matched_invalidation: inv,
        matched_indicators: matched(&pl.indicators, news_stems),
        confirmation_score: cs,
        invalidation_score: is,
    }
}

/// The answer's markdown: the overall verdict, then each pillar with the keywords that matched.
pub fn render(out: &ThesisOut) -> String {
    let mut md = out
        .meta
        .header(&format!("Thesis Check: {}", out.thesis_name));
    let _ = writeln!(md, "**Overall**: {}", overall_label(out.overall));
    if let Some(h) = &out.time_horizon {
        let _ = writeln!(md, "**Time horizon**: {h}");
    }
    for pv in &out.pillars {
        let _ = writeln!(md, "### {} {}", pv.name, pv.verdict.label());
        let list = |v: &[String]| {
            if v.is_empty() {
                "none".to_string()
            } else {
                v.iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        if pv.matched_confirmation.is_empty()
            && pv.matched_invalidation.is_empty()
            && pv.matched_indicators.is_empty()
        {
            md.push_str("No keyword of this pillar appears in the news.\n");
        } else {
            let _ = writeln!(md, "- Confirming: {}", list(&pv.matched_confirmation));
            let _ = writeln!(md, "- Invalidating: {}", list(&pv.matched_invalidation));
            if !pv.matched_indicators.is_empty() {
                let _ = writeln!(
                    md,
                    "- Key indicators mentioned: {}",
                    list(&pv.matched_indicators)
                );
            }
        }
    }
    md.push_str(
        "\n_Keyword check against invalidation/confirmation signals defined in thesis_config.json. For nuance, use this as context in chat._\n",
    );
    md.push_str(&f::method_line(&out.method));
    md
}

fn overall_label(v: Verdict) -> &'static str {
    match v {
        Verdict::Intact => "🟢 THESIS INTACT",
        Verdict::Confirmed => "✅ THESIS CONFIRMED",
        Verdict::Watch => "🟡 THESIS ON WATCH",
        Verdict::Threatened => "🔴 THESIS THREATENED",
    }
}

/// One line with the answer's key figures, for the cockpit's prompt pane and the journal.
pub fn headline(out: &ThesisOut) -> String {
    use crate::tools::format as f;
    f::headline(&[
        format!("{}: {}", out.thesis_name, out.overall.label()),
        format!("{} pillar(s)", out.pillars.len()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_verdicts_per_pillar() {
        let out = ThesisOut {
            warnings: Vec::new(),
            meta: Meta::fresh("2026-05-03 17:17:44 UTC"),
            thesis_name: "AI infrastructure build-out".into(),
            time_horizon: Some("3–5 years".into()),
            file: "/home/user/.config/ibkr-cockpit/thesis_config.json".into(),
            overall: Verdict::Threatened,
            pillars: vec![
                PillarVerdict {
                    id: "demand".into(),
                    name: "Datacenter demand".into(),
                    verdict: Verdict::Threatened,
                    matched_confirmation: Vec::new(),
                    matched_invalidation: vec!["export ban".into(), "orders".into()],
                    matched_indicators: vec!["capex".into()],
                    confirmation_score: 0,
                    invalidation_score: 3,
                },
                PillarVerdict {
                    id: "margins".into(),
                    name: "Gross margins".into(),
                    verdict: Verdict::Intact,
                    matched_confirmation: Vec::new(),
                    matched_invalidation: Vec::new(),
                    matched_indicators: Vec::new(),
                    confirmation_score: 0,
                    invalidation_score: 0,
                },
            ],
            method: METHOD.to_string(),
        };
        insta::assert_snapshot!("render_thesis_check", render(&out));
        insta::assert_snapshot!("headline_thesis_check", [headline(&out)].join("\n"));
    }
}
