//! Live data tools (in progress).
