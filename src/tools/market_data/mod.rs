//! Market-data tools: quotes, historical bars, contract details, option chains, dividends and
//! contract search, news, fundamentals, scanners and short availability; `held` picks the
//! stocks a research tool covers by default; `lookup` holds the quote and bar fetching the live-data tools share.

pub mod dividends;
pub mod fundamentals;
pub mod get_contract_details;
pub mod get_historical_bars;
pub mod get_option_chain;
pub mod held;
pub mod lookup;
pub mod news;
pub mod quote;
pub mod scanner;
pub mod search_contracts;
pub mod shortable;
