//! Formatting shared by every tool, following the seed's conventions: `$1,234.56 USD`,
//! `+$5,000.00 USD` / `$-15,000.00 USD`, `+3.70%`, `99,909,074`, `N/A` for missing or NaN.
//! A real zero is always shown as zero: nothing here tests a number for "truthiness".

use super::support::FxUsed;
use crate::model::{DataMode, Millis};
use crate::store::Staleness;
use std::fmt::Write as _;

/// Shown for missing, NaN or infinite values.
pub const NA: &str = "N/A";

fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite())
}

/// `1234567.891, 2` → `1,234,567.89`. Negative numbers keep their sign in front.
pub fn group(v: f64, dp: usize) -> String {
    let mut out = String::with_capacity(24);
    push_group(&mut out, v, dp);
    out
}

/// Appends `group(v, dp)` to `out`: the digits are formatted on the stack, the separators
/// inserted on the way into `out` (answers format hundreds of amounts).
fn push_group(out: &mut String, v: f64, dp: usize) {
    let mut digits = Digits::default();
    let _ = write!(digits, "{:.*}", dp, v.abs());
    let spilled;
    let s: &str = match digits.as_str() {
        Some(s) => s,
        // Longer than the stack buffer (only for absurd magnitudes).
        None => {
            spilled = format!("{:.*}", dp, v.abs());
            &spilled
        }
    };
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    // "-0.00" would be a lie about the sign.
    let is_zero = s.bytes().all(|c| matches!(c, b'0' | b'.'));
    if v < 0.0 && !is_zero {
        out.push('-');
    }
    let len = int.chars().count();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (len - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
}

/// A fixed buffer for one formatted number; `as_str` is `None` once a write did not fit.
struct Digits {
    buf: [u8; 64],
    len: usize,
    overflow: bool,
}

impl Default for Digits {
    fn default() -> Self {
        Digits {
            buf: [0; 64],
            len: 0,
            overflow: false,
        }
    }
}

impl Digits {
    fn as_str(&self) -> Option<&str> {
        if self.overflow {
            return None;
        }
        std::str::from_utf8(&self.buf[..self.len]).ok()
    }
}

impl std::fmt::Write for Digits {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        match self.buf.get_mut(self.len..end) {
            Some(dst) if !self.overflow => {
                dst.copy_from_slice(s.as_bytes());
                self.len = end;
            }
            _ => self.overflow = true,
        }
        Ok(())
    }
}

/// A number with separators, or `N/A`.
pub fn number(v: Option<f64>, dp: usize) -> String {
    finite(v).map_or_else(|| NA.to_string(), |x| group(x, dp))
}

/// `$1,234.56 USD`; negatives as `$-1,234.56 USD`.
pub fn money(v: Option<f64>, ccy: &str) -> String {
    money_dp(v, ccy, 2)
}

/// Money with `dp` decimals (`$18,414 USD` with 0).
pub fn money_dp(v: Option<f64>, ccy: &str, dp: usize) -> String {
    match finite(v) {
        Some(x) => {
            let mut out = String::with_capacity(32);
            out.push('$');
            push_group(&mut out, x, dp);
            push_ccy(&mut out, ccy);
            out
        }
        None => NA.to_string(),
    }
}

/// Signed P&L: `+$5,000.00 USD`, `$-15,000.00 USD`, `$0.00 USD`.
pub fn signed_money(v: Option<f64>, ccy: &str) -> String {
    signed_money_dp(v, ccy, 2)
}

pub fn signed_money_dp(v: Option<f64>, ccy: &str, dp: usize) -> String {
    match finite(v) {
        Some(x) => {
            let mut out = String::with_capacity(32);
            out.push_str("+$");
            push_group(&mut out, x, dp);
            if !(x > 0.0 && out.bytes().any(|c| c.is_ascii_digit() && c != b'0')) {
                out.remove(0);
            }
            push_ccy(&mut out, ccy);
            out
        }
        None => NA.to_string(),
    }
}

fn push_ccy(out: &mut String, ccy: &str) {
    if !ccy.is_empty() {
        out.push(' ');
        out.push_str(ccy);
    }
}

/// Signed percent with two decimals: `+3.70%`, `-0.95%`, `0.00%`. Input is already in percent.
pub fn pct(v: Option<f64>) -> String {
    match finite(v) {
        Some(x) => {
            let s = format!("{x:.2}");
            if x > 0.0 && s != "0.00" {
                format!("+{s}%")
            } else if s == "-0.00" {
                "0.00%".into()
            } else {
                format!("{s}%")
            }
        }
        None => NA.to_string(),
    }
}

/// Unsigned percent with `dp` decimals: `38.1%`. Input is already in percent.
pub fn pct_plain(v: Option<f64>, dp: usize) -> String {
    finite(v).map_or_else(|| NA.to_string(), |x| format!("{x:.dp$}%"))
}

/// A signed amount without currency, for headlines: `+1,234.56`, `-952.00`, `0.00`, `N/A`.
pub fn signed(v: Option<f64>, dp: usize) -> String {
    match finite(v) {
        Some(x) => {
            let body = group(x, dp);
            if x > 0.0 && body.chars().any(|c| c.is_ascii_digit() && c != '0') {
                format!("+{body}")
            } else {
                body
            }
        }
        None => NA.to_string(),
    }
}

/// A headline from its parts: one line, parts joined by ` · `, empty parts left out.
pub fn headline(parts: &[String]) -> String {
    parts
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" · ")
        .replace('\n', " ")
}

/// Volumes and share counts: `99,909,074`; fractional shares keep up to 4 decimals.
pub fn volume(v: Option<f64>) -> String {
    match finite(v) {
        Some(x) if x.fract() == 0.0 => group(x, 0),
        Some(x) => {
            let s = group(x, 4);
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        }
        None => NA.to_string(),
    }
}

/// Ratio like leverage: `2.61x`.
pub fn times(v: Option<f64>) -> String {
    finite(v).map_or_else(|| NA.to_string(), |x| format!("{x:.2}x"))
}

/// `2026-05-03 17:17:44 UTC` for epoch milliseconds.
pub fn utc(ms: Millis) -> String {
    match time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            t.year(),
            t.month() as u8,
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => NA.to_string(),
    }
}

/// `2026-05-03` for epoch seconds (bar times).
pub fn date(secs: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(secs) {
        Ok(t) => format!("{:04}-{:02}-{:02}", t.year(), t.month() as u8, t.day()),
        Err(_) => NA.to_string(),
    }
}

/// `2026-05-03 14:31` for epoch seconds (intraday bars), UTC.
pub fn date_time(secs: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(secs) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}",
            t.year(),
            t.month() as u8,
            t.day(),
            t.hour(),
            t.minute()
        ),
        Err(_) => NA.to_string(),
    }
}

/// `YYYYMMDD` → `YYYY-MM-DD` (unchanged when not that shape).
pub fn ib_date(s: &str) -> String {
    if s.len() == 8 && s.chars().all(|c| c.is_ascii_digit()) {
        format!("{}-{}-{}", &s[0..4], &s[4..6], &s[6..8])
    } else {
        s.to_string()
    }
}

/// Human age: `2s`, `5m 12s`, `3h 04m`, `2d 3h`.
pub fn age(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else if s < 86_400 {
        format!("{}h {:02}m", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}d {}h", s / 86_400, (s % 86_400) / 3600)
    }
}

/// `U****4321`: the letter prefix, four stars, the last four characters. Unmasked when `mask` is
/// false.
pub fn mask_account(id: &str, mask: bool) -> String {
    if !mask {
        return id.to_string();
    }
    let prefix: String = id.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= prefix.len() + 4 {
        return format!("{prefix}****");
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{prefix}****{tail}")
}

/// `# Title` plus the `_2026-05-03 17:17:44 UTC_` line.
pub fn title(text: &str, now: Millis) -> String {
    format!("# {text}\n_{}_\n", utc(now))
}

/// The banner shown at the top of any answer built from cached data.
pub fn staleness_banner(s: &Staleness) -> String {
    format!(
        "> ⚠️ **Stale data**: last update {} ago ({}). Showing cached values.\n",
        age(s.age_ms),
        s.reason
    )
}

/// ` (delayed)` after a price from delayed market data; empty for live.
pub fn mode_marker(mode: DataMode) -> &'static str {
    match mode {
        DataMode::Live => "",
        DataMode::Frozen => " (frozen)",
        DataMode::Delayed => " (delayed)",
        DataMode::DelayedFrozen => " (delayed-frozen)",
    }
}

/// One line explaining delayed data, or `None` when everything is live.
pub fn delayed_note(delayed_symbols: &[String]) -> Option<String> {
    if delayed_symbols.is_empty() {
        None
    } else {
        Some(format!(
            "_Delayed market data (no live subscription, typically 15–20 min behind) for: {}._\n",
            delayed_symbols.join(", ")
        ))
    }
}

/// Column alignment of a markdown table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A markdown table; `aligns` may be shorter than `headers` (the rest are left-aligned).
/// One OHLCV bar as a table row: its label (date or time), open, high, low, close, volume.
pub type OhlcvRow<'a> = (&'a str, f64, f64, f64, f64, f64);

/// The bars table every bar-showing tool prints: `first_header` names the label column
/// ("Date", "Time (UTC)"); prices to two decimals, volume with separators.
pub fn ohlcv_table<'a>(first_header: &str, bars: impl Iterator<Item = OhlcvRow<'a>>) -> String {
    let rows: Vec<Vec<String>> = bars
        .map(|(label, open, high, low, close, vol)| {
            vec![
                label.to_string(),
                number(Some(open), 2),
                number(Some(high), 2),
                number(Some(low), 2),
                number(Some(close), 2),
                volume(Some(vol)),
            ]
        })
        .collect();
    let mut aligns = vec![Align::Right; 6];
    aligns[0] = Align::Left;
    table(
        &[first_header, "Open", "High", "Low", "Close", "Volume"],
        &aligns,
        &rows,
    )
}

pub fn table(headers: &[&str], aligns: &[Align], rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "| {} |", headers.join(" | "));
    let seps: Vec<&str> = (0..headers.len())
        .map(|i| match aligns.get(i) {
            Some(Align::Right) => "---:",
            _ => "---",
        })
        .collect();
    let _ = writeln!(out, "|{}|", seps.join("|"));
    for row in rows {
        out.push('|');
        for cell in row {
            out.push(' ');
            if cell.contains('|') {
                out.push_str(&cell.replace('|', "\\|"));
            } else {
                out.push_str(cell);
            }
            out.push_str(" |");
        }
        if row.is_empty() {
            out.push_str("  |");
        }
        out.push('\n');
    }
    out
}

/// A two-column `Metric | Value` table.
pub fn kv_table(rows: &[(&str, String)]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|(k, v)| vec![k.to_string(), v.clone()])
        .collect();
    table(&["Metric", "Value"], &[Align::Left, Align::Right], &rows)
}

/// JSON-friendly number: `None` for missing/NaN/infinite (serde would write NaN as null anyway,
/// but this keeps the intent explicit).
pub fn json_num(v: Option<f64>) -> Option<f64> {
    finite(v)
}

/// Rounds for JSON output so answers don't carry float noise (`0.30000000000000004`). A value
/// that rounds to zero is `0` (never `-0`); NaN and infinities pass through (JSON writes null).
pub fn round(v: f64, dp: i32) -> f64 {
    let f = 10f64.powi(dp);
    let r = (v * f).round() / f;
    if r == 0.0 { 0.0 } else { r }
}

/// A number, or a collection of numbers, that serializes rounded to `dp` decimals. Output
/// structs round through the `dp*` serializers below (one per display precision), so the JSON
/// carries the digits the markdown shows and the struct keeps full precision for rendering.
pub trait Rounded {
    fn serialize_rounded<S: serde::Serializer>(&self, dp: i32, s: S) -> Result<S::Ok, S::Error>;
}

impl Rounded for f64 {
    fn serialize_rounded<S: serde::Serializer>(&self, dp: i32, s: S) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(&round(*self, dp), s)
    }
}

impl<T: Rounded> Rounded for Option<T> {
    fn serialize_rounded<S: serde::Serializer>(&self, dp: i32, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Some(v) => v.serialize_rounded(dp, s),
            None => s.serialize_none(),
        }
    }
}

impl<T: Rounded> Rounded for Vec<T> {
    fn serialize_rounded<S: serde::Serializer>(&self, dp: i32, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter().map(|v| RoundedRef(v, dp)))
    }
}

/// One element of a rounded sequence.
struct RoundedRef<'a, T>(&'a T, i32);

impl<T: Rounded> serde::Serialize for RoundedRef<'_, T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize_rounded(self.1, s)
    }
}

/// Whole numbers (share counts shown without decimals, seconds, volumes).
pub fn dp0<T: Rounded, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    v.serialize_rounded(0, s)
}

/// One decimal (percentages shown as `38.1%`, ages in seconds).
pub fn dp1<T: Rounded, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    v.serialize_rounded(1, s)
}

/// Two decimals: money, prices, percentages shown as `+3.70%`, leverage `2.61x`.
pub fn dp2<T: Rounded, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    v.serialize_rounded(2, s)
}

/// Three decimals (option delta, theta, vega as the chain shows them).
pub fn dp3<T: Rounded, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    v.serialize_rounded(3, s)
}

/// Four decimals: ratios, betas, correlations, FX rates used in conversions, fractional share
/// counts.
pub fn dp4<T: Rounded, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    v.serialize_rounded(4, s)
}

/// Five decimals: FX quotes as the FX-rate answer shows them (`1.36995`).
pub fn dp5<T: Rounded, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    v.serialize_rounded(5, s)
}

/// The closing lines of an answer that lists its own warnings and per-symbol errors: each warning
/// as a ⚠️ line, each error as a bullet, then the method.
pub fn push_warnings_errors_method(
    md: &mut String,
    warnings: &[String],
    errors: &[String],
    method: &str,
) {
    use std::fmt::Write as _;
    for w in warnings {
        let _ = writeln!(md, "\n⚠️ {w}");
    }
    for e in errors {
        let _ = writeln!(md, "- {e}");
    }
    let _ = writeln!(md, "\n_Method: {method}_");
}

/// The method note every computing tool ends its markdown with: `_Method: …._`, from the same
/// `method` string its JSON carries.
pub fn method_line(method: &str) -> String {
    format!("\n_Method: {}._\n", method.trim().trim_end_matches('.'))
}

/// The sentences a markdown answer warns with, in the order it shows them, without markdown
/// decoration: every line (outside tables) marked ⚠️ or 🚨, and the delayed-data notes. Tools
/// put these in their JSON `warnings`, so the JSON says exactly what the markdown warns about.
pub fn warnings_in(markdown: &str) -> Vec<String> {
    markdown
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('|'))
        .filter(|l| l.contains("⚠️") || l.contains('🚨') || l.starts_with("_Delayed"))
        .map(warning_text)
        .filter(|w| !w.is_empty())
        .collect()
}

/// One warning line as plain text: no quote marker, warning sign, bold or italics.
pub fn warning_text(line: &str) -> String {
    let plain = line
        .trim()
        .trim_start_matches('>')
        .replace("⚠️", "")
        .replace('🚨', "")
        .replace("**", "");
    plain.trim().trim_matches('_').trim().to_string()
}

/// `**FX**: USD.CAD 1.3650 (live)` lines, plus what could not be converted.
pub fn fx_lines(rates: &[FxUsed], unconverted: &[String]) -> String {
    let mut s = String::new();
    if !rates.is_empty() {
        let list: Vec<String> = rates
            .iter()
            .map(|r| format!("{} {:.4}", r.pair, r.rate))
            .collect();
        let _ = writeln!(s, "\n**FX rates used (live)**: {}", list.join(", "));
    }
    if !unconverted.is_empty() {
        let _ = writeln!(
            s,
            "\n⚠️ No FX rate for {}: those amounts are left out of the totals.",
            unconverted.join(", ")
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_formats() {
        assert_eq!(money(Some(1234.56), "USD"), "$1,234.56 USD");
        assert_eq!(money(Some(0.0), "CAD"), "$0.00 CAD");
        assert_eq!(money(Some(-15000.0), "USD"), "$-15,000.00 USD");
        assert_eq!(money(None, "USD"), "N/A");
        assert_eq!(money(Some(f64::NAN), "USD"), "N/A");
        assert_eq!(money_dp(Some(18414.2), "USD", 0), "$18,414 USD");
        assert_eq!(money(Some(999.999), "USD"), "$1,000.00 USD");
        assert_eq!(money(Some(1234567.0), ""), "$1,234,567.00");
        assert_eq!(money(Some(-0.001), "USD"), "$0.00 USD");
    }

    #[test]
    fn signed_money_formats() {
        assert_eq!(signed_money(Some(5000.0), "USD"), "+$5,000.00 USD");
        assert_eq!(signed_money(Some(-15000.0), "USD"), "$-15,000.00 USD");
        assert_eq!(signed_money(Some(0.0), "USD"), "$0.00 USD");
        assert_eq!(signed_money(Some(0.001), "USD"), "$0.00 USD");
        assert_eq!(signed_money(None, "USD"), "N/A");
    }

    #[test]
    fn percent_formats() {
        assert_eq!(pct(Some(3.7)), "+3.70%");
        assert_eq!(pct(Some(-0.95)), "-0.95%");
        assert_eq!(pct(Some(0.0)), "0.00%");
        assert_eq!(pct(Some(-0.0001)), "0.00%");
        assert_eq!(pct(Some(f64::NAN)), "N/A");
        assert_eq!(pct_plain(Some(38.123), 1), "38.1%");
        assert_eq!(pct_plain(Some(0.0), 1), "0.0%");
    }

    #[test]
    fn volumes_and_numbers() {
        assert_eq!(volume(Some(99_909_074.0)), "99,909,074");
        assert_eq!(volume(Some(0.0)), "0");
        assert_eq!(volume(Some(12.5)), "12.5");
        assert_eq!(volume(None), "N/A");
        assert_eq!(number(Some(-1234.5), 1), "-1,234.5");
        assert_eq!(times(Some(2.6049)), "2.60x");
    }

    #[test]
    fn times_and_ages() {
        assert_eq!(utc(1_777_828_664_000), "2026-05-03 17:17:44 UTC");
        assert_eq!(
            title("Briefing", 1_777_828_664_000),
            "# Briefing\n_2026-05-03 17:17:44 UTC_\n"
        );
        assert_eq!(date(1_777_766_400), "2026-05-03");
        assert_eq!(ib_date("20260619"), "2026-06-19");
        assert_eq!(age(2_000), "2s");
        assert_eq!(age(312_000), "5m 12s");
        assert_eq!(age(3 * 3_600_000 + 4 * 60_000), "3h 04m");
        assert_eq!(age(2 * 86_400_000 + 3 * 3_600_000), "2d 3h");
    }

    #[test]
    fn masking() {
        assert_eq!(mask_account("U1234321", true), "U****4321");
        assert_eq!(mask_account("DU7654321", true), "DU****4321");
        assert_eq!(mask_account("U1234321", false), "U1234321");
        assert_eq!(mask_account("U12", true), "U****");
    }

    #[test]
    fn rounding_serializers() {
        #[derive(serde::Serialize)]
        struct Out {
            #[serde(serialize_with = "dp2")]
            money: f64,
            #[serde(serialize_with = "dp4")]
            beta: Option<f64>,
            #[serde(serialize_with = "dp2")]
            none: Option<f64>,
            #[serde(serialize_with = "dp4")]
            matrix: Vec<Vec<f64>>,
            #[serde(serialize_with = "dp2")]
            tiny_loss: f64,
        }
        let json = serde_json::to_string(&Out {
            money: -1034.1465209552196,
            beta: Some(1.234_567_8),
            none: None,
            matrix: vec![vec![1.0, 0.123_456_7]],
            tiny_loss: -0.001,
        })
        .unwrap();
        assert_eq!(
            json,
            r#"{"money":-1034.15,"beta":1.2346,"none":null,"matrix":[[1.0,0.1235]],"tiny_loss":0.0}"#
        );
    }

    #[test]
    fn warnings_are_lifted_from_the_markdown() {
        let md = "# Stress\n> ⚠️ **Stale data**: last update 5s ago (x). Showing cached values.\n\
                  | A | ⚠️ restricted |\n\n🚨 FORCED LIQUIDATION: equity below maintenance.\n\
                  _Delayed market data (no live subscription, typically 15–20 min behind) for: KRYX._\n";
        assert_eq!(
            warnings_in(md),
            vec![
                "Stale data: last update 5s ago (x). Showing cached values.",
                "FORCED LIQUIDATION: equity below maintenance.",
                "Delayed market data (no live subscription, typically 15–20 min behind) for: KRYX.",
            ]
        );
    }

    #[test]
    fn banner_and_table() {
        let b = staleness_banner(&Staleness {
            age_ms: 312_000,
            reason: "gateway disconnected".into(),
        });
        assert!(b.contains("5m 12s ago") && b.contains("gateway disconnected"));
        let t = table(
            &["A", "B"],
            &[Align::Left, Align::Right],
            &[vec!["x|y".into(), "1".into()]],
        );
        assert_eq!(t, "| A | B |\n|---|---:|\n| x\\|y | 1 |\n");
        assert_eq!(mode_marker(DataMode::Delayed), " (delayed)");
        assert!(delayed_note(&[]).is_none());
    }
}
