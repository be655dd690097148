//! Defaults + user file → `Config`, with errors that name the file, line and key.
//!
//! Both documents are parsed with spans (`toml::de::DeTable`) and merged table by table before
//! deserializing, so a partial user file is fine and every value that came from the user keeps
//! its position in the user's text. Values from the embedded defaults are relabelled with an
//! out-of-range span: an error that points there has no user line to show.

use super::{Config, ConfigError};
use serde::Deserialize;
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Span given to every value that did not come from the user's file.
const NOT_IN_FILE: Range<usize> = usize::MAX..usize::MAX;

/// The user's file: its name for messages and its text.
pub(super) struct UserFile<'a> {
    pub name: String,
    pub text: &'a str,
}

impl UserFile<'_> {
    /// 1-based line of a byte offset, `None` for spans outside the file.
    pub fn line_of(&self, offset: usize) -> Option<usize> {
        if offset > self.text.len() {
            return None;
        }
        Some(
            self.text.as_bytes()[..offset]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1,
        )
    }

    /// The text of a span, for "found …" in messages (first line, shortened).
    pub fn snippet(&self, span: &Range<usize>) -> Option<String> {
        let raw = self.text.get(span.clone())?;
        let first = raw.lines().next().unwrap_or("").trim();
        let mut out: String = first.chars().take(60).collect();
        if out.len() < first.len() || raw.trim().contains('\n') {
            out.push('…');
        }
        Some(out)
    }

    /// Span of the value at a dotted key path (`gateway.port`), if the file sets it.
    pub fn value_span(&self, path: &str) -> Option<Range<usize>> {
        let doc = DeTable::parse(self.text).ok()?.into_inner();
        let mut table = &doc;
        let mut parts = path.split('.').peekable();
        while let Some(part) = parts.next() {
            let (_, value) = table.iter().find(|(k, _)| k.get_ref() == part)?;
            if parts.peek().is_none() {
                return Some(value.span());
            }
            match value.get_ref() {
                DeValue::Table(t) => table = t,
                _ => return None,
            }
        }
        None
    }
}

/// Parses the embedded defaults and the optional user file, merges them and deserializes.
pub(super) fn parse(defaults: &str, user: Option<&UserFile>) -> Result<Config, ConfigError> {
    // Holds the text of the secondary's derived client id; declared first because the merged
    // document borrows from it.
    let mut derived_client_id = String::new();
    let mut merged = DeTable::parse(defaults)
        .map_err(|e| ConfigError::Defaults(e.message().to_string()))?
        .into_inner();
    relabel_table(&mut merged);

    if let Some(file) = user {
        let doc = DeTable::parse(file.text).map_err(|e| ConfigError::File {
            file: file.name.clone(),
            line: e.span().and_then(|s| file.line_of(s.start)),
            key: None,
            message: format!("invalid TOML: {}", e.message().trim()),
        })?;
        merge(&mut merged, doc.into_inner());
    }
    if let Some(id) = primary_client_id(&merged) {
        derived_client_id = id.saturating_add(1).to_string();
    }
    fill_secondary_from_primary(&mut merged, &derived_client_id);

    let de = toml::de::Deserializer::from(Spanned::new(NOT_IN_FILE, merged));
    Config::deserialize(de).map_err(|e| match user {
        Some(file) => locate_error(file, &e),
        None => ConfigError::Defaults(e.message().to_string()),
    })
}

/// Turns a deserialization error into "file line N: key: what was expected, what was found".
fn locate_error(file: &UserFile, e: &toml::de::Error) -> ConfigError {
    let message = e.message().trim().to_string();
    let Some(span) = e.span().filter(|s| s.start <= file.text.len()) else {
        return ConfigError::File {
            file: file.name.clone(),
            line: None,
            key: None,
            message,
        };
    };
    let doc = DeTable::parse(file.text)
        .map(Spanned::into_inner)
        .unwrap_or_default();
    let key = key_at(&doc, &span, "");
    let line = file.line_of(span.start);
    let message = if message.starts_with("unknown field") {
        unknown_key_message(&message)
    } else if let Some(expected) = key.as_deref().and_then(super::accepted) {
        let found = file.snippet(&span).unwrap_or_default();
        format!("expected {expected}, found {found}")
    } else {
        message
    };
    ConfigError::File {
        file: file.name.clone(),
        line,
        key,
        message,
    }
}

/// serde says "unknown field `prot`, expected one of `host`, `port`"; we say what is accepted.
fn unknown_key_message(serde_message: &str) -> String {
    let accepted: Vec<&str> = serde_message
        .split_once("expected")
        .map(|(_, rest)| rest.split('`').skip(1).step_by(2).collect())
        .unwrap_or_default();
    if accepted.is_empty() {
        "unknown key".to_string()
    } else {
        format!("unknown key (accepted here: {})", accepted.join(", "))
    }
}

/// The dotted path of the key whose name or value covers `span` (deepest match wins).
fn key_at(table: &DeTable, span: &Range<usize>, prefix: &str) -> Option<String> {
    for (k, v) in table.iter() {
        let path = if prefix.is_empty() {
            k.get_ref().to_string()
        } else {
            format!("{prefix}.{}", k.get_ref())
        };
        if k.span() == *span {
            return Some(path);
        }
        if let DeValue::Table(inner) = v.get_ref()
            && let Some(found) = key_at(inner, span, &path)
        {
            return Some(found);
        }
        let vs = v.span();
        if vs.start <= span.start && span.end <= vs.end {
            return Some(path);
        }
    }
    None
}

/// User values replace default values; tables merge key by key.
fn merge<'i>(base: &mut DeTable<'i>, over: DeTable<'i>) {
    for (key, value) in over {
        let existing = base.iter_mut().find(|(k, _)| k.get_ref() == key.get_ref());
        match (existing, value.get_ref()) {
            (Some((_, slot)), DeValue::Table(_)) if matches!(slot.get_ref(), DeValue::Table(_)) => {
                let span = value.span();
                if let (DeValue::Table(b), DeValue::Table(o)) = (slot.get_mut(), value.into_inner())
                {
                    merge(b, o);
                }
                // Point the merged table at the user's section so errors inside it show a line.
                let inner = std::mem::replace(slot, Spanned::new(0..0, DeValue::Boolean(false)));
                *slot = Spanned::new(span, inner.into_inner());
            }
            _ => {
                // Drop the default's entry (its key carries the default's span) before inserting.
                let old = std::mem::take(base);
                for (k, v) in old {
                    if k.get_ref() != key.get_ref() {
                        base.insert(k, v);
                    }
                }
                base.insert(key, value);
            }
        }
    }
}

/// A `[secondary]` section only needs what differs from the primary: host and market-data type
/// default to the primary's, the client id to the primary's plus one (IB rejects a second
/// connection with the same id) — `next_client_id` is that number as TOML text.
fn fill_secondary_from_primary<'i>(doc: &mut DeTable<'i>, next_client_id: &'i str) {
    let Some(primary) = section(doc, "gateway").cloned() else {
        return;
    };
    let Some((_, secondary)) = doc.iter_mut().find(|(k, _)| k.get_ref() == "secondary") else {
        return;
    };
    let DeValue::Table(secondary) = secondary.get_mut() else {
        return;
    };
    for key in ["host", "market_data_type"] {
        if !has_key(secondary, key)
            && let Some((_, v)) = primary.iter().find(|(k, _)| k.get_ref() == key)
        {
            let v = Spanned::new(NOT_IN_FILE, v.get_ref().clone());
            secondary.insert(Spanned::new(NOT_IN_FILE, key.into()), v);
        }
    }
    if !has_key(secondary, "client_id")
        && let Ok(v) = DeValue::parse(next_client_id)
    {
        let v = Spanned::new(NOT_IN_FILE, v.into_inner());
        secondary.insert(Spanned::new(NOT_IN_FILE, "client_id".into()), v);
    }
}

/// `gateway.client_id` of the merged document, when it is an integer.
fn primary_client_id(doc: &DeTable) -> Option<i64> {
    let gateway = section(doc, "gateway")?;
    let (_, v) = gateway.iter().find(|(k, _)| k.get_ref() == "client_id")?;
    let i = v.get_ref().as_integer()?;
    i64::from_str_radix(i.as_str(), i.radix()).ok()
}

fn section<'a, 'i>(doc: &'a DeTable<'i>, name: &str) -> Option<&'a DeTable<'i>> {
    match doc.iter().find(|(k, _)| k.get_ref() == name)?.1.get_ref() {
        DeValue::Table(t) => Some(t),
        _ => None,
    }
}

fn has_key(table: &DeTable, name: &str) -> bool {
    table.iter().any(|(k, _)| k.get_ref() == name)
}

/// Moves every span of the defaults document out of range (see `NOT_IN_FILE`).
fn relabel_table(table: &mut DeTable) {
    let entries = std::mem::take(table);
    for (key, value) in entries {
        let key = Spanned::new(NOT_IN_FILE, key.into_inner());
        let mut value = value.into_inner();
        relabel_value(&mut value);
        table.insert(key, Spanned::new(NOT_IN_FILE, value));
    }
}

fn relabel_value(value: &mut DeValue) {
    match value {
        DeValue::Table(t) => relabel_table(t),
        DeValue::Array(items) => {
            for item in items.iter_mut() {
                let inner = std::mem::replace(item, Spanned::new(0..0, DeValue::Boolean(false)));
                let mut inner = inner.into_inner();
                relabel_value(&mut inner);
                *item = Spanned::new(NOT_IN_FILE, inner);
            }
        }
        _ => {}
    }
}
