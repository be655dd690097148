//! The symbols a research tool covers when none are named: the primary account's stock
//! positions, largest absolute market value first, or the symbols the user named.

use crate::tools::support::{self, LiveView, resolve_account};
use crate::tools::{ToolContext, ToolError};

/// One stock the tool covers, with what the book holds of it (0 when only named).
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub symbol: String,
    /// Shares held (negative = short), 0 for a symbol not held.
    pub quantity: f64,
    /// Market value in the position's currency, 0 for a symbol not held.
    pub market_value: f64,
    pub currency: String,
}

/// The primary account's stock positions, one row per symbol, largest |market value| first.
pub fn held_stocks(ctx: &ToolContext) -> Result<(LiveView, Vec<Target>), ToolError> {
    let live = ctx.live()?;
    let acct = resolve_account(ctx, &live.snap, None)?;
    let mut rows: Vec<Target> = Vec::new();
    for p in live
        .snap
        .positions_of(&acct.account)
        .filter(|p| p.quantity != 0.0 && p.instrument.sec_type == "STK")
    {
        let value = p.market_value.unwrap_or(p.quantity * p.avg_cost);
        match rows.iter_mut().find(|r| r.symbol == p.instrument.symbol) {
            Some(r) => {
                r.quantity += p.quantity;
                r.market_value += value;
            }
            None => rows.push(Target {
                symbol: p.instrument.symbol.clone(),
                quantity: p.quantity,
                market_value: value,
                currency: p.instrument.currency.clone(),
            }),
        }
    }
    rows.sort_by(|a, b| {
        b.market_value
            .abs()
            .total_cmp(&a.market_value.abs())
            .then(a.symbol.cmp(&b.symbol))
    });
    Ok((live, rows))
}

/// The named symbols (validated, at most `max`), each with what the book holds of it; or,
/// when none are named, the held stocks (at most `max`, largest first).
pub fn targets(
    ctx: &ToolContext,
    tool: &str,
    named: Option<&[String]>,
    max: usize,
) -> Result<Vec<Target>, ToolError> {
    match named {
        Some(raw) if !raw.is_empty() => {
            let symbols = support::symbols(tool, raw)?;
            if symbols.len() > max {
                return Err(ToolError::new(format!(
                    "{tool}: too many symbols ({}); at most {max}",
                    symbols.len()
                )));
            }
            let held = held_stocks(ctx).map(|(_, h)| h).unwrap_or_default();
            Ok(symbols
                .into_iter()
                .map(|s| {
                    held.iter()
                        .find(|h| h.symbol == s)
                        .cloned()
                        .unwrap_or(Target {
                            symbol: s,
                            quantity: 0.0,
                            market_value: 0.0,
                            currency: String::new(),
                        })
                })
                .collect())
        }
        _ => {
            let (_, mut held) = held_stocks(ctx)?;
            held.truncate(max);
            Ok(held)
        }
    }
}
