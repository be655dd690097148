//! The simulated book as JSON, for clients that check their answers against it (the
//! conformance script in `tests/clients/`). Written owner-only.

use super::SimHandle;
use serde_json::json;
use std::io::Write;
use std::path::Path;

pub fn snapshot(sim: &SimHandle) -> serde_json::Value {
    let view = sim.world();
    let w = sim.shared.world.lock();
    let orders: Vec<_> = w
        .account
        .open_orders
        .iter()
        .map(|o| {
            json!({
                "order_id": o.order_id, "perm_id": o.perm_id, "client_id": o.client_id,
                "symbol": w.market.get(o.inst).symbol, "action": o.action, "qty": o.qty,
                "order_type": o.order_type, "limit": o.limit, "tif": o.tif,
            })
        })
        .collect();
    let fills: Vec<_> = w
        .account
        .fills
        .iter()
        .map(|f| {
            json!({
                "exec_id": f.exec_id, "order_id": f.order_id, "perm_id": f.perm_id,
                "symbol": w.market.get(f.inst).symbol, "side": f.side, "shares": f.shares,
                "price": f.price, "time": f.time, "commission": f.commission,
                "realized": f.realized,
            })
        })
        .collect();
    json!({
        "world": view,
        "open_orders": orders,
        "fills": fills,
        "server_version": sim.shared.server_version,
    })
}

pub fn write(sim: &SimHandle, path: &Path) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(&snapshot(sim)).map_err(std::io::Error::other)?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(text.as_bytes())
}
