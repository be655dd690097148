//! `ibkr-cockpit mcp` when a cockpit or daemon is running: copy stdin to its Unix socket and
//! the socket to stdout, byte for byte. The host therefore sees the client's own `initialize`
//! (so the journal says "claude-code"), and the calls share its gateway connection and state.

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::UnixStream;

/// Bridges this process's stdin/stdout to `stream` until both directions are done.
pub async fn bridge_stdio(stream: UnixStream) -> anyhow::Result<()> {
    bridge(stream, tokio::io::stdin(), tokio::io::stdout()).await
}

/// Bridges `input`/`output` to `stream`: input EOF half-closes the socket so the host finishes
/// pending answers; the host closing ends the bridge.
pub async fn bridge<R, W>(stream: UnixStream, mut input: R, mut output: W) -> anyhow::Result<()>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin,
{
    let (mut from_host, mut to_host) = stream.into_split();
    let upstream = tokio::spawn(async move {
        let copied = tokio::io::copy(&mut input, &mut to_host).await;
        let _ = to_host.shutdown().await;
        copied
    });
    let copied = tokio::io::copy(&mut from_host, &mut output).await;
    let _ = output.flush().await;
    // The host has closed: nothing more can be answered, so stop reading stdin too.
    upstream.abort();
    copied?;
    Ok(())
}
