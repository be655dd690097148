//! The prompt's command line: `ibkr_what_if symbol=KRYX action=BUY quantity=100` → tool name +
//! JSON arguments, typed by the tool's schema (numbers, booleans, comma lists), plus what the
//! prompt needs to know about each tool for completion.

use crate::tools::ToolSpec;
use crate::tools::params;
use serde_json::{Map, Value};

/// What the prompt knows about one tool: its name, one-line description, parameters and their
/// JSON types. Built once from `crate::tools::catalog()` so the reducer stays pure.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolInfo {
    pub name: String,
    pub description: String,
    /// (parameter name, JSON schema type such as "string", "integer", "array").
    pub params: Vec<(String, String)>,
    /// The tool's input JSON Schema, used to type the values typed at the prompt.
    pub schema: Option<Map<String, Value>>,
}

impl ToolInfo {
    pub fn from_spec(spec: &ToolSpec) -> ToolInfo {
        let params = params::properties(&spec.input_schema)
            .into_iter()
            .map(|(k, info)| (k, info.main_type().to_string()))
            .collect();
        ToolInfo {
            name: spec.name.to_string(),
            description: spec.description.to_string(),
            params,
            schema: Some(spec.input_schema.clone()),
        }
    }

    /// A tool known only by its parameter names and JSON types (tests, fixtures).
    pub fn with_params(name: &str, params: &[(&str, &str)]) -> ToolInfo {
        let properties: Map<String, Value> = params
            .iter()
            .map(|(k, t)| (k.to_string(), serde_json::json!({ "type": t })))
            .collect();
        let mut schema = Map::new();
        schema.insert("type".into(), Value::String("object".into()));
        schema.insert("properties".into(), Value::Object(properties));
        ToolInfo {
            name: name.to_string(),
            description: String::new(),
            params: params
                .iter()
                .map(|(k, t)| (k.to_string(), t.to_string()))
                .collect(),
            schema: Some(schema),
        }
    }

    fn param_type(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, t)| t.as_str())
    }
}

/// Parses `name key=value ...` into the tool name and its JSON arguments, with the same syntax
/// as the `tool` subcommand (`tools::params::parse_invocation_with_schema`: values typed by the
/// tool's schema, quotes group words). Unknown tools and parameters are refused here, with the
/// accepted names, so a typo is caught before anything runs.
pub fn parse(line: &str, tools: &[ToolInfo]) -> Result<(String, Value), String> {
    let name = line.split_whitespace().next().unwrap_or("");
    if name.is_empty() {
        return Err("type a tool name, e.g. ibkr_quote symbols=KRYX".into());
    }
    let tool = tools.iter().find(|t| t.name == name);
    if tool.is_none() && !tools.is_empty() {
        return Err(format!("unknown tool '{name}' (Tab completes tool names)"));
    }
    let (name, args) =
        params::parse_invocation_with_schema(line, tool.and_then(|t| t.schema.as_ref()))?;
    if let (Some(t), Value::Object(map)) = (tool, &args)
        && let Some(key) = map.keys().find(|k| t.param_type(k).is_none())
    {
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
    Ok((name, args))
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
        ToolInfo::with_params(
            "ibkr_what_if",
            &[
                ("symbol", "string"),
                ("action", "string"),
                ("quantity", "number"),
                ("symbols", "array"),
            ],
        )
    }

    #[test]
    fn parses_typed_arguments() {
        let (name, args) = parse(
            "ibkr_what_if symbol=KRYX action=BUY quantity=100 symbols=A,B",
            &[what_if()],
        )
        .unwrap();
        assert_eq!(name, "ibkr_what_if");
        assert_eq!(args["symbol"], "KRYX");
        assert_eq!(args["quantity"].as_f64(), Some(100.0));
        assert_eq!(args["symbols"], serde_json::json!(["A", "B"]));
    }

    #[test]
    fn refuses_unknown_tools_and_parameters_with_help() {
        let err = parse("ibkr_nope", &[what_if()]).unwrap_err();
        assert!(err.contains("unknown tool"));
        let err = parse("ibkr_what_if size=3", &[what_if()]).unwrap_err();
        assert!(err.contains("accepted: symbol, action"), "{err}");
        assert!(parse("ibkr_what_if quantity", &[what_if()]).is_err());
    }
}
