//! Market-data tools: quotes, historical bars, contract details, option chains, dividends and
//! contract search; `lookup` holds the quote and bar fetching the live-data tools share.

pub mod dividends;
pub mod get_contract_details;
pub mod get_historical_bars;
pub mod get_option_chain;
pub mod lookup;
pub mod quote;
pub mod search_contracts;
