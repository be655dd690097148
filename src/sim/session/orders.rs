//! Orders (read-only): what-if answers, open and completed orders, executions.

use super::*;

impl Session {
    pub(super) fn place_order(&mut self, r: pb::PlaceOrderRequest) {
        let order_id = r.order_id.unwrap_or(0);
        let order = r.order.clone().unwrap_or_default();
        if !order.what_if.unwrap_or(false) {
            // Read-only simulator: a real order is counted and refused, never acted on.
            self.shared.counters.lock().real_orders += 1;
            self.error(order_id, 201, "Order rejected - reason:The simulated gateway is read-only; only what-if orders are accepted.");
            return;
        }
        self.shared.counters.lock().what_if_orders += 1;
        self.next_order_id = self.next_order_id.max(order_id + 1);
        let c = r.contract.clone().unwrap_or_default();
        let action = order
            .action
            .clone()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let qty: f64 = order
            .total_quantity
            .as_deref()
            .unwrap_or("0")
            .parse()
            .unwrap_or(0.0);
        if !matches!(action.as_str(), "BUY" | "SELL" | "SSHORT") || qty <= 0.0 || !qty.is_finite() {
            self.error(
                order_id,
                201,
                "Order rejected - reason:Invalid action or quantity",
            );
            return;
        }
        let answer = {
            let w = self.shared.world.lock();
            let sec_type = c.sec_type.as_deref().unwrap_or("STK");
            w.market
                .lookup(
                    c.con_id.unwrap_or(0),
                    c.symbol.as_deref().unwrap_or(""),
                    sec_type,
                    c.currency.as_deref().unwrap_or(""),
                )
                .map(|i| {
                    let inst = w.market.get(i);
                    let price = match (order.order_type.as_deref(), order.lmt_price) {
                        (Some("LMT"), Some(p)) if p > 0.0 && p.is_finite() => p,
                        _ if action == "BUY" => inst.ask(),
                        _ => inst.bid(),
                    };
                    let signed = if action == "BUY" { qty } else { -qty };
                    (
                        full_contract(inst),
                        w.account.what_if(&w.market, i, signed, price),
                        w.account.base.clone(),
                        w.account.id.clone(),
                    )
                })
        };
        let Some((contract, wi, base, acct)) = answer else {
            self.error(
                order_id,
                200,
                "No security definition has been found for the request",
            );
            return;
        };
        let state = pb::OrderState {
            status: Some("PreSubmitted".into()),
            init_margin_before: Some(round2(wi.before.init_margin)),
            maint_margin_before: Some(round2(wi.before.maint_margin)),
            equity_with_loan_before: Some(round2(wi.before.equity_with_loan)),
            init_margin_change: Some(round2(wi.after.init_margin - wi.before.init_margin)),
            maint_margin_change: Some(round2(wi.after.maint_margin - wi.before.maint_margin)),
            equity_with_loan_change: Some(round2(
                wi.after.equity_with_loan - wi.before.equity_with_loan,
            )),
            init_margin_after: Some(round2(wi.after.init_margin)),
            maint_margin_after: Some(round2(wi.after.maint_margin)),
            equity_with_loan_after: Some(round2(wi.after.equity_with_loan)),
            commission_and_fees: Some(wi.commission),
            min_commission_and_fees: Some(UNSET_DOUBLE),
            max_commission_and_fees: Some(UNSET_DOUBLE),
            commission_and_fees_currency: Some(wi.commission_currency),
            margin_currency: Some(base),
            warning_text: if wi.warning.is_empty() {
                None
            } else {
                Some(wi.warning)
            },
            completed_time: None,
            completed_status: None,
        };
        let echo = pb::Order {
            client_id: Some(self.client_id),
            order_id: Some(order_id),
            perm_id: Some(0),
            action: Some(action),
            total_quantity: Some(dec(qty)),
            order_type: order.order_type.clone().or(Some("MKT".into())),
            lmt_price: order.lmt_price,
            tif: order.tif.clone().or(Some("DAY".into())),
            account: order.account.clone().or(Some(acct)),
            what_if: Some(true),
            ..Default::default()
        };
        self.send(
            In::OpenOrder,
            &pb::OpenOrder {
                order_id: Some(order_id),
                contract: Some(contract),
                order: Some(echo),
                order_state: Some(state),
            },
        );
    }

    /// `reqOpenOrders` (and `reqAutoOpenOrders` for client 0): this client's orders — for
    /// client 0 that includes orders placed in TWS itself; `reqAllOpenOrders`: every client's.
    pub(super) fn req_open_orders(&self, all_clients: bool) {
        let client_id = self.client_id;
        let rows: Vec<(pb::OpenOrder, pb::OrderStatus)> = {
            let w = self.shared.world.lock();
            w.account
                .open_orders
                .iter()
                .filter(|o| all_clients || o.client_id == client_id)
                .map(|o| {
                    let inst = w.market.get(o.inst);
                    let order = pb::Order {
                        client_id: Some(o.client_id),
                        order_id: Some(o.order_id),
                        perm_id: Some(o.perm_id),
                        action: Some(o.action.into()),
                        total_quantity: Some(dec(o.qty)),
                        order_type: Some(o.order_type.into()),
                        lmt_price: Some(o.limit),
                        tif: Some(o.tif.into()),
                        account: Some(w.account.id.clone()),
                        transmit: Some(true),
                        ..Default::default()
                    };
                    let state = pb::OrderState {
                        status: Some("Submitted".into()),
                        ..Default::default()
                    };
                    let status = pb::OrderStatus {
                        order_id: Some(o.order_id),
                        status: Some("Submitted".into()),
                        filled: Some("0".into()),
                        remaining: Some(dec(o.qty)),
                        avg_fill_price: Some(0.0),
                        perm_id: Some(o.perm_id),
                        parent_id: Some(0),
                        last_fill_price: Some(0.0),
                        client_id: Some(o.client_id),
                        why_held: Some(String::new()),
                    };
                    (
                        pb::OpenOrder {
                            order_id: Some(o.order_id),
                            contract: Some(full_contract(inst)),
                            order: Some(order),
                            order_state: Some(state),
                        },
                        status,
                    )
                })
                .collect()
        };
        for (open, status) in rows {
            self.send(In::OpenOrder, &open);
            self.send(In::OrderStatus, &status);
        }
        self.send(In::OpenOrderEnd, &pb::Empty {});
    }

    pub(super) fn req_completed_orders(&self) {
        let rows: Vec<pb::CompletedOrder> = {
            let w = self.shared.world.lock();
            w.account
                .fills
                .iter()
                .map(|f| {
                    let inst = w.market.get(f.inst);
                    let order = pb::Order {
                        client_id: Some(0),
                        order_id: Some(f.order_id),
                        perm_id: Some(f.perm_id),
                        action: Some(if f.side == "BOT" {
                            "BUY".into()
                        } else {
                            "SELL".into()
                        }),
                        total_quantity: Some(dec(f.shares)),
                        order_type: Some("LMT".into()),
                        lmt_price: Some(f.price),
                        tif: Some("DAY".into()),
                        account: Some(w.account.id.clone()),
                        filled_quantity: Some(dec(f.shares)),
                        ..Default::default()
                    };
                    let state = pb::OrderState {
                        status: Some("Filled".into()),
                        completed_time: Some(format!("{} UTC", clock::ymd_hms(f.time))),
                        completed_status: Some("Filled".into()),
                        ..Default::default()
                    };
                    pb::CompletedOrder {
                        contract: Some(full_contract(inst)),
                        order: Some(order),
                        order_state: Some(state),
                    }
                })
                .collect()
        };
        for r in rows {
            self.send(In::CompletedOrder, &r);
        }
        self.send(In::CompletedOrdersEnd, &pb::Empty {});
    }

    pub(super) fn req_executions(&self, r: pb::ExecutionRequest) {
        let req_id = r.req_id.unwrap_or(0);
        let filter = r.execution_filter.unwrap_or_default();
        let window = ExecWindow::of(&filter, clock::now_secs());
        let client = filter.client_id.filter(|c| *c != 0);
        let rows: Vec<(pb::ExecutionDetails, pb::CommissionAndFeesReport)> = {
            let w = self.shared.world.lock();
            w.account
                .fills
                .iter()
                .filter(|f| {
                    let inst = w.market.get(f.inst);
                    filter
                        .symbol
                        .as_deref()
                        .is_none_or(|s| s.is_empty() || s.eq_ignore_ascii_case(&inst.symbol))
                        && filter
                            .acct_code
                            .as_deref()
                            .is_none_or(|a| a.is_empty() || a == w.account.id)
                        && filter
                            .side
                            .as_deref()
                            .is_none_or(|s| s.is_empty() || side_matches(s, f.side))
                        && filter
                            .sec_type
                            .as_deref()
                            .is_none_or(|t| t.is_empty() || t.eq_ignore_ascii_case(inst.sec_type()))
                        && filter.exchange.as_deref().is_none_or(|x| {
                            x.is_empty() || x.eq_ignore_ascii_case(&inst.primary_exch)
                        })
                        && window.contains(f.time)
                        && client.is_none_or(|c| c == BOOK_CLIENT_ID)
                })
                .map(|f| {
                    let inst = w.market.get(f.inst);
                    let mut contract = full_contract(inst);
                    contract.exchange = Some(inst.primary_exch.clone());
                    let exec = pb::Execution {
                        order_id: Some(f.order_id),
                        exec_id: Some(f.exec_id.clone()),
                        time: Some(format!("{} UTC", clock::ymd_hms(f.time))),
                        acct_number: Some(w.account.id.clone()),
                        exchange: Some(inst.primary_exch.clone()),
                        side: Some(f.side.into()),
                        shares: Some(dec(f.shares)),
                        price: Some(f.price),
                        perm_id: Some(f.perm_id),
                        client_id: Some(BOOK_CLIENT_ID),
                        is_liquidation: Some(false),
                        cum_qty: Some(dec(f.shares)),
                        avg_price: Some(f.price),
                        last_liquidity: Some(1),
                    };
                    let comm = pb::CommissionAndFeesReport {
                        exec_id: Some(f.exec_id.clone()),
                        commission_and_fees: Some(f.commission),
                        currency: Some(inst.currency.clone()),
                        realized_pnl: Some(f.realized.map(round2).unwrap_or(UNSET_DOUBLE)),
                    };
                    (
                        pb::ExecutionDetails {
                            req_id: Some(req_id),
                            contract: Some(contract),
                            execution: Some(exec),
                        },
                        comm,
                    )
                })
                .collect()
        };
        for (exec, comm) in rows {
            self.send(In::ExecutionData, &exec);
            self.send(In::CommissionsReport, &comm);
        }
        self.send(
            In::ExecutionDataEnd,
            &pb::ReqIdOnly {
                req_id: Some(req_id),
            },
        );
    }
}

/// Which fills an execution filter's time fields select, as IB: `specificDates` those days,
/// else `lastNDays` today and the n−1 days before, and with neither only today's (since
/// midnight); `time` further drops fills before that instant. Days are UTC, the simulator's
/// time zone.
struct ExecWindow {
    since: Option<i64>,
    from: i64,
    dates: Vec<String>,
}

impl ExecWindow {
    fn of(filter: &pb::ExecutionFilter, now: i64) -> ExecWindow {
        let today = clock::midnight(clock::date_of(now));
        let dates: Vec<String> = filter
            .specific_dates
            .iter()
            .map(|d| d.to_string())
            .collect();
        let from = match filter.last_n_days.filter(|n| *n > 0) {
            _ if !dates.is_empty() => i64::MIN,
            Some(n) => today - i64::from(n - 1) * 86_400,
            None => today,
        };
        ExecWindow {
            since: filter.time.as_deref().and_then(clock::parse_request_time),
            from,
            dates,
        }
    }

    fn contains(&self, t: i64) -> bool {
        t >= self.from
            && self.since.is_none_or(|s| t >= s)
            && (self.dates.is_empty() || self.dates.contains(&clock::ymd(clock::date_of(t))))
    }
}

/// The client id the seed book's fills and completed orders were placed from (TWS itself).
const BOOK_CLIENT_ID: i32 = 0;

fn side_matches(filter: &str, side: &str) -> bool {
    let f = filter.to_ascii_uppercase();
    match side {
        "BOT" => f == "BOT" || f == "BUY",
        _ => f == "SLD" || f == "SELL",
    }
}
