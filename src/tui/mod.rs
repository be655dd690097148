//! The cockpit UI (ratatui). State → actions → reducer → views:
//! `app` holds the state and its pure reducer, `keymap` is the single table of key bindings,
//! `event_loop` feeds it terminal events, the clock, store changes and background results,
//! `screen`/`layout` and one module per pane draw it — reading state only.
//!
//! Entry point: [`run`].

pub mod alerts;
pub mod app;
pub mod book;
pub mod completion;

pub mod detail;
pub mod event_loop;
pub mod format;
pub mod header;
pub mod heatmap;
pub mod help;
pub mod invocation;
pub mod keymap;
pub mod layout;
pub mod margin;
pub mod markdown;
pub mod movers;
pub mod positions;
pub mod prompt;
pub mod screen;
pub mod terminal;
pub mod theme;

use app::{App, Settings};
use invocation::ToolInfo;
use ratatui::widgets::{Block, Borders};
use std::path::PathBuf;
use theme::Theme;

/// How the cockpit is started (from the CLI).
#[derive(Debug, Clone, Default)]
pub struct TuiOptions {
    /// Theme name (`dark`, `light`, `high-contrast`, or a `themes/<name>.toml`); `None` uses
    /// the config's `display.theme`.
    pub theme: Option<String>,
    /// Log file, printed if the cockpit crashes.
    pub log_path: Option<PathBuf>,
    /// The embedded MCP server's URL, shown in the header.
    pub mcp_url: Option<String>,
    /// A word next to the title, e.g. `demo`.
    pub mode_label: Option<String>,
}

/// Every tool the prompt can run, from the tool catalog.
pub fn tool_infos() -> Vec<ToolInfo> {
    crate::tools::catalog()
        .iter()
        .map(ToolInfo::from_spec)
        .collect()
}

/// Builds the app state the cockpit starts with (also what tests and benchmarks use).
pub fn build_app(
    ctx: &crate::tools::ToolContext,
    opts: &TuiOptions,
    theme: Theme,
    tools: Vec<ToolInfo>,
) -> App {
    let mut settings = Settings::from_config(&ctx.config);
    settings.mcp_url = opts.mcp_url.clone();
    settings.mode_label = opts.mode_label.clone();
    App::new(theme, settings, tools, ctx.store.now())
}

/// Opens the cockpit on the current terminal and runs it until the user quits. The terminal is
/// restored on return, on error and on panic.
pub async fn run(ctx: crate::tools::ToolContext, opts: TuiOptions) -> anyhow::Result<()> {
    let name = opts
        .theme
        .clone()
        .unwrap_or_else(|| ctx.config.display.theme.clone());
    let theme = Theme::load(
        &name,
        &Theme::default_search_dirs(),
        Theme::no_color_requested(),
    )?;
    let app = build_app(&ctx, &opts, theme, tool_infos());
    let mut guard = terminal::init(opts.log_path.clone())?;
    let result = terminal::as_ui_task(event_loop::run(&mut guard.terminal, ctx, app)).await;
    drop(guard);
    result
}

/// `block` with the scroll marks (`↓ 2 more`) on its bottom border, right-aligned.
pub(crate) fn with_marks<'a>(block: Block<'a>, app: &App, marks: Option<String>) -> Block<'a> {
    match marks {
        Some(m) => block.title_bottom(
            ratatui::text::Line::from(ratatui::text::Span::styled(m, app.theme.key))
                .right_aligned(),
        ),
        None => block,
    }
}

/// The bordered block every pane sits in; focus shows in the border and title.
pub(crate) fn pane_block<'a>(app: &App, title: &str, focused: bool) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(app.theme.border(focused))
        .title(ratatui::text::Span::styled(
            format!(" {title} "),
            app.theme.title(focused),
        ))
}
