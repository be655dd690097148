//! What a newcomer runs around the cockpit: the annotated example config loads, the generated
//! shell completions and man page cover every subcommand, `tool NAME --help` shows the tool's
//! parameters, every flag has help text, and `demo --print-frame` draws the README's picture.
//! All through the built binary, as a user runs it.

use std::path::Path;
use std::process::{Command, Output};

const SUBCOMMANDS: [&str; 9] = [
    "tui",
    "demo",
    "mcp",
    "serve",
    "tool",
    "sim-gateway",
    "doctor",
    "completions",
    "man",
];

/// Runs the binary with a private config/data/runtime home (so no user file is read).
fn run(args: &[&str]) -> (Output, tempfile::TempDir) {
    let home = tempfile::tempdir().expect("temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_ibkr-cockpit"))
        .args(args)
        .env("XDG_CONFIG_HOME", home.path().join("cfg"))
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_RUNTIME_DIR", home.path().join("run"))
        .env_remove("IBKR_COCKPIT_CONFIG")
        .output()
        .expect("run ibkr-cockpit");
    (out, home)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_example_config_loads_and_says_what_it_sets() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/config.toml");
    let config =
        ibkr_cockpit::config::load(Some(&path), &|_| None).expect("examples/config.toml loads");
    assert_eq!(config.gateway.port, Some(4002));
    assert_eq!(config.gateway.client_id, 17);
    assert_eq!(config.mcp.http_port, 8787);
    assert_eq!(
        config.sectors.get("SMH").map(String::as_str),
        Some("Technology")
    );
    // Defaults it does not mention are kept.
    assert_eq!(
        config.sectors.get("XLE").map(String::as_str),
        Some("Energy")
    );
}

#[test]
fn completions_name_every_subcommand_in_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let (out, _home) = run(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {out:?}");
        let text = stdout(&out);
        for sub in SUBCOMMANDS {
            assert!(text.contains(sub), "{shell} completion lacks `{sub}`");
        }
    }
    let (out, _home) = run(&["completions", "tcsh"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bash") && err.contains("zsh"),
        "says what is accepted: {err}"
    );
}

#[test]
fn the_man_page_names_every_subcommand() {
    let (out, _home) = run(&["man"]);
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    assert!(
        text.starts_with(".ie") || text.contains(".TH ibkr-cockpit"),
        "roff: {text}"
    );
    for sub in SUBCOMMANDS {
        let roff = sub.replace('-', "\\-");
        assert!(
            text.contains(sub) || text.contains(&roff),
            "man page lacks `{sub}`"
        );
    }
}

#[test]
fn tool_name_help_shows_the_tools_parameters_both_ways() {
    for args in [
        ["tool", "ibkr_quote", "--help"],
        ["tool", "ibkr_quote", "help"],
        ["tool", "ibkr_quote", "-h"],
    ] {
        let (out, _home) = run(&args);
        assert!(out.status.success(), "{args:?}: {out:?}");
        let text = stdout(&out);
        assert!(text.starts_with("ibkr_quote — "), "{args:?}: {text}");
        assert!(
            text.contains("Parameters:") && text.contains("symbols"),
            "{text}"
        );
    }
    // Without a tool name, `--help` is the subcommand's own help.
    let (out, _home) = run(&["tool", "--help"]);
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    assert!(text.contains("Usage:") && text.contains("--list"), "{text}");
}

/// Every flag and argument of every subcommand has help text, read off each `--help`.
#[test]
fn every_flag_has_help_text() {
    for sub in SUBCOMMANDS {
        if sub == "man" || sub == "doctor" {
            continue;
        }
        let (out, _home) = run(&[sub, "--help"]);
        assert!(out.status.success(), "{sub} --help: {out:?}");
        let text = stdout(&out);
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let item = line.trim_start();
            let is_flag = item.starts_with("--") || (item.starts_with('-') && item.len() > 1);
            if !is_flag {
                continue;
            }
            // `--flag <VALUE>   What it does` on one line, or (when clap runs out of width) the
            // text on the next line, indented further.
            let same_line = item.split("  ").filter(|s| !s.trim().is_empty()).count() >= 2;
            let indent = line.len() - item.len();
            let next_line = lines.get(i + 1).is_some_and(|next| {
                let text = next.trim_start();
                !text.is_empty() && !text.starts_with('-') && next.len() - text.len() > indent
            });
            assert!(same_line || next_line, "`{sub}`: no help text on `{item}`");
        }
    }
}

#[test]
fn demo_print_frame_draws_the_cockpit_from_the_simulator() {
    let (out, _home) = run(&["demo", "--print-frame", "100x30"]);
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 30, "{text}");
    assert!(lines.iter().all(|l| l.chars().count() <= 100), "{text}");
    for part in ["ibkr-cockpit", "NLV", "Positions (7)", "KRYX", "connected"] {
        assert!(text.contains(part), "`{part}` on screen:\n{text}");
    }
    let (out, _home) = run(&["demo", "--print-frame", "wide"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("COLSxROWS"), "{err}");
}

/// With nothing to talk to, `doctor` still says which config it used, then the fix.
#[test]
fn doctor_names_its_config_even_when_the_gateway_is_missing() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let home = tempfile::tempdir().expect("temp dir");
    let config = home.path().join("my.toml");
    std::fs::write(&config, "[display]\ntheme = \"light\"\n").expect("write config");
    let out = Command::new(env!("CARGO_BIN_EXE_ibkr-cockpit"))
        .args(["--config", &config.display().to_string(), "doctor"])
        .env("XDG_CONFIG_HOME", home.path().join("cfg"))
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_RUNTIME_DIR", home.path().join("run"))
        .env("IBKR_PORT", port.to_string())
        .output()
        .expect("run doctor");
    assert!(!out.status.success());
    let text = stdout(&out);
    let first = text.lines().next().unwrap_or_default();
    assert_eq!(first, format!("config: {}", config.display()), "{text}");
    assert!(
        text.contains(&format!("{port}")),
        "names the port it tried: {text}"
    );
    assert!(
        text.contains("Start IB Gateway or TWS"),
        "says what to do: {text}"
    );
}

/// The pane titles of a drawn frame (`┌ Margin ──` → `Margin`), digits masked.
fn pane_titles(frame: &str) -> Vec<String> {
    frame
        .split('┌')
        .skip(1)
        .filter_map(|rest| {
            let title = rest.strip_prefix(' ')?.split(" ─").next()?;
            Some(
                title
                    .chars()
                    .map(|c| if c.is_ascii_digit() { '0' } else { c })
                    .collect(),
            )
        })
        .collect()
}

/// The README's picture is what `demo --print-frame 140x36` prints: same size, same panes with
/// the same titles (the clock and the ticking prices aside).
#[test]
fn the_readme_picture_is_the_print_frame_output() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let command = "demo --print-frame 140x36";
    assert!(readme.contains(command), "the README names its command");
    let picture = readme
        .split("```text\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("a ```text block with the picture");
    let (out, _home) = run(&["demo", "--print-frame", "140x36"]);
    assert!(out.status.success(), "{out:?}");
    let fresh = stdout(&out);
    assert_eq!(picture.lines().count(), fresh.lines().count(), "{picture}");
    assert_eq!(pane_titles(picture), pane_titles(&fresh), "{fresh}");
    assert_eq!(
        pane_titles(&fresh).len(),
        5,
        "every pane at 140×36: {fresh}"
    );
}

/// docs/tools.md is the registry's own catalogue: every tool, its parameters as `tool --help`
/// gives them, its description. `UPDATE_DOCS=1` rewrites the file after a tool changes.
#[test]
fn the_tool_catalogue_page_matches_the_registry() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/tools.md");
    let generated = ibkr_cockpit::mcp::cli_tool::catalogue_markdown();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).expect("write docs/tools.md");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/tools.md is out of date with the tool registry; run \
         `UPDATE_DOCS=1 cargo test --test it catalogue` and commit the file"
    );
    for spec in ibkr_cockpit::tools::catalog() {
        assert!(
            committed.contains(&format!("| `{}` |", spec.name)),
            "{}",
            spec.name
        );
    }
}
