//! Reads a request's body up front, against a deadline and the size cap, so no route ever waits
//! on a client that declared a body and stalls (slowloris on the body): 408 when it does not
//! arrive in time, 413 when it is larger than the cap. Either way the connection is closed and
//! the refusal journaled. Routes then see the body already in memory.

use super::refusal::{client_name, peer_of, record_refusal};
use crate::store::Store;
use axum::body::{Body, HttpBody};
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde_json::json;
use std::time::Duration;

/// How a body read can end short of the whole body.
enum Short {
    TooLarge,
    /// The client broke the connection or sent malformed chunks.
    Broken(String),
}

/// Middleware: collects the body within `deadline` (at most `max_bytes`), then runs the route.
pub async fn read_body_within(
    store: Store,
    deadline: Duration,
    max_bytes: usize,
    req: Request,
    next: Next,
) -> Response {
    // GETs and empty POSTs carry nothing to wait for.
    if req.body().size_hint().exact() == Some(0) {
        return next.run(req).await;
    }
    let what = format!("{} {}", req.method(), req.uri().path());
    let client = client_name(req.headers());
    let peer = peer_of(&req);
    let (parts, body) = req.into_parts();
    match tokio::time::timeout(deadline, collect(body, max_bytes)).await {
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Ok(Err(Short::TooLarge)) => {
            let reason = format!("request body larger than {max_bytes} bytes");
            record_refusal(&store, peer, client, what, &reason);
            closing(StatusCode::PAYLOAD_TOO_LARGE, &reason)
        }
        Ok(Err(Short::Broken(e))) => {
            // Not an attack worth journaling: the client went away mid-body.
            tracing::debug!("HTTP: {what} from {client}: body could not be read: {e}");
            closing(
                StatusCode::BAD_REQUEST,
                &format!("request body unreadable: {e}"),
            )
        }
        Err(_) => {
            let reason = format!(
                "request body not received within {} s",
                deadline.as_secs_f64()
            );
            record_refusal(&store, peer, client, what, &reason);
            closing(StatusCode::REQUEST_TIMEOUT, &reason)
        }
    }
}

async fn collect(body: Body, max_bytes: usize) -> Result<Vec<u8>, Short> {
    let mut stream = body.into_data_stream();
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| Short::Broken(e.to_string()))?;
        if bytes.len() + chunk.len() > max_bytes {
            return Err(Short::TooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// An error answer that also closes the connection: whatever the client still sends is not a
/// request we want to parse.
pub fn closing(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONNECTION, "close")],
        axum::Json(json!({"error": message})),
    )
        .into_response()
}
