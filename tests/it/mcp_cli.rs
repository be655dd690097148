//! The `tool` subcommand's logic against the simulated gateway: what it prints and how it exits.

use crate::support::world;

use crate::support::{STEP, assert_close};
use ibkr_cockpit::mcp::{parse_invocation, tool_cli};
use ibkr_cockpit::tools;
use serde_json::{Value, json};
use tokio::time::timeout;
use world::start_live_clock;

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_cli_prints_markdown_or_json_and_exits_by_outcome() {
    let world = start_live_clock().await;
    let ctx = &world.ctx;
    let account = world.sim_account();

    let md = timeout(
        STEP,
        tool_cli(ctx, Some("ibkr_get_account_summary"), &[], false, false),
    )
    .await
    .expect("in time");
    assert_eq!(md.code, 0, "{}", md.stderr);
    assert!(md.stdout.contains("Account Summary"), "{}", md.stdout);
    assert!(
        md.stdout.contains(&account.base_currency),
        "amounts carry their currency"
    );

    let js = timeout(
        STEP,
        tool_cli(ctx, Some("ibkr_get_account_summary"), &[], true, false),
    )
    .await
    .expect("in time");
    assert_eq!(js.code, 0, "{}", js.stderr);
    let value: Value = serde_json::from_str(&js.stdout).expect("--json prints JSON");
    assert_close(
        &value["net_liquidation"],
        account.net_liquidation,
        "NLV via the CLI",
    );

    // key=value arguments reach the tool, typed by its schema.
    let limited = timeout(
        STEP,
        tool_cli(
            ctx,
            Some("ibkr_get_positions"),
            &words(&["limit=1", "sort=symbol", "--json"]),
            false,
            false,
        ),
    )
    .await
    .expect("in time");
    assert_eq!(limited.code, 0, "{}", limited.stderr);
    let value: Value = serde_json::from_str(&limited.stdout).expect("JSON");
    assert_eq!(value["positions"].as_array().map(Vec::len), Some(1));

    // A tool error: message on stderr, exit 1.
    let bad = timeout(
        STEP,
        tool_cli(
            ctx,
            Some("ibkr_margin"),
            &words(&["detail=everything"]),
            false,
            false,
        ),
    )
    .await
    .expect("in time");
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("detail"), "{}", bad.stderr);
    assert!(bad.stdout.is_empty());

    // Not key=value: a usage error, exit 2, and nothing was called.
    let before = world.ctx.store.snapshot().journal.len();
    let usage = tool_cli(
        ctx,
        Some("ibkr_get_positions"),
        &words(&["KRYX"]),
        false,
        false,
    )
    .await;
    assert_eq!(usage.code, 2);
    assert!(usage.stderr.contains("key=value"), "{}", usage.stderr);
    assert_eq!(world.ctx.store.snapshot().journal.len(), before);

    // Journaled as "cli".
    let journal = world.ctx.store.snapshot().journal;
    assert!(
        journal
            .iter()
            .any(|r| r.client == "cli" && r.tool == "ibkr_get_account_summary")
    );
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_help_and_unknown_names() {
    let world = start_live_clock().await;
    let ctx = &world.ctx;

    let list = tool_cli(ctx, None, &[], false, true).await;
    assert_eq!(list.code, 0);
    for spec in tools::catalog() {
        let line = list
            .stdout
            .lines()
            .find(|l| l.trim_start().starts_with(spec.name))
            .unwrap_or_else(|| panic!("{} listed", spec.name));
        assert!(
            line.contains(spec.description.lines().next().unwrap_or("")),
            "{line}"
        );
    }

    let help = tool_cli(ctx, Some("ibkr_margin"), &words(&["--help"]), false, false).await;
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("detail"), "{}", help.stdout);
    assert!(
        help.stdout.contains("summary | efficiency | headroom"),
        "{}",
        help.stdout
    );
    let help_word = tool_cli(ctx, Some("help"), &words(&["ibkr_margin"]), false, false).await;
    assert_eq!(help_word.stdout, help.stdout);

    let unknown = tool_cli(ctx, Some("ibkr_get_postions"), &[], false, false).await;
    assert_eq!(unknown.code, 2);
    assert!(
        unknown.stderr.contains("ibkr_get_positions"),
        "{}",
        unknown.stderr
    );

    // The prompt-line parser types values by the tool's schema.
    let (name, args) =
        parse_invocation("ibkr_get_positions sort=pnl limit=3 symbol_filter='KR'").expect("parses");
    assert_eq!(name, "ibkr_get_positions");
    assert_eq!(
        args,
        json!({"sort": "pnl", "limit": 3, "symbol_filter": "KR"})
    );
    world.shutdown().await;
}
