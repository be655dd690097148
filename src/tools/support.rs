//! What every tool needs from its context: a snapshot with its staleness, the account an
//! `account?` parameter names, FX conversion, the on-demand request handle, symbol validation,
//! and the page header (title, UTC time, staleness banner).

use super::format::{self, mask_account};
use super::{ToolContext, ToolError};
use crate::gateway::{ContractQuery, GatewayError, Requests};
use crate::model::{AccountSnapshot, ConnState, GatewayRole, Millis};
use crate::store::{LiveState, Staleness};
use schemars::JsonSchema;
use serde::Serialize;

/// Staleness as it appears in every tool's JSON: `"stale": {"age_s": .., "reason": ..}`.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct StaleInfo {
    /// Seconds since the data was last refreshed.
    #[serde(serialize_with = "crate::tools::format::dp1")]
    pub age_s: f64,
    /// Why it is stale, in words (e.g. "gateway disconnected: connection refused").
    pub reason: String,
}

/// Common JSON fields: when the answer was built and whether it came from stale data.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct Meta {
    /// UTC time of the answer, `YYYY-MM-DD HH:MM:SS UTC`.
    pub as_of: String,
    /// Present (non-null) when the answer was built from cached data.
    pub stale: Option<StaleInfo>,
}

impl Meta {
    /// Title, the answer's timestamp and (when stale) the banner, from the answer itself: what
    /// renderers print, so a hand-built output renders exactly like a live one.
    pub fn header(&self, title: &str) -> String {
        let mut s = format!("# {title}\n_{}_\n", self.as_of);
        if let Some(st) = &self.stale {
            s.push('\n');
            s.push_str(&format::staleness_banner(&Staleness {
                age_ms: (st.age_s * 1000.0).round() as i64,
                reason: st.reason.clone(),
            }));
        }
        s
    }

    /// A fresh answer built at `as_of` (`YYYY-MM-DD HH:MM:SS UTC`), for hand-built outputs.
    pub fn fresh(as_of: &str) -> Meta {
        Meta {
            as_of: as_of.to_string(),
            stale: None,
        }
    }
}

/// A snapshot of the live state plus how stale it is.
pub struct LiveView {
    pub snap: LiveState,
    pub stale: Option<Staleness>,
    pub now: Millis,
}

impl LiveView {
    pub fn meta(&self) -> Meta {
        meta(self.now, self.stale.as_ref())
    }
    /// Title, timestamp and (when stale) the banner.
    pub fn header(&self, title: &str) -> String {
        header(title, self.now, self.stale.as_ref())
    }
}

pub fn meta(now: Millis, stale: Option<&Staleness>) -> Meta {
    Meta {
        as_of: format::utc(now),
        stale: stale.map(|s| StaleInfo {
            age_s: s.age_ms as f64 / 1000.0,
            reason: s.reason.clone(),
        }),
    }
}

pub fn header(title: &str, now: Millis, stale: Option<&Staleness>) -> String {
    let mut s = format::title(title, now);
    if let Some(st) = stale {
        s.push('\n');
        s.push_str(&format::staleness_banner(st));
    }
    s
}

impl ToolContext {
    pub fn now(&self) -> Millis {
        self.store.now()
    }

    pub fn mask(&self, account: &str) -> String {
        mask_account(account, self.config.display.mask_accounts)
    }

    /// How stale the live state is right now (`None` = fresh).
    pub fn staleness(&self, snap: &LiveState, now: Millis) -> Option<Staleness> {
        let fresh_ms = (self.config.data.stale_after_secs as i64).saturating_mul(1000);
        if self.gateways.is_none() {
            let last = snap
                .accounts
                .values()
                .map(|a| a.updated)
                .max()
                .unwrap_or(now);
            return Some(Staleness {
                age_ms: (now - last).max(0),
                reason: "no gateway connection in this process (cache only)".into(),
            });
        }
        snap.staleness(now, fresh_ms)
    }

    /// The live state for snapshot tools. Errors (clearly) when there is nothing to answer from:
    /// no account data cached at all, or cached data older than `data.cache_max_age_secs`.
    pub fn live(&self) -> Result<LiveView, ToolError> {
        let snap = self.store.snapshot();
        let now = self.now();
        let stale = self.staleness(&snap, now);
        if snap.accounts.is_empty() {
            let why = stale.as_ref().map_or_else(
                || "the gateway has not delivered account data yet".to_string(),
                |s| s.reason.clone(),
            );
            return Err(ToolError::new(format!(
                "No account data is cached yet, so there is nothing to answer from ({why}). Retry once the gateway is connected."
            )));
        }
        // A connected gateway whose streams are partly silent still answers: its values are
        // labelled stale, never refused.
        let fresh_ms = (self.config.data.stale_after_secs as i64).saturating_mul(1000);
        let answering = self.gateways.is_some()
            && snap.gateways.get(&GatewayRole::Primary).is_some_and(|g| {
                g.state == ConnState::Connected && now - g.last_data.unwrap_or(g.since) <= fresh_ms
            });
        if let Some(s) = &stale
            && !answering
        {
            let max_ms = (self.config.data.cache_max_age_secs as i64).saturating_mul(1000);
            if s.age_ms > max_ms {
                return Err(ToolError::new(format!(
                    "The cached data is {} old, older than the {} s allowed (data.cache_max_age_secs), and the live data is unavailable ({}).",
                    format::age(s.age_ms),
                    self.config.data.cache_max_age_secs,
                    s.reason
                )));
            }
        }
        Ok(LiveView { snap, stale, now })
    }

    /// The on-demand request handle of the primary gateway.
    pub fn requests(&self) -> Result<&Requests, ToolError> {
        match &self.gateways {
            Some(g) => Ok(g.primary.requests()),
            None => Err(ToolError::new(
                "This needs an on-demand request to the gateway, and this process has no gateway connection (cache only).",
            )),
        }
    }
}

/// The account an `account?` parameter names: its id or its masked form; default the primary
/// gateway's first account. Unknown → error listing the known (masked) accounts.
pub fn resolve_account<'a>(
    ctx: &ToolContext,
    snap: &'a LiveState,
    account: Option<&str>,
) -> Result<&'a AccountSnapshot, ToolError> {
    match account.map(str::trim).filter(|a| !a.is_empty()) {
        None => snap.primary_account().ok_or_else(|| {
            ToolError::new(
                "No account is known yet: the gateway has not reported any managed account.",
            )
        }),
        Some(want) => snap
            .accounts
            .values()
            .find(|a| {
                a.account.eq_ignore_ascii_case(want)
                    || ctx.mask(&a.account).eq_ignore_ascii_case(want)
            })
            .ok_or_else(|| {
                let known: Vec<String> = snap.accounts.keys().map(|a| ctx.mask(a)).collect();
                ToolError::new(format!(
                    "Unknown account `{}`. Known accounts: {}",
                    ctx.mask(want),
                    if known.is_empty() {
                        "none yet".to_string()
                    } else {
                        known.join(", ")
                    }
                ))
            }),
    }
}

/// One FX conversion: the rate used and how to describe it.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct FxUsed {
    /// Pair as `FROM.TO`, e.g. `USD.CAD`.
    pub pair: String,
    /// Units of `TO` per unit of `FROM`.
    #[serde(serialize_with = "crate::tools::format::dp4")]
    pub rate: f64,
}

/// Converts with the live FX quotes in the snapshot; falls back to a one-off snapshot request.
pub async fn fx_rate(ctx: &ToolContext, snap: &LiveState, from: &str, to: &str) -> Option<f64> {
    if let Some(r) = snap.fx_rate(from, to) {
        return Some(r);
    }
    let req = ctx.requests().ok()?;
    for (base, quote, invert) in [(from, to, false), (to, from, true)] {
        let q = ContractQuery {
            symbol: base.to_string(),
            sec_type: Some("CASH".into()),
            exchange: Some("IDEALPRO".into()),
            currency: Some(quote.to_string()),
        };
        if let Ok(quote) = req.quote_snapshot(&q).await
            && let Some(p) = quote.price().filter(|p| *p > 0.0)
        {
            return Some(if invert { 1.0 / p } else { p });
        }
    }
    None
}

/// A symbol as the user typed it, upper-cased and checked (letters, digits, `.`, `-`, `/`, space).
pub fn symbol(tool: &str, raw: &str) -> Result<String, ToolError> {
    let s = raw.trim().to_ascii_uppercase();
    let ok = !s.is_empty()
        && s.len() <= 16
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '/' | ' '));
    if ok {
        Ok(s)
    } else {
        Err(ToolError::new(format!(
            "{tool}: `{raw}` is not a valid symbol (1–16 characters: letters, digits, '.', '-', '/')"
        )))
    }
}

/// Symbols from a list parameter, validated, de-duplicated (order kept).
pub fn symbols(tool: &str, raw: &[String]) -> Result<Vec<String>, ToolError> {
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for r in raw {
        let s = symbol(tool, r)?;
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(out)
}

/// A gateway failure in words, for a tool error.
pub fn gateway_error(tool: &str, what: &str, e: &GatewayError) -> ToolError {
    match e {
        GatewayError::NotConnected(why) => ToolError::new(format!(
            "{tool}: could not get {what}: the gateway is not connected ({why}) and nothing is cached for this request."
        )),
        GatewayError::NotFound(m) => ToolError::new(format!("{tool}: {what}: {m}")),
        GatewayError::Rejected { code, message } => ToolError::new(format!(
            "{tool}: IB rejected the request for {what} (error {code}): {message}"
        )),
        other => ToolError::new(format!("{tool}: could not get {what}: {other}")),
    }
}

/// The rate of each currency into `base`, fetched once each (`None`: no rate found), and what an
/// answer says about them: the rates it used and the currencies it left unconverted.
pub struct FxRates(std::collections::BTreeMap<String, Option<f64>>);

impl FxRates {
    pub async fn fetch(
        ctx: &ToolContext,
        snap: &LiveState,
        currencies: impl IntoIterator<Item = String>,
        base: &str,
    ) -> FxRates {
        let mut rates: std::collections::BTreeMap<String, Option<f64>> =
            currencies.into_iter().map(|c| (c, None)).collect();
        for (ccy, rate) in rates.iter_mut() {
            *rate = fx_rate(ctx, snap, ccy, base).await;
        }
        FxRates(rates)
    }

    /// `v` (in `ccy`) in the base currency; `None` when either is missing.
    pub fn conv(&self, v: Option<f64>, ccy: &str) -> Option<f64> {
        Some(v? * self.0.get(ccy).copied().flatten()?)
    }

    /// The rates used (other than the base itself) and the currencies left unconverted.
    pub fn used(&self, base: &str) -> (Vec<FxUsed>, Vec<String>) {
        let fx_rates = self
            .0
            .iter()
            .filter(|(c, _)| *c != base)
            .filter_map(|(c, r)| {
                r.map(|rate| FxUsed {
                    pair: format!("{c}.{base}"),
                    rate,
                })
            })
            .collect();
        let unconverted = self
            .0
            .iter()
            .filter(|(_, r)| r.is_none())
            .map(|(c, _)| c.clone())
            .collect();
        (fx_rates, unconverted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_header_matches_the_live_header() {
        let stale = Staleness {
            age_ms: 125_000,
            reason: "gateway disconnected".into(),
        };
        let now = 1_777_828_664_000;
        for st in [None, Some(&stale)] {
            assert_eq!(meta(now, st).header("T"), header("T", now, st));
        }
    }

    #[test]
    fn symbols_are_normalised_and_checked() {
        assert_eq!(symbol("t", " kryx ").unwrap(), "KRYX");
        assert_eq!(symbol("t", "BRK.B").unwrap(), "BRK.B");
        assert!(
            symbol("t", "")
                .unwrap_err()
                .message
                .contains("not a valid symbol")
        );
        assert!(symbol("t", "KR;YX").is_err());
        assert_eq!(
            symbols("t", &["a".into(), "A".into(), "b".into()]).unwrap(),
            vec!["A", "B"]
        );
    }
}
