//! The gateway's event log, in words: IB notices (1100, 2104, 10167, ...) and the supervisor's own
//! events (connected, lost, reconnect attempt N, resubscribed) go to `store.push_event` with a
//! sentence a trader understands, not a bare code.

use crate::model::{GatewayEvent, GatewayRole};
use crate::store::Store;

/// ibapi's synthetic "the transport reconnected" notice.
pub const TRANSPORT_RECONNECT: i32 = -8;

/// Records a supervisor event (code 0).
pub fn supervisor(store: &Store, role: GatewayRole, message: impl Into<String>) {
    let message = message.into();
    tracing::info!(gateway = role.as_str(), "{message}");
    store.push_event(GatewayEvent {
        time: store.now(),
        role,
        code: 0,
        message,
    });
}

/// Records an IB notice with its code, the gateway's own text and our explanation.
pub fn notice(store: &Store, role: GatewayRole, code: i32, text: &str) {
    let message = describe(code, text);
    tracing::info!(gateway = role.as_str(), code, "{message}");
    store.push_event(GatewayEvent {
        time: store.now(),
        role,
        code,
        message,
    });
}

/// What an IB code means for the user, followed by IB's own text when it adds something.
pub fn describe(code: i32, text: &str) -> String {
    let meaning = match code {
        1100 => Some(
            "connection between the gateway and IB servers lost; data is frozen until it returns",
        ),
        1101 => Some("connection to IB restored, but market data was lost; resubscribing"),
        1102 => Some("connection to IB restored, data maintained"),
        1300 => Some("the gateway changed its socket port; reconnect needed"),
        2103 | 2105 | 2157 => Some("a data farm connection is broken"),
        2104 => Some("market data farm connection is OK"),
        2106 => Some("historical data farm connection is OK"),
        2107 | 2108 => Some("a data farm is inactive but available on demand"),
        2158 => Some("security definition data farm connection is OK"),
        2119 => Some("market data farm is connecting"),
        101 => Some("market-data lines exhausted: no streaming quote line free"),
        162 => Some("historical data request refused (pacing violation or no data)"),
        200 => Some("no security definition found for the request"),
        321 => Some("the request was invalid"),
        326 => Some("client id already in use; trying the next one"),
        354 => Some("no market data subscription for this symbol; falling back to delayed data"),
        10167 => Some("no live market data subscription; showing delayed data"),
        10089..=10091 => {
            Some("market data needs an additional subscription; delayed data shown where available")
        }
        10197 => Some("no market data during a competing live session"),
        502 => Some("could not connect to the gateway"),
        504 => Some("not connected to the gateway"),
        TRANSPORT_RECONNECT => Some("transport reconnected"),
        _ => None,
    };
    let text = text.trim();
    match meaning {
        Some(m) if text.is_empty() => m.to_string(),
        Some(m) => format!("{m} ({text})"),
        None if text.is_empty() => format!("IB message {code}"),
        None => text.to_string(),
    }
}

/// Codes that mean "this symbol's data is delayed".
pub fn is_delayed_notice(code: i32) -> bool {
    matches!(code, 10167 | 354 | 10089..=10091)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_get_words() {
        assert!(
            describe(1100, "Connectivity between IB and TWS has been lost.")
                .starts_with("connection between")
        );
        assert_eq!(describe(2104, ""), "market data farm connection is OK");
        assert!(describe(10167, "Requested market data is not subscribed").contains("delayed"));
    }

    #[test]
    fn unknown_codes_keep_ib_text() {
        assert_eq!(describe(9999, "Something odd"), "Something odd");
        assert_eq!(describe(9999, ""), "IB message 9999");
    }
}
