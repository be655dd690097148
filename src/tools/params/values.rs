//! Parameter values whose accepted shape a JSON Schema cannot say: IB durations, currency pairs
//! and codes, option expirations. Each returns the normalised value or an error naming the tool,
//! the parameter, what was given and what is accepted.

use crate::tools::ToolError;

/// Most calendar days an IB duration may cover (`5 Y`).
const MAX_DURATION_DAYS: f64 = 5.0 * 365.0;

/// `30 D` / `30D` / `1y` → IB's form (`30 D`, `1 Y`) and its length in days (D=1, W=7, M=30, Y=365).
pub fn ib_duration(tool: &str, raw: &str) -> Result<(String, f64), ToolError> {
    let bad = || {
        ToolError::new(format!(
            "{tool}: `duration` \"{raw}\" is not valid; accepted: a number and a unit D, W, M or Y from `1 D` to `5 Y` (e.g. `30 D`, `6 M`, `1 Y`)"
        ))
    };
    let s: String = raw
        .trim()
        .to_ascii_uppercase()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = s.split_at(split);
    let n: u32 = n.parse().map_err(|_| bad())?;
    let per = match unit {
        "D" => 1.0,
        "W" => 7.0,
        "M" => 30.0,
        "Y" => 365.0,
        _ => return Err(bad()),
    };
    let days = f64::from(n) * per;
    if n == 0 || days > MAX_DURATION_DAYS {
        return Err(bad());
    }
    Ok((format!("{n} {unit}"), days))
}

/// `usdcad`, `USD.CAD`, `usd/cad` → (`USD`, `CAD`): two different three-letter codes.
pub fn currency_pair(tool: &str, raw: &str) -> Result<(String, String), ToolError> {
    let s: String = raw
        .trim()
        .chars()
        .filter(|c| !matches!(c, '.' | '/' | ' ' | '-'))
        .collect::<String>()
        .to_ascii_uppercase();
    if s.len() == 6 && s.chars().all(|c| c.is_ascii_alphabetic()) && s[..3] != s[3..] {
        Ok((s[..3].to_string(), s[3..].to_string()))
    } else {
        Err(ToolError::new(format!(
            "{tool}: `pair` \"{raw}\" is not a currency pair; accepted: six letters, two different ISO currencies, e.g. USDCAD or EURUSD"
        )))
    }
}

/// A three-letter currency code, upper-cased (`cad` → `CAD`).
pub fn currency_code(tool: &str, key: &str, raw: &str) -> Result<String, ToolError> {
    let c = raw.trim();
    if c.len() == 3 && c.chars().all(|ch| ch.is_ascii_alphabetic()) {
        Ok(c.to_ascii_uppercase())
    } else {
        Err(ToolError::new(format!(
            "{tool}: `{key}` must be a three-letter currency code such as CAD or USD; got \"{c}\""
        )))
    }
}

/// An option expiration as `YYYYMMDD` (`2026-06-19` is accepted too); `None` for empty text.
pub fn expiration(tool: &str, raw: Option<&str>) -> Result<Option<String>, ToolError> {
    let Some(e) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let e = e.replace('-', "");
    if day_number(&e).is_none() {
        return Err(ToolError::new(format!(
            "{tool}: `expiration` \"{e}\" is not a date; accepted: YYYYMMDD (e.g. 20260619)"
        )));
    }
    Ok(Some(e))
}

/// Days since 0000-03-01 for a `YYYYMMDD` string, for calendar distances between dates.
pub fn day_number(s: &str) -> Option<i64> {
    if s.len() != 8 || !s.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let y: i64 = s[0..4].parse().ok()?;
    let m: i64 = s[4..6].parse().ok()?;
    let d: i64 = s[6..8].parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    Some(365 * y + y / 4 - y / 100 + y / 400 + (153 * m + 2) / 5 + d - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(ib_duration("t", "30 D").unwrap(), ("30 D".into(), 30.0));
        assert_eq!(ib_duration("t", "1y").unwrap().0, "1 Y");
        assert!(ib_duration("t", "6 Y").is_err());
        assert!(ib_duration("t", "0 D").is_err());
        let e = ib_duration("t", "abc").unwrap_err().message;
        assert!(e.contains("\"abc\"") && e.contains("`1 D` to `5 Y`"), "{e}");
    }

    #[test]
    fn pairs_and_codes() {
        assert_eq!(
            currency_pair("t", "usd/cad").unwrap(),
            ("USD".into(), "CAD".into())
        );
        let e = currency_pair("t", "USDUSD").unwrap_err().message;
        assert!(e.contains("six letters, two different"), "{e}");
        assert_eq!(currency_code("t", "base_currency", " cad").unwrap(), "CAD");
        let e = currency_code("t", "base_currency", "dollars")
            .unwrap_err()
            .message;
        assert!(
            e.contains("`base_currency`") && e.contains("three-letter"),
            "{e}"
        );
    }

    #[test]
    fn expirations() {
        assert_eq!(
            expiration("t", Some("2026-06-19")).unwrap().as_deref(),
            Some("20260619")
        );
        assert_eq!(expiration("t", Some("  ")).unwrap(), None);
        let e = expiration("t", Some("June")).unwrap_err().message;
        assert!(e.contains("\"June\"") && e.contains("YYYYMMDD"), "{e}");
        assert_eq!(
            day_number("20260301")
                .zip(day_number("20260228"))
                .map(|(a, b)| a - b),
            Some(1)
        );
    }
}
