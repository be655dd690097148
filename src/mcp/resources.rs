//! Read-only resources: markdown snapshots of the book a client can attach as context
//! (`resources/list`, `resources/read`), and which of them a change to the live state touches
//! (for `notifications/resources/updated`).

use crate::store::LiveState;
use crate::tools::{self, ToolContext};
use rmcp::ErrorData;
use rmcp::model::{ReadResourceResult, Resource, ResourceContents};
use serde_json::json;
use std::sync::Arc;

/// What the book-level resources are built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Accounts,
    Positions,
    Both,
}

/// One resource: its URI, name, description, the tool whose markdown it is, what it reads.
struct Snapshot {
    uri: &'static str,
    name: &'static str,
    title: &'static str,
    description: &'static str,
    tool: &'static str,
    source: Source,
}

const SNAPSHOTS: &[Snapshot] = &[
    Snapshot {
        uri: "ibkr://account/summary",
        name: "account-summary",
        title: "Account summary",
        description: "Net liquidation, cash, margin and cushion of the primary account, in its base currency (markdown).",
        tool: "ibkr_get_account_summary",
        source: Source::Accounts,
    },
    Snapshot {
        uri: "ibkr://positions",
        name: "positions",
        title: "Positions",
        description: "Every holding with quantity, price, value in the base currency, weight and P&L (markdown).",
        tool: "ibkr_get_positions",
        source: Source::Positions,
    },
    Snapshot {
        uri: "ibkr://briefing",
        name: "briefing",
        title: "Portfolio briefing",
        description: "Health, P&L, concentration, movers and alerts in one page (markdown).",
        tool: "ibkr_briefing",
        source: Source::Both,
    },
];

/// Every resource, for `resources/list`.
pub fn list() -> Vec<Resource> {
    SNAPSHOTS
        .iter()
        .map(|s| {
            Resource::new(s.uri, s.name)
                .with_title(s.title)
                .with_description(s.description)
                .with_mime_type("text/markdown")
        })
        .collect()
}

/// Whether `uri` is one of ours.
pub fn is_known(uri: &str) -> bool {
    SNAPSHOTS.iter().any(|s| s.uri == uri)
}

fn unknown(uri: &str) -> ErrorData {
    let uris: Vec<&str> = SNAPSHOTS.iter().map(|s| s.uri).collect();
    ErrorData::resource_not_found(
        format!("no resource {uri}; resources: {}", uris.join(", ")),
        Some(json!({"uri": uri})),
    )
}

/// `resources/read`: the tool's markdown for the current book. A tool that cannot answer (no
/// data yet) gives its message as the text, so a client always gets words.
pub async fn read(ctx: &ToolContext, uri: &str) -> Result<ReadResourceResult, ErrorData> {
    let snapshot = SNAPSHOTS
        .iter()
        .find(|s| s.uri == uri)
        .ok_or_else(|| unknown(uri))?;
    let text = match tools::call(ctx, snapshot.tool, json!({})).await {
        Ok(out) => out.markdown,
        Err(e) => format!("# {}\n\n{}\n", snapshot.title, e.message),
    };
    Ok(ReadResourceResult::new(vec![
        ResourceContents::text(text, uri).with_mime_type("text/markdown"),
    ]))
}

/// `resources/subscribe` accepts our URIs only.
pub fn check_subscribable(uri: &str) -> Result<(), ErrorData> {
    if is_known(uri) {
        Ok(())
    } else {
        Err(unknown(uri))
    }
}

/// The parts of the live state the resources are made of. Holding these `Arc`s means a store
/// update that changes them allocates new ones, so a pointer comparison tells what changed.
pub struct BookMark {
    accounts: Arc<std::collections::BTreeMap<String, crate::model::AccountSnapshot>>,
    positions: Arc<std::collections::BTreeMap<crate::store::PositionKey, crate::model::Position>>,
}

impl BookMark {
    pub fn of(state: &LiveState) -> BookMark {
        BookMark {
            accounts: state.accounts.clone(),
            positions: state.positions.clone(),
        }
    }

    /// The URIs whose content may differ between `self` and `now`.
    pub fn changed(&self, now: &BookMark) -> Vec<&'static str> {
        let accounts = !Arc::ptr_eq(&self.accounts, &now.accounts) && self.accounts != now.accounts;
        let positions =
            !Arc::ptr_eq(&self.positions, &now.positions) && self.positions != now.positions;
        SNAPSHOTS
            .iter()
            .filter(|s| match s.source {
                Source::Accounts => accounts,
                Source::Positions => positions,
                Source::Both => accounts || positions,
            })
            .map(|s| s.uri)
            .collect()
    }
}
