//! Config loading: defaults, user file, environment, and the messages a user sees when any of
//! them is wrong. Fixtures live in tests/data/config/.

use ibkr_cockpit::config::{self, Config, ConfigError, STALL_TIMEOUT};
use ibkr_cockpit::model::GatewayRole;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/config")
        .join(name)
}

/// An environment holding exactly `vars` (the process environment is never read).
fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k: &str| map.get(k).cloned()
}

fn load(name: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    config::load(Some(&fixture(name)), &env_of(vars))
}

fn error_text(name: &str, vars: &[(&str, &str)]) -> String {
    match load(name, vars) {
        Ok(cfg) => panic!("{name} should not load, got {cfg:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn defaults_alone_when_no_file_exists() {
    let home = tempfile::tempdir().unwrap();
    let xdg = home.path().to_string_lossy().to_string();
    let cfg = config::load(None, &env_of(&[("XDG_CONFIG_HOME", &xdg)])).unwrap();
    assert_eq!(cfg, Config::defaults().unwrap());
    assert_eq!(cfg, Config::default());
    assert_eq!(cfg.gateway.host, "127.0.0.1");
    assert_eq!(cfg.gateway.port, None, "no port: auto-detect");
    assert_eq!(cfg.gateway.client_id, 17);
    assert_eq!(cfg.gateway.market_data_type, 4);
    assert!(cfg.secondary.is_none());
    assert_eq!(cfg.mcp.bind, "127.0.0.1");
    assert_eq!(cfg.data.cache_max_age_secs, 3600);
    assert!(cfg.display.mask_accounts);
    assert_eq!(cfg.thresholds.cushion_danger, 0.05);
    assert_eq!(cfg.sectors.get("XLE").map(String::as_str), Some("Energy"));
}

#[test]
fn default_location_is_read_from_xdg_config_home() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("ibkr-cockpit");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.toml"), "[gateway]\nport = 4999\n").unwrap();
    let xdg = home.path().to_string_lossy().to_string();
    let cfg = config::load(None, &env_of(&[("XDG_CONFIG_HOME", &xdg)])).unwrap();
    assert_eq!(cfg.gateway.port, Some(4999));
}

#[test]
fn explicit_missing_file_is_an_error_naming_it() {
    let text = match config::load(
        Some(Path::new("/nonexistent/dir/cockpit.toml")),
        &env_of(&[]),
    ) {
        Ok(_) => panic!("a missing explicit file must not load"),
        Err(e) => e.to_string(),
    };
    assert!(text.contains("/nonexistent/dir/cockpit.toml"), "{text}");
}

#[test]
fn complete_file_sets_every_field() {
    let cfg = load("good.toml", &[]).unwrap();
    assert_eq!(cfg.gateway.host, "10.0.0.5");
    assert_eq!(cfg.gateway.port, Some(4001));
    assert_eq!(cfg.gateway.client_id, 3);
    assert_eq!(cfg.gateway.account.as_deref(), Some("U7654321"));
    assert_eq!(cfg.gateway.market_data_type, 1);
    let s = cfg.secondary.clone().unwrap();
    assert_eq!(
        (s.host.as_str(), s.port, s.client_id, s.market_data_type),
        ("10.0.0.6", Some(4012), 9, 3)
    );
    assert_eq!(cfg.mcp.bind, "0.0.0.0");
    assert_eq!(cfg.mcp.http_port, 9000);
    assert_eq!(cfg.mcp.token.as_deref(), Some("s3cret"));
    assert_eq!(cfg.socket_path(), PathBuf::from("/tmp/cockpit-test.sock"));
    assert_eq!(
        cfg.mcp.allowed_origins,
        vec!["http://localhost:6274".to_string()]
    );
    assert_eq!(cfg.db_path(), PathBuf::from("/tmp/cockpit-test.db"));
    assert_eq!(cfg.files_dir(), PathBuf::from("/tmp/cockpit-files"));
    assert_eq!(
        (cfg.data.cache_max_age_secs, cfg.data.stale_after_secs),
        (600, 10)
    );
    assert!(!cfg.display.mask_accounts);
    assert_eq!(cfg.display.theme, "light");
    assert_eq!(cfg.thresholds.leverage_danger, 2.5);
    assert_eq!(cfg.thresholds.concentration_pct, 0.30);
    // The user's sectors are added to the default mapping, not replacing it.
    assert_eq!(
        cfg.sectors.get("KRYX").map(String::as_str),
        Some("Materials")
    );
    assert_eq!(
        cfg.sectors.get("XLF").map(String::as_str),
        Some("Financials")
    );
}

#[test]
fn partial_file_is_merged_over_defaults() {
    let cfg = load("partial.toml", &[]).unwrap();
    let defaults = Config::default();
    assert_eq!(cfg.gateway.port, Some(4002));
    assert_eq!(cfg.gateway.host, defaults.gateway.host);
    assert_eq!(cfg.gateway.client_id, 17);
    assert_eq!(cfg.thresholds.concentration_pct, 0.40);
    assert_eq!(
        cfg.thresholds.cushion_watch,
        defaults.thresholds.cushion_watch
    );
    assert_eq!(cfg.mcp, defaults.mcp);
    // A secondary section with only a port borrows host and data type, and takes the next id.
    let s = cfg.secondary.unwrap();
    assert_eq!(
        (s.host.as_str(), s.port, s.client_id, s.market_data_type),
        ("127.0.0.1", Some(4012), 18, 4)
    );
}

#[test]
fn wrong_type_names_file_line_key_and_what_is_accepted() {
    let text = error_text("bad_type.toml", &[]);
    assert!(
        text.ends_with(
            "bad_type.toml line 4: gateway.port: expected an integer 1–65535, found \"abc\""
        ),
        "{text}"
    );
}

#[test]
fn unknown_key_is_named_with_its_line() {
    let text = error_text("unknown_key.toml", &[]);
    assert!(
        text.contains("unknown_key.toml line 6: display.colour: unknown key"),
        "{text}"
    );
    assert!(
        text.contains("mask_accounts") && text.contains("theme"),
        "lists accepted keys: {text}"
    );

    let text = error_text("unknown_section.toml", &[]);
    assert!(
        text.contains("unknown_section.toml line 4: gatway: unknown key"),
        "{text}"
    );
    assert!(text.contains("gateway"), "{text}");
}

#[test]
fn out_of_range_values_name_line_key_and_range() {
    let text = error_text("bad_range.toml", &[]);
    assert!(
        text.ends_with(
            "bad_range.toml line 2: gateway.market_data_type: expected an integer 1–4 \
             (1 live, 2 frozen, 3 delayed, 4 delayed-frozen), found 7"
        ),
        "{text}"
    );
    let text = error_text("bad_order.toml", &[]);
    assert!(
        text.ends_with(
            "bad_order.toml line 3: thresholds.cushion_danger: expected a fraction below \
             thresholds.cushion_watch (0.05), found 0.10"
        ),
        "{text}"
    );
}

#[test]
fn stall_keys_out_of_range_name_what_is_accepted() {
    let text = error_text("bad_stall.toml", &[]);
    assert!(
        text.ends_with(
            "bad_stall.toml line 3: gateway.stall_timeout_secs: expected a whole number of \
             seconds, 6–3600 (longer than the 5 s heartbeat deadline; 20 by default), found 5"
        ),
        "{text}"
    );
    let text = error_text("bad_symbol_stall.toml", &[]);
    assert!(
        text.ends_with(
            "bad_symbol_stall.toml line 8: secondary.symbol_stall_secs: expected a whole number \
             of seconds, 2–3600, or 0 to turn the per-symbol rule off (30 by default), found 1"
        ),
        "{text}"
    );
    // The defaults: reconnect after 20 s of silence, a symbol stale after 30 s without a tick.
    let (primary, _) = Config::defaults().unwrap().gateway_configs();
    assert_eq!(primary.stall_timeout, STALL_TIMEOUT);
    assert_eq!(primary.stall_timeout, Duration::from_secs(20));
    assert_eq!(primary.symbol_stall, Duration::from_secs(30));
}

#[test]
fn toml_syntax_errors_name_the_line() {
    let text = error_text("bad_syntax.toml", &[]);
    assert!(
        text.contains("bad_syntax.toml line 3: invalid TOML"),
        "{text}"
    );
}

#[test]
fn binding_beyond_loopback_requires_a_token() {
    let text = error_text("exposed.toml", &[]);
    assert!(text.contains("exposed.toml line 2: mcp.bind"), "{text}");
    assert!(text.contains("mcp.token"), "{text}");
    // A token from the environment satisfies it.
    let cfg = load("exposed.toml", &[("IBKR_COCKPIT_TOKEN", "t0ken")]).unwrap();
    assert_eq!(cfg.mcp.token.as_deref(), Some("t0ken"));
}

#[test]
fn environment_overrides_the_file() {
    let cfg = load(
        "good.toml",
        &[
            ("IBKR_HOST", "gw.local"),
            ("IBKR_PORT", "4002"),
            ("IBKR_CLIENT_ID", "44"),
            ("IBKR_ACCOUNT", "U9999999"),
            ("IBKR_MARKET_DATA_TYPE", "3"),
            ("IBKR_HOST_2", "gw2.local"),
            ("IBKR_PORT_2", "4022"),
            ("IBKR_CLIENT_ID_2", "45"),
            ("IBKR_ACCOUNT_2", "U8888888"),
            ("MCP_HTTP_PORT", "8123"),
            ("MCP_HTTP_TOKEN", "from-seed"),
            ("IBKR_DB_PATH", "/tmp/other.db"),
            ("IBKR_CACHE_MAX_AGE", "120"),
        ],
    )
    .unwrap();
    assert_eq!(cfg.gateway.host, "gw.local");
    assert_eq!(cfg.gateway.port, Some(4002));
    assert_eq!(cfg.gateway.client_id, 44);
    assert_eq!(cfg.gateway.account.as_deref(), Some("U9999999"));
    assert_eq!(cfg.gateway.market_data_type, 3);
    let s = cfg.secondary.clone().unwrap();
    assert_eq!(s.host, "gw2.local");
    assert_eq!(s.port, Some(4022));
    assert_eq!(s.client_id, 45);
    assert_eq!(s.account.as_deref(), Some("U8888888"));
    assert_eq!(cfg.mcp.http_port, 8123);
    assert_eq!(cfg.mcp.token.as_deref(), Some("from-seed"));
    assert_eq!(cfg.db_path(), PathBuf::from("/tmp/other.db"));
    assert_eq!(cfg.data.cache_max_age_secs, 120);
}

#[test]
fn seed_project_variable_names_are_honoured_and_ours_win() {
    let cfg = config::load(
        None,
        &env_of(&[
            ("XDG_CONFIG_HOME", "/nonexistent-config-home"),
            ("IB_HOST", "seed.local"),
            ("IB_PORT", "7497"),
            ("IB_CLIENT_ID", "5"),
            ("PRIMARY_ACCOUNT", "U1000001"),
            ("IB_MARKET_DATA_TYPE", "2"),
            ("IB_PORT_2", "7498"),
            ("IB_CLIENT_ID_2", "6"),
            ("SECONDARY_ACCOUNT", "U1000002"),
            ("MCP_HTTP_TOKEN", "seed-token"),
            ("IBKR_COCKPIT_TOKEN", "our-token"),
            // Empty means unset: the seed name below it applies.
            ("IBKR_PORT", ""),
        ]),
    )
    .unwrap();
    assert_eq!(cfg.gateway.host, "seed.local");
    assert_eq!(cfg.gateway.port, Some(7497));
    assert_eq!(cfg.gateway.client_id, 5);
    assert_eq!(cfg.gateway.account.as_deref(), Some("U1000001"));
    assert_eq!(cfg.gateway.market_data_type, 2);
    let s = cfg.secondary.clone().unwrap();
    // Created from the environment: primary's host and data type, its own port/id/account.
    assert_eq!(
        (s.host.as_str(), s.port, s.client_id, s.market_data_type),
        ("seed.local", Some(7498), 6, 2)
    );
    assert_eq!(s.account.as_deref(), Some("U1000002"));
    assert_eq!(cfg.mcp.token.as_deref(), Some("our-token"));
}

#[test]
fn bad_environment_values_name_the_variable() {
    let text = error_text("partial.toml", &[("IBKR_PORT", "abc")]);
    assert_eq!(
        text,
        "environment variable IBKR_PORT: expected an integer 1–65535, found \"abc\""
    );
    let text = error_text("partial.toml", &[("IB_PORT", "0")]);
    assert_eq!(
        text,
        "environment variable IB_PORT: expected an integer 1–65535, found \"0\""
    );
    let text = error_text("partial.toml", &[("IBKR_CACHE_MAX_AGE", "1h")]);
    assert_eq!(
        text,
        "environment variable IBKR_CACHE_MAX_AGE: expected a whole number of seconds, found \"1h\""
    );
    // Parses as a number but fails validation: still attributed to the variable.
    let text = error_text("partial.toml", &[("IB_MARKET_DATA_TYPE", "9")]);
    assert!(text.starts_with("environment variable IB_MARKET_DATA_TYPE: gateway.market_data_type: expected an integer 1–4"), "{text}");
}

#[test]
fn gateway_configs_convert_both_gateways() {
    let cfg = load("good.toml", &[]).unwrap();
    let (primary, secondary) = cfg.gateway_configs();
    assert_eq!(primary.role, GatewayRole::Primary);
    assert_eq!(
        (primary.host.as_str(), primary.port, primary.client_id),
        ("10.0.0.5", Some(4001), 3)
    );
    assert_eq!(primary.account.as_deref(), Some("U7654321"));
    assert_eq!(primary.market_data_type, 1);
    assert_eq!(primary.stall_timeout, Duration::from_secs(45));
    assert_eq!(primary.symbol_stall, Duration::ZERO, "0 turns the rule off");
    let secondary = secondary.unwrap();
    assert_eq!(secondary.role, GatewayRole::Secondary);
    assert_eq!((secondary.port, secondary.client_id), (Some(4012), 9));

    let (_, none) = Config::default().gateway_configs();
    assert!(none.is_none());
}

#[test]
fn directories_follow_xdg_variables() {
    let env = env_of(&[
        ("XDG_CONFIG_HOME", "/x/config"),
        ("XDG_DATA_HOME", "/x/data"),
        ("XDG_RUNTIME_DIR", "/run/user/1000"),
    ]);
    assert_eq!(
        config::config_dir_in(&env),
        PathBuf::from("/x/config/ibkr-cockpit")
    );
    assert_eq!(
        config::default_config_path_in(&env),
        PathBuf::from("/x/config/ibkr-cockpit/config.toml")
    );
    assert_eq!(
        config::data_dir_in(&env),
        PathBuf::from("/x/data/ibkr-cockpit")
    );
    assert_eq!(
        config::runtime_socket_path_in(&env),
        PathBuf::from("/run/user/1000/ibkr-cockpit/mcp.sock")
    );
    // No runtime dir: the socket goes in the data dir.
    let env = env_of(&[("XDG_DATA_HOME", "/x/data")]);
    assert_eq!(
        config::runtime_socket_path_in(&env),
        PathBuf::from("/x/data/ibkr-cockpit/mcp.sock")
    );
    // The process-environment variants agree with themselves.
    assert!(config::default_db_path().ends_with("ibkr-cockpit/cockpit.db"));
    assert!(config::runtime_socket_path().ends_with("ibkr-cockpit/mcp.sock"));
}
