//! Account values and positions "by account and model" (`reqAccountUpdatesMulti`,
//! `reqPositionsMulti`): the same rows as the single-account requests, tagged with the request
//! id, then an end marker. An account other than ours gets IB's 321 (invalid account).

use super::*;

impl Session {
    /// Our account when the request names it or none; `None` (and error 321 sent) otherwise.
    fn multi_account(&self, req_id: i32, account: Option<&str>) -> Option<String> {
        let ours = self.account_id();
        match account {
            None | Some("") | Some("All") => Some(ours),
            Some(a) if a == ours => Some(ours),
            Some(a) => {
                self.error(
                    req_id,
                    321,
                    &format!("Error validating request.-'bW' : cause - Invalid account code {a}."),
                );
                None
            }
        }
    }

    pub(super) fn req_account_updates_multi(&mut self, r: pb::AccountUpdatesMultiRequest) {
        let req_id = r.req_id.unwrap_or(0);
        let Some(acct) = self.multi_account(req_id, r.account.as_deref()) else {
            return;
        };
        let rows = {
            let w = self.shared.world.lock();
            let f = w.account.figures(&w.market);
            let mut tags: Vec<String> = account::ACCOUNT_UPDATE_TAGS
                .iter()
                .map(|s| s.to_string())
                .collect();
            if r.ledger_and_nlv.unwrap_or(false) {
                tags.push("$LEDGER".into());
            }
            account::summary_rows(&w.account, &f, &w.market, &tags, clock::now_secs())
        };
        let model = r.model_code.unwrap_or_default();
        for (key, value, currency) in rows {
            self.send(
                In::AccountUpdateMulti,
                &pb::AccountUpdateMulti {
                    req_id: Some(req_id),
                    account: Some(acct.clone()),
                    model_code: Some(model.clone()),
                    key: Some(key),
                    value: Some(value),
                    currency: Some(currency),
                },
            );
        }
        self.send(
            In::AccountUpdateMultiEnd,
            &pb::ReqIdOnly {
                req_id: Some(req_id),
            },
        );
    }

    pub(super) fn req_positions_multi(&mut self, r: pb::PositionsMultiRequest) {
        let req_id = r.req_id.unwrap_or(0);
        let Some(acct) = self.multi_account(req_id, r.account.as_deref()) else {
            return;
        };
        let model = r.model_code.unwrap_or_default();
        let msgs: Vec<pb::PositionMulti> = {
            let w = self.shared.world.lock();
            w.account
                .positions
                .iter()
                .map(|p| pb::PositionMulti {
                    req_id: Some(req_id),
                    account: Some(acct.clone()),
                    contract: Some(account::position_contract(w.market.get(p.inst))),
                    position: Some(dec(p.qty)),
                    avg_cost: Some(p.avg_cost),
                    model_code: Some(model.clone()),
                })
                .collect()
        };
        for m in msgs {
            self.send(In::PositionMulti, &m);
        }
        self.send(
            In::PositionMultiEnd,
            &pb::ReqIdOnly {
                req_id: Some(req_id),
            },
        );
    }
}
