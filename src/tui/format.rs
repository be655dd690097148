//! Number and text formatting shared by the panes, so every pane writes money the same way
//! (thousands separators, explicit sign where it matters, `—` for unknown).

use crate::model::Millis;

/// Shown for a value that is not known (never a zero pretending to be data).
pub const MISSING: &str = "—";

/// `12,345.68` with `decimals` decimals.
pub fn amount(value: f64, decimals: usize) -> String {
    if !value.is_finite() {
        return MISSING.into();
    }
    let text = format!("{:.*}", decimals, value.abs());
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (text.as_str(), None),
    };
    let mut grouped = String::with_capacity(int.len() + int.len() / 3 + 4);
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let negative = value < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0');
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    out.push_str(&grouped);
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// `+1,234.50` / `-12.00`: P&L always carries its sign.
pub fn signed_amount(value: f64, decimals: usize) -> String {
    let body = amount(value, decimals);
    if value > 0.0 && body.chars().any(|c| c.is_ascii_digit() && c != '0') {
        format!("+{body}")
    } else {
        body
    }
}

pub fn opt_amount(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| MISSING.into(), |v| amount(v, decimals))
}

pub fn opt_signed(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| MISSING.into(), |v| signed_amount(v, decimals))
}

/// A percentage given as a percent number (`4.9` → `+4.90%`).
pub fn signed_pct(pct: f64) -> String {
    if !pct.is_finite() {
        return MISSING.into();
    }
    format!("{}%", signed_amount(pct, 2))
}

/// A percentage given as a fraction (`0.105` → `10.5%`).
pub fn frac_pct(frac: f64, decimals: usize) -> String {
    if !frac.is_finite() {
        return MISSING.into();
    }
    format!("{:.*}%", decimals, frac * 100.0)
}

/// Quantity: integers without decimals, fractional shares with up to 4.
pub fn quantity(q: f64) -> String {
    if q.fract() == 0.0 {
        amount(q, 0)
    } else {
        let s = format!("{q:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Masks an account id the way every front door does: `U****1234`.
pub fn mask_account(account: &str, mask: bool) -> String {
    if !mask {
        return account.to_string();
    }
    let chars: Vec<char> = account.chars().collect();
    if chars.len() <= 5 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..1].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

/// `HH:MM:SS` in UTC.
pub fn clock(ms: Millis) -> String {
    let secs = ms.div_euclid(1000);
    let day = secs.rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", day / 3600, (day / 60) % 60, day % 60)
}

/// `YYYY-MM-DD` in UTC for epoch seconds.
pub fn date(epoch_secs: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(epoch_secs) {
        Ok(t) => format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()),
        Err(_) => MISSING.into(),
    }
}

/// A short age: `12s`, `4m`, `2h`, `3d`.
pub fn age(ms: i64) -> String {
    let s = (ms / 1000).max(0);
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// `1 tool call`, `3 tool calls`: a count with its noun in the right number (nouns taking `s`).
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Word-wraps `text` to lines of at most `width` characters (a longer word is cut with `…`).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let word = truncate(word, width);
        let len = line.chars().count();
        if len > 0 && len + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// The scroll marks a list shows in its border: `↑ 3 above · ↓ 2 more`, or nothing when every
/// row is on screen.
pub fn more_marks(above: usize, below: usize) -> Option<String> {
    let marks: Vec<String> = [
        (above > 0).then(|| format!("↑ {above} above")),
        (below > 0).then(|| format!("↓ {below} more")),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!marks.is_empty()).then(|| format!(" {} ", marks.join(" · ")))
}

/// The first row to show so that `selected` is on screen in a window of `visible` rows.
pub fn scroll_offset(selected: usize, visible: usize) -> usize {
    (selected + 1).saturating_sub(visible.max(1))
}

/// Cuts `text` to `width` characters, ending with `…` when cut.
pub fn truncate(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(width - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_group_thousands_and_sign() {
        assert_eq!(amount(24618.0, 2), "24,618.00");
        assert_eq!(amount(-952.4, 0), "-952");
        assert_eq!(amount(-0.001, 2), "0.00");
        assert_eq!(signed_amount(312.48, 2), "+312.48");
        assert_eq!(signed_amount(0.0, 2), "0.00");
        assert_eq!(signed_pct(-4.9), "-4.90%");
        assert_eq!(amount(f64::NAN, 2), MISSING);
        assert_eq!(amount(1_234_567.0, 0), "1,234,567");
    }

    #[test]
    fn counts_wraps_and_scroll_marks() {
        assert_eq!(count(1, "tool call"), "1 tool call");
        assert_eq!(count(0, "tool call"), "0 tool calls");
        assert_eq!(count(2, "attempt"), "2 attempts");
        assert_eq!(
            wrap("open the selected position or tool call", 16),
            vec!["open the", "selected", "position or tool", "call"]
        );
        assert_eq!(wrap("", 10), vec![""]);
        assert_eq!(more_marks(0, 0), None);
        assert_eq!(more_marks(0, 2).as_deref(), Some(" ↓ 2 more "));
        assert_eq!(more_marks(3, 2).as_deref(), Some(" ↑ 3 above · ↓ 2 more "));
        assert_eq!(scroll_offset(6, 5), 2);
        assert_eq!(scroll_offset(0, 5), 0);
    }

    #[test]
    fn accounts_are_masked() {
        assert_eq!(mask_account("U7654321", true), "U****4321");
        assert_eq!(mask_account("U7654321", false), "U7654321");
    }

    #[test]
    fn clock_and_dates_are_utc() {
        assert_eq!(clock(1_777_828_664_000), "17:17:44");
        assert_eq!(date(1_777_766_400), "2026-05-03");
        assert_eq!(quantity(340.0), "340");
        assert_eq!(quantity(0.5), "0.5");
    }
}
