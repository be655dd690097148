//! Where each pane goes. A grid on wide terminals; on small ones (down to 80×24) the positions
//! stay on top and the other panes stack as cards below, one at a time, switched with Tab; below
//! 80×24 a plain "terminal too small" message. Pure: the same function serves drawing and mouse
//! hit-testing.

use super::app::Pane;
use ratatui::layout::{Constraint, Direction, Layout, Rect};

pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;
/// From this size up, every pane is on screen at once.
pub const GRID_WIDTH: u16 = 140;
pub const GRID_HEIGHT: u16 = 36;
pub const HEADER_HEIGHT: u16 = 2;

#[derive(Debug, Clone, PartialEq)]
pub enum Screen {
    TooSmall { width: u16, height: u16 },
    Panes(Areas),
}

/// The card tab strip's row and each tab's clickable span.
pub type TabStrip = (Rect, Vec<(Pane, Rect)>);

#[derive(Debug, Clone, PartialEq)]
pub struct Areas {
    pub header: Rect,
    /// Everything between header and footer: where full-screen views go.
    pub body: Rect,
    pub footer: Rect,
    /// Panes on screen and where.
    pub panes: Vec<(Pane, Rect)>,
    /// Small terminals: the card tab strip and each tab's clickable span.
    pub tabs: Option<TabStrip>,
}

impl Areas {
    pub fn pane(&self, pane: Pane) -> Option<Rect> {
        self.panes.iter().find(|(p, _)| *p == pane).map(|(_, r)| *r)
    }

    /// The pane (or card tab) under a mouse position.
    pub fn pane_at(&self, x: u16, y: u16) -> Option<Pane> {
        let hit = |r: &Rect| x >= r.x && x < r.right() && y >= r.y && y < r.bottom();
        if let Some((_, tabs)) = &self.tabs
            && let Some((p, _)) = tabs.iter().find(|(_, r)| hit(r))
        {
            return Some(*p);
        }
        self.panes.iter().find(|(_, r)| hit(r)).map(|(p, _)| *p)
    }
}

/// Cards shown under the positions on small terminals, in tab order.
pub const CARDS: [Pane; 4] = [Pane::Margin, Pane::Movers, Pane::Heatmap, Pane::Prompt];

/// Width of a card tab label (` Margin ` plus a separator).
fn tab_label(pane: Pane) -> String {
    format!(" {} ", pane.title())
}

pub fn compute(area: Rect, secondary: Pane) -> Screen {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return Screen::TooSmall {
            width: area.width,
            height: area.height,
        };
    }
    let [header, body, footer] = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(HEADER_HEIGHT),
            Constraint::Min(1),
            Constraint::Length(1),
        ])
        .areas(area);
    let (panes, tabs) = if area.width >= GRID_WIDTH && area.height >= GRID_HEIGHT {
        (grid(body), None)
    } else {
        let (panes, tabs) = stacked(body, secondary);
        (panes, Some(tabs))
    };
    Screen::Panes(Areas {
        header,
        body,
        footer,
        panes,
        tabs,
    })
}

fn grid(body: Rect) -> Vec<(Pane, Rect)> {
    let [top, bottom] =
        Layout::vertical([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(body);
    let [positions, right] =
        Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)]).areas(top);
    let [margin, movers] =
        Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(right);
    let [heatmap, prompt] =
        Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(bottom);
    vec![
        (Pane::Positions, positions),
        (Pane::Margin, margin),
        (Pane::Movers, movers),
        (Pane::Heatmap, heatmap),
        (Pane::Prompt, prompt),
    ]
}

fn stacked(body: Rect, secondary: Pane) -> (Vec<(Pane, Rect)>, TabStrip) {
    // Positions get a bit under half; the card the rest. At 80×24 that is 9 rows (6 positions).
    let positions_height = (body.height * 9 / 21).max(5);
    let [positions, strip, card] = Layout::vertical([
        Constraint::Length(positions_height),
        Constraint::Length(1),
        Constraint::Min(3),
    ])
    .areas(body);
    let mut x = strip.x;
    let mut tabs = Vec::with_capacity(CARDS.len());
    for pane in CARDS {
        let w = tab_label(pane).chars().count() as u16;
        let w = w.min(strip.right().saturating_sub(x));
        tabs.push((
            pane,
            Rect {
                x,
                y: strip.y,
                width: w,
                height: 1,
            },
        ));
        x = x.saturating_add(w + 1);
    }
    let card_pane = if CARDS.contains(&secondary) {
        secondary
    } else {
        Pane::Margin
    };
    (
        vec![(Pane::Positions, positions), (card_pane, card)],
        (strip, tabs),
    )
}

/// A centred rectangle of at most `width`×`height` inside `area`.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_terminals_get_a_message() {
        assert_eq!(
            compute(Rect::new(0, 0, 79, 24), Pane::Margin),
            Screen::TooSmall {
                width: 79,
                height: 24
            }
        );
    }

    #[test]
    fn wide_terminals_show_every_pane_and_small_ones_two() {
        let Screen::Panes(wide) = compute(Rect::new(0, 0, 200, 50), Pane::Margin) else {
            panic!()
        };
        assert_eq!(wide.panes.len(), 5);
        let Screen::Panes(small) = compute(Rect::new(0, 0, 80, 24), Pane::Heatmap) else {
            panic!()
        };
        assert_eq!(small.panes.len(), 2);
        assert_eq!(small.panes[1].0, Pane::Heatmap);
        let (strip, tabs) = small.tabs.clone().unwrap();
        assert_eq!(small.pane_at(tabs[3].1.x, strip.y), Some(Pane::Prompt));
        assert_eq!(small.pane_at(1, 3), Some(Pane::Positions));
    }
}
