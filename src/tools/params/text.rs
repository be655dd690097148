//! Text → JSON: `name key=value …` → (tool name, JSON arguments), the syntax shared by the `tool`
//! subcommand, the cockpit's prompt line and the REST API's query string.
//!
//! Values are read the way a person means them: `quantity=100` is a number, `use_rth=false` a
//! bool, `symbols=["KRYX","VLTX"]` an array, anything else a string. When the tool's input schema
//! says a parameter is a string, the text is kept as typed (`symbol=1234` stays "1234"); when it
//! says array, `a,b,c` becomes a list. Quotes group words: `news_item="chip export ban"`.

use super::schema::{PropInfo, property};
use serde_json::{Map, Value};

/// One word of a prompt line, and whether any part of it was quoted (quoted text is never
/// reinterpreted as a number or bool).
#[derive(Debug, Clone, PartialEq)]
struct Word {
    text: String,
    quoted: bool,
}

/// Parses a whole line such as `ibkr_what_if symbol=KRYX action=BUY quantity=100`, using the
/// named tool's schema from the catalogue when the tool exists.
pub fn parse_invocation(line: &str) -> Result<(String, Value), String> {
    let words = split_words(line)?;
    let Some((first, rest)) = words.split_first() else {
        return Err("empty command: type a tool name, then key=value arguments".into());
    };
    let name = first.text.clone();
    let schema = crate::tools::catalog()
        .iter()
        .find(|t| t.name == name)
        .map(|t| &t.input_schema);
    let args = pairs_to_args(rest, schema)?;
    Ok((name, args))
}

/// `parse_invocation` with an explicit schema (or none): no catalogue lookup.
pub fn parse_invocation_with_schema(
    line: &str,
    schema: Option<&Map<String, Value>>,
) -> Result<(String, Value), String> {
    let words = split_words(line)?;
    let Some((first, rest)) = words.split_first() else {
        return Err("empty command: type a tool name, then key=value arguments".into());
    };
    Ok((first.text.clone(), pairs_to_args(rest, schema)?))
}

/// Already-split `key=value` arguments (from the shell) → a JSON object.
pub fn parse_args(args: &[String], schema: Option<&Map<String, Value>>) -> Result<Value, String> {
    let words: Vec<Word> = args
        .iter()
        .map(|a| Word {
            text: a.clone(),
            quoted: false,
        })
        .collect();
    pairs_to_args(&words, schema)
}

fn pairs_to_args(words: &[Word], schema: Option<&Map<String, Value>>) -> Result<Value, String> {
    let mut out = Map::new();
    for word in words {
        let Some((key, raw)) = word.text.split_once('=') else {
            return Err(format!(
                "expected key=value, got '{}' (e.g. symbol=KRYX)",
                word.text
            ));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(format!(
                "missing parameter name before '=' in '{}'",
                word.text
            ));
        }
        if out.contains_key(key) {
            return Err(format!("parameter '{key}' given twice"));
        }
        let value = match schema.and_then(|s| property(s, key)) {
            Some(info) => value_for_schema(raw, word.quoted, &info),
            None if word.quoted => quoted_value(raw),
            None => parse_value(raw),
        };
        out.insert(key.to_string(), value);
    }
    Ok(Value::Object(out))
}

/// A value with no schema to go by: JSON literal (number, bool, null, array, object) when it
/// is one, a lenient `[a,b]` list, else the text itself.
pub fn parse_value(raw: &str) -> Value {
    let trimmed = raw.trim();
    if trimmed.starts_with('[') || trimmed.starts_with('{') {
        if let Ok(v) = serde_json::from_str::<Value>(trimmed) {
            return v;
        }
        if let Some(inner) = trimmed.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            return Value::Array(
                split_list(inner)
                    .into_iter()
                    .map(|s| parse_value(&s))
                    .collect(),
            );
        }
        return Value::String(raw.to_string());
    }
    match trimmed {
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        "null" => return Value::Null,
        _ => {}
    }
    if looks_numeric(trimmed)
        && let Ok(v) = serde_json::from_str::<Value>(trimmed)
        && v.is_number()
    {
        return v;
    }
    Value::String(raw.to_string())
}

/// Quoted text stays text, unless it is a JSON array or object (`'symbols=["A","B"]'`).
fn quoted_value(raw: &str) -> Value {
    let trimmed = raw.trim();
    if (trimmed.starts_with('[') || trimmed.starts_with('{'))
        && let Ok(v) = serde_json::from_str::<Value>(trimmed)
    {
        return v;
    }
    Value::String(raw.to_string())
}

/// JSON's number grammar is stricter than "starts with a digit"; this pre-check keeps words
/// like `1D` or `5 Y` as text without trying to parse them.
fn looks_numeric(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
        && s.chars().any(|c| c.is_ascii_digit())
}

fn value_for_schema(raw: &str, quoted: bool, info: &PropInfo) -> Value {
    let types = &info.declared_types;
    let has = |t: &str| types.iter().any(|x| x == t);
    let generic = if quoted {
        quoted_value(raw)
    } else {
        parse_value(raw)
    };
    if types.is_empty() {
        return generic;
    }
    // Keep what the generic reading found when the schema accepts that kind of value.
    let accepted = match &generic {
        Value::String(_) => has("string"),
        Value::Number(n) => has("number") || (has("integer") && (n.is_i64() || n.is_u64())),
        Value::Bool(_) => has("boolean"),
        Value::Array(_) => has("array"),
        Value::Object(_) => has("object"),
        Value::Null => has("null"),
    };
    if accepted {
        return generic;
    }
    if has("string") {
        return Value::String(raw.to_string());
    }
    if has("array") {
        let items = split_list(raw)
            .into_iter()
            .map(|s| match &info.items {
                Some(item) => value_for_schema(&s, false, item),
                None => parse_value(&s),
            })
            .collect();
        return Value::Array(items);
    }
    if has("boolean") {
        match raw.trim().to_ascii_lowercase().as_str() {
            "yes" | "y" | "on" | "1" => return Value::Bool(true),
            "no" | "n" | "off" | "0" => return Value::Bool(false),
            _ => {}
        }
    }
    // Nothing fits: pass it on as read, and the tool says what it accepts.
    generic
}

/// `a, b ,c` → ["a", "b", "c"]; surrounding quotes on items are dropped.
fn split_list(inner: &str) -> Vec<String> {
    inner
        .split(',')
        .map(|s| s.trim().trim_matches(|c| c == '"' || c == '\'').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Shell-like word splitting: whitespace separates; '…' is literal; "…" allows \" and \\;
/// a backslash outside quotes escapes the next character.
fn split_words(line: &str) -> Result<Vec<Word>, String> {
    let mut words = Vec::new();
    let mut current: Option<Word> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some(w) = current.take() {
                    words.push(w);
                }
            }
            '\'' => {
                let w = current.get_or_insert_with(|| Word {
                    text: String::new(),
                    quoted: false,
                });
                w.quoted = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => w.text.push(ch),
                        None => return Err("unterminated ' quote".into()),
                    }
                }
            }
            '"' => {
                let w = current.get_or_insert_with(|| Word {
                    text: String::new(),
                    quoted: false,
                });
                w.quoted = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(ch @ ('"' | '\\')) => w.text.push(ch),
                            Some(ch) => {
                                w.text.push('\\');
                                w.text.push(ch);
                            }
                            None => return Err("unterminated \" quote".into()),
                        },
                        Some(ch) => w.text.push(ch),
                        None => return Err("unterminated \" quote".into()),
                    }
                }
            }
            '\\' => {
                let w = current.get_or_insert_with(|| Word {
                    text: String::new(),
                    quoted: false,
                });
                if let Some(ch) = chars.next() {
                    w.text.push(ch);
                }
            }
            c => current
                .get_or_insert_with(|| Word {
                    text: String::new(),
                    quoted: false,
                })
                .text
                .push(c),
        }
    }
    if let Some(w) = current.take() {
        words.push(w);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(line: &str) -> (String, Value) {
        parse_invocation_with_schema(line, None).unwrap()
    }

    #[test]
    fn numbers_bools_and_strings() {
        let (name, args) =
            parse("ibkr_what_if symbol=KRYX action=BUY quantity=100 limit_price=12.5 dry=false");
        assert_eq!(name, "ibkr_what_if");
        assert_eq!(
            args,
            json!({"symbol": "KRYX", "action": "BUY", "quantity": 100, "limit_price": 12.5, "dry": false})
        );
    }

    #[test]
    fn quotes_group_words_and_stay_text() {
        let (_, args) =
            parse(r#"ibkr_thesis_check news_item="chip export \"ban\" widens" code='42'"#);
        assert_eq!(
            args,
            json!({"news_item": "chip export \"ban\" widens", "code": "42"})
        );
    }

    #[test]
    fn arrays_json_and_lenient() {
        let (_, args) = parse(r#"ibkr_quote symbols='["KRYX","VLTX"]' other=[A,B] list=KRYX,VLTX"#);
        assert_eq!(
            args,
            json!({"symbols": ["KRYX", "VLTX"], "other": ["A", "B"], "list": "KRYX,VLTX"})
        );
    }

    #[test]
    fn durations_stay_text() {
        let (_, args) = parse("ibkr_get_historical_bars symbol=KRYX duration='30 D' bar_size=1D");
        assert_eq!(
            args,
            json!({"symbol": "KRYX", "duration": "30 D", "bar_size": "1D"})
        );
    }

    #[test]
    fn schema_keeps_strings_and_splits_arrays() {
        let schema = json!({
            "type": "object",
            "properties": {
                "symbol": {"type": "string"},
                "symbols": {"type": "array", "items": {"type": "string"}},
                "lookback_days": {"type": "integer"},
                "by_position": {"type": "boolean"}
            }
        });
        let (_, args) = parse_invocation_with_schema(
            "t symbol=1234 symbols=KRYX,VLTX lookback_days=60 by_position=yes",
            schema.as_object(),
        )
        .unwrap();
        assert_eq!(
            args,
            json!({"symbol": "1234", "symbols": ["KRYX", "VLTX"], "lookback_days": 60, "by_position": true})
        );
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert!(
            parse_invocation_with_schema("", None)
                .unwrap_err()
                .contains("empty")
        );
        assert!(
            parse_invocation_with_schema("t KRYX", None)
                .unwrap_err()
                .contains("key=value")
        );
        assert!(
            parse_invocation_with_schema("t a=1 a=2", None)
                .unwrap_err()
                .contains("twice")
        );
        assert!(
            parse_invocation_with_schema("t a=\"open", None)
                .unwrap_err()
                .contains("unterminated")
        );
        assert!(
            parse_invocation_with_schema("t =x", None)
                .unwrap_err()
                .contains("missing parameter name")
        );
    }

    #[test]
    fn no_arguments_is_an_empty_object() {
        assert_eq!(
            parse("ibkr_list_accounts"),
            ("ibkr_list_accounts".to_string(), json!({}))
        );
    }

    #[test]
    fn shell_args_parse_the_same() {
        let args = vec!["symbols=KRYX,VLTX".to_string(), "limit=5".to_string()];
        assert_eq!(
            parse_args(&args, None).unwrap(),
            json!({"symbols": "KRYX,VLTX", "limit": 5})
        );
    }
}
