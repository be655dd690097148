//! `[[alerts]]` in the config: what a user writes (`AlertConfig`), what it means once checked
//! (`Rule`), and the checks, whose errors name the rule, the key, what is accepted and what
//! was found.

use serde::{Deserialize, Serialize};

/// One `[[alerts]]` table as written in the config file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertConfig {
    /// One of [`Kind::NAMES`].
    pub kind: String,
    /// Shown in the cockpit, the history and notifications; default: the condition in words.
    #[serde(default)]
    pub name: Option<String>,
    /// The line: percent for cushion, margin use, drawdown and daily move; a multiple for
    /// leverage; a price for price rules; seconds for stale data and disconnection.
    #[serde(default)]
    pub level: Option<f64>,
    /// The symbol of a price rule, or of a daily-move rule (absent: every held position).
    #[serde(default)]
    pub symbol: Option<String>,
    /// How far the value must move back past the line before the rule can fire again
    /// (same unit as `level`; default per kind).
    #[serde(default)]
    pub hysteresis: Option<f64>,
    /// A command run once per firing: program and arguments, no shell; `{name}`, `{kind}`,
    /// `{value}`, `{level}`, `{symbol}`, `{time}` and `{message}` are substituted per argument.
    #[serde(default)]
    pub on_fire: Vec<String>,
    /// Ring the terminal bell in the cockpit when it fires (default true).
    #[serde(default)]
    pub bell: Option<bool>,
}

/// What a rule watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    CushionBelow,
    MarginUseAbove,
    DrawdownBelow,
    LeverageAbove,
    PriceAbove,
    PriceBelow,
    DailyMove,
    DataStale,
    GatewayDisconnected,
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::CushionBelow,
        Kind::MarginUseAbove,
        Kind::DrawdownBelow,
        Kind::LeverageAbove,
        Kind::PriceAbove,
        Kind::PriceBelow,
        Kind::DailyMove,
        Kind::DataStale,
        Kind::GatewayDisconnected,
    ];
    pub const NAMES: &'static str = "cushion_below, margin_use_above, drawdown_below, \
        leverage_above, price_above, price_below, daily_move, data_stale, gateway_disconnected";

    pub fn name(self) -> &'static str {
        match self {
            Kind::CushionBelow => "cushion_below",
            Kind::MarginUseAbove => "margin_use_above",
            Kind::DrawdownBelow => "drawdown_below",
            Kind::LeverageAbove => "leverage_above",
            Kind::PriceAbove => "price_above",
            Kind::PriceBelow => "price_below",
            Kind::DailyMove => "daily_move",
            Kind::DataStale => "data_stale",
            Kind::GatewayDisconnected => "gateway_disconnected",
        }
    }

    fn parse(text: &str) -> Option<Kind> {
        let t = text.trim().to_ascii_lowercase().replace('-', "_");
        Kind::ALL.into_iter().find(|k| k.name() == t)
    }

    /// Whether the rule fires when the value rises to the line (else when it falls to it).
    pub fn fires_above(self) -> bool {
        !matches!(
            self,
            Kind::CushionBelow | Kind::DrawdownBelow | Kind::PriceBelow
        )
    }

    /// What `level` is, for messages.
    fn level_words(self) -> &'static str {
        match self {
            Kind::CushionBelow => "the cushion in percent, e.g. level = 10",
            Kind::MarginUseAbove => "margin use (maintenance / equity) in percent, e.g. level = 90",
            Kind::DrawdownBelow => {
                "the drawdown from the high-water mark in percent, e.g. level = 5"
            }
            Kind::LeverageAbove => "gross position value / NLV, e.g. level = 3",
            Kind::PriceAbove | Kind::PriceBelow => "a price, e.g. level = 55.5",
            Kind::DailyMove => "the daily move in percent (either way), e.g. level = 5",
            Kind::DataStale => "seconds without data, e.g. level = 60",
            Kind::GatewayDisconnected => {
                "seconds the gateway may be down before the alert fires (default 0)"
            }
        }
    }

    /// Hysteresis when the rule sets none: enough that a value hovering at the line fires once.
    fn default_hysteresis(self, level: f64) -> f64 {
        match self {
            Kind::CushionBelow | Kind::DrawdownBelow => 0.5,
            Kind::MarginUseAbove => 1.0,
            Kind::LeverageAbove => 0.05,
            // 0.2% of the price: a few ticks either side of the line.
            Kind::PriceAbove | Kind::PriceBelow => (level.abs() * 0.002).max(0.01),
            Kind::DailyMove => 0.25,
            Kind::DataStale | Kind::GatewayDisconnected => 0.0,
        }
    }
}

/// A checked rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub name: String,
    pub kind: Kind,
    /// Drawdown as a negative percent; daily move as a positive one.
    pub level: f64,
    pub symbol: Option<String>,
    pub hysteresis: f64,
    pub on_fire: Vec<String>,
    pub bell: bool,
}

impl Rule {
    /// The value's unit, for messages.
    pub fn unit(&self) -> &'static str {
        match self.kind {
            Kind::CushionBelow | Kind::MarginUseAbove | Kind::DrawdownBelow | Kind::DailyMove => {
                "%"
            }
            Kind::LeverageAbove => "x",
            Kind::DataStale | Kind::GatewayDisconnected => " s",
            Kind::PriceAbove | Kind::PriceBelow => "",
        }
    }

    /// A value in the rule's unit: "9.80%", "2.61x", "55.40", "75 s".
    pub fn show(&self, v: f64) -> String {
        match self.kind {
            Kind::DataStale | Kind::GatewayDisconnected => format!("{:.0} s", v.max(0.0)),
            Kind::DailyMove => format!("{v:+.2}%"),
            _ => format!("{v:.2}{}", self.unit()),
        }
    }

    /// The condition in words: "cushion ≤ 10.00% (re-arms above 10.50%)".
    pub fn condition(&self) -> String {
        let what = match self.kind {
            Kind::CushionBelow => "cushion".to_string(),
            Kind::MarginUseAbove => "margin use".to_string(),
            Kind::DrawdownBelow => "drawdown from high-water mark".to_string(),
            Kind::LeverageAbove => "leverage".to_string(),
            Kind::PriceAbove | Kind::PriceBelow => {
                format!("{} price", self.symbol.as_deref().unwrap_or("?"))
            }
            Kind::DailyMove => match &self.symbol {
                Some(s) => format!("{s} daily move"),
                None => "any position's daily move".to_string(),
            },
            Kind::DataStale => "age of the latest data".to_string(),
            Kind::GatewayDisconnected => {
                return if self.level > 0.0 {
                    format!("a gateway down for {} or more", self.show(self.level))
                } else {
                    "a gateway disconnected".to_string()
                };
            }
        };
        if self.kind == Kind::DailyMove {
            return format!(
                "{what} beyond ±{:.2}% (re-arms within ±{:.2}%)",
                self.level,
                (self.level - self.hysteresis).max(0.0)
            );
        }
        let (op, back, rearm) = if self.kind.fires_above() {
            ("≥", "below", self.level - self.hysteresis)
        } else {
            ("≤", "above", self.level + self.hysteresis)
        };
        format!(
            "{what} {op} {} (re-arms {back} {})",
            self.show(self.level),
            self.show(rearm)
        )
    }
}

/// A rule the config got wrong: which one (`alerts[2].level`), what is accepted, what was found.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleError {
    pub key: String,
    pub expected: String,
    pub found: String,
}

/// Placeholders `on_fire` arguments may use.
pub const PLACEHOLDERS: &[&str] = &[
    "name", "kind", "value", "level", "symbol", "time", "message",
];
/// Longest `on_fire` (arguments) and argument (characters) accepted.
const MAX_ARGS: usize = 32;
const MAX_ARG_CHARS: usize = 1000;
const MAX_NAME_CHARS: usize = 80;

/// Checks every rule; the first problem is the error.
pub fn compile(configs: &[AlertConfig]) -> Result<Vec<Rule>, RuleError> {
    let rules = configs
        .iter()
        .enumerate()
        .map(|(i, c)| compile_one(i, c))
        .collect::<Result<Vec<_>, _>>()?;
    for (i, r) in rules.iter().enumerate() {
        if rules[..i].iter().any(|o| o.name == r.name) {
            return Err(RuleError {
                key: format!("alerts[{i}].name"),
                expected: "a name no other rule uses".into(),
                found: format!("{:?}", r.name),
            });
        }
    }
    Ok(rules)
}

fn compile_one(i: usize, c: &AlertConfig) -> Result<Rule, RuleError> {
    let err = |key: &str, expected: String, found: String| RuleError {
        key: format!("alerts[{i}].{key}"),
        expected,
        found,
    };
    let kind = Kind::parse(&c.kind).ok_or_else(|| {
        err(
            "kind",
            format!("one of {}", Kind::NAMES),
            format!("{:?}", c.kind),
        )
    })?;
    let symbol = match (&c.symbol, kind) {
        (Some(s), Kind::PriceAbove | Kind::PriceBelow | Kind::DailyMove) => {
            Some(check_symbol(s).ok_or_else(|| {
                err(
                    "symbol",
                    "a symbol of 1–15 letters, digits, '.', '-' or ' ', e.g. \"KRYX\" or \"BRK B\""
                        .into(),
                    format!("{s:?}"),
                )
            })?)
        }
        (Some(s), _) => {
            return Err(err(
                "symbol",
                format!(
                    "no symbol for {} (only price_above, price_below and daily_move take one)",
                    kind.name()
                ),
                format!("{s:?}"),
            ));
        }
        (None, Kind::PriceAbove | Kind::PriceBelow) => {
            return Err(err(
                "symbol",
                format!("a symbol for {}, e.g. symbol = \"KRYX\"", kind.name()),
                "nothing".into(),
            ));
        }
        (None, _) => None,
    };
    let level = match (c.level, kind) {
        (None, Kind::GatewayDisconnected) => 0.0,
        (None, _) => {
            return Err(err(
                "level",
                format!("{} for {}", kind.level_words(), kind.name()),
                "nothing".into(),
            ));
        }
        (Some(v), _) => v,
    };
    let level_ok = level.is_finite()
        && match kind {
            Kind::CushionBelow | Kind::MarginUseAbove => (0.0..=1000.0).contains(&level),
            Kind::DrawdownBelow => level != 0.0 && level.abs() <= 100.0,
            Kind::LeverageAbove | Kind::PriceAbove | Kind::PriceBelow => level > 0.0,
            Kind::DailyMove => level > 0.0 && level <= 1000.0,
            Kind::DataStale => (1.0..=86_400.0).contains(&level),
            Kind::GatewayDisconnected => (0.0..=86_400.0).contains(&level),
        };
    if !level_ok {
        return Err(err(
            "level",
            format!("{} for {}", kind.level_words(), kind.name()),
            format!("{level}"),
        ));
    }
    // Drawdown is a fall: 5 and -5 both mean 5% below the high-water mark.
    let level = match kind {
        Kind::DrawdownBelow => -level.abs(),
        _ => level,
    };
    let hysteresis = match c.hysteresis {
        None => kind.default_hysteresis(level),
        Some(h) if h.is_finite() && h >= 0.0 => h,
        Some(h) => {
            return Err(err(
                "hysteresis",
                "a number, 0 or more, in the unit of `level`".into(),
                format!("{h}"),
            ));
        }
    };
    check_on_fire(&c.on_fire).map_err(|(expected, found)| err("on_fire", expected, found))?;
    let mut rule = Rule {
        name: String::new(),
        kind,
        level,
        symbol,
        hysteresis,
        on_fire: c.on_fire.clone(),
        bell: c.bell.unwrap_or(true),
    };
    rule.name = match &c.name {
        Some(n) if n.trim().is_empty() || n.chars().count() > MAX_NAME_CHARS => {
            return Err(err(
                "name",
                format!("a name of 1–{MAX_NAME_CHARS} characters"),
                format!("{n:?}"),
            ));
        }
        Some(n) => n.trim().to_string(),
        None => rule.condition(),
    };
    Ok(rule)
}

/// Upper-cases a plausible symbol; `None` when it cannot be one.
fn check_symbol(s: &str) -> Option<String> {
    let t = s.trim().to_ascii_uppercase();
    let ok = !t.is_empty()
        && t.len() <= 15
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ' '));
    ok.then_some(t)
}

fn check_on_fire(argv: &[String]) -> Result<(), (String, String)> {
    let shape = "a list of program and arguments, e.g. [\"notify-send\", \"{name}\", \"{message}\"] (no shell)";
    if argv.is_empty() {
        return Ok(());
    }
    if argv[0].trim().is_empty() || argv.len() > MAX_ARGS {
        return Err((
            format!("{shape}, at most {MAX_ARGS} items, the program first"),
            format!("{argv:?}"),
        ));
    }
    for arg in argv {
        if arg.chars().count() > MAX_ARG_CHARS {
            return Err((
                format!("arguments of at most {MAX_ARG_CHARS} characters"),
                format!("an argument of {} characters", arg.chars().count()),
            ));
        }
        for p in placeholders_in(arg) {
            if !PLACEHOLDERS.contains(&p) {
                let accepted: Vec<String> =
                    PLACEHOLDERS.iter().map(|p| format!("{{{p}}}")).collect();
                return Err((
                    format!("placeholders among {}", accepted.join(" ")),
                    format!("{{{p}}}"),
                ));
            }
        }
    }
    Ok(())
}

/// The names inside `{…}` in `arg`.
pub fn placeholders_in(arg: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = arg;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    out.push(name);
                }
                rest = &after[close + 1..];
            }
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(kind: &str) -> AlertConfig {
        AlertConfig {
            kind: kind.into(),
            name: None,
            level: None,
            symbol: None,
            hysteresis: None,
            on_fire: Vec::new(),
            bell: None,
        }
    }

    #[test]
    fn rules_get_names_and_default_hysteresis() {
        let rules = compile(&[
            AlertConfig {
                level: Some(10.0),
                ..cfg("cushion_below")
            },
            AlertConfig {
                level: Some(5.0),
                ..cfg("drawdown_below")
            },
            AlertConfig {
                level: Some(55.0),
                symbol: Some("kryx".into()),
                ..cfg("price_above")
            },
            cfg("gateway_disconnected"),
        ])
        .unwrap();
        assert_eq!(rules[0].name, "cushion ≤ 10.00% (re-arms above 10.50%)");
        assert_eq!(rules[1].level, -5.0);
        assert_eq!(rules[2].symbol.as_deref(), Some("KRYX"));
        assert!((rules[2].hysteresis - 0.11).abs() < 1e-9);
        assert_eq!(rules[3].name, "a gateway disconnected");
        assert!(rules.iter().all(|r| r.bell));
    }

    #[test]
    fn bad_rules_say_what_is_accepted() {
        let e = compile(&[cfg("cushon_below")]).unwrap_err();
        assert_eq!(e.key, "alerts[0].kind");
        assert!(
            e.expected.contains("cushion_below, margin_use_above"),
            "{e:?}"
        );
        let e = compile(&[cfg("cushion_below")]).unwrap_err();
        assert_eq!(e.key, "alerts[0].level");
        assert!(e.expected.contains("percent"), "{e:?}");
        let e = compile(&[AlertConfig {
            level: Some(5.0),
            ..cfg("price_below")
        }])
        .unwrap_err();
        assert_eq!(e.key, "alerts[0].symbol");
        let e = compile(&[AlertConfig {
            level: Some(5.0),
            symbol: Some("KR$X".into()),
            ..cfg("price_below")
        }])
        .unwrap_err();
        assert_eq!(e.found, "\"KR$X\"");
        let e = compile(&[AlertConfig {
            level: Some(5.0),
            on_fire: vec!["echo".into(), "{nmae}".into()],
            ..cfg("daily_move")
        }])
        .unwrap_err();
        assert_eq!(e.key, "alerts[0].on_fire");
        assert!(e.expected.contains("{name}"), "{e:?}");
    }

    #[test]
    fn placeholders_are_found() {
        assert_eq!(
            placeholders_in("{name}: {value} {not a placeholder} {x"),
            vec!["name", "value"]
        );
    }
}
