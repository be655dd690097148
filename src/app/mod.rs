//! Process wiring shared by the CLI's subcommands: load config, open the database, start the
//! gateway supervisors (or the simulated gateways for `--demo`), and build the `ToolContext`
//! every front door uses. `main.rs` only parses arguments and calls in here.

pub mod daemon;
pub mod demo;
pub mod demo_files;
pub mod demo_history;
pub mod doctor;
pub mod logging;

use crate::config::{self, Config};
use crate::gateway::{GatewayHandle, Gateways};
use crate::sim::SimHandle;
use crate::store::{Clock, Store, db::Db};
use crate::tools::ToolContext;
use anyhow::Context;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Everything a running process holds: the shared tool context and, in demo mode, the
/// simulated gateways (kept alive for as long as the process runs).
pub struct Runtime {
    pub ctx: ToolContext,
    pub sims: Vec<SimHandle>,
    /// A warning to show the user (e.g. the database was corrupt and was moved aside).
    pub warnings: Vec<String>,
}

impl Runtime {
    /// Waits (bounded) until the primary gateway's first sync is in the store.
    pub async fn wait_synced(&self, timeout: Duration) -> bool {
        match &self.ctx.gateways {
            Some(g) => g.primary.wait_synced(timeout).await,
            None => false,
        }
    }

    /// Background work the cockpit wants once the first sync is in: today's one-minute prices
    /// of the largest positions, for the movers' sparklines.
    pub fn spawn_intraday_backfill(&self) {
        let Some(gateways) = self.ctx.gateways.clone() else {
            return;
        };
        let store = self.ctx.store.clone();
        tokio::spawn(async move {
            if gateways.primary.wait_synced(Duration::from_secs(60)).await {
                crate::gateway::intraday::backfill(gateways.primary.requests(), &store, 20).await;
            }
        });
    }

    pub fn shutdown(&self) {
        if let Some(g) = &self.ctx.gateways {
            for h in g.all() {
                h.shutdown();
            }
        }
        // The journal writer commits every ≤ 100 ms; an orderly exit commits the rest now.
        if !self.ctx.store.flush_journal(Duration::from_secs(2)) {
            tracing::warn!("the last tool calls may not have reached the SQLite journal");
        }
    }
}

/// Loads the config from `path` (or the default location) with the process environment.
pub fn load_config(path: Option<&Path>) -> anyhow::Result<Config> {
    let env = |k: &str| std::env::var(k).ok();
    config::load(path, &env).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Opens the SQLite database the config names; a corrupt file is moved aside (warning kept).
fn open_db(config: &Config, warnings: &mut Vec<String>) -> anyhow::Result<Db> {
    let path = config.db_path();
    let (db, warning) =
        Db::open(&path).with_context(|| format!("opening database {}", path.display()))?;
    warnings.extend(warning);
    db.set_retention(config.journal.retention());
    Ok(db)
}

/// Starts against the real gateway(s) in `config`.
pub fn start_live(config: Config) -> anyhow::Result<Runtime> {
    let mut warnings = Vec::new();
    let db = open_db(&config, &mut warnings)?;
    let store = Store::new(Clock::System, Some(db));
    crate::alerts::start(store.clone(), &config);
    let (primary_cfg, secondary_cfg) = config.gateway_configs();
    let gateways = Gateways {
        primary: GatewayHandle::spawn(primary_cfg, store.clone()),
        secondary: secondary_cfg.map(|c| GatewayHandle::spawn(c, store.clone())),
    };
    Ok(Runtime {
        ctx: ToolContext {
            store,
            gateways: Some(gateways),
            config: Arc::new(config),
            remote: None,
        },
        sims: Vec::new(),
        warnings,
    })
}

/// A context with no gateway at all: for `tool --list` / `--help`, which need no data.
pub fn offline(config: Config) -> Runtime {
    Runtime {
        ctx: ToolContext {
            store: Store::in_memory(),
            gateways: None,
            config: Arc::new(config),
            remote: None,
        },
        sims: Vec::new(),
        warnings: Vec::new(),
    }
}

/// The HTTP address from `[mcp] bind` and `http_port`, with a clear error for a bad address.
pub fn http_bind(config: &Config) -> anyhow::Result<std::net::SocketAddr> {
    let ip: std::net::IpAddr = config.mcp.bind.parse().map_err(|_| {
        anyhow::anyhow!(
            "mcp.bind: expected an IP address such as 127.0.0.1, found {:?}",
            config.mcp.bind
        )
    })?;
    Ok(std::net::SocketAddr::new(ip, config.mcp.http_port))
}
