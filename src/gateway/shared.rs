//! State shared by one gateway's supervisor, its session tasks and its `Requests` handle:
//! the current ibapi client (if connected), why it is down, the synced flag, and helpers that
//! write the gateway's status into the store.

use super::{GatewayConfig, GatewayError};
use crate::model::{ConnState, GatewayRole, GatewayStatus};
use crate::store::Store;
use ibapi::Client;
use parking_lot::RwLock;
use std::sync::Arc;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

pub struct Shared {
    pub role: GatewayRole,
    pub cfg: GatewayConfig,
    pub store: Store,
    client: RwLock<Option<Arc<Client>>>,
    down_reason: RwLock<String>,
    /// Why gateway-bound calls cannot be answered right now (down or stalled), in words;
    /// `None` while the gateway answers. Calls in flight watch it to fail as soon as it is set.
    unusable: watch::Sender<Option<String>>,
    pub synced: watch::Sender<bool>,
    pub cancel: CancellationToken,
    /// True while every holding's daily history is being fetched after the initial sync: the
    /// P&L rotation then leaves most of the message budget to it.
    pub warming: std::sync::atomic::AtomicBool,
}

impl Shared {
    pub fn new(cfg: GatewayConfig, store: Store) -> Arc<Self> {
        let (synced, _) = watch::channel(false);
        Arc::new(Shared {
            role: cfg.role,
            cfg,
            store,
            client: RwLock::new(None),
            down_reason: RwLock::new("not connected yet".into()),
            unusable: watch::Sender::new(Some("not connected yet".into())),
            synced,
            cancel: CancellationToken::new(),
            warming: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The live client, or why there is none. A stalled gateway counts as none: a request
    /// sent to it would only wait for its deadline.
    pub fn client(&self) -> Result<Arc<Client>, GatewayError> {
        if let Some(stalled) = self.stalled() {
            return Err(GatewayError::NotConnected(stalled));
        }
        match self.client.read().as_ref() {
            Some(c) if c.is_connected() => Ok(c.clone()),
            _ => Err(GatewayError::NotConnected(self.down_reason.read().clone())),
        }
    }

    pub fn set_client(&self, client: Arc<Client>) {
        *self.client.write() = Some(client);
        self.unusable.send_replace(None);
    }

    pub fn clear_client(&self, reason: &str) {
        *self.down_reason.write() = reason.to_string();
        *self.client.write() = None;
        self.unusable.send_replace(Some(reason.to_string()));
    }

    /// The session saw the gateway stop answering (`Some(why)`) or answer again (`None`).
    pub fn set_stalled(&self, why: Option<String>) {
        let connected = self.client.read().is_some();
        if connected {
            self.unusable.send_replace(why);
        }
    }

    fn stalled(&self) -> Option<String> {
        let connected = self.client.read().is_some();
        if connected {
            self.unusable.borrow().clone()
        } else {
            None
        }
    }

    /// Watches why calls cannot be answered (see `unusable`).
    pub fn unusable(&self) -> watch::Receiver<Option<String>> {
        self.unusable.subscribe()
    }

    pub fn set_down_reason(&self, reason: &str) {
        *self.down_reason.write() = reason.to_string();
    }

    /// Applies `f` to this gateway's status in the store (creating it on first use).
    pub fn status<R>(&self, f: impl FnOnce(&mut GatewayStatus) -> R) -> R {
        let role = self.role;
        let cfg = &self.cfg;
        self.store.update(|st| {
            let gateways = Arc::make_mut(&mut st.gateways);
            let status = gateways.entry(role).or_insert_with(|| GatewayStatus {
                role: Some(role),
                host: cfg.host.clone(),
                port: cfg.port.unwrap_or(0),
                client_id: cfg.client_id,
                ..GatewayStatus::default()
            });
            f(status)
        })
    }

    /// Moves to `state` (stamping `since` only when the state actually changes).
    pub fn set_state(&self, state: ConnState, last_error: Option<String>) {
        let now = self.store.now();
        self.status(|s| {
            if s.state != state {
                s.since = now;
            }
            s.state = state;
            s.last_error = last_error;
        });
    }
}
