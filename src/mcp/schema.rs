//! Tool schemas as every MCP client can read them. schemars writes draft 2020-12 with its own
//! extensions; TypeScript-SDK clients (the MCP Inspector, Claude Desktop) compile schemas with
//! Ajv, which warns on each of them. One pass over each schema makes it portable:
//! - `$ref`s into `$defs` are inlined (enums become inline `enum`s) and `$defs` dropped;
//! - `format`s outside the JSON Schema vocabulary (`uint`, `uint32`, `double`, …) are dropped;
//! - type arrays (`["number","null"]`) become a single type for an optional parameter (absent
//!   already means "not given") and an `anyOf` of single types elsewhere;
//! - a list parameter accepts a JSON array or a comma-separated string, and says so: the tools
//!   split such strings themselves (`tools::args`), so the schema only catches up with them.
//!
//! The tools' own schemas (`tools::catalog()`) stay as generated: argument parsing reads them.

use serde_json::{Map, Value};

/// Formats defined by JSON Schema 2020-12; any other is a vendor extension clients warn about.
const STANDARD_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

/// How deep `$ref`s are followed; the tool schemas nest a few levels, nothing is recursive.
const MAX_DEPTH: usize = 32;

/// What kind of schema is being rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaKind {
    /// Parameters: optional fields drop `null`, lists also accept a comma-separated string.
    Input,
    /// Results: `null` stays a possible value.
    Output,
}

/// The portable form of one tool schema (root `type: object`).
pub fn portable(schema: &Map<String, Value>, kind: SchemaKind) -> Map<String, Value> {
    let defs = schema
        .get("$defs")
        .or_else(|| schema.get("definitions"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut root = schema.clone();
    root.remove("$defs");
    root.remove("definitions");
    root.remove("$schema");
    let mut out = match rewrite(&Value::Object(root), &defs, 0) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    if kind == SchemaKind::Input
        && let Some(Value::Object(props)) = out.get_mut("properties")
    {
        for prop in props.values_mut() {
            input_property(prop);
        }
    }
    out
}

/// Inlines `$ref`s, drops vendor formats and splits type arrays, recursively.
fn rewrite(value: &Value, defs: &Map<String, Value>, depth: usize) -> Value {
    let Value::Object(obj) = value else {
        return match value {
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| rewrite(v, defs, depth + 1)).collect())
            }
            other => other.clone(),
        };
    };
    if depth > MAX_DEPTH {
        return Value::Object(Map::new());
    }
    let mut out = Map::new();
    if let Some(Value::String(reference)) = obj.get("$ref") {
        let name = reference
            .strip_prefix("#/$defs/")
            .or_else(|| reference.strip_prefix("#/definitions/"));
        // The referring site's own keywords (its description) are added after, and win.
        if let Some(Value::Object(def)) = name.and_then(|n| defs.get(n))
            && let Value::Object(inlined) = rewrite(&Value::Object(def.clone()), defs, depth + 1)
        {
            out.extend(inlined);
        }
    }
    for (key, v) in obj {
        match key.as_str() {
            "$ref" | "$schema" | "$defs" | "definitions" => {}
            "format" => {
                if v.as_str().is_some_and(|f| STANDARD_FORMATS.contains(&f)) {
                    out.insert(key.clone(), v.clone());
                }
            }
            // Keyword maps: rewrite each member, not the map itself.
            "properties" | "patternProperties" => {
                let members = v
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, s)| (k.clone(), rewrite(s, defs, depth + 1)))
                            .collect()
                    })
                    .unwrap_or_default();
                out.insert(key.clone(), Value::Object(members));
            }
            // Data, not schemas.
            "enum" | "const" | "default" | "examples" | "required" => {
                out.insert(key.clone(), v.clone());
            }
            _ => {
                out.insert(key.clone(), rewrite(v, defs, depth + 1));
            }
        }
    }
    split_type_array(&mut out);
    merge_single_all_of(&mut out);
    consts_to_enum(&mut out);
    Value::Object(out)
}

/// `oneOf: [{const: "full", description: …}, …]` (schemars' documented enum) → an inline
/// `enum`, the variants' descriptions folded into the schema's own.
fn consts_to_enum(obj: &mut Map<String, Value>) {
    for key in ["oneOf", "anyOf"] {
        let Some(Value::Array(alts)) = obj.get(key) else {
            continue;
        };
        let all_consts = !alts.is_empty()
            && alts.iter().all(|a| {
                a.get("const").is_some_and(|c| !c.is_null())
                    && a.as_object().is_some_and(|m| {
                        m.keys()
                            .all(|k| matches!(k.as_str(), "const" | "type" | "description"))
                    })
            });
        if !all_consts {
            continue;
        }
        let values: Vec<Value> = alts
            .iter()
            .filter_map(|a| a.get("const").cloned())
            .collect();
        let notes: Vec<String> = alts
            .iter()
            .filter_map(|a| {
                let d = a.get("description")?.as_str()?;
                Some(format!("`{}`: {d}", a.get("const")?.as_str()?))
            })
            .collect();
        let ty = alts[0].get("type").cloned().or_else(|| {
            values
                .iter()
                .all(Value::is_string)
                .then(|| Value::from("string"))
        });
        obj.remove(key);
        if let Some(t) = ty {
            obj.entry("type").or_insert(t);
        }
        obj.insert("enum".into(), Value::Array(values));
        if !notes.is_empty() {
            let own = obj
                .get("description")
                .and_then(Value::as_str)
                .map(|d| format!("{d} "))
                .unwrap_or_default();
            obj.insert(
                "description".into(),
                Value::from(format!("{own}{}", notes.join(" "))),
            );
        }
        return;
    }
}

/// `"type": ["number", "null"]` → `"anyOf": [{"type": "number"}, {"type": "null"}]`; a
/// one-element array becomes the plain type.
fn split_type_array(obj: &mut Map<String, Value>) {
    let Some(Value::Array(types)) = obj.get("type") else {
        return;
    };
    let types: Vec<Value> = types.clone();
    if types.len() == 1 {
        obj.insert("type".into(), types[0].clone());
        return;
    }
    obj.remove("type");
    // Keywords that only apply to one of the types move into that alternative.
    let mut alternatives: Vec<Value> = Vec::new();
    for t in &types {
        let mut alt = Map::new();
        alt.insert("type".into(), t.clone());
        let keys: &[&str] = match t.as_str() {
            Some("array") => &[
                "items",
                "minItems",
                "maxItems",
                "uniqueItems",
                "prefixItems",
            ],
            Some("object") => &["properties", "required", "additionalProperties"],
            Some("number" | "integer") => &[
                "minimum",
                "maximum",
                "exclusiveMinimum",
                "exclusiveMaximum",
                "multipleOf",
            ],
            Some("string") => &["minLength", "maxLength", "pattern", "format"],
            _ => &[],
        };
        for k in keys {
            if let Some(v) = obj.remove(*k) {
                alt.insert((*k).into(), v);
            }
        }
        if t.as_str() != Some("null")
            && let Some(e) = obj.get("enum").and_then(Value::as_array)
        {
            let kept: Vec<Value> = e.iter().filter(|v| !v.is_null()).cloned().collect();
            alt.insert("enum".into(), Value::Array(kept));
        }
        alternatives.push(Value::Object(alt));
    }
    if alternatives
        .iter()
        .any(|a| a.get("enum").is_some() && a.get("type") != Some(&Value::from("null")))
    {
        obj.remove("enum");
    }
    obj.insert("anyOf".into(), Value::Array(alternatives));
}

/// `{"allOf": [{…}], "description": …}` (schemars' way of describing a `$ref`) → one schema.
fn merge_single_all_of(obj: &mut Map<String, Value>) {
    let single = match obj.get("allOf") {
        Some(Value::Array(items)) if items.len() == 1 => items[0].clone(),
        _ => return,
    };
    let Value::Object(inner) = single else { return };
    obj.remove("allOf");
    for (k, v) in inner {
        obj.entry(k).or_insert(v);
    }
}

/// A parameter as a caller may send it: optional means "may be absent" (not "may be null"), and
/// a list may also come as `"A,B"`.
fn input_property(prop: &mut Value) {
    let Value::Object(obj) = prop else { return };
    drop_null_alternative(obj);
    if obj.get("type") == Some(&Value::from("array")) {
        let description = obj.remove("description");
        let default = obj.remove("default");
        let array = Value::Object(std::mem::take(obj));
        let item_words = array
            .get("items")
            .and_then(|i| i.get("enum"))
            .and_then(Value::as_array)
            .map(|e| {
                let names: Vec<&str> = e.iter().filter_map(Value::as_str).collect();
                format!(" of {}", names.join(", "))
            })
            .unwrap_or_default();
        let string = serde_json::json!({
            "type": "string",
            "description": format!("comma-separated list{item_words}, e.g. \"A,B\""),
        });
        obj.insert("anyOf".into(), Value::Array(vec![array, string]));
        if let Some(d) = description {
            obj.insert("description".into(), d);
        }
        if let Some(d) = default {
            obj.insert("default".into(), d);
        }
    }
}

/// `anyOf: [X, {type: null}]` → X (merged into the property), and `null` out of an `enum`.
fn drop_null_alternative(obj: &mut Map<String, Value>) {
    let is_null = |v: &Value| v.get("type") == Some(&Value::from("null"));
    if let Some(Value::Array(alts)) = obj.get("anyOf").or_else(|| obj.get("oneOf")) {
        let kept: Vec<Value> = alts.iter().filter(|a| !is_null(a)).cloned().collect();
        if kept.len() < alts.len() {
            let key = if obj.contains_key("anyOf") {
                "anyOf"
            } else {
                "oneOf"
            };
            obj.remove(key);
            if kept.len() == 1 {
                if let Value::Object(inner) = &kept[0] {
                    for (k, v) in inner {
                        obj.entry(k.clone()).or_insert(v.clone());
                    }
                }
            } else {
                obj.insert(key.into(), Value::Array(kept));
            }
        }
    }
    if let Some(Value::Array(values)) = obj.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
    if obj.get("default") == Some(&Value::Null) {
        obj.remove("default");
    }
}

/// Problems a strict client would report in `schema`, as JSON pointers with a reason (empty when
/// portable). Used by the tests and the tools/list benchmark.
pub fn portability_problems(schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(schema, "#", &mut out);
    out
}

fn walk(value: &Value, at: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(obj) => {
            for (k, v) in obj {
                if matches!(k.as_str(), "properties" | "patternProperties") {
                    // Property names, not keywords: walk each member schema.
                    for (name, member) in v.as_object().into_iter().flatten() {
                        walk(member, &format!("{at}/{k}/{name}"), out);
                    }
                    continue;
                }
                match k.as_str() {
                    "$ref" | "$defs" | "definitions" => out.push(format!("{at}/{k}: reference")),
                    "type" if v.is_array() => out.push(format!("{at}: type is an array")),
                    "format" if !v.as_str().is_some_and(|f| STANDARD_FORMATS.contains(&f)) => {
                        out.push(format!("{at}: non-standard format {v}"))
                    }
                    "oneOf" | "anyOf"
                        if v.as_array().is_some_and(|alts| {
                            alts.len() > 1 && alts.iter().all(|a| a.get("const").is_some())
                        }) =>
                    {
                        out.push(format!("{at}/{k}: fixed values not as an inline enum"))
                    }
                    "enum" | "const" | "default" | "examples" | "required" => continue,
                    _ => {}
                }
                walk(v, &format!("{at}/{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                walk(v, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn refs_formats_and_type_arrays_are_rewritten() {
        let schema = obj(json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "mode": {"anyOf": [{"$ref": "#/$defs/Mode"}, {"type": "null"}], "description": "How."},
                "minutes": {"type": ["integer", "null"], "format": "uint32", "minimum": 1},
                "symbols": {"type": ["array", "null"], "items": {"type": "string"}, "description": "Tickers."},
                "when": {"type": "string", "format": "date-time"}
            },
            "$defs": {"Mode": {"type": "string", "enum": ["summary", "headroom"]}}
        }));
        let out = Value::Object(portable(&schema, SchemaKind::Input));
        assert!(portability_problems(&out).is_empty(), "{out}");
        assert_eq!(
            out["properties"]["mode"]["enum"],
            json!(["summary", "headroom"])
        );
        assert_eq!(out["properties"]["mode"]["description"], "How.");
        assert_eq!(out["properties"]["minutes"]["type"], "integer");
        assert_eq!(out["properties"]["minutes"]["minimum"], 1);
        assert!(out["properties"]["minutes"].get("format").is_none());
        assert_eq!(out["properties"]["when"]["format"], "date-time");
        let symbols = &out["properties"]["symbols"];
        assert_eq!(symbols["description"], "Tickers.");
        assert_eq!(symbols["anyOf"][0]["type"], "array");
        assert_eq!(symbols["anyOf"][1]["type"], "string");
    }

    #[test]
    fn output_nulls_stay_possible() {
        let schema = obj(json!({
            "type": "object",
            "properties": {"pnl": {"type": ["number", "null"], "format": "double"}},
        }));
        let out = Value::Object(portable(&schema, SchemaKind::Output));
        assert!(portability_problems(&out).is_empty(), "{out}");
        assert_eq!(
            out["properties"]["pnl"]["anyOf"],
            json!([{"type": "number"}, {"type": "null"}])
        );
    }
}
