//! Account streams: the account summary (summary tags and cash per currency), account updates
//! (portfolio values of the first account) and account P&L.

use super::streams::{Ended, on_notice, relist, with_ready};
use super::{Ctx, Msg};
use crate::gateway::{cleaning, convert, lag};
use crate::model::*;
use futures::StreamExt;
use ibapi::accounts::types::{AccountGroup, AccountId};
use ibapi::accounts::{AccountSummaryResult, AccountUpdate};
use ibapi::subscriptions::SubscriptionItem;
use std::sync::Arc;

pub(super) async fn summary_loop(ctx: Arc<Ctx>) {
    relist(
        &ctx,
        lag::Stream::AccountSummary,
        Msg::SummaryDone,
        |mut summarized| {
            let ctx = ctx.clone();
            async move { (summary_stream(&ctx, &mut summarized).await, summarized) }
        },
    )
    .await;
}

/// One account-summary subscription. `summarized` becomes true at the first complete summary.
async fn summary_stream(ctx: &Arc<Ctx>, summarized: &mut bool) -> Ended {
    let mut tags: Vec<&str> = tags::SUMMARY.to_vec();
    // Per-currency cash balances come as TotalCashBalance/CashBalance rows per currency.
    tags.push("$LEDGER:ALL");
    let mut sub = match ctx
        .client
        .account_summary(&AccountGroup::from("All"), &tags)
        .await
    {
        Ok(s) => s,
        Err(e) => {
            ctx.report("account summary", &e);
            return Ended::Closed;
        }
    };
    while let Some(item) = sub.next().await {
        ctx.touch();
        match item {
            Ok(SubscriptionItem::Data(AccountSummaryResult::Summary(row))) => {
                if ctx.wants(&row.account)
                    && apply_account_row(ctx, &row.account, &row.tag, &row.value, &row.currency)
                {
                    ctx.send(Msg::FxDirty);
                }
            }
            Ok(SubscriptionItem::Data(AccountSummaryResult::End)) => {
                if !*summarized {
                    *summarized = true;
                    ctx.send(Msg::SummaryDone);
                }
            }
            Ok(SubscriptionItem::Notice(n)) => {
                if on_notice(ctx, lag::Stream::AccountSummary, n.code, &n.message)
                    == lag::OnLag::Rerequest
                {
                    sub.cancel().await;
                    return Ended::Lagged;
                }
            }
            Err(e) => {
                ctx.report("account summary", &e);
                return Ended::Closed;
            }
        }
    }
    Ended::Closed
}

/// Writes one account value; returns true when it was a cash-per-currency row (FX needs).
pub(super) fn apply_account_row(
    ctx: &Ctx,
    account: &str,
    tag: &str,
    value: &str,
    currency: &str,
) -> bool {
    let Some(v) = cleaning::parse_amount(value) else {
        return false;
    };
    let is_summary_tag = tags::SUMMARY.contains(&tag);
    let is_cash_row = matches!(tag, "TotalCashBalance" | "CashBalance")
        && !currency.is_empty()
        && currency != "BASE";
    if !is_summary_tag && !is_cash_row {
        return false;
    }
    let now = ctx.store().now();
    let role = ctx.role();
    ctx.store().update(|st| {
        let accounts = Arc::make_mut(&mut st.accounts);
        let a = accounts
            .entry(account.to_string())
            .or_insert_with(|| AccountSnapshot {
                account: account.to_string(),
                ..AccountSnapshot::default()
            });
        a.gateway = Some(role);
        a.updated = now;
        if is_summary_tag {
            if tag == tags::NET_LIQUIDATION && !currency.is_empty() && currency != "BASE" {
                a.base_currency = currency.to_string();
            }
            a.values.insert(
                tag.to_string(),
                AccountValue {
                    value: v,
                    currency: currency.to_string(),
                },
            );
        } else {
            a.cash_by_currency.insert(currency.to_string(), v);
        }
    });
    is_cash_row
}

pub(super) async fn updates_loop(ctx: Arc<Ctx>, account: String) {
    relist(
        &ctx,
        lag::Stream::AccountUpdates,
        Msg::UpdatesDone,
        |mut downloaded| {
            let (ctx, account) = (ctx.clone(), account.clone());
            async move {
                let ended = updates_stream(&ctx, &account, &mut downloaded).await;
                (ended, downloaded)
            }
        },
    )
    .await;
}

/// One portfolio row (value and P&L of a position, in the instrument's currency).
struct PortfolioRow {
    key: (String, i32),
    inst: Instrument,
    qty: f64,
    avg_cost: Option<f64>,
    market_price: Option<f64>,
    market_value: Option<f64>,
    unrealized_pnl: Option<f64>,
    realized_pnl: Option<f64>,
}

/// One account-updates subscription. `downloaded` becomes true at the first complete download.
async fn updates_stream(ctx: &Arc<Ctx>, account: &str, downloaded: &mut bool) -> Ended {
    let mut sub = match ctx.client.account_updates(&AccountId::from(account)).await {
        Ok(s) => s,
        Err(e) => {
            ctx.report("account updates", &e);
            return Ended::Closed;
        }
    };
    while let Some(first) = sub.next().await {
        ctx.touch();
        let mut rows = Vec::new();
        let mut fx_dirty = false;
        let mut download_ended = false;
        let mut ended = None;
        for item in with_ready(&mut sub, first) {
            match item {
                Ok(SubscriptionItem::Data(AccountUpdate::AccountValue(v))) => {
                    let acct = v.account.clone().unwrap_or_else(|| account.to_string());
                    // Only cash per currency: the summary subscription owns the summary tags.
                    if matches!(v.key.as_str(), "TotalCashBalance" | "CashBalance")
                        && ctx.wants(&acct)
                    {
                        fx_dirty |= apply_account_row(ctx, &acct, &v.key, &v.value, &v.currency);
                    }
                }
                Ok(SubscriptionItem::Data(AccountUpdate::PortfolioValue(p))) => {
                    let acct = p.account.clone().unwrap_or_else(|| account.to_string());
                    let qty = cleaning::quantity(p.position).unwrap_or(0.0);
                    if !ctx.wants(&acct) || qty == 0.0 {
                        continue;
                    }
                    let inst = convert::instrument(&p.contract);
                    let per_unit = if inst.multiplier > 1.0 {
                        inst.multiplier
                    } else {
                        1.0
                    };
                    rows.push(PortfolioRow {
                        key: (acct, inst.con_id),
                        inst,
                        qty,
                        avg_cost: cleaning::amount(p.average_cost).map(|c| c / per_unit),
                        market_price: cleaning::price(p.market_price),
                        market_value: cleaning::amount(p.market_value),
                        unrealized_pnl: cleaning::amount(p.unrealized_pnl),
                        realized_pnl: cleaning::amount(p.realized_pnl),
                    });
                }
                Ok(SubscriptionItem::Data(AccountUpdate::End)) => download_ended = true,
                Ok(SubscriptionItem::Data(AccountUpdate::UpdateTime(_))) => {}
                Ok(SubscriptionItem::Notice(n)) => {
                    if on_notice(ctx, lag::Stream::AccountUpdates, n.code, &n.message)
                        == lag::OnLag::Rerequest
                    {
                        ended = Some(Ended::Lagged);
                        break;
                    }
                }
                Err(e) => {
                    ctx.report("account updates", &e);
                    ended = Some(Ended::Closed);
                    break;
                }
            }
        }
        apply_portfolio_rows(ctx, rows);
        if fx_dirty {
            ctx.send(Msg::FxDirty);
        }
        if download_ended && !*downloaded {
            *downloaded = true;
            ctx.send(Msg::UpdatesDone);
        }
        match ended {
            Some(Ended::Lagged) => {
                sub.cancel().await;
                return Ended::Lagged;
            }
            Some(Ended::Closed) => return Ended::Closed,
            None => {}
        }
    }
    Ended::Closed
}

/// Applies a batch of portfolio rows in one store update.
fn apply_portfolio_rows(ctx: &Ctx, rows: Vec<PortfolioRow>) {
    if rows.is_empty() {
        return;
    }
    let now = ctx.store().now();
    ctx.store().update(|st| {
        let positions = Arc::make_mut(&mut st.positions);
        for row in rows {
            let account = row.key.0.clone();
            let pos = positions.entry(row.key).or_insert_with(|| Position {
                account,
                instrument: row.inst,
                quantity: row.qty,
                avg_cost: row.avg_cost.unwrap_or(0.0),
                ..Position::default()
            });
            pos.market_price = row.market_price.or(pos.market_price);
            pos.market_value = row.market_value.or(pos.market_value);
            pos.unrealized_pnl = row.unrealized_pnl.or(pos.unrealized_pnl);
            pos.realized_pnl = row.realized_pnl.or(pos.realized_pnl);
            pos.updated = now;
        }
    });
}

pub(super) async fn pnl_loop(ctx: Arc<Ctx>, account: String) {
    let mut sub = match ctx
        .client
        .pnl(&AccountId::from(account.as_str()), None)
        .await
    {
        Ok(s) => s,
        Err(e) => {
            ctx.report("account P&L", &e);
            ctx.send(Msg::PnlSeen(account));
            return;
        }
    };
    let mut seen = false;
    while let Some(item) = sub.next().await {
        ctx.touch();
        match item {
            Ok(SubscriptionItem::Data(p)) => {
                let pnl = AccountPnl {
                    daily: cleaning::amount(p.daily_pnl),
                    unrealized: cleaning::amount_opt(p.unrealized_pnl),
                    realized: cleaning::amount_opt(p.realized_pnl),
                };
                let now = ctx.store().now();
                let role = ctx.role();
                ctx.store().update(|st| {
                    let a = Arc::make_mut(&mut st.accounts)
                        .entry(account.clone())
                        .or_insert_with(|| AccountSnapshot {
                            account: account.clone(),
                            ..AccountSnapshot::default()
                        });
                    a.gateway = Some(role);
                    a.pnl = Some(pnl);
                    a.updated = now;
                });
                if !seen {
                    seen = true;
                    ctx.send(Msg::PnlSeen(account.clone()));
                }
            }
            Ok(SubscriptionItem::Notice(n)) => {
                on_notice(&ctx, lag::Stream::AccountPnl, n.code, &n.message);
            }
            Err(e) => {
                ctx.report("account P&L", &e);
                break;
            }
        }
    }
    if !seen {
        ctx.send(Msg::PnlSeen(account));
    }
}
