//! What a byte stream is before it is lines: gzip (decompressed), UTF-16
//! (a BOM, or the NUL pattern of mostly-ASCII text; decoded to UTF-8), or
//! something binary (NUL bytes in its first block: read as it is, with one
//! warning). Everything else is read as it is.

use std::io::{self, Chain, Cursor, Read};

/// Bytes looked at to tell what a stream is.
const SNIFF: usize = 4096;

/// What a stream was found to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Text (UTF-8 or ASCII, or anything without NUL bytes).
    Plain,
    /// gzip: decompressed (and what it holds is sniffed again).
    Gzip,
    /// UTF-16, little-endian.
    Utf16Le,
    /// UTF-16, big-endian.
    Utf16Be,
    /// NUL bytes in the first block, not UTF-16: read as it is.
    Binary,
}

impl Encoding {
    /// The name used in warnings.
    pub fn name(self) -> &'static str {
        match self {
            Self::Plain => "text",
            Self::Gzip => "gzip",
            Self::Utf16Le => "UTF-16LE",
            Self::Utf16Be => "UTF-16BE",
            Self::Binary => "binary",
        }
    }
}

/// Tells what `head` (a stream's first bytes) is.
pub fn sniff(head: &[u8]) -> Encoding {
    if head.starts_with(&[0x1f, 0x8b]) {
        return Encoding::Gzip;
    }
    if head.starts_with(&[0xff, 0xfe]) {
        return Encoding::Utf16Le;
    }
    if head.starts_with(&[0xfe, 0xff]) {
        return Encoding::Utf16Be;
    }
    let pairs = head.len() / 2;
    if pairs >= 8 {
        let nul_at = |parity: usize| {
            head.chunks_exact(2)
                .filter(|p| p[parity] == 0 && p[1 - parity] != 0)
                .count()
        };
        // ASCII in UTF-16: every other byte NUL.
        if nul_at(1) * 10 >= pairs * 9 {
            return Encoding::Utf16Le;
        }
        if nul_at(0) * 10 >= pairs * 9 {
            return Encoding::Utf16Be;
        }
    }
    if memchr::memchr(0, head).is_some() {
        return Encoding::Binary;
    }
    Encoding::Plain
}

type Peeked<R> = Chain<Cursor<Vec<u8>>, R>;

/// Reads the first bytes of `r` (what one read gives, at least 16 unless
/// the stream ends: a pipe is not waited on for more) and gives them back
/// in front of it.
fn peek<R: Read>(mut r: R) -> io::Result<(Vec<u8>, Peeked<R>)> {
    let mut head = vec![0; SNIFF];
    let mut got = 0;
    while got < 16 {
        match crate::lines::retry_interrupted(|| r.read(&mut head[got..]))? {
            0 => break,
            n => got += n,
        }
    }
    head.truncate(got);
    Ok((head.clone(), Cursor::new(head).chain(r)))
}

/// `r` decoded: gzip decompressed, UTF-16 turned into UTF-8. Returns what
/// was found (the outer layer: `Gzip` for a compressed UTF-16 file) and a
/// reader of the text.
pub fn decoded<'a, R: Read + 'a>(r: R) -> io::Result<(Encoding, Box<dyn Read + 'a>)> {
    decoded_boxed(Box::new(r))
}

fn decoded_boxed<'a>(r: Box<dyn Read + 'a>) -> io::Result<(Encoding, Box<dyn Read + 'a>)> {
    let (head, r) = peek(r)?;
    let enc = sniff(&head);
    let out: Box<dyn Read + 'a> = match enc {
        Encoding::Gzip => {
            let (inner, text) = decoded_boxed(Box::new(flate2::read::MultiGzDecoder::new(r)))?;
            if inner != Encoding::Plain && inner != Encoding::Binary {
                tracing::debug!("compressed stream holds {}", inner.name());
            }
            text
        }
        Encoding::Utf16Le => Box::new(Utf16::new(r, false)),
        Encoding::Utf16Be => Box::new(Utf16::new(r, true)),
        Encoding::Plain | Encoding::Binary => Box::new(r),
    };
    Ok((enc, out))
}

/// UTF-16 in, UTF-8 out; a BOM is dropped, unpaired surrogates become U+FFFD.
struct Utf16<R> {
    inner: R,
    big_endian: bool,
    raw: Vec<u8>,
    out: Vec<u8>,
    out_at: usize,
    first: bool,
    eof: bool,
}

impl<R: Read> Utf16<R> {
    fn new(inner: R, big_endian: bool) -> Self {
        Self {
            inner,
            big_endian,
            raw: Vec::new(),
            out: Vec::new(),
            out_at: 0,
            first: true,
            eof: false,
        }
    }

    /// Decodes the whole code units in `raw`, keeping a trailing odd byte
    /// and a trailing high surrogate for the next block (unless at the end).
    fn decode(&mut self) {
        let units: Vec<u16> = self
            .raw
            .chunks_exact(2)
            .map(|p| {
                if self.big_endian {
                    u16::from_be_bytes([p[0], p[1]])
                } else {
                    u16::from_le_bytes([p[0], p[1]])
                }
            })
            .collect();
        let mut take = units.len();
        if !self.eof && units.last().is_some_and(|u| (0xd800..0xdc00).contains(u)) {
            take -= 1;
        }
        let mut s = String::with_capacity(take);
        for c in char::decode_utf16(units[..take].iter().copied()) {
            s.push(c.unwrap_or(char::REPLACEMENT_CHARACTER));
        }
        let text = if self.first {
            self.first = false;
            s.strip_prefix('\u{feff}').unwrap_or(&s).to_string()
        } else {
            s
        };
        self.out.clear();
        self.out_at = 0;
        self.out.extend_from_slice(text.as_bytes());
        self.raw.drain(..take * 2);
        if self.eof && !self.raw.is_empty() {
            // A lone last byte.
            self.out.extend_from_slice("\u{fffd}".as_bytes());
            self.raw.clear();
        }
    }
}

impl<R: Read> Read for Utf16<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.out_at == self.out.len() {
            if self.eof {
                return Ok(0);
            }
            let mut block = [0u8; 64 * 1024];
            let n = crate::lines::retry_interrupted(|| self.inner.read(&mut block))?;
            self.eof = n == 0;
            self.raw.extend_from_slice(&block[..n]);
            self.decode();
        }
        let n = buf.len().min(self.out.len() - self.out_at);
        buf[..n].copy_from_slice(&self.out[self.out_at..self.out_at + n]);
        self.out_at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(s: &str, bom: bool, be: bool) -> Vec<u8> {
        let mut v = Vec::new();
        let units = std::iter::once(0xfeff)
            .filter(|_| bom)
            .chain(s.encode_utf16());
        for u in units {
            v.extend(if be { u.to_be_bytes() } else { u.to_le_bytes() });
        }
        v
    }

    fn text(bytes: Vec<u8>) -> (Encoding, String) {
        let (e, mut r) = decoded(Cursor::new(bytes)).unwrap();
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        (e, s)
    }

    #[test]
    fn utf16_with_and_without_bom_both_orders() {
        let s = "RtcError: 失敗 <ICE_TRANSPORT_ERROR 0x4003> 😀\nnext line\n";
        assert_eq!(text(utf16(s, true, false)), (Encoding::Utf16Le, s.into()));
        assert_eq!(text(utf16(s, true, true)), (Encoding::Utf16Be, s.into()));
        let ascii = "plain ascii log line <ICE_TRANSPORT_ERROR 0x4003>\n";
        assert_eq!(
            text(utf16(ascii, false, false)),
            (Encoding::Utf16Le, ascii.into())
        );
        assert_eq!(
            text(utf16(ascii, false, true)),
            (Encoding::Utf16Be, ascii.into())
        );
    }

    #[test]
    fn gzip_is_decompressed_and_other_bytes_pass() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"a <ICE_TRANSPORT_ERROR 0x4003>\n").unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(
            text(gz),
            (Encoding::Gzip, "a <ICE_TRANSPORT_ERROR 0x4003>\n".into())
        );
        assert_eq!(text(b"x\n".to_vec()), (Encoding::Plain, "x\n".into()));
        assert_eq!(sniff(b"\x7fELF\x00\x00\x01"), Encoding::Binary);
    }
}
