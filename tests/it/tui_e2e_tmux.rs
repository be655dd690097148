//! End to end: the built binary in a real terminal (tmux). `demo --port P` at 200×50: every pane
//! on screen, the header's MCP URL on port P, an MCP call over it appears in the prompt pane,
//! `q` quits and the shell screen comes back. Started at 120×40 and enlarged to 200×50 before
//! quitting: no cockpit row is left behind. `tool NAME --help` prints the tool's parameters.
//! Skipped, with a message, when tmux is not installed.

use std::process::Command;
use std::time::{Duration, Instant};

/// Upper bound for each wait on the screen (not a performance assertion: polling stops early).
const WAIT: Duration = Duration::from_secs(60);

struct Tmux {
    socket: String,
    session: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("run tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn capture(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", &self.session])
    }

    /// Polls the screen until `pred` holds; returns the last screen either way.
    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let screen = self.capture();
            if pred(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

fn tmux_missing() -> bool {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("SKIPPED: tmux is not installed (.ci/run installs it)");
        return true;
    }
    false
}

/// A tmux server of its own running `script` in a `width`×`height` window.
fn start_tmux(name: &str, script: &str, width: u16, height: u16) -> Tmux {
    let tmux = Tmux {
        socket: format!("cockpit-{name}-{}", std::process::id()),
        session: "cockpit".into(),
    };
    let (w, h) = (width.to_string(), height.to_string());
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "cockpit",
        "-x",
        &w,
        "-y",
        &h,
        "sh",
        "-c",
        script,
    ]);
    tmux
}

/// The shell's environment for the binary: a private config, data and runtime dir.
fn private_env(dir: &std::path::Path) -> String {
    std::fs::create_dir_all(dir.join("run")).expect("runtime dir");
    format!(
        "XDG_DATA_HOME={d}/data XDG_CONFIG_HOME={d}/cfg XDG_RUNTIME_DIR={d}/run",
        d = dir.display()
    )
}

/// Words only the cockpit draws: none may be left on the shell's screen after it exits.
const COCKPIT_WORDS: [&str; 6] = ["Positions (", "NLV", "Margin", "Movers", "KRYX", "─"];

/// Started at 120×40, enlarged to 200×50 while running, then quit: the shell's screen comes
/// back exactly as it was — the line printed before the cockpit, then the one after, and not
/// one cockpit row (tmux used to keep the rows the enlargement added).
#[tokio::test]
async fn enlarging_then_quitting_leaves_no_cockpit_rows() {
    if tmux_missing() {
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let bin = env!("CARGO_BIN_EXE_ibkr-cockpit");
    let script = format!(
        "echo BEFORE-COCKPIT; {env} {bin} demo; echo COCKPIT-EXITED; sleep 60",
        env = private_env(tmp.path())
    );
    let tmux = start_tmux("enlarge", &script, 120, 40);
    tmux.wait_for("the cockpit at 120×40", |s| {
        s.contains("Positions (") && s.contains("KRYX")
    });
    tmux.run(&["resize-window", "-t", "cockpit", "-x", "200", "-y", "50"]);
    // At 200×50 every pane is on screen at once, the card tabs are gone.
    tmux.wait_for("the cockpit redrawn at 200×50", |s| {
        s.lines().count() >= 50
            && s.contains("Movers")
            && s.contains("Correlation ")
            && !s.contains("Tab/click switches")
    });
    tmux.run(&["send-keys", "-t", "cockpit", "q"]);
    let after = tmux.wait_for("the cockpit to exit", |s| s.contains("COCKPIT-EXITED"));
    let shown: Vec<&str> = after.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        shown,
        vec!["BEFORE-COCKPIT", "COCKPIT-EXITED"],
        "the shell's screen, restored:\n{after}"
    );
    for word in COCKPIT_WORDS {
        assert!(!after.contains(word), "`{word}` left on screen:\n{after}");
    }
}

/// `tool NAME --help` in a real terminal prints the tool's parameters, not the generic help.
#[tokio::test]
async fn tool_name_help_in_a_terminal_shows_the_parameters() {
    if tmux_missing() {
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let bin = env!("CARGO_BIN_EXE_ibkr-cockpit");
    let script = format!(
        "{env} {bin} tool ibkr_quote --help; echo TOOL-HELP-DONE; sleep 60",
        env = private_env(tmp.path())
    );
    let tmux = start_tmux("toolhelp", &script, 120, 40);
    let screen = tmux.wait_for("the tool's help", |s| s.contains("TOOL-HELP-DONE"));
    assert!(screen.contains("ibkr_quote — "), "{screen}");
    assert!(screen.contains("Parameters:"), "{screen}");
    assert!(screen.contains("symbols"), "{screen}");
    assert!(
        !screen.contains("Usage: ibkr-cockpit tool"),
        "not the generic `tool` help:\n{screen}"
    );
}

#[tokio::test]
async fn demo_runs_in_tmux_serves_mcp_and_restores_the_terminal() {
    if tmux_missing() {
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let bin = env!("CARGO_BIN_EXE_ibkr-cockpit");
    let tmux = Tmux {
        socket: format!("cockpit-e2e-{}", std::process::id()),
        session: "cockpit".into(),
    };
    // `--port` picks the MCP port; one that was free a moment ago.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    // The shell prints a marker after the cockpit exits, then waits, so the restored screen
    // can be captured.
    let script = format!(
        "XDG_DATA_HOME={d}/data XDG_CONFIG_HOME={d}/cfg XDG_RUNTIME_DIR={d}/run {bin} demo --port {port}; echo COCKPIT-EXITED; sleep 60",
        d = tmp.path().display()
    );
    std::fs::create_dir_all(tmp.path().join("run")).expect("runtime dir");
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "cockpit",
        "-x",
        "200",
        "-y",
        "50",
        "sh",
        "-c",
        &script,
    ]);

    let screen = tmux.wait_for("every pane", |s| {
        [
            "Positions (",
            "Margin",
            "Movers",
            "Correlation",
            "Prompt",
            "connected",
            "NLV",
        ]
        .iter()
        .all(|p| s.contains(p))
            && s.contains("KRYX")
    });
    let url = screen
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:") && w.ends_with("/mcp"))
        .expect("the header shows the MCP URL")
        .to_string();
    assert_eq!(url, format!("http://127.0.0.1:{port}/mcp"), "demo --port");

    let body = serde_json::json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": { "name": "ibkr_get_positions", "arguments": {} }
    });
    let response = tokio::time::timeout(
        WAIT,
        reqwest::Client::new()
            .post(&url)
            .header("accept", "application/json, text/event-stream")
            .json(&body)
            .send(),
    )
    .await
    .expect("MCP answers in time")
    .expect("MCP call");
    assert!(
        response.status().is_success(),
        "MCP status {}",
        response.status()
    );
    tmux.wait_for("the MCP call in the prompt pane", |s| {
        s.contains("ibkr_get_positions")
    });

    tmux.run(&["send-keys", "-t", "cockpit", "q"]);
    let after = tmux.wait_for("the cockpit to exit", |s| s.contains("COCKPIT-EXITED"));
    assert!(
        !after.contains("Positions ("),
        "the cockpit's screen is gone:\n{after}"
    );
    assert!(!after.contains("panicked"), "no panic:\n{after}");
}
