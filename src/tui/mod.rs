//! placeholder: owned by the tui helper
