//! Snapshots of every pane and of the whole cockpit at 80×24, 100×30, 120×40 and 200×50,
//! rendered with ratatui's TestBackend from the simulator (seed 7, frozen prices, real adapter
//! over TCP, fixed clock): what a user of `demo` sees, minus the ticking.

use crate::support::tui;
use crate::support::world;

use ibkr_cockpit::model::{ConnState, GatewayRole};
use ibkr_cockpit::store::LiveState;
use ibkr_cockpit::tui::app::{Action, App, Pane};
use ibkr_cockpit::tui::{book, header, heatmap, margin, movers, positions, prompt};
use insta::assert_snapshot;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use std::sync::Arc;
use tui::*;

type PaneFn = fn(&mut ratatui::Frame, Rect, &App, &LiveState);

fn pane(
    render: PaneFn,
    app: &App,
    state: &LiveState,
    width: u16,
    height: u16,
) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| render(f, f.area(), app, state)).unwrap();
    terminal
}

/// The seed book with a few journaled tool calls, as the cockpit shows it after an LLM asked.
async fn seed() -> Cockpit {
    let mut c = start().await;
    journal_some_calls(&mut c).await;
    c
}

/// The terminal sizes every whole-screen view is checked at: the smallest the cockpit supports,
/// two common laptop sizes, and a large one (every pane at once).
const SIZES: [(u16, u16); 4] = [(80, 24), (100, 30), (120, 40), (200, 50)];

/// The main screen at every size, with the demo's two accounts: rows that do not fit are marked
/// (`↓ 2 more` at 80×24), never silently dropped.
#[tokio::test]
async fn whole_screen_at_every_size() {
    // Both demo accounts, as `demo` shows them: 7 positions.
    let mut c = start_two_accounts(world::default_config()).await;
    journal_some_calls(&mut c).await;
    for (w, h) in SIZES {
        c.act(Action::Resize(w, h)).await;
        let t = c.render(w, h);
        let text = t.backend().to_string();
        if (w, h) == (80, 24) {
            assert!(text.contains("↓ 2 more"), "7 positions in 5 rows:\n{text}");
        }
        assert_snapshot!(format!("screen_{w}x{h}"), t.backend());
    }
    c.shutdown().await;
}

/// The help overlay scrolled to its end at every size: nothing clipped or run together, the
/// last line (the mouse) on screen, words whole.
#[tokio::test]
async fn help_overlay_scrolled_to_its_end_at_every_size() {
    let mut c = seed().await;
    for (w, h) in SIZES {
        c.act(Action::Resize(w, h)).await;
        c.act(Action::ToggleHelp).await;
        c.act(Action::Bottom).await;
        let t = c.render(w, h);
        let text = t.backend().to_string();
        // The last entry (the mouse), wrapped to the column if need be.
        assert!(
            text.contains("Mouse: click") && text.contains("scrolls."),
            "the help's last line at {w}×{h}:\n{text}"
        );
        assert!(!text.contains("posPosition"), "{text}");
        assert_snapshot!(format!("help_end_{w}x{h}"), t.backend());
        c.act(Action::ToggleHelp).await;
    }
    c.shutdown().await;
}

/// `:` then `ibkr_` and Tab twice: the popup lists the tools, the second Tab puts the first one
/// in the line and highlights it.
#[tokio::test]
async fn completion_popup_at_every_size() {
    let mut c = seed().await;
    c.act(Action::StartInput).await;
    for ch in "ibkr_".chars() {
        c.act(key_action(ch)).await;
    }
    c.act(Action::Complete).await;
    c.act(Action::Complete).await;
    let first = c.app.completion.as_ref().expect("popup open").candidates[0].clone();
    assert_eq!(c.app.input_text(), first);
    for (w, h) in SIZES {
        c.act(Action::Resize(w, h)).await;
        let t = c.render(w, h);
        let text = t.backend().to_string();
        assert!(text.contains("matches"), "the popup at {w}×{h}:\n{text}");
        assert!(
            !text.contains("press : to run a tool"),
            "no placeholder while typing"
        );
        assert_snapshot!(format!("completion_{w}x{h}"), t.backend());
    }
    c.shutdown().await;
}

#[tokio::test]
async fn whole_screen_80x24_prompt_card() {
    let mut c = seed().await;
    c.act(Action::Focus(Pane::Prompt)).await;
    assert_snapshot!("screen_80x24_prompt", c.render(80, 24).backend());
    c.shutdown().await;
}

#[tokio::test]
async fn too_small_says_so() {
    let c = seed().await;
    assert_snapshot!("screen_too_small", c.render(60, 20).backend());
    c.shutdown().await;
}

#[tokio::test]
async fn header_pane() {
    let c = seed().await;
    assert_snapshot!(
        "pane_header",
        pane(header::render, &c.app, &c.state, 160, 2).backend()
    );
    c.shutdown().await;
}

/// The one hand-set case: an outage with a known number of reconnection attempts and a known
/// age cannot be produced deterministically by killing the simulator (attempts depend on
/// timing), so the sim-fed gateway status is overwritten with one.
#[tokio::test]
async fn header_during_outage_keeps_values_and_says_why() {
    let mut c = seed().await;
    c.h.ctx.store.update(|st| {
        let gw = Arc::make_mut(&mut st.gateways);
        if let Some(p) = gw.get_mut(&GatewayRole::Primary) {
            p.state = ConnState::Reconnecting;
            p.reconnects = 3;
            p.failed_attempts = 4;
            p.since = NOW - 45_000;
            p.last_data = Some(NOW - 47_000);
            p.last_error = Some("connection refused".into());
        }
    });
    c.settle().await;
    assert_snapshot!(
        "pane_header_outage",
        pane(header::render, &c.app, &c.state, 160, 2).backend()
    );
    c.shutdown().await;
}

#[tokio::test]
async fn positions_pane_sorted_by_weight_and_by_daily() {
    let mut c = seed().await;
    assert_snapshot!(
        "pane_positions_weight",
        pane(positions::render, &c.app, &c.state, 110, 9).backend()
    );
    while c.app.sort != ibkr_cockpit::tui::book::SortColumn::Daily {
        c.act(Action::SortNext).await;
    }
    c.act(Action::Down).await;
    assert_snapshot!(
        "pane_positions_daily",
        pane(positions::render, &c.app, &c.state, 110, 9).backend()
    );
    assert_snapshot!(
        "pane_positions_narrow",
        pane(positions::render, &c.app, &c.state, 60, 9).backend()
    );
    c.shutdown().await;
}

/// On big books the smaller holdings' daily P&L comes from rotated short requests, minutes
/// apart. Rotation over hundreds of positions takes minutes, so two rows' P&L times are set by
/// hand to what a rotation leaves (VLTX 3 min 05 s ago, HDRX 75 s ago): their cells are marked
/// `°`, and the totals line gives the oldest age and whose it is.
#[tokio::test]
async fn positions_pane_marks_daily_pnl_that_is_not_streamed() {
    let mut c = seed().await;
    c.h.ctx.store.update(|st| {
        for p in Arc::make_mut(&mut st.positions).values_mut() {
            match p.instrument.symbol.as_str() {
                "VLTX" => p.daily_pnl_at = Some(NOW - 185_000),
                "HDRX" => p.daily_pnl_at = Some(NOW - 75_000),
                _ => {}
            }
        }
    });
    c.settle().await;
    let t = pane(positions::render, &c.app, &c.state, 110, 9);
    let text = t.backend().to_string();
    assert!(text.contains("daily P&L up to 3m old (VLTX)"), "{text}");
    let row = |symbol: &str| {
        text.lines()
            .find(|l| l.contains(&format!("│{symbol} ")))
            .unwrap_or_else(|| panic!("{symbol} row:\n{text}"))
            .to_string()
    };
    for (symbol, marked) in [
        ("VLTX", true),
        ("HDRX", true),
        ("KRYX", false),
        ("OMRA", false),
    ] {
        assert_eq!(row(symbol).contains('°'), marked, "{symbol}:\n{text}");
    }
    assert_snapshot!("pane_positions_daily_aged", t.backend());
    assert_snapshot!(
        "pane_positions_daily_aged_narrow",
        pane(positions::render, &c.app, &c.state, 60, 9).backend()
    );
    c.shutdown().await;
}

#[tokio::test]
async fn margin_pane() {
    let c = seed().await;
    assert_snapshot!(
        "pane_margin",
        pane(margin::render, &c.app, &c.state, 72, 7).backend()
    );
    c.shutdown().await;
}

#[tokio::test]
async fn movers_pane() {
    let c = seed().await;
    assert_snapshot!(
        "pane_movers",
        pane(movers::render, &c.app, &c.state, 60, 10).backend()
    );
    c.shutdown().await;
}

#[tokio::test]
async fn heatmap_pane_both_windows() {
    let mut c = seed().await;
    assert_snapshot!(
        "pane_heatmap_60d",
        pane(heatmap::render, &c.app, &c.state, 60, 9).backend()
    );
    c.act(Action::Focus(Pane::Heatmap)).await;
    c.act(Action::ToggleCorrWindow).await;
    assert_snapshot!(
        "pane_heatmap_252d",
        pane(heatmap::render, &c.app, &c.state, 60, 9).backend()
    );
    c.shutdown().await;
}

#[tokio::test]
async fn prompt_pane_with_input_and_completion() {
    let mut c = seed().await;
    c.act(Action::Focus(Pane::Prompt)).await;
    assert_snapshot!(
        "pane_prompt",
        pane(prompt::render, &c.app, &c.state, 110, 9).backend()
    );
    let idle = pane(prompt::render, &c.app, &c.state, 110, 9);
    assert!(idle.backend().to_string().contains("press : to run a tool"));
    c.act(Action::StartInput).await;
    // Focused and still empty: the placeholder is gone, the key hints are there.
    let focused = pane(prompt::render, &c.app, &c.state, 110, 9)
        .backend()
        .to_string();
    assert!(!focused.contains("press : to run a tool"), "{focused}");
    assert!(focused.contains("Tab completes"), "{focused}");
    for ch in "ibkr_what_if s".chars() {
        c.act(key_action(ch)).await;
    }
    c.act(Action::Complete).await;
    assert_snapshot!(
        "pane_prompt_input",
        pane(prompt::render, &c.app, &c.state, 110, 9).backend()
    );
    c.shutdown().await;
}

fn key_action(c: char) -> Action {
    Action::InputKey(crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char(c),
        crossterm::event::KeyModifiers::NONE,
    ))
}

/// Enter on the top position fetches its daily bars from the simulator for the chart. The
/// simulator's history ends on the real today, so the chart (its dates, and how many weekdays
/// "1 Y" spans) changes from day to day: the facts column is snapshotted, the chart is checked
/// for what a user relies on.
#[tokio::test]
async fn detail_view_with_chart() {
    let mut c = seed().await;
    c.act(Action::Open).await;
    let text = c.render(120, 30).backend().to_string();
    assert!(text.contains("KRYX · position detail"), "{text}");
    let closes: usize = text
        .split("Daily closes · ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(
        (245..=254).contains(&closes),
        "a year of trading sessions, {closes} closes: {text}"
    );
    assert!(
        text.chars()
            .any(|ch| ('\u{2801}'..='\u{28ff}').contains(&ch)),
        "a drawn (braille) line: {text}"
    );
    let facts: Vec<String> = text
        .lines()
        .map(|l| l.chars().take(42).collect::<String>())
        .collect();
    assert_snapshot!("view_detail_facts", facts.join("\n"));
    c.shutdown().await;
}

#[tokio::test]
async fn answer_view_renders_markdown() {
    let mut c = seed().await;
    c.act(Action::Focus(Pane::Prompt)).await;
    c.act(Action::Down).await;
    c.act(Action::Open).await;
    assert_snapshot!("view_answer", c.render(100, 30).backend());
    c.shutdown().await;
}

#[tokio::test]
async fn help_overlay() {
    let mut c = seed().await;
    c.act(Action::ToggleHelp).await;
    assert_snapshot!("view_help", c.render(200, 50).backend());
    c.shutdown().await;
}

#[tokio::test]
async fn big_book_renders_and_heatmap_scrolls() {
    let c = start_big(500).await;
    let text = c.render(200, 50).backend().to_string();
    let held = c.state.positions.len();
    assert!(held >= 500, "{held} positions");
    assert!(text.contains(&format!("Positions ({held})")), "{text}");
    // 500 symbols do not fit IB's 100 market-data lines: the tail is priced from portfolio
    // updates, marked `~` and explained in the totals line; the largest holdings stream.
    let rows = c.app.rows(&c.state);
    let tail = rows.iter().filter(|r| r.portfolio_priced).count();
    assert!(tail >= 400, "{tail} rows priced from portfolio updates");
    assert!(
        rows.iter().all(|r| r.price.is_some()),
        "every row has a price"
    );
    assert!(text.contains("~ no quote line: portfolio price"), "{text}");
    // Daily P&L streams for the largest holdings only, so the total is the accounts' own.
    let base = book::base_currency(&c.state);
    let accounts_daily: f64 = c
        .state
        .accounts
        .values()
        .map(|a| {
            let daily = a.pnl.as_ref().and_then(|p| p.daily).expect("account P&L");
            daily * c.state.fx_rate(&a.base_currency, &base).expect("FX rate")
        })
        .sum();
    let totals = book::book_totals(&c.state, &rows);
    assert!(
        rows.iter().any(|r| r.daily.is_none()),
        "some holdings have no daily P&L stream"
    );
    let daily = totals.daily.expect("a total daily P&L");
    assert!(
        (daily - accounts_daily).abs() < 1e-6,
        "{daily} vs {accounts_daily}"
    );
    c.shutdown().await;
}

/// Both demo accounts in one store: KRYX is held in each, so the table gets an Account column
/// (masked by default) and the title says the weights are of the combined gross.
#[tokio::test]
async fn two_accounts_show_an_account_column() {
    let c = start_two_accounts(world::default_config()).await;
    let kryx_rows = c
        .app
        .rows(&c.state)
        .iter()
        .filter(|r| r.symbol == "KRYX")
        .count();
    assert_eq!(kryx_rows, 2, "KRYX is held in both accounts");
    let weights: f64 = c.app.rows(&c.state).iter().filter_map(|r| r.weight).sum();
    assert!(
        (weights - 1.0).abs() < 1e-9,
        "weights add up across accounts: {weights}"
    );
    let t = pane(positions::render, &c.app, &c.state, 120, 12);
    let text = t.backend().to_string();
    assert!(
        text.contains("U****4321") && text.contains("U****2334"),
        "{text}"
    );
    assert_snapshot!("pane_positions_two_accounts", t.backend());
    c.shutdown().await;
}

#[tokio::test]
async fn two_accounts_unmasked_when_config_says_so() {
    let mut config = world::default_config();
    config.display.mask_accounts = false;
    let c = start_two_accounts(config).await;
    let t = pane(positions::render, &c.app, &c.state, 120, 12);
    let text = t.backend().to_string();
    assert!(
        text.contains("U7654321") && text.contains("U1122334"),
        "{text}"
    );
    c.shutdown().await;
}

#[tokio::test]
async fn heatmap_and_correlation_tool_agree_on_every_pair() {
    let c = seed().await;
    let ibkr_cockpit::tui::app::Fetch::Ready(pair) = &c.app.corr else {
        panic!("correlations loaded for the seed book");
    };
    for (grid, lookback) in [(&pair.d60, 60), (&pair.d252, 252)] {
        let out =
            c.h.call(
                "ibkr_correlation_matrix",
                serde_json::json!({ "symbols": grid.symbols, "lookback_days": lookback }),
            )
            .await
            .unwrap();
        let symbols: Vec<String> = serde_json::from_value(out.json["symbols"].clone()).unwrap();
        assert_eq!(out.json["data_points"], grid.observations, "{lookback}");
        for (i, a) in symbols.iter().enumerate() {
            for (j, b) in symbols.iter().enumerate() {
                let tool = out.json["matrix"][i][j].as_f64().unwrap();
                let row = grid.symbols.iter().position(|s| s == a).unwrap();
                let col = grid.symbols.iter().position(|s| s == b).unwrap();
                let shown = grid.get(row, col);
                // The tool rounds to 4 dp; the heatmap keeps the full value.
                assert!(
                    crate::support::approx(shown, tool, 5e-5, 0.0),
                    "{a}/{b} over {lookback}: heatmap {shown}, tool {tool}"
                );
            }
        }
    }
    c.shutdown().await;
}
