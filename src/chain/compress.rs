//! Compressed chains: a chain file may be zstd or gzip, told by its first bytes (never its
//! name), and is read as a stream through the decoder. Hashes and integrity are of the
//! events, so a compressed chain checks and verifies exactly as its plain form; byte
//! offsets in errors are offsets in the decompressed text.

use std::io::{self, Cursor, Read};

/// How a chain file is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Zstandard (`record --compress` writes it).
    Zstd,
    /// gzip (RFC 1952).
    Gzip,
}

impl Compression {
    /// `"zstd"` or `"gzip"`, as reports name it.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Zstd => "zstd",
            Compression::Gzip => "gzip",
        }
    }
}

const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// `src` as the plain chain text it holds, and how it was compressed. Reads at most four
/// bytes to tell; they are read again by whatever comes next.
pub fn decompressed(mut src: Box<dyn Read + Send>) -> io::Result<(Box<dyn Read + Send>, Option<Compression>)> {
    let mut head = [0u8; 4];
    let mut len = 0;
    while len < head.len() {
        match src.read(&mut head[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let head = &head[..len];
    let joined = Cursor::new(head.to_vec()).chain(src);
    Ok(if head == ZSTD_MAGIC {
        (Box::new(zstd::stream::read::Decoder::new(joined)?), Some(Compression::Zstd))
    } else if head.starts_with(&GZIP_MAGIC) {
        // Concatenated gzip members (`cat a.gz b.gz`) are one stream, as gzip -d reads them.
        (Box::new(flate2::read::MultiGzDecoder::new(joined)), Some(Compression::Gzip))
    } else {
        (Box::new(joined), None)
    })
}

/// Whether a file starting with `head` (its first bytes, at least four unless it is
/// shorter) is neither zstd nor gzip.
pub(crate) fn plain(head: &[u8]) -> bool {
    !head.starts_with(&ZSTD_MAGIC) && !head.starts_with(&GZIP_MAGIC)
}

/// A writer that compresses with zstd (`record --compress`). The level is zstd's default,
/// which on chains (decimal byte arrays) gives most of the size for a fraction of the time.
pub fn zstd_writer<W: io::Write>(w: W) -> io::Result<zstd::stream::write::Encoder<'static, W>> {
    zstd::stream::write::Encoder::new(w, zstd::DEFAULT_COMPRESSION_LEVEL)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn read_all(bytes: Vec<u8>) -> (Vec<u8>, Option<Compression>) {
        let (mut r, c) = decompressed(Box::new(Cursor::new(bytes))).unwrap();
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        (out, c)
    }

    #[test]
    fn told_by_content_and_read_back() {
        let text = b"[{\"a\":1}]".to_vec();
        assert_eq!(read_all(text.clone()), (text.clone(), None));
        let mut z = zstd_writer(Vec::new()).unwrap();
        z.write_all(&text).unwrap();
        assert_eq!(read_all(z.finish().unwrap()), (text.clone(), Some(Compression::Zstd)));
        let mut g = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        g.write_all(&text).unwrap();
        let one = g.finish().unwrap();
        assert_eq!(read_all(one.clone()), (text.clone(), Some(Compression::Gzip)));
        // Two members read as one stream.
        let (twice, _) = read_all([one.clone(), one].concat());
        assert_eq!(twice, [text.clone(), text].concat());
        // Shorter than a magic number: passed through.
        assert_eq!(read_all(b"[".to_vec()), (b"[".to_vec(), None));
    }

    #[test]
    fn a_long_stream_reads_back_whole_in_odd_sized_reads() {
        // Several of the decoder's and the reader's buffers long, not a multiple of either.
        let text: Vec<u8> = (0..3 * 256 * 1024 + 12_345).map(|i| (i * 7 % 251) as u8).collect();
        let mut z = zstd_writer(Vec::new()).unwrap();
        z.write_all(&text).unwrap();
        let (mut r, _) = decompressed(Box::new(Cursor::new(z.finish().unwrap()))).unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 1000];
        loop {
            match r.read(&mut buf).unwrap() {
                0 => break,
                n => out.extend_from_slice(&buf[..n]),
            }
        }
        assert_eq!(out, text);
    }

    #[test]
    fn a_corrupt_stream_gives_the_text_before_the_fault_then_the_error() {
        let text: Vec<u8> = (0..2 * 256 * 1024).map(|i| (i % 10) as u8 + b'0').collect();
        let mut g = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        g.write_all(&text).unwrap();
        let mut gz = g.finish().unwrap();
        let last = gz.len() - 6;
        gz[last] ^= 0xff; // the CRC at the end
        let (mut r, _) = decompressed(Box::new(Cursor::new(gz))).unwrap();
        let mut out = Vec::new();
        let err = r.read_to_end(&mut out).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
        assert_eq!(out, text);
    }
}
