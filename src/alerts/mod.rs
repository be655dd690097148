//! Alerts: rules from the config's `[[alerts]]` (`rules`), evaluated against the live state
//! whenever it changes (`eval`, `engine`), with hysteresis so a value hovering at its line
//! fires once. A firing is shown in the cockpit, stored in SQLite (`store::alerts`), sent to
//! MCP clients as a log notification, and may run the user's command (`command`).

pub mod command;
pub mod engine;
pub mod eval;
pub mod rules;

pub use rules::{AlertConfig, Kind, Rule};

/// Starts the alert task for the config's rules (checked when the config was loaded; a rule
/// that fails here is logged and the rest still run).
pub fn start(store: crate::store::Store, config: &crate::config::Config) {
    let rules = match rules::compile(&config.alerts) {
        Ok(rules) => rules,
        Err(e) => {
            tracing::warn!(
                "alerts disabled: {}: expected {}, found {}",
                e.key,
                e.expected,
                e.found
            );
            Vec::new()
        }
    };
    engine::spawn(store, rules);
}
