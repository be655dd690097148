//! Semantic styles, loaded from `themes/*.toml`.
//!
//! Views never pick colours: they ask for `theme.positive`, `theme.border(focused)`, ... so a
//! theme file (or `NO_COLOR`) changes the whole cockpit at once. Only the 16 named colours and
//! 256-colour indexes are accepted — never true colour — so the cockpit looks the same over SSH
//! and in 256-colour terminals.

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Built-in themes, embedded so the binary works from any directory.
const BUILT_IN: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
];

/// Every semantic style a view may use.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub text: Style,
    pub dim: Style,
    pub title: Style,
    pub title_focused: Style,
    pub border: Style,
    pub border_focused: Style,
    pub header: Style,
    pub header_label: Style,
    pub header_value: Style,
    pub positive: Style,
    pub negative: Style,
    pub ok: Style,
    pub watch: Style,
    pub danger: Style,
    pub selected: Style,
    pub table_header: Style,
    pub badge_stale: Style,
    pub badge_delayed: Style,
    pub badge_down: Style,
    pub badge_ok: Style,
    pub key: Style,
    pub heading: Style,
    pub subheading: Style,
    pub code: Style,
    pub chart: Style,
    pub sparkline_up: Style,
    pub sparkline_down: Style,
    pub input: Style,
    pub placeholder: Style,
    pub error: Style,
    /// Heatmap scale from -1 to +1 (odd length; the middle colour is 0).
    pub heat: Vec<Color>,
    /// Text drawn on top of heatmap cells.
    pub heat_text: Style,
    /// `NO_COLOR` mode: views must not rely on colour alone (they add signs and symbols anyway).
    pub monochrome: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error("theme '{name}' not found (built-in: dark, light, high-contrast; or a file {path})")]
    NotFound { name: String, path: String },
    #[error("theme {origin}: {message}")]
    Invalid { origin: String, message: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    #[serde(default)]
    styles: BTreeMap<String, StyleSpec>,
    #[serde(default)]
    heat: Option<HeatSpec>,
}

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct StyleSpec {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    bold: bool,
    #[serde(default)]
    dim: bool,
    #[serde(default)]
    italic: bool,
    #[serde(default)]
    underline: bool,
    #[serde(default)]
    reversed: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeatSpec {
    colors: Vec<String>,
    text: Option<String>,
}

impl Default for Theme {
    fn default() -> Self {
        Theme::built_in("dark").unwrap_or_else(|_| Theme::fallback())
    }
}

impl Theme {
    /// Loads a theme by name: a built-in, else `<dir>/<name>.toml` for each search dir.
    /// `no_color` (usually `NO_COLOR` being set) strips every colour, keeping modifiers.
    pub fn load(name: &str, search_dirs: &[PathBuf], no_color: bool) -> Result<Theme, ThemeError> {
        let theme = match Theme::built_in(name) {
            Ok(t) => t,
            Err(ThemeError::NotFound { .. }) => Theme::from_dirs(name, search_dirs)?,
            Err(e) => return Err(e),
        };
        Ok(if no_color {
            theme.without_colour()
        } else {
            theme
        })
    }

    /// Whether the environment asks for no colour (https://no-color.org: set and non-empty).
    pub fn no_color_requested() -> bool {
        std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
    }

    /// Directories searched for user themes: `./themes` and `<config dir>/ibkr-cockpit/themes`.
    pub fn default_search_dirs() -> Vec<PathBuf> {
        let mut dirs = vec![PathBuf::from("themes")];
        if let Some(cfg) = dirs::config_dir() {
            dirs.push(cfg.join("ibkr-cockpit").join("themes"));
        }
        dirs
    }

    pub fn built_in(name: &str) -> Result<Theme, ThemeError> {
        let Some((_, text)) = BUILT_IN.iter().find(|(n, _)| *n == name) else {
            return Err(ThemeError::NotFound {
                name: name.to_string(),
                path: format!("themes/{name}.toml"),
            });
        };
        Theme::parse(name, text, &format!("built-in '{name}'"))
    }

    fn from_dirs(name: &str, dirs: &[PathBuf]) -> Result<Theme, ThemeError> {
        // A name with a path separator is taken as a path.
        let candidates: Vec<PathBuf> = if name.contains('/') || name.ends_with(".toml") {
            vec![PathBuf::from(name)]
        } else {
            dirs.iter()
                .map(|d| d.join(format!("{name}.toml")))
                .collect()
        };
        for path in &candidates {
            if let Ok(text) = std::fs::read_to_string(path) {
                return Theme::parse(name, &text, &path.display().to_string());
            }
        }
        Err(ThemeError::NotFound {
            name: name.to_string(),
            path: candidates
                .first()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| format!("themes/{name}.toml")),
        })
    }

    /// Loads a theme file from an explicit path.
    pub fn from_path(path: &Path) -> Result<Theme, ThemeError> {
        let text = std::fs::read_to_string(path).map_err(|e| ThemeError::Invalid {
            origin: path.display().to_string(),
            message: e.to_string(),
        })?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Theme::parse(&name, &text, &path.display().to_string())
    }

    /// Parses theme TOML. Keys left out keep the dark theme's value (a theme file is a patch).
    pub fn parse(name: &str, text: &str, origin: &str) -> Result<Theme, ThemeError> {
        let invalid = |message: String| ThemeError::Invalid {
            origin: origin.to_string(),
            message,
        };
        let file: ThemeFile = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let mut theme = if name == "dark" {
            Theme::fallback()
        } else {
            Theme::built_in("dark").unwrap_or_else(|_| Theme::fallback())
        };
        theme.name = name.to_string();
        for (key, spec) in &file.styles {
            let style = spec
                .to_style()
                .map_err(|m| invalid(format!("styles.{key}: {m}")))?;
            let slot = theme
                .slot(key)
                .ok_or_else(|| invalid(format!("unknown style '{key}'")))?;
            *slot = style;
        }
        if let Some(heat) = &file.heat {
            if heat.colors.len() < 3 || heat.colors.len() % 2 == 0 {
                return Err(invalid(
                    "heat.colors needs an odd number (3 or more) of colours".into(),
                ));
            }
            theme.heat = heat
                .colors
                .iter()
                .map(|c| parse_color(c).map_err(|m| invalid(format!("heat.colors: {m}"))))
                .collect::<Result<_, _>>()?;
            if let Some(t) = &heat.text {
                let c = parse_color(t).map_err(|m| invalid(format!("heat.text: {m}")))?;
                theme.heat_text = Style::default().fg(c);
            }
        }
        Ok(theme)
    }

    /// The same theme with every colour removed (for `NO_COLOR`); modifiers stay, and the
    /// selection becomes reversed video so it is still visible.
    pub fn without_colour(mut self) -> Theme {
        let strip = |s: &mut Style| {
            s.fg = None;
            s.bg = None;
        };
        for key in STYLE_KEYS {
            if let Some(slot) = self.slot(key) {
                strip(slot);
            }
        }
        strip(&mut self.heat_text);
        self.heat = vec![Color::Reset; 3];
        self.selected = Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD);
        self.title_focused = self.title_focused.add_modifier(Modifier::REVERSED);
        self.monochrome = true;
        self
    }

    /// Block border style for a pane.
    pub fn border(&self, focused: bool) -> Style {
        if focused {
            self.border_focused
        } else {
            self.border
        }
    }

    /// Block title style for a pane.
    pub fn title(&self, focused: bool) -> Style {
        if focused {
            self.title_focused
        } else {
            self.title
        }
    }

    /// Green for gains, red for losses, plain for zero/unknown.
    pub fn signed(&self, value: Option<f64>) -> Style {
        match value {
            Some(v) if v > 0.0 => self.positive,
            Some(v) if v < 0.0 => self.negative,
            _ => self.text,
        }
    }

    /// Heatmap colour for a correlation in [-1, 1].
    pub fn heat_color(&self, value: f64) -> Color {
        let n = self.heat.len();
        if n == 0 || !value.is_finite() {
            return Color::Reset;
        }
        let t = ((value.clamp(-1.0, 1.0) + 1.0) / 2.0) * (n - 1) as f64;
        self.heat[(t.round() as usize).min(n - 1)]
    }

    fn slot(&mut self, key: &str) -> Option<&mut Style> {
        Some(match key {
            "text" => &mut self.text,
            "dim" => &mut self.dim,
            "title" => &mut self.title,
            "title_focused" => &mut self.title_focused,
            "border" => &mut self.border,
            "border_focused" => &mut self.border_focused,
            "header" => &mut self.header,
            "header_label" => &mut self.header_label,
            "header_value" => &mut self.header_value,
            "positive" => &mut self.positive,
            "negative" => &mut self.negative,
            "ok" => &mut self.ok,
            "watch" => &mut self.watch,
            "danger" => &mut self.danger,
            "selected" => &mut self.selected,
            "table_header" => &mut self.table_header,
            "badge_stale" => &mut self.badge_stale,
            "badge_delayed" => &mut self.badge_delayed,
            "badge_down" => &mut self.badge_down,
            "badge_ok" => &mut self.badge_ok,
            "key" => &mut self.key,
            "heading" => &mut self.heading,
            "subheading" => &mut self.subheading,
            "code" => &mut self.code,
            "chart" => &mut self.chart,
            "sparkline_up" => &mut self.sparkline_up,
            "sparkline_down" => &mut self.sparkline_down,
            "input" => &mut self.input,
            "placeholder" => &mut self.placeholder,
            "error" => &mut self.error,
            _ => return None,
        })
    }

    /// A plain theme used only if the embedded dark theme could not be parsed (never in practice,
    /// the test suite parses it) — so a broken build still shows a usable UI instead of panicking.
    fn fallback() -> Theme {
        let plain = Style::default();
        let bold = plain.add_modifier(Modifier::BOLD);
        Theme {
            name: "plain".into(),
            text: plain,
            dim: plain.add_modifier(Modifier::DIM),
            title: bold,
            title_focused: bold.add_modifier(Modifier::REVERSED),
            border: plain,
            border_focused: bold,
            header: plain,
            header_label: plain,
            header_value: bold,
            positive: plain,
            negative: plain,
            ok: plain,
            watch: bold,
            danger: bold.add_modifier(Modifier::REVERSED),
            selected: plain.add_modifier(Modifier::REVERSED),
            table_header: bold,
            badge_stale: plain.add_modifier(Modifier::REVERSED),
            badge_delayed: plain.add_modifier(Modifier::REVERSED),
            badge_down: plain.add_modifier(Modifier::REVERSED),
            badge_ok: plain,
            key: bold,
            heading: bold,
            subheading: bold,
            code: plain,
            chart: plain,
            sparkline_up: plain,
            sparkline_down: plain,
            input: plain,
            placeholder: plain.add_modifier(Modifier::DIM),
            error: bold,
            heat: vec![Color::Reset; 3],
            heat_text: plain,
            monochrome: false,
        }
    }
}

const STYLE_KEYS: &[&str] = &[
    "text",
    "dim",
    "title",
    "title_focused",
    "border",
    "border_focused",
    "header",
    "header_label",
    "header_value",
    "positive",
    "negative",
    "ok",
    "watch",
    "danger",
    "selected",
    "table_header",
    "badge_stale",
    "badge_delayed",
    "badge_down",
    "badge_ok",
    "key",
    "heading",
    "subheading",
    "code",
    "chart",
    "sparkline_up",
    "sparkline_down",
    "input",
    "placeholder",
    "error",
];

impl StyleSpec {
    fn to_style(&self) -> Result<Style, String> {
        let mut style = Style::default();
        if let Some(fg) = &self.fg {
            style = style.fg(parse_color(fg)?);
        }
        if let Some(bg) = &self.bg {
            style = style.bg(parse_color(bg)?);
        }
        let flags = [
            (self.bold, Modifier::BOLD),
            (self.dim, Modifier::DIM),
            (self.italic, Modifier::ITALIC),
            (self.underline, Modifier::UNDERLINED),
            (self.reversed, Modifier::REVERSED),
        ];
        for (on, m) in flags {
            if on {
                style = style.add_modifier(m);
            }
        }
        Ok(style)
    }
}

/// A colour name or a 256-colour index. True colour is refused with a reason.
fn parse_color(text: &str) -> Result<Color, String> {
    let t = text.trim().to_ascii_lowercase();
    if let Ok(i) = t.parse::<u16>() {
        return u8::try_from(i)
            .map(Color::Indexed)
            .map_err(|_| format!("colour index {i} is out of range 0-255"));
    }
    if t.starts_with('#') || t.starts_with("rgb") {
        return Err(format!(
            "'{text}' is true colour; use a name or a 256-colour index (0-255) so the theme works over SSH"
        ));
    }
    Ok(match t.replace(['_', '-', ' '], "").as_str() {
        "reset" | "default" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" | "grey" => Color::Gray,
        "darkgray" | "darkgrey" => Color::DarkGray,
        "lightred" => Color::LightRed,
        "lightgreen" => Color::LightGreen,
        "lightyellow" => Color::LightYellow,
        "lightblue" => Color::LightBlue,
        "lightmagenta" => Color::LightMagenta,
        "lightcyan" => Color::LightCyan,
        "white" => Color::White,
        _ => return Err(format!("unknown colour '{text}'")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_theme_parses_and_uses_no_true_colour() {
        for (name, _) in BUILT_IN {
            let theme = Theme::built_in(name).unwrap();
            assert_eq!(theme.name, *name);
            assert!(theme.heat.len() >= 3);
        }
    }

    #[test]
    fn true_colour_is_refused_with_a_reason() {
        let err = Theme::parse("x", "[styles]\ntext = { fg = \"#ff0000\" }", "test").unwrap_err();
        assert!(err.to_string().contains("true colour"), "{err}");
        let err = Theme::parse("x", "[styles]\ntxt = { fg = \"1\" }", "test").unwrap_err();
        assert!(err.to_string().contains("unknown style 'txt'"), "{err}");
    }

    #[test]
    fn no_color_strips_every_colour() {
        let theme = Theme::built_in("dark").unwrap().without_colour();
        assert_eq!(theme.positive.fg, None);
        assert_eq!(theme.header.bg, None);
        assert!(theme.monochrome);
    }

    #[test]
    fn heat_scale_ends_at_extremes() {
        let theme = Theme::built_in("dark").unwrap();
        assert_eq!(theme.heat_color(-1.0), theme.heat[0]);
        assert_eq!(theme.heat_color(1.0), theme.heat[theme.heat.len() - 1]);
        assert_eq!(theme.heat_color(0.0), theme.heat[theme.heat.len() / 2]);
    }
}
