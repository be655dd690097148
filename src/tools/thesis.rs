//! `ibkr_thesis_check`: a deliberately simple keyword check of a news item against the user's own
//! thesis (`thesis_config.json` in the files dir): per pillar INTACT / WATCH / THREATENED /
//! CONFIRMED, naming the keywords that matched. The model does the reasoning; this surfaces the
//! structure. Format: `docs/thesis_config.md`, example: `examples/thesis_config.json`.
//!
//! Also home of the keyword matching shared with `ibkr_geopolitical_risk` (`Keyword`,
//! `prose_keywords`, `tokens`) and of reading the user's JSON files with line-numbered errors.

use super::format as f;
use super::support::Meta;
use super::{Answer, Tool, ToolContext, ToolError};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::PathBuf;

pub const THESIS_FILE: &str = "thesis_config.json";

/// Longest news item accepted (a long article pasted whole is fine; a book is not).
const MAX_NEWS_CHARS: usize = 50_000;

// ---------------------------------------------------------------------------------------------
// Keywords

/// Words that carry no signal on their own (and the boolean operators of search queries).
const STOPWORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "also",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "did",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "either",
    "few",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "here",
    "how",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "least",
    "less",
    "like",
    "may",
    "might",
    "more",
    "most",
    "much",
    "must",
    "near",
    "neither",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "on",
    "once",
    "only",
    "or",
    "other",
    "our",
    "out",
    "over",
    "own",
    "per",
    "same",
    "shall",
    "should",
    "since",
    "so",
    "some",
    "still",
    "such",
    "than",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "upon",
    "very",
    "via",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "whether",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "within",
    "without",
    "would",
    "year",
    "years",
    "yet",
    "you",
    "your",
    "signal",
    "signals",
    "remain",
    "remains",
    "continue",
    "continues",
    "continued",
    "sign",
    "signs",
    "evidence",
    "level",
    "levels",
    "period",
    "quarter",
    "quarters",
    "expected",
    "vs",
    "versus",
    "etc",
    "e.g",
    "i.e",
];

fn is_stopword(w: &str) -> bool {
    STOPWORDS.contains(&w)
}

/// A light suffix stripper so `controls`/`control`, `ramping`/`ramps`, `raised`/`raise` meet.
/// Applied to both sides of every comparison, so it only needs to be consistent, not linguistic.
pub fn stem(word: &str) -> String {
    let mut w = word.to_ascii_lowercase();
    for suffix in ["ing", "ed"] {
        if w.len() >= suffix.len() + 4 && w.ends_with(suffix) {
            w.truncate(w.len() - suffix.len());
            // `raised` → `rais`, the same as `raise` below: nothing more to strip.
            return w;
        }
    }
    if w.len() >= 4 && w.ends_with('s') && !w.ends_with("ss") {
        w.pop();
    }
    if w.len() >= 4 && w.ends_with('e') {
        w.pop();
    }
    w
}

/// Words of `text` (split on anything but letters and digits), lowercased and stemmed.
pub fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(stem)
        .collect()
}

/// A keyword or phrase and the stems it matches.
#[derive(Debug, Clone, PartialEq)]
pub struct Keyword {
    /// As the user wrote it (or as it appears in their prose), for display.
    pub text: String,
    stems: Vec<String>,
}

impl Keyword {
    /// A phrase matches when its stems appear consecutively in the text's stems.
    pub fn new(phrase: &str) -> Option<Keyword> {
        let stems = tokens(phrase);
        if stems.is_empty() {
            return None;
        }
        Some(Keyword {
            text: phrase.trim().to_string(),
            stems,
        })
    }

    pub fn found_in(&self, text_stems: &[String]) -> bool {
        let n = self.stems.len();
        n <= text_stems.len() && text_stems.windows(n).any(|w| w == self.stems.as_slice())
    }

    fn key(&self) -> String {
        self.stems.join(" ")
    }
}

/// The significant words of a sentence of prose: not stop words, not numbers, at least four
/// letters (or an acronym such as `AI`, `EPS` written in capitals). Distinct, in order.
pub fn prose_keywords(text: &str) -> Vec<Keyword> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for word in text.split(|c: char| !c.is_alphanumeric()) {
        let lower = word.to_ascii_lowercase();
        let acronym = word.len() >= 2
            && word
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            && word.chars().any(|c| c.is_ascii_uppercase());
        let significant = (acronym || lower.chars().count() >= 4)
            && !is_stopword(&lower)
            && !lower.chars().all(|c| c.is_ascii_digit());
        if !significant {
            continue;
        }
        if let Some(k) = Keyword::new(word)
            && seen.insert(k.key())
        {
            out.push(k);
        }
    }
    out
}

/// The keywords of `list` found in `text_stems`, by display text.
fn matched(list: &[Keyword], text_stems: &[String]) -> Vec<String> {
    list.iter()
        .filter(|k| k.found_in(text_stems))
        .map(|k| k.text.clone())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The user's JSON files

/// Why a user file could not be used.
pub enum FileProblem {
    /// Not there: the caller explains how to create one.
    Missing(PathBuf),
    /// There but unusable: the message names the problem and the line.
    Invalid(String),
}

/// Reads and parses `name` from the files dir (`data.config_dir`, else the config dir).
pub fn load_json<T: DeserializeOwned>(
    ctx: &ToolContext,
    name: &str,
) -> Result<(PathBuf, String, T), FileProblem> {
    let path = ctx.config.files_dir().join(name);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(FileProblem::Missing(path));
        }
        Err(e) => {
            return Err(FileProblem::Invalid(format!(
                "{} could not be read: {e}",
                path.display()
            )));
        }
    };
    match serde_json::from_str::<T>(&text) {
        Ok(v) => Ok((path, text, v)),
        Err(e) => Err(FileProblem::Invalid(format!(
            "{} is not valid: {} (line {}, column {})",
            path.display(),
            strip_position(&e.to_string()),
            e.line(),
            e.column()
        ))),
    }
}

/// serde_json appends " at line L column C"; the message states the position once, itself.
fn strip_position(msg: &str) -> &str {
    match msg.rfind(" at line ") {
        Some(i) => &msg[..i],
        None => msg,
    }
}

/// 1-based line of the first occurrence of `needle` in `text`.
pub fn line_of(text: &str, needle: &str) -> Option<usize> {
    let at = text.find(needle)?;
    Some(text[..at].matches('\n').count() + 1)
}

/// A JSON id that may be written as a string or a number.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum IdValue {
    Text(String),
    Number(serde_json::Number),
}

impl IdValue {
    pub fn as_string(&self) -> String {
        match self {
            IdValue::Text(s) => s.clone(),
            IdValue::Number(n) => n.to_string(),
        }
    }
}

/// Prose or a list of phrases.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(untagged)]
pub enum TextOrList {
    #[default]
    Empty,
    Text(String),
    List(Vec<String>),
}

impl TextOrList {
    pub fn items(&self) -> Vec<String> {
        match self {
            TextOrList::Empty => Vec::new(),
            TextOrList::Text(s) => vec![s.clone()],
            TextOrList::List(v) => v.clone(),
        }
    }
}

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
}

const METHOD: &str = "Keyword check: per pillar, explicit confirmation/invalidation keywords score 2 and words derived from the intact/invalidation signal prose score 1 (words shared by both signals are ignored). Invalidation score ≥ 2 and above the confirmation score → THREATENED; any other invalidation match → WATCH; only confirmation matches → CONFIRMED; no match → INTACT. Overall: the worst pillar (THREATENED > WATCH), else CONFIRMED if any pillar is, else INTACT. No negation or context handling.";

pub struct ThesisCheck;

impl Tool for ThesisCheck {
    const NAME: &'static str = "ibkr_thesis_check";
    const GROUP: crate::model::ToolGroup = crate::model::ToolGroup::Briefing;
    const DESCRIPTION: &'static str = "Keyword check of a news item against your thesis_config.json: verdict per pillar (INTACT / WATCH / THREATENED / CONFIRMED) and overall, with the keywords that matched.";
    type Params = ThesisParams;
    type Output = ThesisOut;

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
            .map(|pl| {
                let score = |list: &[(Keyword, bool)]| -> (Vec<String>, u32) {
                    let hits: Vec<&(Keyword, bool)> = list
                        .iter()
                        .filter(|(k, _)| k.found_in(&news_stems))
                        .collect();
                    let mut seen = BTreeSet::new();
                    let mut names = Vec::new();
                    let mut total = 0;
                    for (k, explicit) in hits {
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
                    matched_indicators: matched(&pl.indicators, &news_stems),
                    confirmation_score: cs,
                    invalidation_score: is,
                }
            })
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
        let now = ctx.now();
        let out = ThesisOut {
            meta: super::support::meta(now, None),
            thesis_name: cfg.thesis_name.clone(),
            time_horizon: cfg.time_horizon.clone(),
            file: path.display().to_string(),
            overall,
            pillars: verdicts,
            method: METHOD.to_string(),
        };

        let mut md = f::title(&format!("Thesis Check: {}", out.thesis_name), now);
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
        let _ = writeln!(md, "\n_Method: {METHOD}_");
        Ok(Answer {
            markdown: md,
            data: out,
        })
    }
}

fn overall_label(v: Verdict) -> &'static str {
    match v {
        Verdict::Intact => "🟢 THESIS INTACT",
        Verdict::Confirmed => "✅ THESIS CONFIRMED",
        Verdict::Watch => "🟡 THESIS ON WATCH",
        Verdict::Threatened => "🔴 THESIS THREATENED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stems(s: &str) -> Vec<String> {
        tokens(s)
    }

    #[test]
    fn stems_meet_across_inflections() {
        assert_eq!(stem("controls"), stem("control"));
        assert_eq!(stem("ramping"), stem("ramps"));
        assert_eq!(stem("raised"), stem("raise"));
        assert_eq!(stem("slides"), stem("slide"));
        assert_eq!(stem("process"), "process");
    }

    #[test]
    fn phrases_match_consecutive_words_only() {
        let k = Keyword::new("guidance cut").unwrap();
        assert!(k.found_in(&stems("The company's guidance, cut again, disappoints")));
        assert!(k.found_in(&stems("Guidance cuts spook investors")));
        assert!(!k.found_in(&stems("Guidance raised; costs cut")));
        assert!(Keyword::new("  ").is_none());
    }

    #[test]
    fn prose_keywords_skip_stopwords_and_numbers_keep_acronyms() {
        let k: Vec<String> = prose_keywords("Revenue above 20% with AI orders and the EPS beat")
            .into_iter()
            .map(|k| k.text)
            .collect();
        assert_eq!(k, vec!["Revenue", "AI", "orders", "EPS", "beat"]);
    }

    #[test]
    fn line_of_counts_from_one() {
        assert_eq!(line_of("a\nb\n\"x\"", "\"x\""), Some(3));
        assert_eq!(line_of("abc", "z"), None);
    }
}
