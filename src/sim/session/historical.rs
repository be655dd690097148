//! Historical bars behind IB's pacing rules, and keep-up-to-date streams.

use super::*;

impl Session {
    pub(super) fn req_historical(&mut self, r: pb::HistoricalDataRequest) {
        let req_id = r.req_id.unwrap_or(0);
        let c = r.contract.clone().unwrap_or_default();
        let key = history::pacing_key(&r);
        let verdict = {
            let pacing_fault = std::mem::take(&mut self.shared.faults.lock().pacing_next);
            if pacing_fault {
                Err("pacing violation injected")
            } else {
                self.shared.pacing.lock().admit(&key, Instant::now())
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
                Some(i) => history::BarRequest::parse(&r, i).map_err(|e| (321, e)),
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
                let bars: Vec<pb::HistoricalDataBar> =
                    out.bars.iter().map(history::to_proto).collect();
                self.send(
                    In::HistoricalData,
                    &pb::HistoricalData {
                        req_id: Some(req_id),
                        historical_data_bars: bars,
                    },
                );
                self.send(
                    In::HistoricalDataEnd,
                    &pb::HistoricalDataEnd {
                        req_id: Some(req_id),
                        start_date_str: Some(clock::ymd_dash_hms(out.start)),
                        end_date_str: Some(clock::ymd_dash_hms(out.end)),
                    },
                );
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
