//! Renders a tool's markdown answer readably in the terminal: headings styled, tables aligned
//! into columns, **bold**, _italic_ and `code` spans, bullet lists. Only the subset the tools
//! write; anything else is shown as plain text rather than guessed at.

use super::theme::Theme;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

/// Markdown → styled lines, tables fitted to `width` where possible.
pub fn render(markdown: &str, theme: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let lines: Vec<&str> = markdown.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        if trimmed.starts_with('|') {
            let start = i;
            while i < lines.len() && lines[i].trim_start().starts_with('|') {
                i += 1;
            }
            out.extend(table(&lines[start..i], theme));
            continue;
        }
        out.push(block_line(line, theme));
        i += 1;
    }
    out
}

fn block_line(line: &str, theme: &Theme) -> Line<'static> {
    let trimmed = line.trim_start();
    let hashes = trimmed.chars().take_while(|c| *c == '#').count();
    if (1..=6).contains(&hashes) && trimmed[hashes..].starts_with(' ') {
        let text = trimmed[hashes + 1..].trim().to_string();
        return match hashes {
            1 => Line::from(Span::styled(text.to_uppercase(), theme.heading)),
            2 => Line::from(Span::styled(text, theme.heading)),
            _ => Line::from(Span::styled(text, theme.subheading)),
        };
    }
    if let Some(rest) = trimmed
        .strip_prefix("- ")
        .or_else(|| trimmed.strip_prefix("* "))
    {
        let indent = line.len() - trimmed.len();
        let mut spans = vec![Span::raw(format!("{}• ", " ".repeat(indent)))];
        spans.extend(inline(rest, theme.text, theme));
        return Line::from(spans);
    }
    if trimmed == "---" || trimmed == "***" {
        return Line::from(Span::styled("─".repeat(40), theme.dim));
    }
    Line::from(inline(line, theme.text, theme))
}

/// Inline emphasis: `**bold**`, `_italic_` / `*italic*`, `` `code` ``.
pub fn inline(text: &str, base: Style, theme: &Theme) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    let mut plain = String::new();
    let mut rest = text;
    let flush = |plain: &mut String, spans: &mut Vec<Span<'static>>| {
        if !plain.is_empty() {
            spans.push(Span::styled(std::mem::take(plain), base));
        }
    };
    while let Some(ch) = rest.chars().next() {
        let (marker, style): (&str, Style) = if rest.starts_with("**") {
            ("**", base.add_modifier(Modifier::BOLD))
        } else if ch == '`' {
            ("`", theme.code)
        } else if (ch == '_' || ch == '*')
            && plain.chars().last().is_none_or(|c| !c.is_alphanumeric())
        {
            (
                if ch == '_' { "_" } else { "*" },
                base.add_modifier(Modifier::ITALIC),
            )
        } else {
            plain.push(ch);
            rest = &rest[ch.len_utf8()..];
            continue;
        };
        let after = &rest[marker.len()..];
        match after.find(marker) {
            Some(end) if end > 0 => {
                flush(&mut plain, &mut spans);
                spans.push(Span::styled(after[..end].to_string(), style));
                rest = &after[end + marker.len()..];
            }
            _ => {
                plain.push_str(marker);
                rest = after;
            }
        }
    }
    flush(&mut plain, &mut spans);
    spans
}

/// Terminal columns a string takes (wide characters count twice).
fn display_width(s: &str) -> usize {
    Span::raw(s).width()
}

/// Strips inline markers for width measurement and table cells.
fn strip_inline(text: &str) -> String {
    text.replace("**", "").replace('`', "")
}

fn cells(row: &str) -> Vec<String> {
    let t = row.trim();
    let t = t.strip_prefix('|').unwrap_or(t);
    let t = t.strip_suffix('|').unwrap_or(t);
    t.split('|').map(|c| strip_inline(c.trim())).collect()
}

fn is_separator(row: &str) -> bool {
    cells(row)
        .iter()
        .all(|c| !c.is_empty() && c.chars().all(|ch| matches!(ch, '-' | ':' | ' ')))
}

fn table(rows: &[&str], theme: &Theme) -> Vec<Line<'static>> {
    // Alignment from the separator row: `---:` right, else left; numbers right-aligned anyway.
    let sep = rows.iter().position(|r| is_separator(r));
    let right: Vec<bool> = sep
        .map(|s| {
            cells(rows[s])
                .iter()
                .map(|c| c.trim().ends_with(':'))
                .collect()
        })
        .unwrap_or_default();
    let body: Vec<(usize, Vec<String>)> = rows
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != sep)
        .map(|(i, r)| (i, cells(r)))
        .collect();
    let ncols = body.iter().map(|(_, c)| c.len()).max().unwrap_or(0);
    let mut widths = vec![0usize; ncols];
    for (_, c) in &body {
        for (j, cell) in c.iter().enumerate() {
            widths[j] = widths[j].max(display_width(cell));
        }
    }
    let looks_numeric = |s: &str| {
        let s = s.trim_start_matches(['+', '-', '$', '(']);
        s.chars().next().is_some_and(|c| c.is_ascii_digit())
    };
    let mut out = Vec::with_capacity(body.len() + 1);
    for (i, c) in &body {
        let is_header = sep.is_some_and(|s| *i < s);
        let mut spans = Vec::with_capacity(ncols * 2);
        for (j, w) in widths.iter().enumerate() {
            let cell = c.get(j).map(String::as_str).unwrap_or("");
            let pad = w.saturating_sub(display_width(cell));
            let right_align = right.get(j).copied().unwrap_or(false)
                || (!is_header && j > 0 && looks_numeric(cell));
            let text = if right_align {
                format!("{}{cell}", " ".repeat(pad))
            } else {
                format!("{cell}{}", " ".repeat(pad))
            };
            let style = if is_header {
                theme.table_header
            } else if j == 0 {
                theme.text.add_modifier(Modifier::BOLD)
            } else {
                theme.text
            };
            spans.push(Span::styled(text, style));
            if j + 1 < ncols {
                spans.push(Span::styled(" │ ", theme.dim));
            }
        }
        out.push(Line::from(spans));
        if is_header && sep.is_some_and(|s| s == i + 1) {
            let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
            out.push(Line::from(Span::styled(rule.join("─┼─"), theme.dim)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(lines: &[Line]) -> Vec<String> {
        lines
            .iter()
            .map(|l| {
                l.spans
                    .iter()
                    .map(|s| s.content.as_ref())
                    .collect::<String>()
            })
            .collect()
    }

    #[test]
    fn tables_are_aligned_and_headings_styled() {
        let theme = Theme::default();
        let md = "# What-If: BUY 100 KRYX\n**NLV**: $24,618.00 CAD\n\n| Symbol | Value |\n|---|---:|\n| KRYX | $18,414 |\n| HDRX | $5,353 |";
        let out = render(md, &theme);
        let t = text(&out);
        assert_eq!(t[0], "WHAT-IF: BUY 100 KRYX");
        assert_eq!(out[0].spans[0].style, theme.heading);
        assert_eq!(t[1], "NLV: $24,618.00 CAD");
        assert_eq!(t[3], "Symbol │   Value");
        assert_eq!(t[4], "───────┼────────");
        assert_eq!(t[5], "KRYX   │ $18,414");
        assert_eq!(t[6], "HDRX   │  $5,353");
    }

    #[test]
    fn inline_markers_without_partner_stay_literal() {
        let theme = Theme::default();
        let spans = inline("snake_case and 2*3", theme.text, &theme);
        let s: String = spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(s, "snake_case and 2*3");
    }
}
