//! Request bodies from the network (HTTP ingest, the browser endpoint):
//! received within a size limit, each chunk charged to the memory
//! [`Budget`](super::budget::Budget) before it is kept, and decoded from
//! their `Content-Encoding` (gzip members, deflate, zstd) within the same
//! limit. What goes wrong is a [`BodyError`], which each endpoint answers
//! in its own words.

use std::io::Read;

use axum::body::Body;
use axum::http::{HeaderMap, header};
use futures_util::StreamExt;

use super::budget::{Charge, OverBudget};

/// Why a body was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// Over the size limit, as sent or decoded (413).
    TooLarge(usize),
    /// Other requests hold the memory budget now (503).
    Busy,
    /// The request alone needs more than the memory budget (413).
    OverMemory,
    /// Not what its encoding says, or cut short (400).
    Bad(String),
    /// A `Content-Encoding` not decoded here (415).
    Unsupported(String),
}

impl From<OverBudget> for BodyError {
    fn from(o: OverBudget) -> Self {
        match o {
            OverBudget::Busy => BodyError::Busy,
            OverBudget::TooLarge => BodyError::OverMemory,
        }
    }
}

/// How a request body is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyEncoding {
    Identity,
    /// `gzip` or `x-gzip`, every member (a body may be several gzip members).
    Gzip,
    /// `deflate`: zlib.
    Deflate,
    /// `zstd`, every frame.
    Zstd,
}

/// The body's `Content-Encoding`; anything else is refused (415), never
/// scanned as text and answered 200 with its events lost.
pub(crate) fn encoding_of(headers: &HeaderMap) -> Result<BodyEncoding, BodyError> {
    let Some(v) = headers.get(header::CONTENT_ENCODING) else {
        return Ok(BodyEncoding::Identity);
    };
    let v = v.to_str().unwrap_or("?").trim();
    match v.to_ascii_lowercase().as_str() {
        "" | "identity" => Ok(BodyEncoding::Identity),
        "gzip" | "x-gzip" => Ok(BodyEncoding::Gzip),
        "deflate" => Ok(BodyEncoding::Deflate),
        "zstd" => Ok(BodyEncoding::Zstd),
        _ => Err(BodyError::Unsupported(v.chars().take(40).collect())),
    }
}

/// The body as received, at most `max` bytes, each chunk charged before
/// it is kept: what it holds is what arrived (chunks kept as they came,
/// joined once whole), never what a `Content-Length` announces, so
/// connections that announce large bodies and send little hold little.
pub(crate) async fn receive(
    body: Body,
    headers: &HeaderMap,
    max: usize,
    charge: &mut Charge,
) -> Result<Vec<u8>, BodyError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(BodyError::TooLarge(max));
    }
    let mut parts = Vec::new();
    let mut len = 0;
    let mut chunks = body.into_data_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| BodyError::Bad(format!("reading the body: {e}")))?;
        len += chunk.len();
        if len > max {
            return Err(BodyError::TooLarge(max));
        }
        charge.grow_to(len)?;
        parts.push(chunk);
    }
    // Joined: the parts and the whole for a moment, then the whole.
    charge.grow_to(2 * len)?;
    let mut raw = Vec::with_capacity(len);
    for p in parts {
        raw.extend_from_slice(&p);
    }
    charge.shrink_to(len);
    Ok(raw)
}

/// The body decompressed, to at most `max` bytes, what it takes charged
/// as it grows.
pub(crate) fn decompress(
    encoding: BodyEncoding,
    raw: Vec<u8>,
    max: usize,
    charge: &mut Charge,
) -> Result<Vec<u8>, BodyError> {
    let bad =
        |e: std::io::Error| BodyError::Bad(format!("bad {encoding:?} body: {e}").to_lowercase());
    let mut reader: Box<dyn Read + '_> = match encoding {
        BodyEncoding::Identity => return Ok(raw),
        BodyEncoding::Gzip => Box::new(flate2::read::MultiGzDecoder::new(&raw[..])),
        BodyEncoding::Deflate => Box::new(flate2::read::ZlibDecoder::new(&raw[..])),
        BodyEncoding::Zstd => {
            let mut d = zstd::stream::read::Decoder::new(&raw[..]).map_err(bad)?;
            // No frame needs a window larger than the largest body: a
            // frame asking for more (memory) is refused, not allocated.
            d.window_log_max(zstd_window_log(max)).map_err(bad)?;
            Box::new(d)
        }
    };
    let base = charge.bytes();
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(bad(e)),
        };
        let len = out.len() + n;
        if len > max {
            return Err(BodyError::TooLarge(max));
        }
        if out.capacity() < len {
            let want = len.max(out.capacity() * 2).max(buf.len()).min(max);
            charge.grow_to(base + want)?;
            out.reserve_exact(want - out.len());
        }
        out.extend_from_slice(&buf[..n]);
    }
    Ok(out)
}

/// The largest zstd window (as a power of two) a body of at most `max`
/// bytes needs: 2^23 (8 MiB) for the default limit.
fn zstd_window_log(max: usize) -> u32 {
    let log = usize::BITS - max.saturating_sub(1).leading_zeros();
    log.clamp(10, 27)
}
