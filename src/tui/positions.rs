//! Positions table: the columns of `ibkr_get_positions`, sortable by any column, scrollable,
//! with the selected row highlighted. Narrow panes drop the least important columns.
//!
//! Marks: after the symbol `!` (stale quote), `*` (delayed quote), `~` (portfolio price); after
//! the daily P&L `°` (not streamed: older than [`DAILY_PNL_AGED_S`], dimmed), with the oldest
//! age in the totals line.

use super::app::{App, Pane};
use super::book::{BookTotals, PositionRow, SortColumn};
use super::format::{self, MISSING};
use super::pane_block;
use crate::model::Millis;
use crate::store::LiveState;
use crate::tools::portfolio::get_positions::DAILY_PNL_AGED_S;
use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

/// Columns in display order with their width; the ones dropped first on narrow panes come last
/// in `DROP_ORDER`.
const WIDTHS: [(SortColumn, u16); 10] = [
    (SortColumn::Symbol, 7),
    (SortColumn::Quantity, 8),
    (SortColumn::AvgCost, 9),
    (SortColumn::Price, 9),
    (SortColumn::MarketValue, 11),
    (SortColumn::Unrealized, 10),
    (SortColumn::UnrealizedPct, 8),
    (SortColumn::Daily, 10),
    (SortColumn::Weight, 7),
    (SortColumn::Currency, 4),
];

/// Least useful first: dropped in this order until the table fits.
const DROP_ORDER: [SortColumn; 6] = [
    SortColumn::Currency,
    SortColumn::AvgCost,
    SortColumn::UnrealizedPct,
    SortColumn::Quantity,
    SortColumn::Unrealized,
    SortColumn::MarketValue,
];

fn visible_columns(width: u16) -> Vec<(SortColumn, u16)> {
    let mut cols: Vec<(SortColumn, u16)> = WIDTHS.to_vec();
    let total = |c: &Vec<(SortColumn, u16)>| c.iter().map(|(_, w)| w + 1).sum::<u16>() + 1;
    for drop in DROP_ORDER {
        if total(&cols) <= width {
            break;
        }
        cols.retain(|(c, _)| *c != drop);
    }
    cols
}

fn cell_text(row: &PositionRow, column: SortColumn) -> String {
    match column {
        SortColumn::Symbol => {
            if row.silent_since.is_some() {
                format!("{}!", row.symbol)
            } else if row.delayed {
                format!("{}*", row.symbol)
            } else if row.portfolio_priced {
                format!("{}~", row.symbol)
            } else {
                row.symbol.clone()
            }
        }
        SortColumn::Quantity => format::quantity(row.quantity),
        SortColumn::AvgCost => format::amount(row.avg_cost, 2),
        SortColumn::Price => format::opt_amount(row.price, 2),
        SortColumn::MarketValue => format::opt_amount(row.market_value, 0),
        SortColumn::Unrealized => format::opt_signed(row.unrealized, 0),
        SortColumn::UnrealizedPct => row
            .unrealized_pct
            .map_or_else(|| MISSING.into(), format::signed_pct),
        SortColumn::Daily => format::opt_signed(row.daily, 0),
        SortColumn::Weight => row
            .weight
            .map_or_else(|| MISSING.into(), |w| format::frac_pct(w, 1)),
        SortColumn::Currency => row.currency.clone(),
    }
}

/// The mark after a daily P&L that is not streamed (see [`DAILY_PNL_AGED_S`]).
pub const AGED_MARK: char = '°';

/// Whether a daily P&L that arrived at `at` is older than a streamed one ever is.
fn aged(now: Millis, at: Option<Millis>) -> bool {
    at.is_some_and(|at| now - at >= DAILY_PNL_AGED_S * 1000)
}

fn cell_style(app: &App, row: &PositionRow, column: SortColumn) -> Style {
    let t = &app.theme;
    match column {
        SortColumn::Unrealized | SortColumn::UnrealizedPct => t.signed(row.unrealized),
        SortColumn::Daily if aged(app.now, row.daily_at) => {
            t.signed(row.daily).add_modifier(Modifier::DIM)
        }
        SortColumn::Daily => t.signed(row.daily),
        SortColumn::Weight
            if row
                .weight
                .is_some_and(|w| w > app.settings.thresholds.concentration_pct) =>
        {
            t.watch
        }
        SortColumn::Symbol => t.text.add_modifier(Modifier::BOLD),
        _ => t.text,
    }
}

fn right_aligned(column: SortColumn) -> bool {
    !matches!(column, SortColumn::Symbol | SortColumn::Currency)
}

fn aligned(text: String, width: u16, right: bool) -> String {
    let text = format::truncate(&text, width as usize);
    if right {
        format!("{text:>w$}", w = width as usize)
    } else {
        text
    }
}

/// The book's totals in base currency: gross value, unrealized and daily P&L.
fn totals_line<'a>(app: &App, totals: &BookTotals) -> Line<'a> {
    let BookTotals {
        base,
        gross,
        unrealized: unrl,
        daily,
        any_delayed,
        any_portfolio_priced,
        oldest_silent,
        oldest_daily,
    } = totals.clone();
    let t = &app.theme;
    Line::from(vec![
        Span::styled("Total ", t.dim),
        Span::styled(format!("{} {base}", format::opt_amount(gross, 0)), t.text),
        Span::styled(" · unrealized ", t.dim),
        Span::styled(format::opt_signed(unrl, 0), t.signed(unrl)),
        Span::styled(" · daily ", t.dim),
        Span::styled(format::opt_signed(daily, 0), t.signed(daily)),
        Span::styled(
            match &oldest_daily {
                Some((symbol, at)) if aged(app.now, Some(*at)) => format!(
                    " · {AGED_MARK} daily P&L up to {} old ({symbol})",
                    format::age(app.now - at)
                ),
                _ => String::new(),
            },
            t.dim,
        ),
        Span::styled(
            if any_delayed {
                " · * delayed quote"
            } else {
                ""
            },
            t.dim,
        ),
        Span::styled(
            match &oldest_silent {
                Some((symbol, since)) => format!(
                    " · ! no tick while the market is open: stale ({symbol} {})",
                    format::age(app.now - since)
                ),
                None => String::new(),
            },
            t.watch,
        ),
        Span::styled(
            if any_portfolio_priced {
                " · ~ no quote line: portfolio price"
            } else {
                ""
            },
            t.dim,
        ),
    ])
}

/// Width of the Account column (a masked id is 9 characters: `U****4321`).
const ACCOUNT_WIDTH: u16 = 10;

/// The pane title: row count, how many accounts, what the weights are a share of, the sort.
/// Weights are always of the gross value of every row in the table, in the primary account's
/// base currency, so with two accounts they add up across both.
fn title(app: &App, state: &LiveState, rows: usize, accounts: usize, arrow: &str) -> String {
    let base = super::book::base_currency(state);
    let basis = if accounts > 1 {
        format!("{accounts} accounts · weight of combined gross {base}")
    } else {
        format!("weight of gross {base}")
    };
    format!(
        "Positions ({rows}) · {basis} · by {} {arrow}",
        app.sort.title()
    )
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, state: &LiveState) {
    let focused = app.focus == Pane::Positions;
    let book = app.book_of(state);
    let rows = &book.rows;
    let arrow = if app.descending { "▼" } else { "▲" };
    // With several accounts a symbol can be held twice (KRYX in both demo accounts): the
    // Account column tells the rows apart.
    let accounts = state.accounts.len();
    let show_account = accounts > 1;
    let title = title(app, state, rows.len(), accounts, arrow);
    let block = pane_block(app, &title, focused);
    let inner = block.inner(area);
    if rows.is_empty() {
        frame.render_widget(block, area);
        frame.render_widget(
            Paragraph::new(Span::styled(
                "No positions (yet): waiting for the gateway.",
                app.theme.dim,
            )),
            inner,
        );
        return;
    }
    let [table_area, totals_area] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    // Only the rows on screen are formatted: big books (hundreds of positions) stay cheap to draw.
    // The window scrolls just enough to keep the selection visible; the border says what is
    // above and below it.
    let visible = (table_area.height as usize).saturating_sub(1).max(1);
    let selected = app.selected.min(rows.len() - 1);
    let offset = format::scroll_offset(selected, visible);
    let below = rows.len().saturating_sub(offset + visible);
    frame.render_widget(
        super::with_marks(block, app, format::more_marks(offset, below)),
        area,
    );
    frame.render_widget(Paragraph::new(totals_line(app, &book.totals)), totals_area);
    let account_width = if show_account { ACCOUNT_WIDTH + 1 } else { 0 };
    let columns = visible_columns(inner.width.saturating_sub(account_width));
    // Some daily P&L is not streamed: its cell ends with the mark, the others with a space, so
    // the digits stay aligned.
    let daily_marks = book
        .totals
        .oldest_daily
        .as_ref()
        .is_some_and(|(_, at)| aged(app.now, Some(*at)));
    let account_header = show_account.then(|| Cell::from("Account"));
    let header = Row::new(
        account_header
            .into_iter()
            .chain(columns.iter().map(|(c, w)| {
                let mut title = c.title().to_string();
                if *c == app.sort {
                    title = format!("{title}{arrow}");
                }
                Cell::from(aligned(title, *w, right_aligned(*c)))
            })),
    )
    .style(app.theme.table_header);
    let body = rows.iter().skip(offset).take(visible).map(|row| {
        let account = show_account.then(|| {
            Cell::from(Span::styled(
                format::mask_account(&row.account, app.settings.mask_accounts),
                app.theme.dim,
            ))
        });
        Row::new(account.into_iter().chain(columns.iter().map(|(c, w)| {
            let text = if *c == SortColumn::Daily && daily_marks {
                let mark = if aged(app.now, row.daily_at) {
                    AGED_MARK
                } else {
                    ' '
                };
                format!(
                    "{}{mark}",
                    aligned(cell_text(row, *c), w.saturating_sub(1), true)
                )
            } else {
                aligned(cell_text(row, *c), *w, right_aligned(*c))
            };
            Cell::from(Line::from(Span::styled(text, cell_style(app, row, *c))))
        })))
    });
    let widths: Vec<Constraint> = show_account
        .then_some(Constraint::Length(ACCOUNT_WIDTH))
        .into_iter()
        .chain(columns.iter().map(|(_, w)| Constraint::Length(*w)))
        .collect();
    let selected_style = if focused {
        app.theme.selected
    } else {
        app.theme.selected.remove_modifier(Modifier::BOLD)
    };
    let table = Table::new(body, widths)
        .header(header)
        .column_spacing(1)
        .row_highlight_style(selected_style)
        .flex(Flex::SpaceBetween);
    let mut table_state = TableState::default().with_selected(Some(selected - offset));
    frame.render_stateful_widget(table, table_area, &mut table_state);
}
