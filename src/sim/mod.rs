//! placeholder: owned by the sim helper
