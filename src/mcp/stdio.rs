//! MCP over stdio (`ibkr-cockpit mcp`): newline-delimited JSON-RPC, and nothing else on stdout.
//!
//! rmcp silently drops lines that are not JSON at all; JSON-RPC asks for a parse error
//! (-32700) instead, so a client that sent garbage learns why it got no answer. A small line
//! filter therefore sits between the real streams and rmcp: JSON lines pass through to rmcp over
//! an in-process pipe, anything else is answered here. One writer task owns the output stream,
//! so rmcp's answers and the filter's errors never interleave mid-line.

use super::server::CockpitMcp;
use crate::tools::ToolContext;
use anyhow::Context;
use rmcp::ServiceExt;
use serde_json::json;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

/// Longest request line accepted (a JSON-RPC request is a few KiB; this leaves ample room).
pub const MAX_LINE_BYTES: usize = 4 * 1024 * 1024;

/// Serves MCP on this process's stdin/stdout until stdin closes.
pub async fn run_stdio(ctx: ToolContext) -> anyhow::Result<()> {
    serve_lines(ctx, tokio::io::stdin(), tokio::io::stdout()).await
}

/// Serves MCP over any pair of byte streams (stdio, a pipe, a Unix socket, a test duplex)
/// until `input` reaches EOF; returns once every answer has been written.
pub async fn serve_lines<R, W>(ctx: ToolContext, input: R, output: W) -> anyhow::Result<()>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (rmcp_end, filter_end) = tokio::io::duplex(1 << 20);
    let (from_rmcp, to_rmcp) = tokio::io::split(filter_end);
    let (out_tx, out_rx) = mpsc::channel::<String>(256);

    let writer = tokio::spawn(write_lines(out_rx, output));
    let relay = tokio::spawn(relay_rmcp_output(BufReader::new(from_rmcp), out_tx.clone()));
    let filter = tokio::spawn(filter_input(BufReader::new(input), to_rmcp, out_tx));

    // `serve` completes the initialize handshake, so the filter must already be running.
    let outcome = match CockpitMcp::new(ctx).serve(rmcp_end).await {
        Ok(running) => running
            .waiting()
            .await
            .map(|_| ())
            .context("MCP service task failed"),
        Err(e) => Err(anyhow::anyhow!(
            "MCP session ended before initialization: {e}"
        )),
    };
    // rmcp has dropped its end of the pipe by now, so the relay reaches EOF; the filter ends at
    // input EOF (which is what stops rmcp in the normal case).
    filter.abort();
    let _ = relay.await;
    let _ = writer.await;
    outcome
}

/// The only writer of `output`: one JSON-RPC message per line, flushed at once.
async fn write_lines<W: AsyncWrite + Unpin>(mut rx: mpsc::Receiver<String>, mut output: W) {
    while let Some(line) = rx.recv().await {
        let written = async {
            output.write_all(line.as_bytes()).await?;
            output.write_all(b"\n").await?;
            output.flush().await
        };
        if let Err(e) = written.await {
            // The client has gone; nothing else can be told.
            tracing::debug!("MCP output closed: {e}");
            return;
        }
    }
}

/// Forwards rmcp's output, line by line, to the writer.
async fn relay_rmcp_output<R: AsyncBufRead + Unpin>(mut from_rmcp: R, out: mpsc::Sender<String>) {
    let mut line = String::new();
    loop {
        line.clear();
        match from_rmcp.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let trimmed = line.trim_end_matches(['\n', '\r']);
                if !trimmed.is_empty() && out.send(trimmed.to_string()).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Reads client lines: JSON goes on to rmcp, anything else gets a JSON-RPC error here.
async fn filter_input<R, W>(mut input: R, mut to_rmcp: W, out: mpsc::Sender<String>)
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    loop {
        let line = match read_bounded_line(&mut input, MAX_LINE_BYTES).await {
            Ok(Line::Eof) => break,
            Ok(Line::TooLong) => {
                let msg = format!("Parse error: request line longer than {MAX_LINE_BYTES} bytes");
                if out.send(parse_error(&msg)).await.is_err() {
                    break;
                }
                continue;
            }
            Ok(Line::Text(bytes)) => bytes,
            Err(e) => {
                tracing::debug!("MCP input failed: {e}");
                break;
            }
        };
        let text = trim_line(&line);
        if text.is_empty() {
            continue;
        }
        match serde_json::from_slice::<serde_json::Value>(text) {
            Ok(_) => {
                let sent = async {
                    to_rmcp.write_all(text).await?;
                    to_rmcp.write_all(b"\n").await?;
                    to_rmcp.flush().await
                };
                if sent.await.is_err() {
                    break;
                }
            }
            Err(e) => {
                if out
                    .send(parse_error(&format!("Parse error: {e}")))
                    .await
                    .is_err()
                {
                    break;
                }
            }
        }
    }
    // EOF on input: close rmcp's input so the session ends cleanly after pending answers.
    let _ = to_rmcp.shutdown().await;
}

/// JSON-RPC 2.0 parse error; the id is null because the request could not be read.
fn parse_error(message: &str) -> String {
    json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": message}}).to_string()
}

fn trim_line(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b'\n' | b'\r' | b' ' | b'\t') {
        end -= 1;
    }
    let mut start = 0;
    while start < end && matches!(line[start], b' ' | b'\t') {
        start += 1;
    }
    &line[start..end]
}

enum Line {
    Text(Vec<u8>),
    TooLong,
    Eof,
}

/// Reads one line without ever buffering more than `max` bytes of it; an over-long line is
/// consumed and reported as `TooLong`.
async fn read_bounded_line<R: AsyncBufRead + Unpin>(
    input: &mut R,
    max: usize,
) -> std::io::Result<Line> {
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        let buf = input.fill_buf().await?;
        if buf.is_empty() {
            return Ok(if too_long {
                Line::TooLong
            } else if line.is_empty() {
                Line::Eof
            } else {
                Line::Text(line)
            });
        }
        let (chunk, done) = match buf.iter().position(|b| *b == b'\n') {
            Some(i) => (&buf[..=i], true),
            None => (buf, false),
        };
        let used = chunk.len();
        if !too_long {
            if line.len() + used > max {
                too_long = true;
                line = Vec::new();
            } else {
                line.extend_from_slice(chunk);
            }
        }
        input.consume(used);
        if done {
            return Ok(if too_long {
                Line::TooLong
            } else {
                Line::Text(line)
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bounded_lines_split_and_overflow() {
        let data: &[u8] = b"short\n0123456789abcdef\nlast";
        let mut r = BufReader::with_capacity(4, data);
        assert!(
            matches!(read_bounded_line(&mut r, 10).await.unwrap(), Line::Text(l) if l == b"short\n")
        );
        assert!(matches!(
            read_bounded_line(&mut r, 10).await.unwrap(),
            Line::TooLong
        ));
        assert!(
            matches!(read_bounded_line(&mut r, 10).await.unwrap(), Line::Text(l) if l == b"last")
        );
        assert!(matches!(
            read_bounded_line(&mut r, 10).await.unwrap(),
            Line::Eof
        ));
    }

    #[test]
    fn parse_error_is_json_rpc() {
        let v: serde_json::Value = serde_json::from_str(&parse_error("Parse error: x")).unwrap();
        assert_eq!(v["error"]["code"], -32700);
        assert!(v["id"].is_null());
    }
}
