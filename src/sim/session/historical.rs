//! Historical bars behind IB's pacing rules, and keep-up-to-date streams.

use super::*;
use crate::calendar;

impl Session {
    pub(super) fn req_historical(&mut self, r: pb::HistoricalDataRequest) {
        let req_id = r.req_id.unwrap_or(0);
        let c = r.contract.clone().unwrap_or_default();
        let key = history::pacing_key(&r);
        let contract_key = history::pacing_contract_key(&r);
        let paced = crate::sim::pacing::PacedRequest {
            key: &key,
            contract: &contract_key,
            small_bar: history::is_small_bar(r.bar_size_setting.as_deref().unwrap_or("")),
        };
        let verdict = {
            let pacing_fault = std::mem::take(&mut self.shared.faults.lock().pacing_next);
            if pacing_fault {
                Err("pacing violation injected")
            } else {
                self.shared.pacing.lock().admit(&paced, Instant::now())
            }
        };
        if let Err(why) = verdict {
            self.shared.counters.lock().pacing_violations += 1;
            tracing::debug!("sim pacing violation for {key}: {why}");
            self.error(req_id, 162, "Historical Market Data Service error message:Historical data request pacing violation");
            return;
        }
        let parsed = {
            let w = self.shared.world.lock();
            let idx = w.market.lookup(
                c.con_id.unwrap_or(0),
                c.symbol.as_deref().unwrap_or(""),
                c.sec_type.as_deref().unwrap_or("STK"),
                c.currency.as_deref().unwrap_or(""),
            );
            match idx {
                None => Err((
                    200,
                    "No security definition has been found for the request".to_string(),
                )),
                Some(i) => history::BarRequest::parse(&r, i)
                    .map_err(|e| (321, e))
                    .and_then(|req| match history::no_data_reason(w.market.get(i), &req) {
                        Some(msg) => Err((162, msg)),
                        None => Ok(req),
                    }),
            }
        };
        let req = match parsed {
            Ok(req) => req,
            Err((code, msg)) => {
                self.error(req_id, code, &msg);
                return;
            }
        };
        let now = clock::now_secs();
        let result = {
            let w = self.shared.world.lock();
            history::bars(&w.market, &req, now)
        };
        match result {
            Ok(out) => {
                self.shared.counters.lock().historical_bars_sent += out.bars.len() as u64;
                let text_dates = r.format_date == Some(1);
                let bars: Vec<pb::HistoricalDataBar> = out
                    .bars
                    .iter()
                    .map(|b| {
                        let mut bar = history::to_proto(b);
                        if text_dates {
                            bar.date = bar.date.map(|d| format_date_1(&d));
                        }
                        bar
                    })
                    .collect();
                let mut frames = wire::encode(
                    In::HistoricalData,
                    &pb::HistoricalData {
                        req_id: Some(req_id),
                        historical_data_bars: bars,
                    },
                );
                frames.extend(wire::encode(
                    In::HistoricalDataEnd,
                    &pb::HistoricalDataEnd {
                        req_id: Some(req_id),
                        start_date_str: Some(clock::ymd_dash_hms(out.start)),
                        end_date_str: Some(clock::ymd_dash_hms(out.end)),
                    },
                ));
                self.send_after_latency(frames);
                if r.keep_up_to_date.unwrap_or(false) {
                    self.shared.pacing.lock().open += 1;
                    self.hist_streams.insert(req_id, req);
                }
            }
            Err(msg) => self.error(
                req_id,
                162,
                &format!("Historical Market Data Service error message:{msg}"),
            ),
        }
    }

    /// Sends a historical answer after the configured HMDS latency; meanwhile the request
    /// counts as open against IB's 50-open-requests limit.
    fn send_after_latency(&self, frames: Vec<u8>) {
        let latency = self.shared.historical_latency;
        if latency.is_zero() {
            let _ = self.tx.send(frames);
            return;
        }
        self.shared.pacing.lock().open += 1;
        let shared = self.shared.clone();
        let tx = self.tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(latency).await;
            let _ = tx.send(frames);
            let mut p = shared.pacing.lock();
            p.open = p.open.saturating_sub(1);
        });
    }

    pub(super) fn push_bar_updates(&self) {
        let now = clock::now_secs();
        let updates: Vec<(i32, history::OutBar)> = {
            let w = self.shared.world.lock();
            self.hist_streams
                .iter()
                .filter_map(|(id, req)| history::current_bar(&w.market, req, now).map(|b| (*id, b)))
                .collect()
        };
        for (id, bar) in updates {
            self.send(
                In::HistoricalDataUpdate,
                &pb::HistoricalDataUpdate {
                    req_id: Some(id),
                    historical_data_bar: Some(history::to_proto(&bar)),
                },
            );
        }
    }
}

/// `formatDate=1`: intraday bar times as `yyyyMMdd HH:mm:ss` in the exchange's time zone, with
/// the zone named as current TWS versions do; daily and longer bars stay `yyyyMMdd`.
fn format_date_1(date: &str) -> String {
    if date.len() <= 8 {
        return date.to_string();
    }
    match date.parse::<i64>() {
        Ok(t) => {
            let local = t + calendar::ny_offset(t);
            format!(
                "{} {}",
                clock::ymd_hms(local),
                calendar::time_zone_id(calendar::Venue::UsEquity)
            )
        }
        Err(_) => date.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::format_date_1;

    #[test]
    fn format_date_1_writes_new_york_wall_clock_with_the_zone() {
        // 2025-12-01 14:30:00 UTC is 09:30 in New York (EST).
        assert_eq!(format_date_1("1764599400"), "20251201 09:30:00 US/Eastern");
        assert_eq!(format_date_1("20251201"), "20251201");
    }
}
