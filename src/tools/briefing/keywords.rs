//! What `ibkr_thesis_check` and `ibkr_geopolitical_risk` share: keyword matching on stemmed
//! words (`Keyword`, `prose_keywords`, `tokens`), and reading the user's JSON files with
//! line-numbered errors.

use crate::tools::ToolContext;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeSet;
use std::path::PathBuf;

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

    pub fn key(&self) -> String {
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
pub fn matched(list: &[Keyword], text_stems: &[String]) -> Vec<String> {
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
