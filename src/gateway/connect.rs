//! Opening one API session: port auto-detection, client-id rotation on 326, a bounded handshake.
//!
//! ibapi's own reconnect is switched off (`max_reconnect_attempts(0)`): the supervisor owns
//! reconnecting, because only it knows to try another port or client id and to resubscribe.

use super::AUTO_DETECT_PORTS;
use ibapi::subscriptions::NoticeStream;
use ibapi::{Client, RateLimiter};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

/// How many consecutive client ids are tried when the gateway answers 326 (id in use).
pub const CLIENT_ID_TRIES: i32 = 8;

/// Messages per second we allow ourselves; IB's limit is 50 (error 100, then a disconnect).
static MESSAGES_PER_SECOND: AtomicU32 = AtomicU32::new(DEFAULT_MESSAGES_PER_SECOND);
pub const DEFAULT_MESSAGES_PER_SECOND: u32 = 45;

/// Changes the outbound message budget for connections opened from now on.
pub fn set_message_rate(per_second: u32) {
    MESSAGES_PER_SECOND.store(per_second.max(1), Ordering::Relaxed);
}

static MESSAGE_RATE_BY_PORT: LazyLock<Mutex<HashMap<u16, u32>>> = LazyLock::new(Default::default);

/// The message budget for connections to `port` only (a simulator that allows more, so a
/// test's thousands of requests are not paced like a real gateway's).
pub fn set_message_rate_for_port(port: u16, per_second: u32) {
    MESSAGE_RATE_BY_PORT.lock().insert(port, per_second.max(1));
}

/// The message budget a new connection to `port` gets.
fn message_rate(port: u16) -> u32 {
    MESSAGE_RATE_BY_PORT
        .lock()
        .get(&port)
        .copied()
        .unwrap_or_else(|| MESSAGES_PER_SECOND.load(Ordering::Relaxed))
}

/// Frames each streaming subscription can hold unread (ibapi's `channel_capacity`).
///
/// ibapi gives every non-order subscription a tokio broadcast channel that preallocates all its
/// slots (~120 bytes each), so this times the number of subscriptions is most of the adapter's
/// memory on a big book. It is NOT made small: the same capacity bounds the list streams
/// (positions, account updates, account summary), which burst one frame per holding; with 64
/// slots a 2,000-position list lagged and lost frames again and again on a busy machine, even
/// with the loops draining bursts in one store update. The subscription count is bounded
/// instead (`session::PNL_SINGLE_STREAMS` and the quote lines), and a list stream that still
/// falls behind is requested again (`lag::after_lag`), so the book stays complete.
pub const DEFAULT_CHANNEL_CAPACITY: usize = 1024;
static CHANNEL_CAPACITY: AtomicUsize = AtomicUsize::new(DEFAULT_CHANNEL_CAPACITY);
/// Per-port overrides, so a test can give one simulated gateway a tiny channel without
/// touching the other tests running in the same process.
static CHANNEL_CAPACITY_BY_PORT: LazyLock<Mutex<HashMap<u16, usize>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Changes the streaming channel capacity for connections opened from now on.
pub fn set_channel_capacity(frames: usize) {
    CHANNEL_CAPACITY.store(frames.max(1), Ordering::Relaxed);
}

/// Changes the streaming channel capacity for connections to `port` only (tests, diagnosis).
pub fn set_channel_capacity_for_port(port: u16, frames: usize) {
    CHANNEL_CAPACITY_BY_PORT.lock().insert(port, frames.max(1));
}

/// The capacity a new connection to `port` gets.
pub fn channel_capacity(port: u16) -> usize {
    CHANNEL_CAPACITY_BY_PORT
        .lock()
        .get(&port)
        .copied()
        .unwrap_or_else(|| CHANNEL_CAPACITY.load(Ordering::Relaxed))
}

/// A live session.
pub struct Session {
    pub client: Arc<Client>,
    pub notices: NoticeStream,
    pub port: u16,
    pub client_id: i32,
}

/// Why no session could be opened, already in words.
#[derive(Debug, Clone)]
pub struct ConnectFailure {
    pub message: String,
    /// Client ids that were refused with 326 along the way (for the event log).
    pub ids_in_use: Vec<i32>,
}

/// Result of one port/id attempt.
enum Attempt {
    Ok(Session),
    /// Nothing listens there: try the next port.
    NoListener,
    /// Client id taken: try the next id.
    IdInUse,
    Failed(String),
}

/// Ports to try, in order: the configured one only; else the last port that worked, then
/// the standard four.
pub fn candidate_ports(configured: Option<u16>, last_good: Option<u16>) -> Vec<u16> {
    if let Some(p) = configured {
        return vec![p];
    }
    let mut ports = Vec::with_capacity(5);
    if let Some(p) = last_good {
        ports.push(p);
    }
    for p in AUTO_DETECT_PORTS {
        if !ports.contains(&p) {
            ports.push(p);
        }
    }
    ports
}

/// Connects to the first port that answers, rotating client ids on 326.
pub async fn open(
    host: &str,
    configured_port: Option<u16>,
    last_good: Option<u16>,
    client_id: i32,
    handshake_timeout: Duration,
) -> Result<Session, ConnectFailure> {
    let ports = candidate_ports(configured_port, last_good);
    let mut ids_in_use = Vec::new();
    let mut port_failures: Vec<String> = Vec::new();
    for &port in &ports {
        let mut id = client_id;
        loop {
            match attempt(host, port, id, handshake_timeout).await {
                Attempt::Ok(s) => return Ok(s),
                Attempt::NoListener => break,
                Attempt::IdInUse => {
                    ids_in_use.push(id);
                    if id - client_id + 1 >= CLIENT_ID_TRIES {
                        return Err(ConnectFailure {
                            message: format!(
                                "the gateway at {host}:{port} says client ids {client_id}–{id} are all in use; close other API sessions or set another client_id"
                            ),
                            ids_in_use,
                        });
                    }
                    id += 1;
                }
                Attempt::Failed(why) => {
                    port_failures.push(why);
                    break;
                }
            }
        }
    }
    let message = if port_failures.is_empty() {
        let list = ports
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "nothing is listening on {host} at port{} {list}; start IB Gateway or TWS and enable API connections (Configure → Settings → API)",
            if ports.len() == 1 { "" } else { "s" }
        )
    } else {
        port_failures.join("; ")
    };
    Err(ConnectFailure {
        message,
        ids_in_use,
    })
}

async fn attempt(host: &str, port: u16, client_id: i32, handshake_timeout: Duration) -> Attempt {
    let address = format!("{host}:{port}");
    let builder = Client::builder()
        .address(address.clone())
        .client_id(client_id)
        .max_reconnect_attempts(0)
        .channel_capacity(channel_capacity(port))
        .rate_limiter(RateLimiter::per_second(message_rate(port)));
    match tokio::time::timeout(handshake_timeout, builder.connect_with_notice_stream()).await {
        Err(_) => Attempt::Failed(format!(
            "the gateway at {address} accepted the connection but did not finish the API handshake within {}s (is 'Enable ActiveX and Socket Clients' on, and this host trusted?)",
            handshake_timeout.as_secs()
        )),
        Ok(Ok((client, notices))) => Attempt::Ok(Session {
            client: Arc::new(client),
            notices,
            port,
            client_id,
        }),
        Ok(Err(ibapi::Error::ClientIdInUse { .. })) => Attempt::IdInUse,
        Ok(Err(ibapi::Error::Io(e))) if is_no_listener(&e) => Attempt::NoListener,
        Ok(Err(ibapi::Error::Io(e))) => Attempt::Failed(format!("could not reach {address}: {e}")),
        Ok(Err(ibapi::Error::ConnectionRejected(why))) => Attempt::Failed(format!(
            "the gateway at {address} rejected the connection: {why}"
        )),
        Ok(Err(ibapi::Error::ServerVersion(want, got, _))) => Attempt::Failed(too_old(got, want)),
        Ok(Err(e)) => Attempt::Failed(format!("could not open an API session at {address}: {e}")),
    }
}

/// The first IB Gateway/TWS release that speaks API server version 213 (protobuf for every
/// message), the floor of the `ibapi` client this build uses. IB's releases add about two server
/// versions each (219 arrived with 10.43, 221 with 10.44, 223 with 10.45).
pub const MIN_GATEWAY_RELEASE: &str = "10.40";
const TOO_OLD: &str = "IB Gateway is too old";

/// One line: what is wrong and what to install.
pub fn too_old(server_version: i32, needed: i32) -> String {
    format!(
        "{TOO_OLD}: server version {server_version}, this build needs {needed} or later — install IB Gateway/TWS {MIN_GATEWAY_RELEASE} or later"
    )
}

/// Whether a connection failure is a gateway older than this build can talk to.
pub fn is_too_old(message: &str) -> bool {
    message.contains(TOO_OLD)
}

fn is_no_listener(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), ConnectionRefused | AddrNotAvailable | NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_port_is_the_only_candidate() {
        assert_eq!(candidate_ports(Some(4012), Some(4002)), vec![4012]);
    }

    #[test]
    fn auto_detect_tries_last_good_first() {
        assert_eq!(
            candidate_ports(None, Some(7497)),
            vec![7497, 4001, 4002, 7496]
        );
        assert_eq!(candidate_ports(None, None), vec![4001, 4002, 7496, 7497]);
    }

    #[test]
    fn a_port_override_leaves_other_ports_at_the_default() {
        // Port 1 is never a gateway port in these tests.
        set_channel_capacity_for_port(1, 0);
        assert_eq!(channel_capacity(1), 1, "at least one slot");
        assert_eq!(
            channel_capacity(2),
            CHANNEL_CAPACITY.load(Ordering::Relaxed)
        );
    }

    #[tokio::test]
    async fn nothing_listening_is_one_clear_line() {
        // Bind then drop to find a port that is (almost certainly) free.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or(1);
        let r = tokio::time::timeout(
            Duration::from_secs(10),
            open("127.0.0.1", Some(port), None, 1, Duration::from_secs(2)),
        )
        .await;
        let Ok(Err(fail)) = r else {
            panic!("expected a connect failure");
        };
        assert!(
            fail.message.contains("nothing is listening"),
            "{}",
            fail.message
        );
        assert!(!fail.message.contains('\n'));
    }
}
