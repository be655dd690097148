//! The nine groups the tool catalogue is organised in, in the order `tool --list` and the docs
//! present them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A tool's group: where it sits in `tool --list`, tools.md and `src/tools/<group>/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolGroup {
    Account,
    Briefing,
    Portfolio,
    MarketData,
    LiveData,
    Risk,
    Intelligence,
    Monitoring,
    Orders,
}

impl ToolGroup {
    /// Every group, in presentation order (the derived `Ord` follows it too).
    pub const ALL: [ToolGroup; 9] = [
        ToolGroup::Account,
        ToolGroup::Briefing,
        ToolGroup::Portfolio,
        ToolGroup::MarketData,
        ToolGroup::LiveData,
        ToolGroup::Risk,
        ToolGroup::Intelligence,
        ToolGroup::Monitoring,
        ToolGroup::Orders,
    ];

    /// The group's name as shown to people and used as its directory under `src/tools/`.
    pub fn as_str(self) -> &'static str {
        match self {
            ToolGroup::Account => "account",
            ToolGroup::Briefing => "briefing",
            ToolGroup::Portfolio => "portfolio",
            ToolGroup::MarketData => "market_data",
            ToolGroup::LiveData => "live_data",
            ToolGroup::Risk => "risk",
            ToolGroup::Intelligence => "intelligence",
            ToolGroup::Monitoring => "monitoring",
            ToolGroup::Orders => "orders",
        }
    }
}

impl fmt::Display for ToolGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_names_and_serde_agree() {
        let mut sorted = ToolGroup::ALL;
        sorted.sort();
        assert_eq!(sorted, ToolGroup::ALL, "Ord follows presentation order");
        for g in ToolGroup::ALL {
            assert_eq!(
                serde_json::to_value(g).ok(),
                Some(serde_json::Value::String(g.as_str().to_string()))
            );
            assert_eq!(g.to_string(), g.as_str());
        }
    }
}
