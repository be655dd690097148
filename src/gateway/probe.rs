//! `doctor`'s view of a gateway: one short-lived connection that reports what a user needs to
//! know (reachable port, server version, accounts, market-data mode, NLV, positions), or one
//! clear line saying what is wrong.

use super::{GatewayError, connect, session};
use crate::model::{DataMode, tags};
use futures::StreamExt;
use ibapi::accounts::types::AccountGroup;
use ibapi::accounts::{AccountSummaryResult, PositionUpdate};
use ibapi::market_data::realtime::TickTypes;
use ibapi::subscriptions::SubscriptionItem;
use serde::Serialize;
use std::time::Duration;

/// What `doctor` prints about one gateway.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeReport {
    pub host: String,
    /// The port that answered (auto-detected when none was configured).
    pub port: u16,
    /// The client id actually used (the next one when the configured id was in use).
    pub client_id: i32,
    pub server_version: i32,
    pub accounts: Vec<String>,
    /// Mode IB reported for a sample quote (`None` when nothing is held to sample, or IB did
    /// not say in time).
    pub market_data_mode: Option<DataMode>,
    /// (account, NLV, currency)
    pub net_liquidation: Vec<(String, f64, String)>,
    pub positions: usize,
}

/// Connects once, reads the essentials and disconnects. Fails with one line of words.
pub async fn probe(
    host: &str,
    port: Option<u16>,
    client_id: i32,
    timeout: Duration,
) -> Result<ProbeReport, GatewayError> {
    match tokio::time::timeout(timeout, probe_inner(host, port, client_id, timeout)).await {
        Ok(r) => r,
        Err(_) => Err(GatewayError::Other(format!(
            "the gateway at {host} did not answer within {}s",
            timeout.as_secs_f64()
        ))),
    }
}

async fn probe_inner(
    host: &str,
    port: Option<u16>,
    client_id: i32,
    timeout: Duration,
) -> Result<ProbeReport, GatewayError> {
    let handshake = timeout.clamp(Duration::from_secs(1), Duration::from_secs(10));
    let s = connect::open(host, port, None, client_id, handshake)
        .await
        .map_err(|f| GatewayError::NotConnected(f.message))?;
    let client = s.client.clone();
    let step = (timeout / 3).max(Duration::from_millis(500));

    let accounts = client.handshake_managed_accounts().to_vec();

    let mut net_liquidation = Vec::new();
    if let Ok(Ok(mut sub)) = tokio::time::timeout(
        step,
        client.account_summary(&AccountGroup::from("All"), &[tags::NET_LIQUIDATION]),
    )
    .await
    {
        let read = async {
            while let Some(Ok(item)) = sub.next().await {
                match item {
                    SubscriptionItem::Data(AccountSummaryResult::Summary(row))
                        if row.tag == tags::NET_LIQUIDATION =>
                    {
                        if let Some(v) = super::cleaning::parse_amount(&row.value) {
                            net_liquidation.push((row.account, v, row.currency));
                        }
                    }
                    SubscriptionItem::Data(AccountSummaryResult::End) => break,
                    _ => {}
                }
            }
        };
        let _ = tokio::time::timeout(step, read).await;
    }

    let mut positions = 0usize;
    let mut sample = None;
    if let Ok(Ok(mut sub)) = tokio::time::timeout(step, client.positions()).await {
        let read = async {
            while let Some(Ok(item)) = sub.next().await {
                match item {
                    SubscriptionItem::Data(PositionUpdate::Position(p)) if p.position != 0.0 => {
                        positions += 1;
                        if sample.is_none() {
                            sample = Some(p.contract);
                        }
                    }
                    SubscriptionItem::Data(PositionUpdate::PositionEnd) => break,
                    _ => {}
                }
            }
        };
        let _ = tokio::time::timeout(step, read).await;
    }

    let mut market_data_mode = None;
    if let Some(mut contract) = sample {
        if contract.exchange.to_string().is_empty() {
            contract.exchange = "SMART".into();
        }
        let _ = client
            .switch_market_data_type(session::market_data_type(4))
            .await;
        if let Ok(ticks) = client.market_data(&contract).snapshot_once(step).await {
            market_data_mode = ticks.iter().rev().find_map(|t| match t {
                TickTypes::MarketDataType(m) => Some(DataMode::from_ib(*m as i32)),
                _ => None,
            });
        }
    }

    let report = ProbeReport {
        host: host.to_string(),
        port: s.port,
        client_id: s.client_id,
        server_version: client.server_version(),
        accounts,
        market_data_mode,
        net_liquidation,
        positions,
    };
    drop(s);
    let _ = tokio::time::timeout(Duration::from_secs(2), client.disconnect()).await;
    Ok(report)
}
