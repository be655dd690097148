//! `ibkr_trades`, read-only: fills with commissions, the SQLite fills journal across days,
//! realized P&L from commission reports, or completed orders.

use super::order_rows::{OrderRow, UNSET, price_cell};
use crate::gateway::cleaning;
use crate::model::{Fill, Millis, ToolGroup};
use crate::tools::format::{self as f, Align};
use crate::tools::support::{self, Meta, resolve_account};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

const DAY_MS: i64 = 86_400_000;

/// Which view of the trading history to show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TradesView {
    /// Executions with commissions, as the gateway reports them now (default).
    #[default]
    Fills,
    /// Fills persisted in SQLite across days (default last 30 days).
    Journal,
    /// Realized P&L from IB's commission reports, per symbol.
    Realized,
    /// Completed orders (filled or cancelled).
    Completed,
}

impl TradesView {
    fn label(self) -> &'static str {
        match self {
            TradesView::Fills => "fills",
            TradesView::Journal => "journal",
            TradesView::Realized => "realized",
            TradesView::Completed => "completed",
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TradesParams {
    /// `fills` (default), `journal`, `realized` or `completed`.
    #[serde(default)]
    pub view: TradesView,
    /// Only symbols containing this text (case-insensitive).
    pub symbol_filter: Option<String>,
    /// Only the last N days (1–3650). Default: everything the gateway reports for `fills`,
    /// `realized` and `completed`; 30 days for `journal`.
    #[schemars(range(min = 1, max = 3650))]
    pub days: Option<u32>,
    /// Account id (or its masked form as shown in answers). Default: the primary gateway's first account.
    pub account: Option<String>,
}

/// One execution.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct FillRow {
    pub exec_id: String,
    pub order_id: i32,
    /// `YYYY-MM-DD HH:MM:SS UTC`
    pub time: String,
    pub symbol: String,
    pub currency: String,
    /// BOT / SLD
    pub side: String,
    #[serde(serialize_with = "crate::tools::format::dp4")]
    pub shares: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub price: Option<f64>,
    /// shares × price × multiplier, in the instrument's currency.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub value: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub commission: Option<f64>,
    pub commission_currency: String,
    /// From the commission report; `null` when IB reported none (opening fills).
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub realized_pnl: Option<f64>,
    pub exchange: String,
}

/// Realized P&L of one symbol.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct RealizedRow {
    pub symbol: String,
    pub currency: String,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub realized_pnl: f64,
    /// Fills that carried a realized P&L.
    pub fills: usize,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub commissions: f64,
}

/// An amount per currency (totals never add different currencies).
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct CurrencyAmount {
    pub currency: String,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub amount: f64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TradesOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub account: String,
    /// fills | journal | realized | completed
    pub view: String,
    /// Where the rows came from, in words.
    pub source: String,
    pub days: Option<u32>,
    pub symbol_filter: Option<String>,
    /// `fills` and `journal` views.
    pub fills: Vec<FillRow>,
    /// `realized` view.
    pub realized: Vec<RealizedRow>,
    /// `completed` view.
    pub completed: Vec<OrderRow>,
    pub count: usize,
    pub commissions: Vec<CurrencyAmount>,
    pub realized_total: Vec<CurrencyAmount>,
    /// Why the answer may be incomplete (gateway unreachable, no database), or `null`.
    pub note: Option<String>,
    /// What the markdown warns about, in its words (stale data, delayed quotes, missing FX,
    /// partial coverage, ...); empty when it warns about nothing.
    pub warnings: Vec<String>,
}

pub struct Trades;

impl Tool for Trades {
    const NAME: &'static str = "ibkr_trades";
    const GROUP: ToolGroup = ToolGroup::Orders;
    const DESCRIPTION: &'static str = "Trade history (read-only): fills with commissions, the fills journal kept across days, realized P&L per symbol, or completed orders.";
    type Params = TradesParams;
    type Output = TradesOut;
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

    async fn run(ctx: &ToolContext, p: TradesParams) -> Result<Answer<TradesOut>, ToolError> {
        let view = ctx.live()?;
        let acct = resolve_account(ctx, &view.snap, p.account.as_deref())?;
        let scope = Scope::new(&p, acct.account.clone(), view.now);
        let mut out = TradesOut {
            warnings: Vec::new(),
            meta: view.meta(),
            account: ctx.mask(&acct.account),
            view: p.view.label().to_string(),
            source: String::new(),
            days: scope.days,
            symbol_filter: scope.filter.clone(),
            fills: Vec::new(),
            realized: Vec::new(),
            completed: Vec::new(),
            count: 0,
            commissions: Vec::new(),
            realized_total: Vec::new(),
            note: None,
        };
        match p.view {
            TradesView::Fills => fills_view(ctx, &view.snap.fills, &scope, &mut out).await,
            TradesView::Journal => journal_view(ctx, &view.snap.fills, &scope, &mut out)?,
            TradesView::Realized => realized_view(ctx, &view.snap.fills, &scope, &mut out).await,
            TradesView::Completed => completed_view(ctx, &scope, &mut out).await?,
        }
        add_totals(&mut out, p.view);
        let markdown = render(&out);
        out.warnings = crate::tools::format::warnings_in(&markdown);
        Ok(Answer {
            markdown,
            data: out,
        })
    }
}

/// Which rows the answer keeps: the account's (or unattributed), the symbol filter, the window.
struct Scope {
    account: String,
    filter: Option<String>,
    days: Option<u32>,
    cutoff: Option<Millis>,
}

impl Scope {
    fn new(p: &TradesParams, account: String, now: Millis) -> Scope {
        let filter = p
            .symbol_filter
            .as_deref()
            .map(|s| s.trim().to_ascii_uppercase())
            .filter(|s| !s.is_empty());
        let days = match p.view {
            TradesView::Journal => Some(p.days.unwrap_or(30)),
            _ => p.days,
        };
        Scope {
            account,
            filter,
            days,
            cutoff: days.map(|d| now - i64::from(d) * DAY_MS),
        }
    }

    fn wants(&self, symbol: &str, account: &str, time: Option<Millis>) -> bool {
        (account.is_empty() || account == self.account)
            && self
                .filter
                .as_deref()
                .is_none_or(|flt| symbol.to_ascii_uppercase().contains(flt))
            && match (self.cutoff, time) {
                (Some(c), Some(t)) => t >= c,
                _ => true,
            }
    }

    fn fill_rows(&self, fills: &[Fill]) -> Vec<FillRow> {
        fill_rows(
            fills
                .iter()
                .filter(|x| self.wants(&x.instrument.symbol, &x.account, Some(x.time))),
        )
    }
}

/// `fills`: the gateway's executions now (saved to the journal), else the last ones received.
async fn fills_view(ctx: &ToolContext, cached: &[Fill], scope: &Scope, out: &mut TradesOut) {
    let (fills, source, note) = gateway_fills(ctx, cached).await;
    out.fills = scope.fill_rows(&fills);
    out.source = source;
    out.note = note;
}

/// `journal`: the fills kept in SQLite across days, brought up to date with the live ones first.
fn journal_view(
    ctx: &ToolContext,
    live: &[Fill],
    scope: &Scope,
    out: &mut TradesOut,
) -> Result<(), ToolError> {
    let db = ctx.store.db().ok_or_else(|| {
        ToolError::new(
            "ibkr_trades: the fills journal lives in SQLite, and this process has no database attached (data.db_path). Use view=fills for today's executions.",
        )
    })?;
    // What the live state holds now goes in first, so the journal is never behind.
    if let Err(e) = db.upsert_fills(live) {
        out.note = Some(format!("could not update the journal: {e}"));
    }
    let stored = db.fills_since(scope.cutoff.unwrap_or(0)).map_err(|e| {
        ToolError::new(format!(
            "ibkr_trades: could not read the fills journal: {e}"
        ))
    })?;
    out.fills = scope.fill_rows(&stored);
    out.source = "fills journal (SQLite), kept across days as fills are seen".into();
    Ok(())
}

/// `realized`: realized P&L per symbol from the commission reports of the gateway's fills and
/// the journal's.
async fn realized_view(ctx: &ToolContext, cached: &[Fill], scope: &Scope, out: &mut TradesOut) {
    let (mut fills, mut source, note) = gateway_fills(ctx, cached).await;
    if let Some(db) = ctx.store.db() {
        match db.fills_since(scope.cutoff.unwrap_or(0)) {
            Ok(stored) => {
                merge_fills(&mut fills, stored);
                source.push_str(" plus the fills journal (SQLite)");
            }
            Err(e) => out.note = Some(format!("fills journal unreadable: {e}")),
        }
    }
    out.note = out.note.take().or(note);
    let rows = scope.fill_rows(&fills);
    out.realized = realized_rows(&rows);
    out.fills = rows
        .into_iter()
        .filter(|r| r.realized_pnl.is_some())
        .collect();
    out.source = source;
}

/// `completed`: IB's completed orders, asked for now.
async fn completed_view(
    ctx: &ToolContext,
    scope: &Scope,
    out: &mut TradesOut,
) -> Result<(), ToolError> {
    let req = ctx.requests()?;
    let orders = req
        .completed_orders()
        .await
        .map_err(|e| support::gateway_error(Trades::NAME, "completed orders", &e))?;
    out.completed = orders
        .iter()
        .filter(|o| {
            scope.wants(
                &o.instrument.symbol,
                &o.account,
                completed_millis(&o.completed_time),
            )
        })
        .map(|o| OrderRow::from_view(ctx, o))
        .collect();
    out.source = "IB's completed orders (filled or cancelled)".into();
    Ok(())
}

/// The row count of the view shown, and commissions and realized P&L per currency.
fn add_totals(out: &mut TradesOut, view: TradesView) {
    out.count = match view {
        TradesView::Realized => out.realized.len(),
        TradesView::Completed => out.completed.len(),
        _ => out.fills.len(),
    };
    out.commissions = per_currency(
        out.fills
            .iter()
            .filter_map(|r| Some((commission_ccy(r), r.commission?))),
    );
    out.realized_total = per_currency(
        out.fills
            .iter()
            .filter_map(|r| Some((commission_ccy(r), r.realized_pnl?))),
    );
}

/// Executions now: from the gateway (and saved to the journal), else the last ones received.
async fn gateway_fills(ctx: &ToolContext, cached: &[Fill]) -> (Vec<Fill>, String, Option<String>) {
    let mut fills: Vec<Fill> = cached.to_vec();
    let req = match ctx.requests() {
        Ok(r) => r,
        Err(e) => {
            return (
                fills,
                "executions last received from the gateway".into(),
                Some(e.message),
            );
        }
    };
    match req.executions().await {
        Ok(fresh) => {
            if let Some(db) = ctx.store.db()
                && let Err(e) = db.upsert_fills(&fresh)
            {
                tracing::warn!("could not save fills in SQLite: {e}");
            }
            merge_fills(&mut fills, fresh);
            (fills, "executions reported by the gateway".into(), None)
        }
        Err(e) => (
            fills,
            "executions last received from the gateway".into(),
            Some(format!("live executions unavailable ({e})")),
        ),
    }
}

/// Adds `more` to `fills`, a later copy of the same execution replacing an earlier one only when
/// it knows more (the commission report arrives after the execution).
fn merge_fills(fills: &mut Vec<Fill>, more: Vec<Fill>) {
    for m in more {
        match fills.iter_mut().find(|x| x.exec_id == m.exec_id) {
            Some(existing) => {
                if existing.commission.is_none() || m.commission.is_some() {
                    *existing = m;
                }
            }
            None => fills.push(m),
        }
    }
    fills.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.exec_id.cmp(&b.exec_id)));
}

fn fill_rows<'a>(fills: impl Iterator<Item = &'a Fill>) -> Vec<FillRow> {
    fills
        .map(|x| {
            let mult = if x.instrument.multiplier > 0.0 {
                x.instrument.multiplier
            } else {
                1.0
            };
            let price = cleaning::price(x.price);
            FillRow {
                exec_id: x.exec_id.clone(),
                order_id: x.order_id,
                time: f::utc(x.time),
                symbol: x.instrument.symbol.clone(),
                currency: x.instrument.currency.clone(),
                side: x.side.clone(),
                shares: x.shares,
                price,
                value: price.map(|p| f::round(p * x.shares * mult, 2)),
                commission: x.commission.and_then(cleaning::finite),
                commission_currency: x.commission_currency.clone(),
                realized_pnl: x.realized_pnl.and_then(cleaning::finite),
                exchange: x.exchange.clone(),
            }
        })
        .collect()
}

/// Commissions and realized P&L are in the commission report's currency.
fn commission_ccy(r: &FillRow) -> String {
    if r.commission_currency.is_empty() {
        r.currency.clone()
    } else {
        r.commission_currency.clone()
    }
}

fn per_currency(items: impl Iterator<Item = (String, f64)>) -> Vec<CurrencyAmount> {
    let mut by: BTreeMap<String, f64> = BTreeMap::new();
    for (ccy, v) in items {
        *by.entry(ccy).or_insert(0.0) += v;
    }
    by.into_iter()
        .map(|(currency, amount)| CurrencyAmount {
            currency,
            amount: f::round(amount, 2),
        })
        .collect()
}

fn realized_rows(rows: &[FillRow]) -> Vec<RealizedRow> {
    let mut by: BTreeMap<(String, String), RealizedRow> = BTreeMap::new();
    for r in rows {
        let Some(pnl) = r.realized_pnl else { continue };
        let ccy = commission_ccy(r);
        let e = by
            .entry((r.symbol.clone(), ccy.clone()))
            .or_insert_with(|| RealizedRow {
                symbol: r.symbol.clone(),
                currency: ccy,
                realized_pnl: 0.0,
                fills: 0,
                commissions: 0.0,
            });
        e.realized_pnl += pnl;
        e.fills += 1;
        e.commissions += r.commission.unwrap_or(0.0);
    }
    let mut out: Vec<RealizedRow> = by
        .into_values()
        .map(|mut r| {
            r.realized_pnl = f::round(r.realized_pnl, 2);
            r.commissions = f::round(r.commissions, 2);
            r
        })
        .collect();
    out.sort_by(|a, b| {
        b.realized_pnl
            .total_cmp(&a.realized_pnl)
            .then_with(|| a.symbol.cmp(&b.symbol))
    });
    out
}

/// IB's completed time (`YYYYMMDD HH:MM:SS zone` or `YYYYMMDD-HH:MM:SS`), to the day, as epoch
/// ms; `None` when it has another shape (then the `days` filter keeps the order).
fn completed_millis(s: &str) -> Option<Millis> {
    let s = s.trim();
    let y: i32 = s.get(0..4)?.parse().ok()?;
    let m: u8 = s.get(4..6)?.parse().ok()?;
    let d: u8 = s.get(6..8)?.parse().ok()?;
    let date = time::Date::from_calendar_date(y, time::Month::try_from(m).ok()?, d).ok()?;
    let mut ms = date.midnight().assume_utc().unix_timestamp() * 1000;
    let hms = s.get(9..17).map(|t| {
        t.split(':')
            .filter_map(|p| p.parse::<i64>().ok())
            .collect::<Vec<_>>()
    });
    if let Some([h, mi, se]) = hms.as_deref() {
        ms += (h * 3600 + mi * 60 + se) * 1000;
    }
    Some(ms)
}

/// The answer's markdown: source and scope, then the table of the view asked for.
pub fn render(out: &TradesOut) -> String {
    let mut md = out
        .meta
        .header(&format!("Trades ({}): {}", out.view, out.account));
    md.push('\n');
    let scope = match (out.days, &out.symbol_filter) {
        (Some(d), Some(flt)) => format!(" — last {d} day(s), symbols matching \"{flt}\""),
        (Some(d), None) => format!(" — last {d} day(s)"),
        (None, Some(flt)) => format!(" — symbols matching \"{flt}\""),
        (None, None) => String::new(),
    };
    let _ = writeln!(md, "**Source**: {}{scope}\n", out.source);
    if let Some(n) = &out.note {
        let _ = writeln!(md, "> ⚠️ {n}\n");
    }
    match out.view.as_str() {
        "realized" => realized_section(&mut md, out),
        "completed" => completed_section(&mut md, out),
        _ => fills_section(&mut md, out),
    }
    md
}

/// Realized P&L per symbol, and the total per currency.
fn realized_section(md: &mut String, out: &TradesOut) {
    if out.realized.is_empty() {
        md.push_str("No fills with a realized P&L in this period.\n");
    } else {
        let rows: Vec<Vec<String>> = out
            .realized
            .iter()
            .map(|r| {
                vec![
                    r.symbol.clone(),
                    f::signed_money(Some(r.realized_pnl), &r.currency),
                    r.fills.to_string(),
                    f::money(Some(r.commissions), &r.currency),
                ]
            })
            .collect();
        md.push_str(&f::table(
            &["Symbol", "Realized P&L", "Closing Fills", "Commissions"],
            &[Align::Left, Align::Right, Align::Right, Align::Right],
            &rows,
        ));
        let totals: Vec<String> = out
            .realized_total
            .iter()
            .map(|c| f::signed_money(Some(c.amount), &c.currency))
            .collect();
        let _ = writeln!(md, "\n**Total realized**: {}", totals.join(" · "));
    }
    md.push_str(
        "\n_Realized P&L as IB's commission reports state it, summed per symbol and currency._\n",
    );
}

/// Completed orders.
fn completed_section(md: &mut String, out: &TradesOut) {
    if out.completed.is_empty() {
        md.push_str("No completed orders.\n");
    } else {
        let rows: Vec<Vec<String>> = out
            .completed
            .iter()
            .map(|r| {
                vec![
                    r.completed_time.clone().unwrap_or_else(|| f::NA.into()),
                    r.symbol.clone(),
                    r.side.clone(),
                    r.quantity_cell(),
                    r.order_type.clone(),
                    price_cell(r.limit_price, &r.currency),
                    price_cell(r.stop_price, &r.currency),
                    r.tif.clone(),
                    r.status.clone(),
                    price_cell(r.avg_fill_price, &r.currency),
                ]
            })
            .collect();
        md.push_str(&f::table(
            &[
                "Completed",
                "Symbol",
                "Side",
                "Quantity",
                "Type",
                "Limit",
                "Stop",
                "TIF",
                "Status",
                "Avg Fill",
            ],
            &[
                Align::Left,
                Align::Left,
                Align::Left,
                Align::Right,
                Align::Left,
                Align::Right,
                Align::Right,
                Align::Left,
                Align::Left,
                Align::Right,
            ],
            &rows,
        ));
        let _ = writeln!(
            md,
            "\n{} completed order(s). {UNSET} = no price set.",
            out.count
        );
    }
}

/// Executions with commissions, then the totals.
fn fills_section(md: &mut String, out: &TradesOut) {
    if out.fills.is_empty() {
        md.push_str("No fills in this period.\n");
    } else {
        let rows: Vec<Vec<String>> = out
            .fills
            .iter()
            .map(|r| {
                let cc = commission_ccy(r);
                vec![
                    r.time.clone(),
                    r.symbol.clone(),
                    r.side.clone(),
                    f::volume(Some(r.shares)),
                    f::money(r.price, &r.currency),
                    f::money(r.value, &r.currency),
                    f::money(r.commission, &cc),
                    match r.realized_pnl {
                        Some(v) => f::signed_money(Some(v), &cc),
                        None => UNSET.to_string(),
                    },
                    r.exchange.clone(),
                ]
            })
            .collect();
        md.push_str(&f::table(
            &[
                "Time",
                "Symbol",
                "Side",
                "Shares",
                "Price",
                "Value",
                "Commission",
                "Realized P&L",
                "Exchange",
            ],
            &[
                Align::Left,
                Align::Left,
                Align::Left,
                Align::Right,
                Align::Right,
                Align::Right,
                Align::Right,
                Align::Right,
                Align::Left,
            ],
            &rows,
        ));
        let comm: Vec<String> = out
            .commissions
            .iter()
            .map(|c| f::money(Some(c.amount), &c.currency))
            .collect();
        let _ = writeln!(
            md,
            "\n**{} fill(s)** · commissions {}",
            out.count,
            if comm.is_empty() {
                f::NA.to_string()
            } else {
                comm.join(" + ")
            }
        );
        if !out.realized_total.is_empty() {
            let r: Vec<String> = out
                .realized_total
                .iter()
                .map(|c| f::signed_money(Some(c.amount), &c.currency))
                .collect();
            let _ = writeln!(md, "**Realized P&L**: {}", r.join(" · "));
        }
    }
}

/// One line with the answer's key figures, for the cockpit's prompt pane and the journal.
pub fn headline(out: &TradesOut) -> String {
    use crate::tools::format as f;
    let sums = |v: &[CurrencyAmount], signed: bool| {
        v.iter()
            .map(|c| {
                let amount = if signed {
                    f::signed(Some(c.amount), 2)
                } else {
                    f::number(Some(c.amount), 2)
                };
                format!("{amount} {}", c.currency)
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    f::headline(&[
        format!("{} {}", out.count, out.view),
        if out.realized_total.is_empty() {
            String::new()
        } else {
            format!("realized {}", sums(&out.realized_total, true))
        },
        if out.commissions.is_empty() {
            String::new()
        } else {
            format!("commissions {}", sums(&out.commissions, false))
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completed_times_parse_to_the_second() {
        let t = completed_millis("20260503 17:17:44 UTC").unwrap();
        assert_eq!(f::utc(t), "2026-05-03 17:17:44 UTC");
        let t = completed_millis("20260503-09:30:00").unwrap();
        assert_eq!(f::utc(t), "2026-05-03 09:30:00 UTC");
        assert!(completed_millis("yesterday").is_none());
    }

    fn fill(exec_id: &str, side: &str, shares: f64, price: f64, realized: Option<f64>) -> FillRow {
        FillRow {
            exec_id: exec_id.into(),
            order_id: 11,
            time: "2026-05-03 14:31:07 UTC".into(),
            symbol: "KRYX".into(),
            currency: "USD".into(),
            side: side.into(),
            shares,
            price: Some(price),
            value: Some(f::round(shares * price, 2)),
            commission: Some(1.0),
            commission_currency: "USD".into(),
            realized_pnl: realized,
            exchange: "ISLAND".into(),
        }
    }

    #[test]
    fn renders_fills_with_a_note_and_totals() {
        let mut out = TradesOut {
            warnings: Vec::new(),
            meta: Meta::fresh("2026-05-03 17:17:44 UTC"),
            account: "U****4321".into(),
            view: "fills".into(),
            source: "executions last received from the gateway".into(),
            days: Some(7),
            symbol_filter: Some("KR".into()),
            fills: vec![
                fill("0001.01", "BOT", 100.0, 52.1, None),
                fill("0001.02", "SLD", 40.0, 54.25, Some(84.0)),
            ],
            realized: Vec::new(),
            completed: Vec::new(),
            count: 0,
            commissions: Vec::new(),
            realized_total: Vec::new(),
            note: Some("live executions unavailable (gateway not connected)".into()),
        };
        add_totals(&mut out, TradesView::Fills);
        insta::assert_snapshot!("render_trades", render(&out));
        insta::assert_snapshot!("headline_trades", [headline(&out)].join("\n"));
    }

    #[test]
    fn totals_stay_per_currency() {
        let t = per_currency(
            [
                ("USD".to_string(), 1.0),
                ("CAD".into(), 2.0),
                ("USD".into(), 0.5),
            ]
            .into_iter(),
        );
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].currency, "CAD");
        assert_eq!(t[1].amount, 1.5);
    }
}
