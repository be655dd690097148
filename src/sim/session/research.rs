//! Research requests: market scanner subscriptions and the research generic ticks (fundamental
//! ratios 258, shortability 236), served from `sim::research`.

use super::*;
use crate::sim::research;

impl Session {
    /// One batch of ranked results on the request id. IB repeats the batch while the
    /// subscription lives; one batch is what a snapshot reader takes before it cancels.
    pub(super) fn req_scanner_subscription(&self, body: &[u8]) {
        let r: research::ScannerSubscriptionRequest = wire::decode(body);
        let req_id = r.req_id.unwrap_or(0);
        let sub = r.scanner_subscription.unwrap_or_default();
        let ranked = {
            let w = self.shared.world.lock();
            research::scan(&w.market, &sub).map(|rows| {
                rows.iter()
                    .enumerate()
                    .map(|(rank, idx)| research::scanner_element(rank, w.market.get(*idx)))
                    .collect::<Vec<_>>()
            })
        };
        match ranked {
            Ok(rows) => self.send(
                In::ScannerData,
                &research::ScannerData {
                    req_id: Some(req_id),
                    scanner_data_element: rows,
                },
            ),
            Err(why) => self.error(
                req_id,
                162,
                &format!("Historical Market Data Service error message:{why}"),
            ),
        }
    }

    /// Generic tick 258: the fundamental-ratios string on tick 47.
    pub(super) fn send_fundamental_ratios(&self, req_id: i32, inst: &Instrument) {
        let ratios = {
            let w = self.shared.world.lock();
            research::fundamental_ratios(&w.market, inst)
        };
        if !ratios.is_empty() {
            self.tick_string(req_id, 47, ratios);
        }
    }

    /// Generic ticks 104 (tick 23, historical volatility) and 106 (tick 24, implied).
    pub(super) fn send_volatility_tick(&self, req_id: i32, inst: &Instrument, tick_type: i32) {
        let (hv, iv) = {
            let w = self.shared.world.lock();
            research::current_volatility(&w.market, inst)
        };
        self.tick_generic(req_id, tick_type, if tick_type == 23 { hv } else { iv });
    }

    /// Generic tick 236: shortable level on tick 46 and shortable shares on tick 89 (a size).
    pub(super) fn send_shortable(&self, req_id: i32, inst: &Instrument) {
        let (level, shares) = research::shortable(inst);
        self.tick_generic(req_id, 46, level);
        self.tick_size(req_id, 89, shares);
    }
}
