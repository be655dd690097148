//! The integration tests, in one binary: compiling and linking one test crate instead of one
//! per file is most of a clean `cargo test`'s time. Each module is one area; shared harnesses
//! live in `support`.

mod gateway_stall;
mod negative_cache;
