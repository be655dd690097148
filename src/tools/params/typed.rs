//! JSON → typed parameters: coercion of string-typed input (the CLI, the cockpit prompt and REST
//! pass `key=value` strings), range and list-length checks taken from the schema itself, then
//! deserialization, with errors that say what was wrong and what is accepted.

use super::schema::{PropInfo, prop_info};
use crate::tools::{ToolError, ToolSpec};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Parses raw arguments into `T` for `spec`: coerce, check ranges, deserialize.
pub fn parse<T: DeserializeOwned>(spec: &ToolSpec, raw: Value) -> Result<T, ToolError> {
    let tool = spec.name;
    let mut obj = match raw {
        Value::Null => Map::new(),
        Value::Object(m) => m,
        other => {
            return Err(ToolError::new(format!(
                "{tool}: arguments must be an object of named parameters (accepted: {}); got {other}",
                accepted(spec)
            )));
        }
    };
    let props = spec
        .input_schema
        .get("properties")
        .and_then(Value::as_object);
    if let Some(props) = props {
        for (key, value) in obj.iter_mut() {
            if let Some(schema) = props.get(key) {
                let info = prop_info(&spec.input_schema, schema);
                coerce(tool, key, value, &info)?;
                check(tool, key, value, &info)?;
            }
        }
    }
    let de = Value::Object(obj);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let at = if path.is_empty() || path == "." {
            String::new()
        } else {
            format!(" `{path}`:")
        };
        ToolError::new(format!(
            "{tool}: invalid argument{at} {inner}. Accepted parameters: {}",
            accepted(spec)
        ))
    })
}

/// The parameter names a tool accepts, for error messages.
pub fn accepted(spec: &ToolSpec) -> String {
    match spec
        .input_schema
        .get("properties")
        .and_then(Value::as_object)
    {
        Some(p) if !p.is_empty() => p
            .keys()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", "),
        _ => "none".into(),
    }
}

/// Turns the strings the CLI and prompt pass into the JSON types the schema wants.
fn coerce(tool: &str, key: &str, value: &mut Value, info: &PropInfo) -> Result<(), ToolError> {
    match value {
        Value::String(s) => {
            let t = s.trim();
            if info.wants("array") && !info.wants("string") {
                *value = Value::Array(
                    split_list(tool, key, t)?
                        .into_iter()
                        .map(Value::String)
                        .collect(),
                );
                coerce(tool, key, value, info)?;
            } else if (info.wants("integer") || info.wants("number")) && !info.wants("string") {
                let cleaned = t.replace('_', "");
                if info.wants("integer") && !info.wants("number") {
                    let n: i64 = cleaned.parse().map_err(|_| {
                        ToolError::new(format!(
                            "{tool}: `{key}` must be a whole number{}; got \"{s}\"",
                            range_words(info)
                        ))
                    })?;
                    *value = Value::from(n);
                } else {
                    let n: f64 = cleaned
                        .parse()
                        .ok()
                        .filter(|n: &f64| n.is_finite())
                        .ok_or_else(|| {
                            ToolError::new(format!(
                                "{tool}: `{key}` must be a number{}; got \"{s}\"",
                                range_words(info)
                            ))
                        })?;
                    *value = serde_json::Number::from_f64(n)
                        .map(Value::Number)
                        .unwrap_or(Value::Null);
                }
            } else if info.wants("boolean") && !info.wants("string") {
                let b = match t.to_ascii_lowercase().as_str() {
                    "true" | "yes" | "1" | "on" => true,
                    "false" | "no" | "0" | "off" => false,
                    _ => {
                        return Err(ToolError::new(format!(
                            "{tool}: `{key}` must be true or false; got \"{s}\""
                        )));
                    }
                };
                *value = Value::Bool(b);
            } else if !info.enum_values.is_empty() {
                // Enums are matched case-insensitively: `SUMMARY` means `summary`.
                // Spaces are optional too: `1M` means `1 M`.
                let squash = |x: &str| {
                    x.chars()
                        .filter(|c| !c.is_whitespace())
                        .collect::<String>()
                        .to_ascii_lowercase()
                };
                if let Some(v) = info.enum_values.iter().find(|v| squash(v) == squash(t)) {
                    *value = Value::String(v.clone());
                } else {
                    return Err(ToolError::new(format!(
                        "{tool}: `{key}` must be one of {}; got \"{s}\"",
                        info.enum_values
                            .iter()
                            .map(|v| format!("`{v}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
            }
        }
        Value::Number(n)
            if info.wants("string") && !info.wants("number") && !info.wants("integer") =>
        {
            // `expiration=20260619` typed as a number is still the string the tool wants.
            *value = Value::String(n.to_string());
        }
        Value::Array(items) if info.wants("array") => {
            if let Some(item_info) = &info.items {
                for item in items.iter_mut() {
                    coerce(tool, key, item, item_info)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// Splits `"KRYX, VLTX"` into `["KRYX","VLTX"]`; an empty element is a malformed list.
pub fn split_list(tool: &str, key: &str, s: &str) -> Result<Vec<String>, ToolError> {
    let s = s.trim().trim_start_matches('[').trim_end_matches(']');
    if s.trim().is_empty() {
        return Ok(Vec::new());
    }
    let items: Vec<String> = s
        .split(',')
        .map(|x| x.trim().trim_matches('"').trim().to_string())
        .collect();
    if items.iter().any(|x| x.is_empty()) {
        return Err(ToolError::new(format!(
            "{tool}: `{key}` is a malformed list (\"{s}\"): give comma-separated values like \"KRYX,VLTX\" or a JSON array"
        )));
    }
    Ok(items)
}

fn range_words(info: &PropInfo) -> String {
    match (info.minimum, info.maximum) {
        (Some(a), Some(b)) => format!(" from {} to {}", num(a), num(b)),
        (Some(a), None) => format!(" of at least {}", num(a)),
        (None, Some(b)) => format!(" of at most {}", num(b)),
        _ => String::new(),
    }
}

fn num(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// Range and list-length checks from the schema's `minimum`/`maximum`/`minItems`/`maxItems`.
fn check(tool: &str, key: &str, value: &Value, info: &PropInfo) -> Result<(), ToolError> {
    if let Some(n) = value.as_f64() {
        let below = info.minimum.is_some_and(|m| n < m);
        let above = info.maximum.is_some_and(|m| n > m);
        if below || above {
            return Err(ToolError::new(format!(
                "{tool}: `{key}` is out of range: {}; accepted: a value{}",
                num(n),
                range_words(info)
            )));
        }
    }
    if let Value::Array(items) = value {
        let n = items.len() as u64;
        if let Some(max) = info.max_items.filter(|m| n > *m) {
            return Err(ToolError::new(format!(
                "{tool}: too many values in `{key}`: {n} given, at most {max} accepted (nothing was dropped; split the request)"
            )));
        }
        if let Some(min) = info.min_items.filter(|m| n < *m) {
            return Err(ToolError::new(format!(
                "{tool}: `{key}` needs at least {min} values, {n} given"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ToolGroup;
    use crate::tools::params::input_schema;
    use schemars::JsonSchema;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, JsonSchema, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Mode {
        Summary,
        Headroom,
    }

    #[derive(Debug, Deserialize, JsonSchema, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct P {
        /// Minutes.
        #[schemars(range(min = 1, max = 120))]
        minutes: Option<u32>,
        mode: Option<Mode>,
        #[schemars(length(max = 8))]
        symbols: Option<Vec<String>>,
        modes: Option<Vec<Mode>>,
        flag: Option<bool>,
        expiry: Option<String>,
    }

    fn spec() -> ToolSpec {
        ToolSpec {
            name: "t",
            group: ToolGroup::Account,
            description: "d",
            input_schema: input_schema::<P>(),
            output_schema: Map::new(),
        }
    }

    #[test]
    fn coerces_strings_from_the_cli() {
        let p: P = parse(
            &spec(),
            serde_json::json!({"minutes":"30","mode":"HEADROOM","symbols":"KRYX, vltx","flag":"yes","expiry":20260619,"modes":"summary,HEADROOM"}),
        )
        .unwrap();
        assert_eq!(p.minutes, Some(30));
        assert_eq!(p.mode, Some(Mode::Headroom));
        assert_eq!(p.symbols, Some(vec!["KRYX".into(), "vltx".into()]));
        assert_eq!(p.flag, Some(true));
        assert_eq!(p.modes, Some(vec![Mode::Summary, Mode::Headroom]));
        assert_eq!(p.expiry.as_deref(), Some("20260619"));
        let p: P = parse(&spec(), Value::Null).unwrap();
        assert_eq!(p.minutes, None);
    }

    #[test]
    fn errors_say_what_is_accepted() {
        let e = parse::<P>(&spec(), serde_json::json!({"minutes": 500})).unwrap_err();
        assert!(
            e.message.contains("out of range") && e.message.contains("1 to 120"),
            "{e}"
        );
        let e = parse::<P>(&spec(), serde_json::json!({"minutes": "abc"})).unwrap_err();
        assert!(e.message.contains("whole number"), "{e}");
        let e = parse::<P>(&spec(), serde_json::json!({"mode": "x"})).unwrap_err();
        assert!(
            e.message.contains("`summary`") && e.message.contains("`headroom`"),
            "{e}"
        );
        let e = parse::<P>(&spec(), serde_json::json!({"mode": 3})).unwrap_err();
        assert!(e.message.contains("mode"), "{e}");
        let e = parse::<P>(&spec(), serde_json::json!({"bogus": 1})).unwrap_err();
        assert!(e.message.contains("unknown field `bogus`"), "{e}");
        let e =
            parse::<P>(&spec(), serde_json::json!({"symbols": "A,B,C,D,E,F,G,H,I"})).unwrap_err();
        assert!(
            e.message.contains("too many") && e.message.contains("at most 8"),
            "{e}"
        );
        let e = parse::<P>(&spec(), serde_json::json!({"symbols": "A,,B"})).unwrap_err();
        assert!(e.message.contains("malformed list"), "{e}");
        let e = parse::<P>(&spec(), serde_json::json!([1])).unwrap_err();
        assert!(e.message.contains("object"), "{e}");
        let e = parse::<P>(&spec(), serde_json::json!({"flag": "maybe"})).unwrap_err();
        assert!(e.message.contains("true or false"), "{e}");
    }
}
