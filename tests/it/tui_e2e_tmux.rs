//! End to end: the built binary's `demo` in a real terminal (tmux, 200×50). Checks every pane is
//! on screen, makes an MCP call over the embedded HTTP endpoint (URL read off the header) and
//! sees it appear in the prompt pane, quits with `q` and checks the shell screen came back.
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

#[tokio::test]
async fn demo_runs_in_tmux_serves_mcp_and_restores_the_terminal() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("SKIPPED: tmux is not installed (.ci/run installs it)");
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let bin = env!("CARGO_BIN_EXE_ibkr-cockpit");
    let tmux = Tmux {
        socket: format!("cockpit-e2e-{}", std::process::id()),
        session: "cockpit".into(),
    };
    // The shell prints a marker after the cockpit exits, then waits, so the restored screen
    // can be captured.
    let script = format!(
        "XDG_DATA_HOME={d}/data XDG_CONFIG_HOME={d}/cfg XDG_RUNTIME_DIR={d}/run {bin} demo; echo COCKPIT-EXITED; sleep 60",
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
