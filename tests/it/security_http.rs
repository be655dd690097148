//! HTTP security on every route: a non-loopback bind needs a token; a wrong or missing token is
//! 401 and journaled as refused; a foreign Host or Origin is 403 (DNS rebinding); a 2 MiB body
//! is 413; a slow request is cut off without holding up anyone else. And `/metrics` is valid
//! Prometheus text that counts the calls made.

use crate::support::STEP;
use crate::support::world;

use ibkr_cockpit::config::Config;
use ibkr_cockpit::mcp::{self, HttpLimits};
use ibkr_cockpit::store::Store;
use ibkr_cockpit::tools::ToolContext;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HOST, ORIGIN};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "correct-horse-battery-staple";

fn offline_ctx(config: Config) -> ToolContext {
    ToolContext {
        store: Store::in_memory(),
        gateways: None,
        config: Arc::new(config),
        remote: None,
    }
}

/// A server with a token and an allowed browser origin, over the simulated book.
async fn secured() -> (world::Harness, SocketAddr, CancellationToken) {
    let mut config = world::default_config();
    config.mcp.token = Some(TOKEN.into());
    config.mcp.allowed_origins = vec!["https://dashboard.example".into()];
    let world = world::start_live_clock_with(config).await;
    let cancel = CancellationToken::new();
    let limits = HttpLimits {
        request_timeout: Duration::from_secs(2),
    };
    let (addr, _task) = mcp::serve_http_with(
        world.ctx.clone(),
        "127.0.0.1:0".parse().expect("addr"),
        cancel.clone(),
        limits,
    )
    .await
    .expect("serves");
    (world, addr, cancel)
}

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

async fn status(req: reqwest::RequestBuilder) -> StatusCode {
    timeout(STEP, req.send())
        .await
        .expect("answer in time")
        .expect("request")
        .status()
}

#[tokio::test]
async fn non_loopback_bind_without_token_refuses_to_start() {
    let config = world::default_config();
    let err = mcp::serve_http(
        offline_ctx(config),
        "0.0.0.0:0".parse().expect("addr"),
        CancellationToken::new(),
    )
    .await
    .expect_err("refused")
    .to_string();
    assert!(err.contains("token"), "{err}");
    assert!(
        err.contains("IBKR_COCKPIT_TOKEN"),
        "says how to set one: {err}"
    );
}

#[tokio::test]
async fn missing_or_wrong_token_is_401_and_journaled() {
    let (world, addr, cancel) = secured().await;
    let http = reqwest::Client::new();
    let url = format!("http://{addr}/api/summary");
    assert_eq!(status(http.get(&url)).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        status(http.get(&url).header(AUTHORIZATION, "Bearer nope")).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(http.post(format!("http://{addr}/mcp")).body("{}")).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(http.get(&url).header(AUTHORIZATION, bearer())).await,
        StatusCode::OK
    );
    let journal = world.ctx.store.snapshot().journal;
    let refused: Vec<_> = journal
        .iter()
        .filter(|r| {
            r.error
                .as_deref()
                .is_some_and(|e| e.starts_with("refused:"))
        })
        .collect();
    assert_eq!(refused.len(), 3, "{refused:?}");
    assert_eq!(refused[0].tool, "GET /api/summary");
    assert!(refused.iter().all(|r| !r.ok));
    let metrics = http
        .get(format!("http://{addr}/metrics"))
        .header(AUTHORIZATION, bearer())
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("ibkr_cockpit_http_refused_total 3"),
        "{metrics}"
    );
    cancel.cancel();
    world.shutdown().await;
}

#[tokio::test]
async fn foreign_host_or_origin_is_403_on_every_route() {
    let (world, addr, cancel) = secured().await;
    let http = reqwest::Client::new();
    for path in ["/healthz", "/mcp", "/api/summary", "/metrics", "/nope"] {
        let url = format!("http://{addr}{path}");
        assert_eq!(
            status(
                http.get(&url)
                    .header(HOST, "evil.example")
                    .header(AUTHORIZATION, bearer())
            )
            .await,
            StatusCode::FORBIDDEN,
            "Host on {path}"
        );
        assert_eq!(
            status(
                http.get(&url)
                    .header(ORIGIN, "https://evil.example")
                    .header(AUTHORIZATION, bearer())
            )
            .await,
            StatusCode::FORBIDDEN,
            "Origin on {path}"
        );
    }
    let summary = format!("http://{addr}/api/summary");
    for origin in ["https://dashboard.example", "http://localhost:5173"] {
        assert_eq!(
            status(
                http.get(&summary)
                    .header(ORIGIN, origin)
                    .header(AUTHORIZATION, bearer())
            )
            .await,
            StatusCode::OK,
            "{origin} allowed"
        );
    }
    assert_eq!(
        status(
            http.get(&summary)
                .header(HOST, "localhost")
                .header(AUTHORIZATION, bearer())
        )
        .await,
        StatusCode::OK
    );
    cancel.cancel();
    world.shutdown().await;
}

#[tokio::test]
async fn two_mib_body_is_413() {
    let (world, addr, cancel) = secured().await;
    let http = reqwest::Client::new();
    let big = vec![b'x'; 2 * 1024 * 1024];
    for path in ["/mcp", "/api/summary"] {
        assert_eq!(
            status(
                http.post(format!("http://{addr}{path}"))
                    .header(AUTHORIZATION, bearer())
                    .body(big.clone())
            )
            .await,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{path}"
        );
    }
    cancel.cancel();
    world.shutdown().await;
}

#[tokio::test]
async fn slow_request_is_cut_off_without_holding_up_others() {
    let (world, addr, cancel) = secured().await;
    // Promise a body and never send it.
    let mut slow = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{",
        bearer()
    );
    slow.write_all(head.as_bytes()).await.expect("write");
    // Meanwhile another client is served.
    let http = reqwest::Client::new();
    assert_eq!(
        status(http.get(format!("http://{addr}/healthz"))).await,
        StatusCode::OK
    );
    let mut answer = Vec::new();
    timeout(STEP, slow.read_to_end(&mut answer))
        .await
        .expect("the slow request is cut off in time")
        .expect("read");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    cancel.cancel();
    world.shutdown().await;
}

/// One sample line: `name{labels} value`.
fn parse_sample(line: &str) -> (String, BTreeMap<String, String>, f64) {
    let (series, value) = line.rsplit_once(' ').expect("name and value");
    let value: f64 = match value {
        "+Inf" => f64::INFINITY,
        v => v
            .parse()
            .unwrap_or_else(|_| panic!("numeric value: {line}")),
    };
    let (name, labels) = match series.split_once('{') {
        Some((n, rest)) => {
            let body = rest.strip_suffix('}').expect("labels close");
            let labels = body
                .split("\",")
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once("=\"").expect("label=\"value\"");
                    (k.to_string(), v.trim_end_matches('"').to_string())
                })
                .collect();
            (n.to_string(), labels)
        }
        None => (series.to_string(), BTreeMap::new()),
    };
    assert!(
        name.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
            && !name.starts_with(|c: char| c.is_ascii_digit()),
        "metric name: {name}"
    );
    (name, labels, value)
}

#[tokio::test]
async fn metrics_are_prometheus_text_and_count_calls() {
    let (world, addr, cancel) = secured().await;
    let http = reqwest::Client::new();
    for path in ["/api/summary", "/api/summary", "/api/positions"] {
        assert_eq!(
            status(
                http.get(format!("http://{addr}{path}"))
                    .header(AUTHORIZATION, bearer())
            )
            .await,
            StatusCode::OK
        );
    }
    let response = http
        .get(format!("http://{addr}/metrics"))
        .header(AUTHORIZATION, bearer())
        .send()
        .await
        .expect("metrics");
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = response.text().await.expect("text");

    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            types.insert(name.to_string(), kind.to_string());
        } else if line.starts_with("# HELP ") {
            continue;
        } else {
            assert!(!line.starts_with('#'), "only HELP/TYPE comments: {line}");
            samples.push(parse_sample(line));
        }
    }
    for (name, _, _) in &samples {
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s)
                    .filter(|f| types.get(*f).is_some_and(|k| k == "histogram"))
            })
            .unwrap_or(name);
        assert!(types.contains_key(family), "{name} has a TYPE line");
    }
    let value = |name: &str, tool: &str| -> f64 {
        samples
            .iter()
            .find(|(n, l, _)| n == name && l.get("tool").map(String::as_str) == Some(tool))
            .map(|(_, _, v)| *v)
            .unwrap_or_else(|| panic!("{name}{{tool=\"{tool}\"}} in\n{text}"))
    };
    assert_eq!(
        value("ibkr_cockpit_tool_calls_total", "ibkr_get_account_summary"),
        2.0
    );
    assert_eq!(
        value("ibkr_cockpit_tool_calls_total", "ibkr_get_positions"),
        1.0
    );
    assert_eq!(
        value("ibkr_cockpit_tool_errors_total", "ibkr_get_account_summary"),
        0.0
    );
    assert_eq!(
        value(
            "ibkr_cockpit_tool_duration_seconds_count",
            "ibkr_get_account_summary"
        ),
        2.0
    );
    // Buckets are cumulative and end at the count.
    let buckets: Vec<f64> = samples
        .iter()
        .filter(|(n, l, _)| {
            n == "ibkr_cockpit_tool_duration_seconds_bucket"
                && l.get("tool").map(String::as_str) == Some("ibkr_get_account_summary")
        })
        .map(|(_, _, v)| *v)
        .collect();
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
    assert_eq!(buckets.last().copied(), Some(2.0));
    assert!(
        samples
            .iter()
            .any(|(n, l, _)| n == "ibkr_cockpit_gateway_reconnects_total"
                && l.get("gateway").map(String::as_str) == Some("primary")),
        "{text}"
    );
    assert!(
        samples
            .iter()
            .any(|(n, _, _)| n == "ibkr_cockpit_cache_hits_total")
    );
    cancel.cancel();
    world.shutdown().await;
}
