//! Account requests: summary, account updates and portfolio, positions, P&L; and the
//! periodic pushes that keep them moving with prices.

use super::*;

impl Session {
    pub(super) fn req_account_summary(&mut self, r: pb::AccountSummaryRequest) {
        let req_id = r.req_id.unwrap_or(0);
        let tags: Vec<String> = r
            .tags
            .unwrap_or_default()
            .split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
        self.send_summary(req_id, &tags);
        self.send(
            In::AccountSummaryEnd,
            &pb::ReqIdOnly {
                req_id: Some(req_id),
            },
        );
        self.summaries.insert(req_id, tags);
    }

    pub(super) fn send_summary(&self, req_id: i32, tags: &[String]) {
        let rows = {
            let w = self.shared.world.lock();
            let f = w.account.figures(&w.market);
            summary_rows(&w.account, &f, &w.market, tags, clock::now_secs())
        };
        let acct = self.account_id();
        for (tag, value, currency) in rows {
            self.send(
                In::AccountSummary,
                &pb::AccountSummary {
                    req_id: Some(req_id),
                    account: Some(acct.clone()),
                    tag: Some(tag),
                    value: Some(value),
                    currency: Some(currency),
                },
            );
        }
    }

    pub(super) fn req_account_data(&mut self, r: pb::AccountDataRequest) {
        if !r.subscribe.unwrap_or(false) {
            self.account_updates = false;
            return;
        }
        self.account_updates = true;
        self.send_account_values(true);
        let n = self.shared.world.lock().account.positions.len();
        self.send_portfolio(0, n);
        self.send(
            In::AccountUpdateTime,
            &pb::AccountUpdateTime {
                time_stamp: Some(clock::hm(clock::now_secs())),
            },
        );
        let acct = self.account_id();
        self.send(
            In::AccountDownloadEnd,
            &pb::AccountDataEnd {
                account_name: Some(acct),
            },
        );
    }

    pub(super) fn send_account_values(&self, full: bool) {
        let (acct, rows) = {
            let w = self.shared.world.lock();
            let f = w.account.figures(&w.market);
            let mut tags: Vec<String> = ACCOUNT_UPDATE_TAGS.iter().map(|s| s.to_string()).collect();
            tags.push(if full {
                "$LEDGER:ALL".into()
            } else {
                "$LEDGER".into()
            });
            (
                w.account.id.clone(),
                summary_rows(&w.account, &f, &w.market, &tags, clock::now_secs()),
            )
        };
        for (key, value, currency) in rows {
            self.send(
                In::AccountValue,
                &pb::AccountValue {
                    key: Some(key),
                    value: Some(value),
                    currency: Some(currency),
                    account_name: Some(acct.clone()),
                },
            );
        }
    }

    pub(super) fn send_portfolio(&self, from: usize, count: usize) {
        let msgs: Vec<pb::PortfolioValue> = {
            let w = self.shared.world.lock();
            let a = &w.account;
            let n = a.positions.len();
            (0..count.min(n))
                .map(|k| {
                    let p = &a.positions[(from + k) % n];
                    let inst = w.market.get(p.inst);
                    let pf = a.position_figures(&w.market, p);
                    pb::PortfolioValue {
                        contract: Some(position_contract(inst)),
                        position: Some(dec(p.qty)),
                        market_price: Some(pf.price),
                        market_value: Some(round2(pf.market_value)),
                        average_cost: Some(p.avg_cost),
                        unrealized_pnl: Some(round2(pf.unrealized)),
                        realized_pnl: Some(round2(pf.realized)),
                        account_name: Some(a.id.clone()),
                    }
                })
                .collect()
        };
        for m in msgs {
            self.send(In::PortfolioValue, &m);
        }
    }

    pub(super) fn req_positions(&self) {
        let msgs: Vec<pb::Position> = {
            let w = self.shared.world.lock();
            w.account
                .positions
                .iter()
                .map(|p| pb::Position {
                    account: Some(w.account.id.clone()),
                    contract: Some(position_contract(w.market.get(p.inst))),
                    position: Some(dec(p.qty)),
                    avg_cost: Some(p.avg_cost),
                })
                .collect()
        };
        for m in msgs {
            self.send(In::Position, &m);
        }
        self.send(In::PositionEnd, &pb::Empty {});
    }

    pub(super) fn req_pnl(&mut self, r: pb::PnLRequest) {
        let req_id = r.req_id.unwrap_or(0);
        self.pnl.insert(req_id);
        self.send_pnl(req_id);
    }

    pub(super) fn send_pnl(&self, req_id: i32) {
        let f = {
            let w = self.shared.world.lock();
            w.account.figures(&w.market)
        };
        self.send(
            In::PnL,
            &pb::PnL {
                req_id: Some(req_id),
                daily_pn_l: Some(round2(f.daily_pnl)),
                unrealized_pn_l: Some(round2(f.unrealized_pnl)),
                realized_pn_l: Some(round2(f.realized_pnl)),
            },
        );
    }

    pub(super) fn req_pnl_single(&mut self, r: pb::PnLSingleRequest) {
        let req_id = r.req_id.unwrap_or(0);
        let con_id = r.con_id.unwrap_or(0);
        self.pnl_single.insert(req_id, con_id);
        self.send_pnl_single(req_id, con_id);
    }

    pub(super) fn send_pnl_single(&self, req_id: i32, con_id: i32) {
        let msg = {
            let w = self.shared.world.lock();
            let held = w
                .market
                .by_con_id(con_id)
                .and_then(|i| w.account.positions.iter().find(|p| p.inst == i));
            match held {
                Some(p) => {
                    let pf = w.account.position_figures(&w.market, p);
                    pb::PnLSingle {
                        req_id: Some(req_id),
                        position: Some(dec(p.qty)),
                        daily_pn_l: Some(round2(pf.daily_base)),
                        unrealized_pn_l: Some(round2(pf.unrealized_base)),
                        realized_pn_l: Some(round2(pf.realized_base)),
                        value: Some(round2(pf.market_value_base)),
                    }
                }
                None => pb::PnLSingle {
                    req_id: Some(req_id),
                    position: Some("0".into()),
                    daily_pn_l: Some(0.0),
                    unrealized_pn_l: Some(0.0),
                    realized_pn_l: Some(0.0),
                    value: Some(0.0),
                },
            }
        };
        self.send(In::PnLSingle, &msg);
    }

    pub(super) fn push_account(&mut self) {
        let ids: Vec<(i32, Vec<String>)> = self
            .summaries
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        for (id, tags) in ids {
            self.send_summary(id, &tags);
        }
        if self.account_updates {
            self.send_account_values(false);
            let n = self.shared.world.lock().account.positions.len();
            let count = n.min(PORTFOLIO_ROWS_PER_PUSH);
            self.send_portfolio(self.portfolio_cursor, count);
            self.portfolio_cursor = if n == 0 {
                0
            } else {
                (self.portfolio_cursor + count) % n
            };
            self.send(
                In::AccountUpdateTime,
                &pb::AccountUpdateTime {
                    time_stamp: Some(clock::hm(clock::now_secs())),
                },
            );
        }
        let pnl: Vec<i32> = self.pnl.iter().copied().collect();
        for id in pnl {
            self.send_pnl(id);
        }
        let singles: Vec<(i32, i32)> = self.pnl_single.iter().map(|(k, v)| (*k, *v)).collect();
        for (id, con) in singles {
            self.send_pnl_single(id, con);
        }
    }
}

/// The contract as IB describes it in positions and portfolio updates.
pub(super) fn position_contract(inst: &Instrument) -> pb::Contract {
    let mut c = full_contract(inst);
    c.exchange = Some(inst.primary_exch.clone());
    c
}

/// Tags sent through account updates (besides the ledger rows).
pub(super) const ACCOUNT_UPDATE_TAGS: &[&str] = &[
    "AccountCode",
    "AccountType",
    "NetLiquidation",
    "GrossPositionValue",
    "TotalCashValue",
    "SettledCash",
    "BuyingPower",
    "AvailableFunds",
    "ExcessLiquidity",
    "InitMarginReq",
    "MaintMarginReq",
    "FullInitMarginReq",
    "FullMaintMarginReq",
    "FullAvailableFunds",
    "FullExcessLiquidity",
    "EquityWithLoanValue",
    "PreviousDayEquityWithLoanValue",
    "RegTEquity",
    "RegTMargin",
    "SMA",
    "AccruedCash",
    "LookAheadNextChange",
    "LookAheadInitMarginReq",
    "LookAheadMaintMarginReq",
    "LookAheadAvailableFunds",
    "LookAheadExcessLiquidity",
    "Cushion",
    "Leverage-S",
    "DayTradesRemaining",
];

/// Rows `(tag, value, currency)` for the requested tags, IB style: the tags IB documents for
/// `reqAccountSummary` (unknown ones, such as the misspelt `ReqTEquity`, get no row, as at IB).
/// `$LEDGER` gives the BASE ledger, `$LEDGER:ALL` every currency plus BASE, `$LEDGER:USD` one
/// currency. The margin model has no overnight or scheduled change, so the look-ahead values
/// equal the current ones and `LookAheadNextChange` names the close of the current (or next)
/// NYSE session, the next moment IB re-evaluates margin.
pub(super) fn summary_rows(
    a: &Account,
    f: &AccountFigures,
    m: &Market,
    tags: &[String],
    now: i64,
) -> Vec<(String, String, String)> {
    let base = a.base.clone();
    let mut rows = Vec::new();
    let mut push =
        |tag: &str, value: String, cur: &str| rows.push((tag.to_string(), value, cur.to_string()));
    for tag in tags {
        match tag.as_str() {
            "AccountType" => push("AccountType", "INDIVIDUAL".into(), ""),
            "AccountCode" => push("AccountCode", a.id.clone(), ""),
            "NetLiquidation" => push(tag, money(f.nlv), &base),
            "GrossPositionValue" => push(tag, money(f.gpv), &base),
            "TotalCashValue" | "SettledCash" => push(tag, money(f.total_cash), &base),
            "BuyingPower" => push(tag, money(f.buying_power), &base),
            "AvailableFunds" | "FullAvailableFunds" | "LookAheadAvailableFunds" => {
                push(tag, money(f.available_funds), &base)
            }
            "ExcessLiquidity" | "FullExcessLiquidity" | "LookAheadExcessLiquidity" => {
                push(tag, money(f.excess_liquidity), &base)
            }
            "InitMarginReq" | "FullInitMarginReq" | "LookAheadInitMarginReq" => {
                push(tag, money(f.init_margin), &base)
            }
            "MaintMarginReq" | "FullMaintMarginReq" | "LookAheadMaintMarginReq" => {
                push(tag, money(f.maint_margin), &base)
            }
            "LookAheadNextChange" => push(tag, next_margin_change(now).to_string(), ""),
            "EquityWithLoanValue" => push(tag, money(f.equity_with_loan), &base),
            // Yesterday's close of the account: today's P&L not yet earned.
            "PreviousDayEquityWithLoanValue" => {
                push(tag, money(f.equity_with_loan - f.daily_pnl), &base)
            }
            "Cushion" => push(tag, format!("{:.6}", f.cushion), ""),
            "Leverage" | "Leverage-S" => push(tag, format!("{:.2}", f.leverage), ""),
            "DayTradesRemaining"
            | "DayTradesRemainingT+1"
            | "DayTradesRemainingT+2"
            | "DayTradesRemainingT+3"
            | "DayTradesRemainingT+4" => push(tag, "-1".into(), ""),
            "AccruedCash" => push(tag, "0.00".into(), &base),
            "RegTEquity" => push(tag, money(f.equity_with_loan), &base),
            "RegTMargin" => push(tag, money(f.gpv * 0.5), &base),
            "SMA" => push(tag, money(f.available_funds.max(0.0)), &base),
            "HighestSeverity" => push(tag, "0".into(), ""),
            t if t.starts_with("$LEDGER") => {
                let which = t.split_once(':').map(|(_, c)| c.to_ascii_uppercase());
                let mut currencies: Vec<String> = f
                    .cash_by_currency
                    .keys()
                    .chain(f.stock_value_by_currency.keys())
                    .cloned()
                    .collect();
                currencies.sort();
                currencies.dedup();
                let wanted: Vec<String> = match which.as_deref() {
                    None => vec!["BASE".into()],
                    Some("ALL") => currencies
                        .into_iter()
                        .chain(std::iter::once("BASE".to_string()))
                        .collect(),
                    Some(c) => vec![c.to_string()],
                };
                for cur in wanted {
                    let (cash, stock, unrl, rlzd, rate) = if cur == "BASE" {
                        (
                            f.total_cash,
                            f.nlv - f.total_cash,
                            f.unrealized_pnl,
                            f.realized_pnl,
                            1.0,
                        )
                    } else {
                        (
                            f.cash_by_currency.get(&cur).copied().unwrap_or(0.0),
                            f.stock_value_by_currency.get(&cur).copied().unwrap_or(0.0),
                            f.unrealized_by_currency.get(&cur).copied().unwrap_or(0.0),
                            f.realized_by_currency.get(&cur).copied().unwrap_or(0.0),
                            m.fx(&cur, &base),
                        )
                    };
                    push("CashBalance", money(cash), &cur);
                    push("TotalCashBalance", money(cash), &cur);
                    push("ExchangeRate", format!("{rate:.6}"), &cur);
                    push("NetLiquidationByCurrency", money(cash + stock), &cur);
                    push("StockMarketValue", money(stock), &cur);
                    push("UnrealizedPnL", money(unrl), &cur);
                    push("RealizedPnL", money(rlzd), &cur);
                }
            }
            _ => {}
        }
    }
    rows
}

/// Epoch seconds of the close of the NYSE session in progress at `now`, or of the next one.
fn next_margin_change(now: i64) -> i64 {
    let venue = crate::calendar::Venue::UsEquity;
    let mut date = crate::calendar::ny_date(now);
    for _ in 0..10 {
        if let Some(s) = crate::calendar::session(venue, date, true)
            && s.close > now
        {
            return s.close;
        }
        date = crate::calendar::next_trading_day(venue, date);
    }
    0
}
