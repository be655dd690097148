//! The cockpit's header while the gateway cannot be reached, fed by the real supervisor: the
//! fix comes first, the count of failed connection attempts is the supervisor's own (not the
//! count of successful reconnections, which stays 0), and at 80 columns the fix is shortened at
//! a word rather than cut off.

use crate::support::gateway::{config, wait_for};
use crate::support::tui::render;
use ibkr_cockpit::gateway::GatewayHandle;
use ibkr_cockpit::model::{ConnState, GatewayRole};
use ibkr_cockpit::store::Store;
use ibkr_cockpit::tui::app::{Action, App, Settings};
use ibkr_cockpit::tui::theme::Theme;
use ibkr_cockpit::tui::tool_infos;
use std::time::Duration;

#[tokio::test]
async fn a_missing_gateway_shows_the_fix_first_and_counts_failed_attempts() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let store = Store::in_memory();
    let gw = GatewayHandle::spawn(config(port), store.clone());
    // Backoff is 1 s then 2 s: two failed attempts arrive within a few seconds.
    let state = wait_for(
        &store,
        Duration::from_secs(20),
        "two failed attempts",
        |s| {
            s.gateways
                .get(&GatewayRole::Primary)
                .is_some_and(|g| g.failed_attempts >= 2)
        },
    )
    .await;
    gw.shutdown();
    let status = state.gateways[&GatewayRole::Primary].clone();
    assert_eq!(status.state, ConnState::Disconnected);
    assert_eq!(
        status.reconnects, 0,
        "never connected, so never reconnected"
    );

    let theme = Theme::built_in("dark").expect("dark theme");
    let mut app = App::new(theme, Settings::default(), tool_infos(), store.now());
    app.handle(Action::Tick(status.since + 21_000), &state);

    let wide = render(&app, &state, 240, 24).backend().to_string();
    let header = wide.lines().nth(1).unwrap_or_default();
    let attempts = format!("{} failed attempts", status.failed_attempts);
    let badge = header.find("disconnected").expect("the badge");
    let fix = header
        .find("start IB Gateway or TWS and enable API connections")
        .unwrap_or_else(|| panic!("the fix: {header}"));
    let facts = header
        .find(&attempts)
        .unwrap_or_else(|| panic!("`{attempts}`: {header}"));
    let cause = header
        .find(&format!("nothing is listening on 127.0.0.1 at port {port}"))
        .unwrap_or_else(|| panic!("the cause: {header}"));
    assert!(badge < fix && fix < facts && facts < cause, "{header}");
    assert!(header.contains("down 21s"), "{header}");

    let narrow = render(&app, &state, 80, 24).backend().to_string();
    let header = narrow.lines().nth(1).unwrap_or_default();
    // Badges (disconnected, STALE) keep their place; the fix gets what is left, whole words
    // and a `…`, never a word cut in half.
    let full = "start IB Gateway or TWS and enable API connections";
    let start = header
        .find("start ")
        .unwrap_or_else(|| panic!("the fix: {header}"));
    let shown: String = header[start..]
        .split('…')
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(shown.split(' ').count() >= 3, "{header}");
    assert!(
        full.starts_with(&shown) && full[shown.len()..].starts_with(' '),
        "`{shown}` is whole words of the fix: {header}"
    );
}
