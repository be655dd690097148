//! Negative cache: contracts IB said it does not know (error 200, or no contract details) are
//! remembered for a few minutes, so asking again answers at once with the same error instead
//! of going back to the gateway — where an identical historical request within 15 s would also
//! have to wait out IB's pacing rule.

use super::{ContractQuery, GatewayError};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long an unknown contract is remembered.
pub const UNKNOWN_TTL: Duration = Duration::from_secs(300);
/// Most contracts remembered: anyone can send symbols, so the cache is bounded.
const CAPACITY: usize = 1_000;

/// Contracts known to be unknown, keyed by symbol, security type and currency.
#[derive(Default)]
pub struct UnknownContracts {
    entries: Mutex<HashMap<String, (Instant, GatewayError)>>,
}

impl UnknownContracts {
    /// The key of a contract (`BRK.B|STK|USD`), as normalized queries and bar specs spell it.
    pub fn key(symbol: &str, sec_type: &str, currency: &str) -> String {
        format!(
            "{}|{}|{}",
            symbol.trim().to_ascii_uppercase(),
            sec_type.trim().to_ascii_uppercase(),
            currency.trim().to_ascii_uppercase()
        )
    }

    /// The key of a normalized contract query.
    pub fn key_of(query: &ContractQuery) -> String {
        Self::key(
            &query.symbol,
            query.sec_type.as_deref().unwrap_or("STK"),
            query.currency.as_deref().unwrap_or("USD"),
        )
    }

    /// The error IB gave for `key` within the last `UNKNOWN_TTL`, if any.
    pub fn get(&self, key: &str) -> Option<GatewayError> {
        let mut entries = self.entries.lock();
        match entries.get(key) {
            Some((at, e)) if at.elapsed() < UNKNOWN_TTL => Some(e.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Remembers `result`'s error when it says the contract does not exist; passes it on.
    pub fn note<T>(&self, key: &str, result: Result<T, GatewayError>) -> Result<T, GatewayError> {
        if let Err(e @ GatewayError::NotFound(_)) = &result {
            let mut entries = self.entries.lock();
            if entries.len() >= CAPACITY {
                entries.retain(|_, (at, _)| at.elapsed() < UNKNOWN_TTL);
            }
            if entries.len() >= CAPACITY
                && let Some(oldest) = entries
                    .iter()
                    .min_by_key(|(_, (at, _))| *at)
                    .map(|(k, _)| k.clone())
            {
                entries.remove(&oldest);
            }
            entries.insert(key.to_string(), (Instant::now(), e.clone()));
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_unknown_contracts_only() {
        let cache = UnknownContracts::default();
        let key = UnknownContracts::key("brk.b", "stk", "usd");
        assert_eq!(key, "BRK.B|STK|USD");
        let _ = cache.note::<()>(&key, Err(GatewayError::Timeout(Duration::from_secs(8))));
        assert!(
            cache.get(&key).is_none(),
            "a timeout says nothing about the contract"
        );
        let _ = cache.note::<()>(&key, Err(GatewayError::NotFound("no such contract".into())));
        assert!(
            matches!(cache.get(&key), Some(GatewayError::NotFound(m)) if m == "no such contract")
        );
        assert!(cache.get("KRYX|STK|USD").is_none());
    }

    #[test]
    fn stays_bounded() {
        let cache = UnknownContracts::default();
        for i in 0..(CAPACITY + 50) {
            let _ = cache.note::<()>(
                &format!("S{i}|STK|USD"),
                Err(GatewayError::NotFound("x".into())),
            );
        }
        assert!(cache.entries.lock().len() <= CAPACITY);
        assert!(cache.get(&format!("S{}|STK|USD", CAPACITY + 49)).is_some());
    }
}
