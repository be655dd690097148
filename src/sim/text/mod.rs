//! IB's classic text protocol (NUL-separated fields, the message id as the first field), spoken
//! to clients that negotiate a version below the protobuf ones (ib_async, older official
//! clients). It is a translation layer at the socket: text requests become the protobuf
//! requests the session already handles, and the session's protobuf replies are re-encoded as
//! the text messages of the negotiated version, so every request the simulator serves is served
//! in both encodings by the same code.

pub mod replies;
pub mod requests;

pub use replies::TextReplies;
pub use requests::to_request;

/// A text message being built: each field is written followed by a NUL.
#[derive(Default)]
pub struct Fields(Vec<u8>);

impl Fields {
    pub fn new(msg_id: i32) -> Self {
        let mut f = Fields(Vec::with_capacity(64));
        f.int(msg_id as i64);
        f
    }
    pub fn str(&mut self, s: &str) -> &mut Self {
        // A NUL inside a value would shift every later field: drop it.
        self.0.extend(s.bytes().filter(|b| *b != 0));
        self.0.push(0);
        self
    }
    pub fn opt(&mut self, s: &Option<String>) -> &mut Self {
        self.str(s.as_deref().unwrap_or(""))
    }
    pub fn int(&mut self, v: i64) -> &mut Self {
        self.str(&v.to_string())
    }
    pub fn opt_int(&mut self, v: Option<i64>) -> &mut Self {
        match v {
            Some(v) => self.int(v),
            None => self.str(""),
        }
    }
    /// A double as IB writes it; `None` is the empty field ("unset").
    pub fn dbl(&mut self, v: Option<f64>) -> &mut Self {
        match v {
            Some(v) => self.str(&double(v)),
            None => self.str(""),
        }
    }
    /// A double that IB always writes, with its "unset" sentinel when absent.
    pub fn dbl_or(&mut self, v: Option<f64>, unset: f64) -> &mut Self {
        self.str(&double(v.unwrap_or(unset)))
    }
    pub fn bool(&mut self, v: Option<bool>) -> &mut Self {
        self.str(if v.unwrap_or(false) { "1" } else { "0" })
    }
    pub fn empties(&mut self, n: usize) -> &mut Self {
        for _ in 0..n {
            self.str("");
        }
        self
    }
    /// The frame: `[u32 length][fields]`.
    pub fn frame(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.0.len() + 4);
        out.extend_from_slice(&(self.0.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.0);
        out
    }
}

fn double(v: f64) -> String {
    if v == f64::MAX {
        // Java's spelling of Double.MAX_VALUE, which is what TWS sends for "unset".
        "1.7976931348623157E308".into()
    } else if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        format!("{v}")
    }
}

/// Reads a text message field by field; a missing field reads as empty.
pub struct Reader<'a> {
    fields: Vec<&'a str>,
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(payload: &'a [u8]) -> Self {
        let text = std::str::from_utf8(payload).unwrap_or("");
        let mut fields: Vec<&str> = text.split('\0').collect();
        // Every field is NUL-terminated, so the split leaves one empty tail.
        if fields.last() == Some(&"") {
            fields.pop();
        }
        Reader { fields, pos: 0 }
    }
    pub fn str(&mut self) -> String {
        let s = self.fields.get(self.pos).copied().unwrap_or("");
        self.pos += 1;
        s.to_string()
    }
    pub fn skip(&mut self, n: usize) {
        self.pos += n;
    }
    pub fn opt(&mut self) -> Option<String> {
        let s = self.str();
        if s.is_empty() { None } else { Some(s) }
    }
    pub fn int(&mut self) -> Option<i32> {
        self.str().trim().parse().ok()
    }
    pub fn dbl(&mut self) -> Option<f64> {
        let s = self.str();
        let s = s.trim();
        match s {
            "" => None,
            "Infinite" | "Infinity" => Some(f64::INFINITY),
            _ => s.parse().ok(),
        }
    }
    pub fn bool(&mut self) -> Option<bool> {
        match self.str().trim() {
            "" => None,
            "0" | "false" | "False" => Some(false),
            _ => Some(true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_through_the_reader() {
        let mut f = Fields::new(62);
        f.int(1)
            .int(9)
            .str("All")
            .dbl(Some(1.5))
            .dbl(None)
            .bool(Some(true));
        let frame = f.frame();
        let mut r = Reader::new(&frame[4..]);
        assert_eq!(r.int(), Some(62));
        assert_eq!(r.int(), Some(1));
        assert_eq!(r.int(), Some(9));
        assert_eq!(r.str(), "All");
        assert_eq!(r.dbl(), Some(1.5));
        assert_eq!(r.dbl(), None);
        assert_eq!(r.bool(), Some(true));
        assert_eq!(r.str(), "");
    }

    #[test]
    fn unset_double_is_spelled_as_java_does() {
        assert_eq!(double(f64::MAX), "1.7976931348623157E308");
        assert_eq!(double(31.5), "31.5");
    }
}
