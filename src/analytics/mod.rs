//! placeholder: owned by the analytics helper
