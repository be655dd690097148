//! TWS framing: the `API\0` preamble, the text handshake reply, and length-prefixed protobuf
//! frames whose message id is sent as `id + 200` (the protobuf marker).

use ibapi::{IncomingMessages, OutgoingMessages};
use std::io;
use tokio::io::{AsyncRead, AsyncReadExt};

/// The newest version we speak: the newest the client knows (`CONDITIONS_INCLUDE_OVERNIGHT`).
pub const SERVER_VERSION: i32 = 226;
/// From this version on every message in both directions is protobuf (`PROTOBUF_REST_MESSAGES_3`).
pub const PROTOBUF_VERSION: i32 = 213;
/// The classic text dialect we speak: servers 157 (`MIN_SERVER_VER_PRICE_BASED_VOLATILITY` +1,
/// the oldest ib_async and the official clients of the last years accept) to 178
/// (`PENDING_PRICE_REVISION`). Versions 179–212 add text fields and, from 201, protobuf for some
/// message families only; a client whose whole range lies there is refused.
pub const TEXT_VERSIONS: std::ops::RangeInclusive<i32> = 157..=178;

/// The wire encoding a negotiated version implies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// NUL-separated text fields; the message id is the first field.
    Text,
    /// `[id + 200][protobuf body]`.
    Protobuf,
}

/// The outcome of reading a client's `vMIN..vMAX`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Negotiated {
    /// Serve the session at this version.
    Serve(i32, Encoding),
    /// The client only speaks versions above ours: IB answers with its own (older) version and
    /// the client hangs up with its own "upgrade TWS" error.
    TooOldForClient(i32),
    /// We cannot serve the range: the connection is closed without a reply.
    Refuse(String),
}

/// Picks the version for a client range, the way IB does: `min(vMAX, our max)`.
/// `range` is the preamble text, e.g. `"v157..178"` or `"v100..193 +PACEAPI"`.
pub fn negotiate(range: &str, our_max: i32) -> Negotiated {
    let spec = range.split_whitespace().next().unwrap_or("");
    let Some(spec) = spec.strip_prefix('v') else {
        return Negotiated::Refuse(format!("version range {range:?} does not start with 'v'"));
    };
    let (lo, hi) = match spec.split_once("..") {
        Some((a, b)) => (a.parse::<i32>(), b.parse::<i32>()),
        None => (spec.parse::<i32>(), spec.parse::<i32>()),
    };
    let (Ok(lo), Ok(hi)) = (lo, hi) else {
        return Negotiated::Refuse(format!("version range {range:?} is not vMIN..vMAX"));
    };
    if lo > hi {
        return Negotiated::Refuse(format!("version range {range:?} is empty"));
    }
    if lo > our_max {
        return Negotiated::TooOldForClient(our_max);
    }
    let v = hi.min(our_max);
    if v >= PROTOBUF_VERSION {
        return Negotiated::Serve(v, Encoding::Protobuf);
    }
    if TEXT_VERSIONS.contains(&v) {
        return Negotiated::Serve(v, Encoding::Text);
    }
    let text_max = *TEXT_VERSIONS.end();
    if v > text_max && lo <= text_max {
        return Negotiated::Serve(text_max, Encoding::Text);
    }
    Negotiated::Refuse(format!(
        "client versions {lo}..{hi} (capped at {our_max}) have no version this gateway speaks ({}..={text_max} text, {PROTOBUF_VERSION}..={our_max} protobuf)",
        TEXT_VERSIONS.start()
    ))
}
/// Message ids above this are protobuf-encoded (`PROTOBUF_MSG_ID`).
pub const PROTOBUF_OFFSET: i32 = 200;
/// Frames longer than this are invalid (same limit as the client).
const MAX_FRAME: usize = 0x00FF_FFFF;

/// Reads the client's preamble (`API\0` + u32 length + `vMIN..MAX`) and returns the version
/// range text. Anything else is an error: we are not talking to a TWS API client.
pub async fn read_preamble<R: AsyncRead + Unpin>(rd: &mut R) -> io::Result<String> {
    let mut magic = [0u8; 4];
    rd.read_exact(&mut magic).await?;
    if &magic != b"API\0" {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "missing API preamble",
        ));
    }
    let len = rd.read_u32().await? as usize;
    if len > 1024 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "version string too long",
        ));
    }
    let mut buf = vec![0u8; len];
    rd.read_exact(&mut buf).await?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// The handshake reply: a text frame `"<version>\0<connection time>\0"` (no message id).
pub fn handshake_reply(version: i32, connection_time: &str) -> Vec<u8> {
    let body = format!("{version}\0{connection_time}\0");
    let mut out = Vec::with_capacity(body.len() + 4);
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body.as_bytes());
    out
}

/// One decoded client frame: the outgoing-message id (without the +200) and its protobuf body.
pub struct ClientFrame {
    pub id: i32,
    pub body: Vec<u8>,
}

impl ClientFrame {
    /// The message type by name, for counters (`"RequestMarketData"`), or `"Unknown(N)"`.
    pub fn type_name(&self) -> String {
        match OutgoingMessages::try_from(self.id) {
            Ok(m) => format!("{m:?}"),
            Err(_) => format!("Unknown({})", self.id),
        }
    }
    pub fn kind(&self) -> Option<OutgoingMessages> {
        OutgoingMessages::try_from(self.id).ok()
    }
}

/// Reads one length-prefixed frame's payload (text sessions).
pub async fn read_raw<R: AsyncRead + Unpin>(rd: &mut R) -> io::Result<Vec<u8>> {
    let len = rd.read_u32().await? as usize;
    if !(1..=MAX_FRAME).contains(&len) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("bad frame length {len}"),
        ));
    }
    let mut buf = vec![0u8; len];
    rd.read_exact(&mut buf).await?;
    Ok(buf)
}

/// Reads one frame after the handshake. EOF surfaces as `UnexpectedEof`.
pub async fn read_frame<R: AsyncRead + Unpin>(rd: &mut R) -> io::Result<ClientFrame> {
    let len = rd.read_u32().await? as usize;
    if !(4..=MAX_FRAME).contains(&len) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("bad frame length {len}"),
        ));
    }
    let mut buf = vec![0u8; len];
    rd.read_exact(&mut buf).await?;
    let raw_id = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    // Every client frame in protocol ≥ 213 is protobuf (id + 200). Tolerate a text id anyway.
    let id = if raw_id > PROTOBUF_OFFSET {
        raw_id - PROTOBUF_OFFSET
    } else {
        raw_id
    };
    buf.drain(..4);
    Ok(ClientFrame { id, body: buf })
}

/// Encodes a server message as a protobuf frame: `[len][id + 200][body]`.
pub fn encode<M: prost::Message>(id: IncomingMessages, msg: &M) -> Vec<u8> {
    let body_len = msg.encoded_len();
    let mut out = Vec::with_capacity(8 + body_len);
    out.extend_from_slice(&((body_len + 4) as u32).to_be_bytes());
    out.extend_from_slice(&(id as i32 + PROTOBUF_OFFSET).to_be_bytes());
    // Encoding into a Vec cannot run out of space.
    msg.encode_raw(&mut out);
    out
}

/// Reads an `i32` from the message, tolerating garbage (returns the default message).
pub fn decode<M: prost::Message + Default>(body: &[u8]) -> M {
    M::decode(body).unwrap_or_default()
}
