//! The UI loop: one `tokio::select!` over terminal events, a 1 s clock, store changes and the
//! results of background work. It redraws only when one of those changed something, and at most
//! `MAX_FPS` times a second, so a busy market does not cost a core and an idle one costs nothing.
//! Store changes are coalesced on top of that: a 2,000-symbol book changes the store thousands of
//! times a second, so the loop takes a new snapshot (and rebuilds the derived rows) at most
//! `DATA_HZ` times a second; keys and mouse stay immediate.
//! Slow work (daily bars, correlations, tool calls) runs in spawned tasks whose results come
//! back as `Action`s; render code never waits on the network.

use super::app::{Action, App, CorrPair, Effect};
use super::keymap;
use super::layout::{self, Screen};
use super::screen;
use crate::analytics::correlation;
use crate::gateway::BarSpec;
use crate::model::Bar;
use crate::tools::{self, ToolContext};
use crossterm::event::{Event, EventStream, KeyEventKind, MouseButton, MouseEventKind};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::Backend;
use ratatui::layout::Rect;
use std::future::Future;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;
use tokio::time::{Instant, MissedTickBehavior};

/// Redraw cap (input included).
const MAX_FPS: u64 = 30;
/// How often, at most, a changed store is picked up: fast enough to watch prices move, slow
/// enough that snapshots, row rebuilds and the writers' copy-on-write of the maps the UI still
/// holds stay cheap.
pub const DATA_HZ: u64 = 5;
/// How long a background fetch may take before the view says it failed.
const FETCH_TIMEOUT: Duration = Duration::from_secs(60);
/// Daily bars requested for the detail chart: one year of sessions.
const BARS_DURATION: &str = "1 Y";
/// Returns the heatmap's longer window needs; its bars are fetched with the tools' own spec, so
/// the cockpit and `ibkr_correlation_matrix` share the bar cache and mean the same window.
const CORRELATION_RETURNS: usize = 252;

/// Runs until the user quits. The caller owns terminal setup and teardown.
pub async fn run<B: Backend>(
    terminal: &mut Terminal<B>,
    ctx: ToolContext,
    mut app: App,
) -> anyhow::Result<()>
where
    B::Error: Send + Sync + 'static,
{
    let store = ctx.store.clone();
    let mut changes = store.subscribe();
    let mut store_open = true;
    let mut state = store.snapshot();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Action>();
    let mut events = EventStream::new();
    let mut clock = tokio::time::interval(Duration::from_secs(1));
    clock.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let frame_gap = Duration::from_millis(1000 / MAX_FPS);
    let data_gap = Duration::from_millis(1000 / DATA_HZ);
    // A store change seen but not applied yet, and when the last one was applied.
    let mut data_pending = false;
    let mut last_data: Option<Instant> = None;

    app.now = store.now();
    if let Ok(size) = terminal.size() {
        app.handle(Action::Resize(size.width, size.height), &state);
    }
    let effects = app.handle(Action::StateChanged, &state);
    start_effects(effects, &ctx, &tx);
    let mut dirty = true;
    let mut last_draw: Option<Instant> = None;

    loop {
        let due = last_draw.is_none_or(|t| t.elapsed() >= frame_gap);
        if dirty && due {
            terminal
                .draw(|f| screen::draw(f, &app, &state))
                .map_err(|e| anyhow::anyhow!("drawing the cockpit failed: {e}"))?;
            dirty = false;
            last_draw = Some(Instant::now());
        }
        let next_frame = last_draw.map_or_else(Instant::now, |t| t + frame_gap);
        let next_data = last_data.map_or_else(Instant::now, |t| t + data_gap);
        let actions: Vec<Action> = tokio::select! {
            event = events.next() => match event {
                Some(Ok(event)) => {
                    dirty = true;
                    let size = terminal.size().map(|s| Rect::new(0, 0, s.width, s.height)).unwrap_or_default();
                    translate(&app, event, size)
                }
                Some(Err(e)) => return Err(anyhow::anyhow!("reading terminal input failed: {e}")),
                None => break,
            },
            _ = clock.tick() => vec![Action::Tick(store.now())],
            // Not listened to while a change is pending: the next snapshot will include it.
            changed = changes.changed(), if store_open && !data_pending => match changed {
                Ok(()) => {
                    data_pending = true;
                    Vec::new()
                }
                Err(_) => {
                    store_open = false;
                    Vec::new()
                }
            },
            _ = tokio::time::sleep_until(next_data), if data_pending => {
                // Marked seen before the snapshot: a write in between is in it and also wakes
                // the loop again (one harmless extra frame), never lost.
                changes.borrow_and_update();
                state = store.snapshot();
                data_pending = false;
                last_data = Some(Instant::now());
                vec![Action::StateChanged]
            },
            Some(action) = rx.recv() => vec![action],
            _ = tokio::time::sleep_until(next_frame), if dirty => Vec::new(),
        };
        for action in actions {
            dirty = true;
            let effects = app.handle(action, &state);
            start_effects(effects, &ctx, &tx);
        }
        if app.should_quit {
            break;
        }
    }
    Ok(())
}

/// A terminal event → the actions it means in the app's current state.
pub fn translate(app: &App, event: Event, size: Rect) -> Vec<Action> {
    match event {
        Event::Key(key) if key.kind != KeyEventKind::Release => {
            keymap::lookup(app, key).into_iter().collect()
        }
        Event::Mouse(m) => match m.kind {
            MouseEventKind::Down(MouseButton::Left) => match layout::compute(size, app.secondary) {
                Screen::Panes(areas) if app.view.is_none() && !app.help => areas
                    .pane_at(m.column, m.row)
                    .map(Action::Focus)
                    .into_iter()
                    .collect(),
                _ => Vec::new(),
            },
            MouseEventKind::ScrollUp => vec![Action::Up],
            MouseEventKind::ScrollDown => vec![Action::Down],
            _ => Vec::new(),
        },
        Event::Resize(width, height) => vec![Action::Resize(width, height)],
        Event::Paste(text) if app.input_active => text
            .chars()
            .filter(|c| !c.is_control())
            .map(|c| {
                Action::InputKey(crossterm::event::KeyEvent::new(
                    crossterm::event::KeyCode::Char(c),
                    crossterm::event::KeyModifiers::NONE,
                ))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Spawns `work`; its action (or `on_failure` if it panics or times out) goes back to the loop.
fn spawn_reporting<F>(
    tx: &UnboundedSender<Action>,
    work: F,
    on_failure: impl FnOnce(String) -> Action + Send + 'static,
) where
    F: Future<Output = Action> + Send + 'static,
{
    let tx = tx.clone();
    tokio::spawn(async move {
        let action = match tokio::time::timeout(FETCH_TIMEOUT, tokio::spawn(work)).await {
            Ok(Ok(action)) => action,
            Ok(Err(_)) => on_failure("internal error (see the log)".into()),
            Err(_) => on_failure(format!("no answer within {} s", FETCH_TIMEOUT.as_secs())),
        };
        // The loop may have quit meanwhile; nothing to do then.
        let _ = tx.send(action);
    });
}

fn daily_spec(symbol: &str, currency: &str) -> BarSpec {
    let mut spec = BarSpec::daily(symbol, BARS_DURATION);
    if !currency.is_empty() {
        spec.currency = currency.to_string();
    }
    spec
}

/// Starts the background work the reducer asked for.
pub fn start_effects(effects: Vec<Effect>, ctx: &ToolContext, tx: &UnboundedSender<Action>) {
    for effect in effects {
        match effect {
            Effect::FetchBars { symbol, currency } => {
                // Through the context: this process's gateway, or the daemon when attached.
                let ctx = ctx.clone();
                let sym = symbol.clone();
                spawn_reporting(
                    tx,
                    async move {
                        let result = ctx.historical_bars(&daily_spec(&symbol, &currency)).await;
                        Action::BarsLoaded { symbol, result }
                    },
                    move |e| Action::BarsLoaded {
                        symbol: sym,
                        result: Err(e),
                    },
                );
            }
            Effect::FetchCorrelation { symbols } => {
                let names: Vec<String> = symbols.iter().map(|(s, _)| s.clone()).collect();
                let names_on_failure = names.clone();
                let ctx = ctx.clone();
                spawn_reporting(
                    tx,
                    async move {
                        let fetches = symbols.iter().map(|(s, c)| {
                            let ctx = ctx.clone();
                            let spec =
                                crate::tools::risk_data::daily_spec(s, c, CORRELATION_RETURNS);
                            async move { ctx.historical_bars(&spec).await }
                        });
                        let results = futures::future::join_all(fetches).await;
                        let first_error = results
                            .iter()
                            .find_map(|r| r.as_ref().err().map(|e| e.to_string()));
                        let series: Vec<(String, Vec<Bar>)> = names
                            .iter()
                            .zip(results)
                            .map(|(s, r)| {
                                (s.clone(), r.map(|b| b.as_ref().clone()).unwrap_or_default())
                            })
                            .collect();
                        let result = if series.iter().all(|(_, b)| b.is_empty()) {
                            Err(first_error.unwrap_or_else(|| "no daily bars".into()))
                        } else {
                            Ok(CorrPair {
                                d60: correlation::display_matrix(&series, 60),
                                d252: correlation::display_matrix(&series, 252),
                            })
                        };
                        Action::CorrelationLoaded {
                            symbols: names,
                            result,
                        }
                    },
                    move |e| Action::CorrelationLoaded {
                        symbols: names_on_failure,
                        result: Err(e),
                    },
                );
            }
            Effect::Bell => {
                use std::io::Write as _;
                let mut out = std::io::stdout();
                // BEL between frames: terminals ring (or flash) and draw nothing.
                let _ = out.write_all(b"\x07").and_then(|()| out.flush());
            }
            Effect::RunTool { line, name, args } => {
                let ctx = ctx.clone();
                let failed_line = line.clone();
                spawn_reporting(
                    tx,
                    async move {
                        let result = tools::call_journaled(&ctx, "cockpit", &name, args)
                            .await
                            .map(|out| out.markdown)
                            .map_err(|e| e.message);
                        Action::ToolFinished { line, result }
                    },
                    move |e| Action::ToolFinished {
                        line: failed_line,
                        result: Err(e),
                    },
                );
            }
        }
    }
}
