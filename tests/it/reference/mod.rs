//! Reference implementations written independently of `src/analytics`, for tests to check the
//! production code against.

pub mod technicals;
