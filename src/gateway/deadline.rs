//! Deadlines for gateway-bound calls. A call ends at the first of: its answer, its deadline, or
//! the gateway becoming unusable (stalled, disconnected, reconnecting) while it waits — so a
//! stalled gateway costs a caller seconds, not the minutes until the socket gives up, and the
//! error says which state the gateway is in.

use super::GatewayError;
use super::shared::Shared;
use std::future::Future;
use std::time::Duration;

/// Deadline of an on-demand call (contract details, snapshots, what-if, news, orders).
pub const CALL_DEADLINE: Duration = Duration::from_secs(8);

/// Runs `call` within `limit`, failing early (with the gateway's state in words) when the
/// gateway stalls or goes down before it answers.
pub async fn bounded<T>(
    shared: &Shared,
    limit: Duration,
    call: impl Future<Output = T>,
) -> Result<T, GatewayError> {
    let mut unusable = shared.unusable();
    let gone = async {
        match unusable.wait_for(Option::is_some).await {
            Ok(why) => why.clone().unwrap_or_default(),
            // The sender lives as long as the gateway handle; gone means shutting down.
            Err(_) => "the gateway connection was shut down".to_string(),
        }
    };
    tokio::select! {
        answer = call => Ok(answer),
        why = gone => Err(GatewayError::NotConnected(why)),
        _ = tokio::time::sleep(limit) => Err(match shared.client() {
            Err(e) => e,
            Ok(_) => GatewayError::Timeout(limit),
        }),
    }
}
