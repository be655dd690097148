//! The supervisor: keeps one gateway connected forever. Connect, run a session (which
//! subscribes everything), and when the session dies or stalls, mark the gateway
//! Reconnecting (keeping every cached value in the store), back off 1 s → 30 s and start again
//! (at once when a closed gateway port opens again).

use super::shared::Shared;
use super::{AUTO_DETECT_PORTS, connect, events, session};
use crate::model::ConnState;
use std::sync::Arc;
use std::time::Duration;

/// Backoff between attempts: 1, 2, 4, 8, 16, 30, 30, … seconds.
#[derive(Debug, Default)]
pub struct Backoff {
    attempt: u32,
}

impl Backoff {
    pub fn next_delay(&mut self) -> Duration {
        let secs = 1u64.checked_shl(self.attempt).unwrap_or(u64::MAX).min(30);
        self.attempt = self.attempt.saturating_add(1);
        Duration::from_secs(secs)
    }
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// How often a closed gateway port is probed while waiting to retry.
const PROBE_EVERY: Duration = Duration::from_millis(250);

/// Waits out `delay` before the next attempt — unless every gateway port is closed (the gateway
/// is not running), in which case the ports are probed with a bare TCP connect and the wait
/// ends as soon as one accepts: a gateway that comes back is reconnected within a probe,
/// however long the backoff has grown. A gateway that is up but refuses the API gets the full
/// backoff.
async fn wait_to_retry(host: &str, ports: &[u16], delay: Duration) {
    let deadline = tokio::time::Instant::now() + delay;
    if any_port_open(host, ports).await {
        tokio::time::sleep_until(deadline).await;
        return;
    }
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(PROBE_EVERY.min(deadline - tokio::time::Instant::now())).await;
        if any_port_open(host, ports).await {
            return;
        }
    }
}

async fn any_port_open(host: &str, ports: &[u16]) -> bool {
    for &port in ports {
        let connect = tokio::net::TcpStream::connect((host, port));
        if let Ok(Ok(_)) = tokio::time::timeout(PROBE_EVERY, connect).await {
            return true;
        }
    }
    false
}

pub async fn run(shared: Arc<Shared>) {
    let cfg = shared.cfg.clone();
    let role = shared.role;
    let store = shared.store.clone();
    let handshake_timeout = cfg
        .stall_timeout
        .clamp(Duration::from_secs(3), Duration::from_secs(15));
    let mut last_port: Option<u16> = None;
    let mut backoff = Backoff::default();
    let mut ever_connected = false;
    let mut failures_in_a_row: u32 = 0;
    shared.set_state(ConnState::Connecting, None);

    loop {
        let opened = tokio::select! {
            _ = shared.cancel.cancelled() => break,
            r = connect::open(&cfg.host, cfg.port, last_port, cfg.client_id, handshake_timeout) => r,
        };
        match opened {
            Ok(session) => {
                failures_in_a_row = 0;
                backoff.reset();
                if session.client_id != cfg.client_id {
                    events::notice(
                        &store,
                        role,
                        326,
                        &format!(
                            "client id {} was in use; connected as client id {}",
                            cfg.client_id, session.client_id
                        ),
                    );
                }
                last_port = Some(session.port);
                let now = store.now();
                let accounts: Vec<String> = match &cfg.account {
                    Some(a) => vec![a.clone()],
                    None => session.client.handshake_managed_accounts().to_vec(),
                };
                let server_version = session.client.server_version();
                let reconnected = ever_connected;
                shared.status(|s| {
                    s.state = ConnState::Connected;
                    s.since = now;
                    s.port = session.port;
                    s.client_id = session.client_id;
                    s.server_version = Some(server_version);
                    s.accounts = accounts.clone();
                    s.last_data = Some(now);
                    s.last_error = None;
                    s.failed_attempts = 0;
                    if reconnected {
                        s.reconnects += 1;
                    }
                });
                events::supervisor(
                    &store,
                    role,
                    format!(
                        "{} {}:{} (API server version {server_version}, client id {}, accounts {})",
                        if reconnected {
                            "reconnected to"
                        } else {
                            "connected to"
                        },
                        cfg.host,
                        session.port,
                        session.client_id,
                        accounts.join(", ")
                    ),
                );
                ever_connected = true;
                match session::run(&shared, session).await {
                    session::SessionEnd::Shutdown => break,
                    session::SessionEnd::Lost(reason) => {
                        shared.set_state(ConnState::Reconnecting, Some(reason.clone()));
                        events::supervisor(
                            &store,
                            role,
                            format!("connection lost: {reason}; cached data kept"),
                        );
                    }
                }
            }
            Err(fail) => {
                failures_in_a_row += 1;
                for id in &fail.ids_in_use {
                    events::notice(
                        &store,
                        role,
                        326,
                        &format!("client id {id} is in use by another connection"),
                    );
                }
                let state = if ever_connected {
                    ConnState::Reconnecting
                } else {
                    ConnState::Disconnected
                };
                shared.set_down_reason(&fail.message);
                shared.status(|s| s.failed_attempts = failures_in_a_row);
                shared.set_state(state, Some(fail.message.clone()));
                events::supervisor(
                    &store,
                    role,
                    format!(
                        "connect attempt {failures_in_a_row} failed: {}",
                        fail.message
                    ),
                );
            }
        }
        let delay = backoff.next_delay();
        events::supervisor(
            &store,
            role,
            format!(
                "reconnect attempt {} in {}s",
                failures_in_a_row + 1,
                delay.as_secs()
            ),
        );
        let ports: Vec<u16> = match cfg.port.or(last_port) {
            Some(p) => vec![p],
            None => AUTO_DETECT_PORTS.to_vec(),
        };
        tokio::select! {
            _ = shared.cancel.cancelled() => break,
            _ = wait_to_retry(&cfg.host, &ports, delay) => {}
        }
    }

    shared.clear_client("the gateway connection was shut down");
    shared.set_state(ConnState::Disconnected, Some("shut down".into()));
    events::supervisor(&store, role, "gateway connection stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_from_one_second_to_thirty() {
        let mut b = Backoff::default();
        let secs: Vec<u64> = (0..8).map(|_| b.next_delay().as_secs()).collect();
        assert_eq!(secs, vec![1, 2, 4, 8, 16, 30, 30, 30]);
        b.reset();
        assert_eq!(b.next_delay().as_secs(), 1);
    }
}
