//! The one parameter path every front door uses (MCP, the `tool` CLI, the cockpit's prompt pane
//! and REST): text → JSON (`text`, for the front doors that receive words), JSON → typed params
//! (`typed`, inside every tool call), both going by the tool's schema as read by `schema`.
//! `values` parses the parameter values whose shape a schema cannot express (IB durations,
//! currency pairs, dates), with the same kind of error wording.

pub mod schema;
pub mod text;
pub mod typed;
pub mod values;

pub use schema::{
    PropInfo, input_schema, output_schema, prop_info, properties, property, required,
};
pub use text::{parse_args, parse_invocation, parse_invocation_with_schema, parse_value};
pub use typed::{accepted, parse, split_list};
