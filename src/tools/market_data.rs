//! Market data tools (in progress).
