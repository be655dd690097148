//! Server time of a snapshot tool over the stdio front door, journal included: the round trip
//! of one `tools/call` line through `serve_lines` (the code `ibkr-cockpit mcp` runs) minus the
//! round trip of a raw JSON-RPC echo server on the same harness (an in-memory duplex pipe, the
//! same client, the same line framing). The difference is what the server itself spends:
//! parsing, dispatch, the tool, serialising the answer and handing the call to the journal.
//!
//! Variants: `echo` (the baseline), `serve_lines/journal_file` (SQLite journal on a real file,
//! as in production) and `serve_lines/no_database` (no journal at all), each calling
//! `ibkr_get_account_summary` and `ibkr_get_positions` against the simulated gateway.
//!
//! Criterion measures each variant on its own (medians in
//! `target/criterion/stdio/*/new/estimates.json`). Then, because a busy machine drifts between
//! those runs, `server time p50` alternates one echo round trip and one tool round trip
//! `PAIRED_ROUNDS` times and prints each p50 and their difference: the figure to compare with
//! the 25 µs target.
//!
//! Run: `cargo bench --bench stdio` (bounded: ~1 minute).
// A harness that fails loudly is what a benchmark or test wants; the no-panic rule is for
// the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use criterion::{Criterion, criterion_group, criterion_main};
use ibkr_cockpit::mcp::serve_lines;
use ibkr_cockpit::store::db::Db;
use ibkr_cockpit::store::{Clock, Store};
use ibkr_cockpit::tools::ToolContext;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::io::{
    AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, DuplexStream, Lines,
    ReadHalf, WriteHalf,
};
use tokio::runtime::Runtime;
use tokio::sync::Mutex;

/// Round trips of each kind in the paired p50 measurement.
const PAIRED_ROUNDS: usize = 5_000;

/// One line-oriented client end of a duplex pipe.
struct LineClient {
    write: WriteHalf<DuplexStream>,
    read: Lines<BufReader<ReadHalf<DuplexStream>>>,
}

impl LineClient {
    async fn round_trip(&mut self, line: &[u8]) -> String {
        self.write.write_all(line).await.expect("write");
        self.read
            .next_line()
            .await
            .expect("read")
            .expect("server still answering")
    }
}

fn pipe() -> (DuplexStream, LineClient) {
    let (server, client) = tokio::io::duplex(1 << 20);
    let (read, write) = tokio::io::split(client);
    (
        server,
        LineClient {
            write,
            read: BufReader::new(read).lines(),
        },
    )
}

/// A JSON-RPC server that does nothing: parse the line, answer its id with an empty result.
async fn echo_server<R, W>(read: R, mut write: W)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut lines = BufReader::new(read).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let request: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        let mut answer = json!({"jsonrpc": "2.0", "id": request["id"], "result": {}}).to_string();
        answer.push('\n');
        if write.write_all(answer.as_bytes()).await.is_err() {
            break;
        }
    }
}

async fn mcp_client(ctx: ToolContext) -> LineClient {
    let (server, mut client) = pipe();
    let (read, write) = tokio::io::split(server);
    tokio::spawn(serve_lines(ctx, read, write));
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "bench", "version": "1"}}});
    client.round_trip(format!("{init}\n").as_bytes()).await;
    client
        .write
        .write_all(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n")
        .await
        .expect("initialized");
    client
}

fn call_line(tool: &str) -> Vec<u8> {
    let mut line = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": tool, "arguments": {}}})
    .to_string();
    line.push('\n');
    line.into_bytes()
}

fn stdio_server_time(c: &mut Criterion) {
    let rt = Runtime::new().expect("tokio runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let (journal_file, no_database, echo, _sims) = rt.block_on(async {
        let (db, _) = Db::open(&dir.path().join("cockpit.db")).expect("database");
        let (sim_a, with_db) =
            support::synced_context(None, Store::new(Clock::System, Some(db))).await;
        let (sim_b, without_db) = support::synced_context(None, Store::in_memory()).await;
        let (server, echo) = pipe();
        let (read, write) = tokio::io::split(server);
        tokio::spawn(echo_server(read, write));
        (
            Mutex::new(mcp_client(with_db).await),
            Mutex::new(mcp_client(without_db).await),
            Mutex::new(echo),
            (sim_a, sim_b),
        )
    });
    let mut group = c.benchmark_group("stdio");
    let probe = call_line("ibkr_get_account_summary");
    group.bench_function("echo", |b| {
        b.to_async(&rt)
            .iter(|| async { echo.lock().await.round_trip(&probe).await })
    });
    for tool in ["ibkr_get_account_summary", "ibkr_get_positions"] {
        let line = call_line(tool);
        group.bench_function(format!("serve_lines/journal_file/{tool}"), |b| {
            b.to_async(&rt)
                .iter(|| async { journal_file.lock().await.round_trip(&line).await })
        });
        group.bench_function(format!("serve_lines/no_database/{tool}"), |b| {
            b.to_async(&rt)
                .iter(|| async { no_database.lock().await.round_trip(&line).await })
        });
    }
    group.finish();

    for (label, client) in [
        ("journal_file", &journal_file),
        ("no_database", &no_database),
    ] {
        for tool in ["ibkr_get_account_summary", "ibkr_get_positions"] {
            let line = call_line(tool);
            // What is measured is a real answer, not an error.
            let first = rt.block_on(async { client.lock().await.round_trip(&line).await });
            let answer: Value = serde_json::from_str(&first).expect("JSON-RPC answer");
            assert_ne!(answer["result"]["isError"], json!(true), "{first}");
            assert!(
                answer["result"]["content"][0]["text"]
                    .as_str()
                    .is_some_and(|t| t.len() > 100),
                "{first}"
            );
            let (echo_p50, tool_p50) = rt.block_on(async {
                let mut echo = echo.lock().await;
                let mut server = client.lock().await;
                let mut echo_times = Vec::with_capacity(PAIRED_ROUNDS);
                let mut tool_times = Vec::with_capacity(PAIRED_ROUNDS);
                for _ in 0..PAIRED_ROUNDS {
                    let t = Instant::now();
                    echo.round_trip(&probe).await;
                    echo_times.push(t.elapsed());
                    let t = Instant::now();
                    server.round_trip(&line).await;
                    tool_times.push(t.elapsed());
                }
                (median(&mut echo_times), median(&mut tool_times))
            });
            println!(
                "server time p50 {label}/{tool}: {:.1} µs (round trip {:.1} µs − echo {:.1} µs, {PAIRED_ROUNDS} paired rounds)",
                micros(tool_p50.saturating_sub(echo_p50)),
                micros(tool_p50),
                micros(echo_p50)
            );
        }
    }
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort_unstable();
    times[times.len() / 2]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = stdio_server_time
}
criterion_main!(benches);
