//! Open orders and today's executions, re-read periodically (read-only).

use super::{Ctx, SYNC_NO_PROGRESS};
use crate::gateway::{cleaning, convert, events};
use crate::model::*;
use futures::StreamExt;
use ibapi::Client;
use ibapi::orders::{ExecutionFilter, Executions, Orders};
use ibapi::subscriptions::SubscriptionItem;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// How often open orders and today's executions are re-read.
const ORDERS_REFRESH: Duration = Duration::from_secs(30);
/// Bound on one-shot reads done by the session (orders, executions).
const ONE_SHOT_TIMEOUT: Duration = Duration::from_secs(15);

pub(super) async fn orders_loop(ctx: Arc<Ctx>) {
    // Orders and fills are not part of the initial sync; on a big book its requests go first.
    let mut gate = ctx.orders_gate.subscribe();
    let _ = tokio::time::timeout(SYNC_NO_PROGRESS, gate.wait_for(|open| *open)).await;
    loop {
        refresh_open_orders(&ctx).await;
        refresh_fills(&ctx).await;
        tokio::time::sleep(ORDERS_REFRESH).await;
    }
}

async fn refresh_open_orders(ctx: &Ctx) {
    let read = async {
        let mut sub = ctx.client.all_open_orders().await?;
        let mut views: Vec<OrderView> = Vec::new();
        let mut statuses: HashMap<i32, ibapi::orders::OrderStatus> = HashMap::new();
        while let Some(item) = sub.next().await {
            match item {
                Ok(SubscriptionItem::Data(Orders::OrderData(d))) => {
                    views.push(convert::order_view(&d))
                }
                Ok(SubscriptionItem::Data(Orders::OrderStatus(s))) => {
                    statuses.insert(s.order_id, s);
                }
                Ok(SubscriptionItem::Notice(_)) => {}
                Err(e) => return Err(e),
            }
        }
        for v in &mut views {
            if let Some(s) = statuses.get(&v.order_id) {
                v.status = s.status.as_str().to_string();
                v.filled = cleaning::quantity(s.filled).unwrap_or(v.filled);
                v.remaining = cleaning::quantity(s.remaining).unwrap_or(v.remaining);
                v.avg_fill_price = s.average_fill_price.and_then(cleaning::price);
            }
        }
        Ok::<_, ibapi::Error>(views)
    };
    match tokio::time::timeout(ONE_SHOT_TIMEOUT, read).await {
        Ok(Ok(views)) => {
            ctx.touch();
            let ours: Vec<OrderView> = views
                .into_iter()
                .filter(|v| v.account.is_empty() || ctx.wants(&v.account))
                .collect();
            ctx.store().update(|st| {
                let orders = Arc::make_mut(&mut st.open_orders);
                orders.retain(|o| !(o.account.is_empty() || ctx.wants(&o.account)));
                orders.extend(ours);
            });
        }
        Ok(Err(e)) => ctx.report("open orders", &e),
        Err(_) => events::supervisor(
            ctx.store(),
            ctx.role(),
            "open orders: the gateway did not answer in time",
        ),
    }
}

async fn refresh_fills(ctx: &Ctx) {
    match tokio::time::timeout(ONE_SHOT_TIMEOUT, read_executions(&ctx.client)).await {
        Ok(Ok(fills)) => {
            ctx.touch();
            let ours: Vec<Fill> = fills
                .into_iter()
                .filter(|f| ctx.wants(&f.account))
                .collect();
            if let Some(db) = ctx.store().db()
                && let Err(e) = db.upsert_fills(&ours)
            {
                tracing::warn!("could not save fills in SQLite: {e}");
            }
            ctx.store().update(|st| {
                let all = Arc::make_mut(&mut st.fills);
                for f in ours {
                    match all.iter_mut().find(|x| x.exec_id == f.exec_id) {
                        Some(existing) => *existing = f,
                        None => all.push(f),
                    }
                }
                all.sort_by_key(|f| f.time);
            });
        }
        Ok(Err(e)) => ctx.report("executions", &e),
        Err(_) => events::supervisor(
            ctx.store(),
            ctx.role(),
            "executions: the gateway did not answer in time",
        ),
    }
}

/// Days of executions asked for: IB answers an unfiltered request with today's fills only and
/// keeps at most the last seven days for `lastNDays`.
pub const EXECUTION_DAYS: i32 = 7;

/// The last [`EXECUTION_DAYS`] days' executions with their commission reports merged in.
pub async fn read_executions(client: &Client) -> Result<Vec<Fill>, ibapi::Error> {
    let filter = ExecutionFilter {
        last_n_days: EXECUTION_DAYS,
        ..Default::default()
    };
    let mut sub = client.executions(filter).await?;
    let mut fills: Vec<Fill> = Vec::new();
    let mut commissions: HashMap<String, ibapi::orders::CommissionReport> = HashMap::new();
    while let Some(item) = sub.next().await {
        match item {
            Ok(SubscriptionItem::Data(Executions::ExecutionData(d))) => {
                fills.push(convert::fill(&d))
            }
            Ok(SubscriptionItem::Data(Executions::CommissionReport(c))) => {
                commissions.insert(c.execution_id.clone(), c);
            }
            Ok(SubscriptionItem::Notice(_)) => {}
            Err(e) => return Err(e),
        }
    }
    for f in &mut fills {
        if let Some(c) = commissions.get(&f.exec_id) {
            f.commission = cleaning::amount(c.commission);
            f.commission_currency = c.currency.clone();
            f.realized_pnl = cleaning::amount_opt(c.realized_pnl);
        }
    }
    Ok(fills)
}
