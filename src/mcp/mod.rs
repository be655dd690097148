//! placeholder: owned by the mcp helper
