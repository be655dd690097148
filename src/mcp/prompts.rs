//! Workflow prompts (`prompts/list`, `prompts/get`): the questions a trader asks most, each
//! telling the model which tools to call, in which order, and what to report.

use rmcp::ErrorData;
use rmcp::model::{GetPromptResult, Prompt, PromptArgument, PromptMessage, Role};
use serde_json::{Map, Value};

/// One prompt: its name, what it is for, its arguments (name, description, required) and the
/// text it expands to, with `{argument}` placeholders.
struct Workflow {
    name: &'static str,
    title: &'static str,
    description: &'static str,
    arguments: &'static [(&'static str, &'static str, bool)],
    template: &'static str,
}

const WORKFLOWS: &[Workflow] = &[
    Workflow {
        name: "morning_briefing",
        title: "Morning briefing",
        description: "Start-of-day review: account health, overnight P&L, concentration, movers and alerts.",
        arguments: &[(
            "focus",
            "Optional: what to look at more closely (a symbol, a sector, or 'risk').",
            false,
        )],
        template: "Give me my morning briefing.\n\
1. Call ibkr_briefing (format=full).\n\
2. Call ibkr_margin (detail=summary) and ibkr_get_account_pnl.\n\
3. If a position moved more than 3% or an alert fired, call ibkr_position_detail for it.\n\
Focus: {focus}\n\
Report, in this order: net liquidation and daily P&L in the base currency; cushion and margin \
headroom with their status; the three largest movers; every alert and what it means; one line on \
what deserves attention today. Quote the numbers as the tools give them, with their currency, and \
say when the data is stale or delayed.",
    },
    Workflow {
        name: "margin_call_check",
        title: "Margin-call check",
        description: "How far the account is from a margin call, and what a market drop would do.",
        arguments: &[(
            "drop_pct",
            "Optional: a market drop to test, in percent (default: the stress test's scenarios).",
            false,
        )],
        template: "Check how close my account is to a margin call.\n\
1. Call ibkr_margin (detail=headroom) for cushion, excess liquidity and the drop that triggers liquidation.\n\
2. Call ibkr_stress_test; a drop to test: {drop_pct}.\n\
3. Call ibkr_get_positions (sort=weight) to see what a forced sale would hit first.\n\
Report: the cushion and its status, the percentage drop that would bring a margin call, the result \
of each stress scenario (flag any FORCED LIQUIDATION warning verbatim), and which positions to \
reduce first if headroom is thin. Do not suggest placing orders; this server is read-only.",
    },
    Workflow {
        name: "pre_trade_check",
        title: "Pre-trade check",
        description: "What a trade would do to margin, concentration and risk before it is placed.",
        arguments: &[
            ("symbol", "Ticker, e.g. KRYX.", true),
            ("side", "BUY or SELL.", true),
            ("quantity", "Number of shares or contracts.", true),
        ],
        template: "Before I {side} {quantity} {symbol}, check what it would do.\n\
1. Call ibkr_what_if (symbol={symbol}, action={side}, quantity={quantity}) for the margin impact.\n\
2. Call ibkr_position_detail (symbol={symbol}) for the current holding, if any.\n\
3. Call ibkr_sector_exposure and ibkr_quote (symbols={symbol}).\n\
Report: the price and the trade's value in its currency; initial and maintenance margin before and \
after; the new weight of {symbol} and of its sector, flagging a concentration above the \
threshold; and a plain verdict (fits / tight / would breach). This is a what-if only: nothing is sent \
to the broker.",
    },
    Workflow {
        name: "thesis_review",
        title: "Thesis review of a news item",
        description: "Whether a news item confirms or threatens the investment thesis, and which holdings it touches.",
        arguments: &[("news_item", "The headline or paragraph to review.", true)],
        template: "Review this news against my investment thesis: \"{news_item}\"\n\
1. Call ibkr_thesis_check (news_item as above) for the verdict per pillar.\n\
2. Call ibkr_geopolitical_risk for the risk factors the news may raise.\n\
3. For each held symbol the news or a raised factor names, call ibkr_position_detail.\n\
Report: the overall verdict and each pillar's, with the keywords that matched; the exposure at risk \
in the base currency; and whether anything changes the thesis or only needs watching. Say that the \
check is keyword-based where nuance matters.",
    },
];

/// Every prompt, for `prompts/list`.
pub fn list() -> Vec<Prompt> {
    WORKFLOWS
        .iter()
        .map(|w| {
            let args = w
                .arguments
                .iter()
                .map(|(name, description, required)| {
                    PromptArgument::new(*name)
                        .with_description(*description)
                        .with_required(*required)
                })
                .collect();
            Prompt::new(w.name, Some(w.description), Some(args)).with_title(w.title)
        })
        .collect()
}

/// `prompts/get`: the prompt's text with its arguments filled in. An unknown prompt or a missing
/// required argument is an invalid-params error that says what is accepted.
pub fn get(
    name: &str,
    arguments: Option<&Map<String, Value>>,
) -> Result<GetPromptResult, ErrorData> {
    let Some(w) = WORKFLOWS.iter().find(|w| w.name == name) else {
        let names: Vec<&str> = WORKFLOWS.iter().map(|w| w.name).collect();
        return Err(ErrorData::invalid_params(
            format!("unknown prompt '{name}'; prompts: {}", names.join(", ")),
            None,
        ));
    };
    let mut text = w.template.to_string();
    for (arg, _, required) in w.arguments {
        let value = arguments
            .and_then(|a| a.get(*arg))
            .map(|v| match v {
                Value::String(s) => s.trim().to_string(),
                other => other.to_string(),
            })
            .filter(|s| !s.is_empty());
        let value = match (value, required) {
            (Some(v), _) => v,
            (None, false) => "none given".to_string(),
            (None, true) => {
                let needed: Vec<&str> = w
                    .arguments
                    .iter()
                    .filter(|(_, _, r)| *r)
                    .map(|(n, _, _)| *n)
                    .collect();
                return Err(ErrorData::invalid_params(
                    format!(
                        "prompt '{name}' needs the argument '{arg}' (required: {})",
                        needed.join(", ")
                    ),
                    None,
                ));
            }
        };
        text = text.replace(&format!("{{{arg}}}"), &value);
    }
    Ok(
        GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
            .with_description(w.description),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_placeholder_has_an_argument_and_every_tool_exists() {
        for w in WORKFLOWS {
            let args: Map<String, Value> = w
                .arguments
                .iter()
                .map(|(n, _, _)| ((*n).to_string(), json!("X")))
                .collect();
            let text = match &get(w.name, Some(&args)).unwrap().messages[0].content {
                rmcp::model::ContentBlock::Text(t) => t.text.clone(),
                other => panic!("text expected: {other:?}"),
            };
            assert!(!text.contains('{'), "{}: {text}", w.name);
            for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if word.starts_with("ibkr_") {
                    assert!(crate::mcp::is_known_tool(word), "{}: {word}", w.name);
                }
            }
        }
    }
}
