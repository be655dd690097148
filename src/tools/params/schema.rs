//! The one reader of tool schemas: generation of a params/output type's JSON Schema, and the
//! flattened view of one property (types, enum values, range, list length, items) that the text
//! parser, the coercion step, the CLI help and the prompt's completion all go by.

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value};

/// Input schema (draft 2020-12, root `type: object`) of a params type.
pub fn input_schema<T: JsonSchema>() -> Map<String, Value> {
    let schema = SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<T>();
    strip_root(schema.to_value())
}

/// Output schema describing what `Serialize` writes for `T`.
pub fn output_schema<T: JsonSchema>() -> Map<String, Value> {
    let schema = SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<T>();
    strip_root(schema.to_value())
}

fn strip_root(v: Value) -> Map<String, Value> {
    let mut m = match v {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    // The tool's own description is the one-liner; the struct's title/doc would only repeat it.
    m.remove("title");
    m.remove("description");
    m.entry("type").or_insert(Value::String("object".into()));
    m
}

/// What the schema says about one property, with `$ref`/`anyOf`/`oneOf` flattened.
#[derive(Debug, Default, Clone)]
pub struct PropInfo {
    /// Every JSON type the property accepts, through `$ref`s and alternatives.
    pub types: Vec<String>,
    /// The types the property's own `type` keyword declares (empty for a bare `$ref` or
    /// `anyOf`, e.g. an optional enum): the text reader types only what is declared, and leaves
    /// the rest to the typed step, which names the accepted values.
    pub declared_types: Vec<String>,
    pub enum_values: Vec<String>,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
    /// For arrays: what each item must be.
    pub items: Option<Box<PropInfo>>,
    /// The parameter's description (its doc comment), its own or its definition's.
    pub description: Option<String>,
    /// The default the tool applies when the parameter is absent.
    pub default: Option<Value>,
}

impl PropInfo {
    /// Whether the schema accepts JSON values of type `t` (`"string"`, `"integer"`, ...).
    pub fn wants(&self, t: &str) -> bool {
        self.types.iter().any(|x| x == t)
    }

    /// The type a value is meant to have, for completion and display: the first one that is not
    /// `null` (an optional parameter), `string` when the schema names none (a bare enum).
    pub fn main_type(&self) -> &str {
        self.types
            .iter()
            .map(String::as_str)
            .find(|t| *t != "null")
            .unwrap_or("string")
    }
}

/// The flattened schema of parameter `key` of an input schema, when it has one.
pub fn property(root: &Map<String, Value>, key: &str) -> Option<PropInfo> {
    root.get("properties")
        .and_then(|p| p.get(key))
        .map(|schema| prop_info(root, schema))
}

/// Every parameter of an input schema with its flattened schema, in the schema's order.
pub fn properties(root: &Map<String, Value>) -> Vec<(String, PropInfo)> {
    root.get("properties")
        .and_then(Value::as_object)
        .map(|props| {
            props
                .iter()
                .map(|(k, schema)| (k.clone(), prop_info(root, schema)))
                .collect()
        })
        .unwrap_or_default()
}

/// Flattens a property schema, following local `$ref`s into `$defs`.
pub fn prop_info(root: &Map<String, Value>, schema: &Value) -> PropInfo {
    let mut info = PropInfo::default();
    collect(root, schema, &mut info, 0);
    // The property's own description and default win over its definition's.
    let definition = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"))
        .and_then(|name| root.get("$defs").and_then(|d| d.get(name)));
    let own_or_definition = |key: &str| {
        schema
            .get(key)
            .or_else(|| definition.and_then(|d| d.get(key)))
            .cloned()
    };
    info.declared_types = type_keyword(schema);
    if let (Some(items), Some(inner)) = (schema.get("items"), info.items.as_mut()) {
        inner.declared_types = type_keyword(items);
    }
    info.description =
        own_or_definition("description").and_then(|d| d.as_str().map(str::to_string));
    info.default = own_or_definition("default");
    info
}

/// The `type` keyword of a schema: `"type": "x"` or `"type": ["x", "y"]`.
fn type_keyword(schema: &Value) -> Vec<String> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// The names of the parameters an input schema requires.
pub fn required(root: &Map<String, Value>) -> Vec<&str> {
    root.get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn collect(root: &Map<String, Value>, schema: &Value, info: &mut PropInfo, depth: u32) {
    let Value::Object(s) = schema else { return };
    if depth > 8 {
        return;
    }
    if let Some(Value::String(r)) = s.get("$ref")
        && let Some(name) = r.strip_prefix("#/$defs/")
        && let Some(def) = root.get("$defs").and_then(|d| d.get(name))
    {
        collect(root, def, info, depth + 1);
    }
    match s.get("type") {
        Some(Value::String(t)) => info.types.push(t.clone()),
        Some(Value::Array(ts)) => info
            .types
            .extend(ts.iter().filter_map(|t| t.as_str().map(str::to_string))),
        _ => {}
    }
    if let Some(Value::Array(vals)) = s.get("enum") {
        info.enum_values
            .extend(vals.iter().filter_map(|v| v.as_str().map(str::to_string)));
    }
    if let Some(Value::String(c)) = s.get("const") {
        info.enum_values.push(c.clone());
        info.types.push("string".into());
    }
    if let Some(n) = s.get("minimum").and_then(Value::as_f64) {
        info.minimum = Some(n);
    }
    if let Some(n) = s.get("maximum").and_then(Value::as_f64) {
        info.maximum = Some(n);
    }
    if let Some(item) = s.get("items") {
        let mut inner = PropInfo::default();
        collect(root, item, &mut inner, depth + 1);
        info.items = Some(Box::new(inner));
    }
    if let Some(n) = s.get("minItems").and_then(Value::as_u64) {
        info.min_items = Some(n);
    }
    if let Some(n) = s.get("maxItems").and_then(Value::as_u64) {
        info.max_items = Some(n);
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(alts)) = s.get(key) {
            for alt in alts {
                collect(root, alt, info, depth + 1);
            }
        }
    }
}
