//! The live state on the wire: what a daemon streams to attached UIs over the Unix socket.
//!
//! JSON objects only have string keys, so maps keyed by tuples or enums travel as vectors of
//! pairs. A message is either a full picture (`full: true`, sent on attach) or a delta that
//! carries only the parts whose `Arc` changed since the last message (`None` = unchanged).
//! The journal is the bulky part (every answer's markdown), so a delta carries only the
//! records newer than the last one sent.

use super::{JOURNAL_CAPACITY, LiveState, PositionKey};
use crate::model::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WireState {
    /// The sender's state version (for diagnostics; the receiver keeps its own).
    pub version: u64,
    /// Replace everything (the journal included) rather than patch.
    pub full: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accounts: Option<Vec<AccountSnapshot>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub positions: Option<Vec<(PositionKey, Position)>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quotes: Option<Vec<Quote>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote_keys: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intraday: Option<Vec<(String, Vec<f64>)>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_orders: Option<Vec<OrderView>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fills: Option<Vec<Fill>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateways: Option<Vec<(GatewayRole, GatewayStatus)>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<GatewayEvent>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerts: Option<super::alerts::AlertBoard>,
    /// Full message: the whole journal. Delta: records newer than the previous message's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub journal: Vec<ToolCallRecord>,
}

/// `Some(copy)` when the part changed (a different `Arc`) or there is no previous state.
fn changed<T: Clone>(now: &Arc<T>, before: Option<&Arc<T>>) -> Option<T> {
    match before {
        Some(b) if Arc::ptr_eq(now, b) => None,
        _ => Some(now.as_ref().clone()),
    }
}

impl LiveState {
    /// The whole state as one message (what an attaching UI gets first).
    pub fn to_wire(&self) -> WireState {
        self.to_wire_since(None)
    }

    /// The parts that changed since `before` (everything when `None`). The journal carries the
    /// records with an id above `before`'s newest.
    pub fn to_wire_since(&self, before: Option<&LiveState>) -> WireState {
        let mut quote_keys = None;
        let quotes = changed(&self.quotes, before.map(|b| &b.quotes)).map(|map| {
            // Keys travel too: FX pairs are keyed `USD.CAD` while the quote's symbol is `USD`.
            let (keys, quotes): (Vec<String>, Vec<Quote>) = map.into_iter().unzip();
            quote_keys = Some(keys);
            quotes
        });
        let journal = match before {
            None => self.journal.iter().cloned().collect(),
            Some(b) if Arc::ptr_eq(&self.journal, &b.journal) => Vec::new(),
            Some(b) => {
                let newest = b.journal.back().map(|r| r.id).unwrap_or(0);
                self.journal
                    .iter()
                    .filter(|r| r.id > newest)
                    .cloned()
                    .collect()
            }
        };
        WireState {
            version: self.version,
            full: before.is_none(),
            accounts: changed(&self.accounts, before.map(|b| &b.accounts))
                .map(|m| m.into_values().collect()),
            positions: changed(&self.positions, before.map(|b| &b.positions))
                .map(|m| m.into_iter().collect()),
            quotes,
            quote_keys,
            intraday: changed(&self.intraday, before.map(|b| &b.intraday))
                .map(|m| m.into_iter().collect()),
            open_orders: changed(&self.open_orders, before.map(|b| &b.open_orders)),
            fills: changed(&self.fills, before.map(|b| &b.fills)),
            gateways: changed(&self.gateways, before.map(|b| &b.gateways))
                .map(|m| m.into_iter().collect()),
            events: changed(&self.events, before.map(|b| &b.events))
                .map(|d| d.into_iter().collect()),
            alerts: changed(&self.alerts, before.map(|b| &b.alerts)),
            journal,
        }
    }

    /// Applies a message from `to_wire`/`to_wire_since`. The version is left to the store.
    pub fn apply_wire(&mut self, wire: WireState) {
        if let Some(accounts) = wire.accounts {
            let map: BTreeMap<String, AccountSnapshot> = accounts
                .into_iter()
                .map(|a| (a.account.clone(), a))
                .collect();
            self.accounts = Arc::new(map);
        }
        if let Some(positions) = wire.positions {
            self.positions = Arc::new(positions.into_iter().collect());
        }
        if let Some(quotes) = wire.quotes {
            let map: HashMap<String, Quote> = match wire.quote_keys {
                Some(keys) if keys.len() == quotes.len() => keys.into_iter().zip(quotes).collect(),
                _ => quotes.into_iter().map(|q| (q.symbol.clone(), q)).collect(),
            };
            self.quotes = Arc::new(map);
        }
        if let Some(intraday) = wire.intraday {
            self.intraday = Arc::new(intraday.into_iter().collect());
        }
        if let Some(orders) = wire.open_orders {
            self.open_orders = Arc::new(orders);
        }
        if let Some(fills) = wire.fills {
            self.fills = Arc::new(fills);
        }
        if let Some(gateways) = wire.gateways {
            self.gateways = Arc::new(gateways.into_iter().collect());
        }
        if let Some(events) = wire.events {
            self.events = Arc::new(events.into_iter().collect());
        }
        if let Some(alerts) = wire.alerts {
            self.alerts = Arc::new(alerts);
        }
        if wire.full {
            self.journal = Arc::new(wire.journal.into_iter().collect::<VecDeque<_>>());
        } else if !wire.journal.is_empty() {
            let journal = Arc::make_mut(&mut self.journal);
            for record in wire.journal {
                if journal.len() >= JOURNAL_CAPACITY {
                    journal.pop_front();
                }
                journal.push_back(record);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> LiveState {
        let mut st = LiveState::default();
        let mut positions = BTreeMap::new();
        positions.insert(
            ("U1".to_string(), 42),
            Position {
                account: "U1".into(),
                quantity: 10.0,
                ..Position::default()
            },
        );
        st.positions = Arc::new(positions);
        let mut quotes = HashMap::new();
        quotes.insert(
            "USD.CAD".to_string(),
            Quote {
                symbol: "USD".into(),
                bid: Some(1.38),
                ..Quote::default()
            },
        );
        st.quotes = Arc::new(quotes);
        let mut gateways = BTreeMap::new();
        gateways.insert(GatewayRole::Primary, GatewayStatus::default());
        st.gateways = Arc::new(gateways);
        st
    }

    fn record(id: u64) -> ToolCallRecord {
        ToolCallRecord {
            id,
            time: 0,
            client: "claude-code".into(),
            tool: "ibkr_quote".into(),
            arguments: serde_json::Value::Null,
            duration_ms: 1.0,
            ok: true,
            error: None,
            result_bytes: 3,
            markdown: "md".into(),
            headline: "1 account".into(),
        }
    }

    #[test]
    fn full_round_trip_through_json() {
        let st = state();
        let text = serde_json::to_string(&st.to_wire()).unwrap();
        let mut copy = LiveState::default();
        copy.apply_wire(serde_json::from_str(&text).unwrap());
        assert_eq!(copy.positions, st.positions);
        assert_eq!(copy.quotes, st.quotes);
        assert_eq!(copy.gateways, st.gateways);
    }

    #[test]
    fn delta_carries_only_changes_and_new_journal_records() {
        let mut st = state();
        Arc::make_mut(&mut st.journal).push_back(record(1));
        let mut copy = LiveState::default();
        copy.apply_wire(st.to_wire());
        let before = st.clone();
        Arc::make_mut(&mut st.journal).push_back(record(2));
        let delta = st.to_wire_since(Some(&before));
        assert!(delta.positions.is_none() && delta.quotes.is_none());
        assert_eq!(delta.journal.len(), 1);
        copy.apply_wire(delta);
        let ids: Vec<u64> = copy.journal.iter().map(|r| r.id).collect();
        assert_eq!(ids, vec![1, 2]);
    }
}
