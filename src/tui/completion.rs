//! Tab completion for the prompt line: tool names first, then the chosen tool's parameter names.
//! Completes the longest common prefix; when the choice is still open, lists the candidates.

use super::invocation::ToolInfo;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Completion {
    /// The line after completion (unchanged when nothing matched).
    pub line: String,
    /// What is still possible, shown under the input when there is more than one.
    pub candidates: Vec<String>,
}

fn common_prefix(words: &[&str]) -> String {
    let Some(first) = words.first() else {
        return String::new();
    };
    let mut len = first.len();
    for w in &words[1..] {
        len = len.min(
            first
                .char_indices()
                .zip(w.chars())
                .take_while(|((_, a), b)| a == b)
                .map(|((i, a), _)| i + a.len_utf8())
                .last()
                .unwrap_or(0),
        );
    }
    first[..len].to_string()
}

/// Completes the last word of `line`.
pub fn complete(line: &str, tools: &[ToolInfo]) -> Completion {
    let unchanged = || Completion {
        line: line.to_string(),
        candidates: Vec::new(),
    };
    let ends_with_space = line.ends_with(' ');
    let words: Vec<&str> = line.split_whitespace().collect();

    // Completing the tool name.
    if words.len() <= 1 && !ends_with_space {
        let prefix = words.first().copied().unwrap_or("");
        let matches: Vec<&str> = tools
            .iter()
            .map(|t| t.name.as_str())
            .filter(|n| n.starts_with(prefix))
            .collect();
        return match matches.as_slice() {
            [] => unchanged(),
            [one] => Completion {
                line: format!("{one} "),
                candidates: Vec::new(),
            },
            many => Completion {
                line: common_prefix(many),
                candidates: many.iter().map(|s| s.to_string()).collect(),
            },
        };
    }

    // Completing a parameter name of the tool named first.
    let Some(tool) = words
        .first()
        .and_then(|name| tools.iter().find(|t| t.name == *name))
    else {
        return unchanged();
    };
    let partial = if ends_with_space {
        ""
    } else {
        words.last().copied().unwrap_or("")
    };
    if partial.contains('=') {
        return unchanged();
    }
    let already: Vec<&str> = words[1..]
        .iter()
        .filter_map(|w| w.split_once('=').map(|(k, _)| k))
        .collect();
    let matches: Vec<&str> = tool
        .params
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| k.starts_with(partial) && !already.contains(k))
        .collect();
    let head = &line[..line.len() - partial.len()];
    match matches.as_slice() {
        [] => unchanged(),
        [one] => Completion {
            line: format!("{head}{one}="),
            candidates: Vec::new(),
        },
        many => Completion {
            line: format!("{head}{}", common_prefix(many)),
            candidates: many.iter().map(|s| format!("{s}=")).collect(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tools() -> Vec<ToolInfo> {
        let t = |name: &str, params: &[&str]| {
            let typed: Vec<(&str, &str)> = params.iter().map(|p| (*p, "string")).collect();
            ToolInfo::with_params(name, &typed)
        };
        vec![
            t("ibkr_quote", &["symbols"]),
            t(
                "ibkr_what_if",
                &["symbol", "action", "quantity", "order_type", "limit_price"],
            ),
            t("ibkr_technicals", &["symbol", "sections"]),
        ]
    }

    #[test]
    fn completes_tool_names_to_the_common_prefix() {
        let c = complete("ibkr_", &tools());
        assert_eq!(c.line, "ibkr_");
        assert_eq!(c.candidates.len(), 3);
        assert_eq!(complete("ibkr_w", &tools()).line, "ibkr_what_if ");
    }

    #[test]
    fn completes_parameters_not_yet_given() {
        assert_eq!(
            complete("ibkr_what_if sym", &tools()).line,
            "ibkr_what_if symbol="
        );
        let c = complete("ibkr_what_if symbol=KRYX ", &tools());
        assert_eq!(
            c.candidates,
            vec!["action=", "quantity=", "order_type=", "limit_price="]
        );
        assert_eq!(
            complete("ibkr_what_if symbol=KRYX q", &tools()).line,
            "ibkr_what_if symbol=KRYX quantity="
        );
    }
}
