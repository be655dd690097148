//! Live-data tools: FX rates, intraday minute bars, relative performance, technical
//! indicators and volatility.

pub mod compare_performance;
pub mod get_fx_rate;
pub mod get_intraday;
pub mod technicals;
pub mod volatility;
