//! The alerts in the cockpit: the list the `a` key opens (firing now, then the latest firings,
//! with time, rule and value) and which new firings ring the terminal bell. Reads the alert
//! board of the live state only.

use crate::store::alerts::AlertBoard;
use std::fmt::Write as _;

/// Title of the alerts view (the answer view shows it).
pub const TITLE: &str = "Alerts";

/// The alerts list as markdown, for the answer view.
pub fn list_markdown(board: &AlertBoard) -> String {
    let mut md = String::from("# Alerts\n\n## Firing now\n");
    if board.firing.is_empty() {
        md.push_str("Nothing is firing.\n");
    } else {
        for f in &board.firing {
            let _ = writeln!(
                md,
                "- {} UTC · **{}** · {}",
                super::format::clock(f.time),
                f.rule,
                f.message
            );
        }
    }
    md.push_str("\n## Latest firings\n");
    if board.recent.is_empty() {
        md.push_str("None since the cockpit started.\n");
    }
    for f in board.recent.iter().rev() {
        let state = match f.cleared {
            Some(t) => format!("re-armed {} UTC", super::format::clock(t)),
            None => "firing".into(),
        };
        let _ = writeln!(
            md,
            "- {} UTC · **{}** · {} · {state}",
            super::format::clock(f.time),
            f.rule,
            f.message
        );
    }
    md.push_str("\n## Rules\n");
    if board.rules.is_empty() {
        md.push_str("No rules: add [[alerts]] tables to the config (see examples/config.toml).\n");
    }
    for r in &board.rules {
        let bell = if r.bell { "" } else { " · no bell" };
        // An unnamed rule is named by its condition: say it once.
        if r.name == r.condition {
            let _ = writeln!(md, "- **{}** ({}){bell}", r.name, r.kind);
        } else {
            let _ = writeln!(md, "- **{}** ({}): {}{bell}", r.name, r.kind, r.condition);
        }
    }
    md
}

/// Whether a firing newer than `seen` asks for the bell, and the newest firing's id.
pub fn new_firings(board: &AlertBoard, seen: u64) -> (bool, u64) {
    let newest = board.recent.back().map_or(seen, |f| f.id.max(seen));
    let bell = board.recent.iter().any(|f| f.id > seen && f.bell);
    (bell, newest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::alerts::Firing;

    #[test]
    fn new_bell_firings_are_noticed_once() {
        let mut board = AlertBoard::default();
        let firing = |id, bell| Firing {
            id,
            time: 0,
            rule: "r".into(),
            kind: "price_above".into(),
            subject: None,
            value: 1.0,
            level: 1.0,
            message: "KRYX price 1.00 ≥ 1.00".into(),
            cleared: None,
            bell,
        };
        board.fire(firing(1, false));
        assert_eq!(new_firings(&board, 0), (false, 1));
        board.fire(firing(2, true));
        assert_eq!(new_firings(&board, 1), (true, 2));
        assert_eq!(new_firings(&board, 2), (false, 2));
        assert!(list_markdown(&board).contains("**r** · KRYX price 1.00 ≥ 1.00"));
    }
}
