//! Briefing tools: `ibkr_briefing` (the morning briefing in one call), `ibkr_geopolitical_risk`
//! (the user's risk factors against IB news) and `ibkr_thesis_check` (a news item against the
//! user's thesis). `keywords` is the word matching and user-file reading the last two share.

// The group and its headline tool share the name `briefing`, as every tool file is named after
// its tool.
#[allow(clippy::module_inception)]
pub mod briefing;
pub mod geopolitical_risk;
pub mod keywords;
pub mod thesis_check;
