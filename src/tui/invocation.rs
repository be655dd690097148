//! The prompt's command line: `ibkr_what_if symbol=KRYX action=BUY quantity=100` → tool name +
//! JSON arguments, typed by the tool's schema (numbers, booleans, comma lists), plus what the
//! prompt needs to know about each tool for completion.

use crate::tools::ToolSpec;
use serde_json::{Map, Value};

/// What the prompt knows about one tool: its name, one-line description, parameters and their
/// JSON types. Built once from `crate::tools::catalog()` so the reducer stays pure.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolInfo {
    pub name: String,
    pub description: String,
    /// (parameter name, JSON schema type such as "string", "integer", "array").
    pub params: Vec<(String, String)>,
}

impl ToolInfo {
    pub fn from_spec(spec: &ToolSpec) -> ToolInfo {
        let params = spec
            .input_schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|props| {
                props
                    .iter()
                    .map(|(k, v)| (k.clone(), schema_type(v)))
                    .collect()
            })
            .unwrap_or_default();
        ToolInfo {
            name: spec.name.to_string(),
            description: spec.description.to_string(),
            params,
        }
    }

    fn param_type(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, t)| t.as_str())
    }
}

/// The JSON type of a property schema (`"type": "integer"` or `["integer", "null"]`, `anyOf`).
fn schema_type(schema: &Value) -> String {
    match schema.get("type") {
        Some(Value::String(s)) => return s.clone(),
        Some(Value::Array(types)) => {
            if let Some(s) = types
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "null")
            {
                return s.to_string();
            }
        }
        _ => {}
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(options)) = schema.get(key) {
            for o in options {
                let t = schema_type(o);
                if t != "null" && !t.is_empty() {
                    return t;
                }
            }
        }
    }
    String::from("string")
}

/// Splits a command line on spaces, honouring "double" and 'single' quotes.
pub fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    for ch in line.chars() {
        match quote {
            Some(q) if ch == q => quote = None,
            Some(_) => current.push(ch),
            None if ch == '"' || ch == '\'' => {
                quote = Some(ch);
                in_word = true;
            }
            None if ch.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            None => {
                current.push(ch);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err("unclosed quote".into());
    }
    if in_word {
        words.push(current);
    }
    Ok(words)
}

/// Parses `name key=value ...` into the tool name and its JSON arguments. When the tool is in
/// `tools`, values are typed by its schema and unknown parameters are refused with the accepted
/// ones; otherwise values are guessed (numbers, booleans, strings).
pub fn parse(line: &str, tools: &[ToolInfo]) -> Result<(String, Value), String> {
    let words = split_words(line)?;
    let Some((name, rest)) = words.split_first() else {
        return Err("type a tool name, e.g. ibkr_quote symbols=KRYX".into());
    };
    let tool = tools.iter().find(|t| t.name == *name);
    if tool.is_none() && !tools.is_empty() {
        return Err(format!("unknown tool '{name}' (Tab completes tool names)"));
    }
    let mut args = Map::new();
    for word in rest {
        let Some((key, raw)) = word.split_once('=') else {
            return Err(format!("'{word}' is not key=value"));
        };
        if key.is_empty() {
            return Err(format!("'{word}' has no parameter name"));
        }
        let ty = match tool {
            Some(t) => match t.param_type(key) {
                Some(ty) => Some(ty),
                None => {
                    let accepted: Vec<&str> = t.params.iter().map(|(k, _)| k.as_str()).collect();
                    return Err(format!(
                        "{name} has no parameter '{key}' (accepted: {})",
                        if accepted.is_empty() {
                            "none".into()
                        } else {
                            accepted.join(", ")
                        }
                    ));
                }
            },
            None => None,
        };
        args.insert(key.to_string(), typed_value(key, raw, ty)?);
    }
    Ok((name.clone(), Value::Object(args)))
}

fn typed_value(key: &str, raw: &str, ty: Option<&str>) -> Result<Value, String> {
    match ty {
        Some("integer") => raw
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("{key} must be a whole number, got '{raw}'")),
        Some("number") => raw
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("{key} must be a number, got '{raw}'")),
        Some("boolean") => match raw.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Ok(Value::Bool(true)),
            "false" | "no" | "0" => Ok(Value::Bool(false)),
            _ => Err(format!("{key} must be true or false, got '{raw}'")),
        },
        Some("array") => Ok(Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_string()))
                .collect(),
        )),
        Some(_) => Ok(Value::String(raw.to_string())),
        None => Ok(guess_value(raw)),
    }
}

fn guess_value(raw: &str) -> Value {
    if let Ok(i) = raw.parse::<i64>() {
        return Value::from(i);
    }
    if let Some(n) = raw
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
    {
        return Value::Number(n);
    }
    match raw {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => Value::String(raw.to_string()),
    }
}

/// Arguments as the journal line shows them: `symbol=KRYX quantity=100`.
pub fn format_args(args: &Value) -> String {
    match args {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                let shown = match v {
                    Value::String(s) if s.contains(' ') => format!("\"{s}\""),
                    Value::String(s) => s.clone(),
                    Value::Array(items) => items
                        .iter()
                        .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                        .collect::<Vec<_>>()
                        .join(","),
                    other => other.to_string(),
                };
                format!("{k}={shown}")
            })
            .collect::<Vec<_>>()
            .join(" "),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn what_if() -> ToolInfo {
        ToolInfo {
            name: "ibkr_what_if".into(),
            description: String::new(),
            params: vec![
                ("symbol".into(), "string".into()),
                ("action".into(), "string".into()),
                ("quantity".into(), "number".into()),
                ("symbols".into(), "array".into()),
            ],
        }
    }

    #[test]
    fn parses_typed_arguments() {
        let (name, args) = parse(
            "ibkr_what_if symbol=KRYX action=BUY quantity=100 symbols=A,B",
            &[what_if()],
        )
        .unwrap();
        assert_eq!(name, "ibkr_what_if");
        assert_eq!(
            args,
            serde_json::json!({"symbol":"KRYX","action":"BUY","quantity":100.0,"symbols":["A","B"]})
        );
    }

    #[test]
    fn refuses_unknown_tools_and_parameters_with_help() {
        let err = parse("ibkr_nope", &[what_if()]).unwrap_err();
        assert!(err.contains("unknown tool"));
        let err = parse("ibkr_what_if size=3", &[what_if()]).unwrap_err();
        assert!(err.contains("accepted: symbol, action"), "{err}");
        let err = parse("ibkr_what_if quantity=lots", &[what_if()]).unwrap_err();
        assert!(err.contains("must be a number"));
    }

    #[test]
    fn quotes_keep_spaces() {
        assert_eq!(
            split_words("a b=\"c d\" e").unwrap(),
            vec!["a", "b=c d", "e"]
        );
        assert!(split_words("a \"b").is_err());
    }
}
