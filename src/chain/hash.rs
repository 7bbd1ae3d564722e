//! The hash rule: digest of the compact serde_json form of the event with `hash` emptied,
//! i.e. `{"hash":[],"parent_hash":<null|[..]>,"event_type":"<escaped>","data":[..]}`.
//!
//! The canonical bytes are written into one reused buffer per thread and hashed in one
//! call.

use sha1::Sha1;
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::fmt;
use std::io::{self, Write};

/// The digest algorithms a chain may use; the length of a stored hash tells which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlg {
    /// 20-byte hashes: every chain theater writes.
    Sha1,
    /// 32-byte hashes: the default for chains theater-replay records.
    Sha256,
}

impl HashAlg {
    /// The algorithm whose digests are `len` bytes long (20: SHA-1, 32: SHA-256).
    pub fn from_len(len: usize) -> Option<HashAlg> {
        match len {
            20 => Some(HashAlg::Sha1),
            32 => Some(HashAlg::Sha256),
            _ => None,
        }
    }

    /// Bytes in a digest of this algorithm.
    pub fn digest_len(self) -> usize {
        match self {
            HashAlg::Sha1 => 20,
            HashAlg::Sha256 => 32,
        }
    }

    /// `"sha1"` or `"sha256"`, as reports name it.
    pub fn name(self) -> &'static str {
        match self {
            HashAlg::Sha1 => "sha1",
            HashAlg::Sha256 => "sha256",
        }
    }
}

impl fmt::Display for HashAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A digest of either algorithm, kept inline (no allocation per event).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hash {
    bytes: [u8; 32],
    len: u8,
}

impl Hash {
    /// The digest's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    /// The digest in lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.as_bytes())
    }

    pub(crate) fn from_slice(digest: &[u8]) -> Hash {
        let mut bytes = [0u8; 32];
        bytes[..digest.len()].copy_from_slice(digest);
        Hash { bytes, len: digest.len() as u8 }
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl PartialEq<[u8]> for Hash {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_bytes() == other
    }
}

/// Hashes an event's canonical form with `alg`.
pub fn canonical_hash(alg: HashAlg, parent: Option<&[u8]>, event_type: &str, data: &[u8]) -> Hash {
    match alg {
        HashAlg::Sha1 => digest_with::<Sha1>(parent, event_type, data),
        HashAlg::Sha256 => digest_with::<Sha256>(parent, event_type, data),
    }
}

fn digest_with<D: Digest>(parent: Option<&[u8]>, event_type: &str, data: &[u8]) -> Hash {
    with_canonical_text(parent, event_type, data, |text| Hash::from_slice(&D::digest(text)))
}

/// Runs `use_text` on the event's canonical form, built in a buffer per thread that every
/// event reuses.
fn with_canonical_text<R>(parent: Option<&[u8]>, event_type: &str, data: &[u8], use_text: impl FnOnce(&[u8]) -> R) -> R {
    thread_local! {
        static TEXT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    TEXT.with_borrow_mut(|text| {
        let len = canonical_text(text, parent, event_type, data);
        use_text(&text[..len])
    })
}

/// Hashes a canonical form given as the text after its `{"hash":[]` (stored bytes
/// known to be canonical, see `ChainReader::canonical_tail`).
pub(crate) fn canonical_hash_of_tail(alg: HashAlg, tail: &[u8]) -> Hash {
    fn digest<D: Digest>(tail: &[u8]) -> Hash {
        Hash::from_slice(&D::new().chain_update(br#"{"hash":[]"#).chain_update(tail).finalize())
    }
    match alg {
        HashAlg::Sha1 => digest::<Sha1>(tail),
        HashAlg::Sha256 => digest::<Sha256>(tail),
    }
}

/// Hashes a canonical form whose payload is given as its canonical text (`[1,2,3]`).
pub(crate) fn canonical_hash_of_data_text(alg: HashAlg, parent: Option<&[u8]>, event_type: &str, data_text: &[u8]) -> Hash {
    fn digest<D: Digest>(parent: Option<&[u8]>, event_type: &str, data_text: &[u8]) -> Hash {
        // The fields before the payload, written as for any event (with no payload bytes).
        with_canonical_text(parent, event_type, &[], |text| {
            let before_data = &text[..text.len() - b"[]}".len()];
            Hash::from_slice(&D::new().chain_update(before_data).chain_update(data_text).chain_update(b"}").finalize())
        })
    }
    match alg {
        HashAlg::Sha1 => digest::<Sha1>(parent, event_type, data_text),
        HashAlg::Sha256 => digest::<Sha256>(parent, event_type, data_text),
    }
}

/// Writes the canonical form into `text[..len]` and returns `len`.
///
/// `text` keeps its length from call to call, so the bytes are written by index into
/// memory that is zeroed only when it first grows: no per-event zeroing of stack buffers
/// and no capacity check per number (the hot path of every integrity check).
fn canonical_text(text: &mut Vec<u8>, parent: Option<&[u8]>, event_type: &str, data: &[u8]) -> usize {
    const HEAD: &[u8] = br#"{"hash":[],"parent_hash":"#;
    const TYPE: &[u8] = br#","event_type":"#;
    const DATA: &[u8] = br#","data":"#;
    let escaped;
    let quoted_type: &[&[u8]] = if event_type.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        // serde_json's own escaping is the definition of the canonical form.
        escaped = serde_json::to_vec(event_type).unwrap_or_default();
        &[&escaped[..]]
    } else {
        &[b"\"", event_type.as_bytes(), b"\""]
    };
    // Numbers take at most 4 bytes with their comma; the rest is fixed text and quotes.
    let type_len: usize = quoted_type.iter().map(|part| part.len()).sum();
    let bound = 64 + 4 * (parent.map_or(0, <[u8]>::len) + data.len()) + type_len;
    if text.len() < bound {
        text.resize(bound, 0);
    }
    let mut len = put(text, 0, HEAD);
    len = match parent {
        None => put(text, len, b"null"),
        Some(parent) => byte_array_at(text, len, parent),
    };
    len = put(text, len, TYPE);
    for part in quoted_type {
        len = put(text, len, part);
    }
    len = put(text, len, DATA);
    len = byte_array_at(text, len, data);
    put(text, len, b"}")
}

/// Copies `bytes` to `text[at..]`; returns the end.
#[inline]
fn put(text: &mut [u8], at: usize, bytes: &[u8]) -> usize {
    text[at..at + bytes.len()].copy_from_slice(bytes);
    at + bytes.len()
}

/// Writes `[1,2,3]` at `text[at..]` (room for 4 bytes a number plus 2 is there);
/// returns the end.
#[inline]
fn byte_array_at(text: &mut [u8], at: usize, bytes: &[u8]) -> usize {
    let Some(room) = text.get_mut(at..at + 2 + 4 * bytes.len()) else {
        unreachable!("canonical_text sized the buffer for every number")
    };
    room[0] = b'[';
    let len = 1 + numbers_at(&mut room[1..], bytes);
    if bytes.is_empty() {
        room[1] = b']';
        return at + 2;
    }
    // Replace the last comma.
    room[len - 1] = b']';
    at + len
}

/// Writes each of `bytes` as its decimal digits and a comma at the start of `out`, which
/// has room for 4 bytes a number; returns how many bytes were written.
///
/// Hot in every replay and `check` of a chain whose payloads are not stored canonical (a
/// number for each payload byte): one table load, one 4-byte store and one addition a
/// number. Slice copies, with a bounds test per number, took 1.4 times as long.
#[inline]
fn numbers_at(out: &mut [u8], bytes: &[u8]) -> usize {
    assert!(out.len() >= 4 * bytes.len(), "room for 4 bytes a number");
    let dst = out.as_mut_ptr();
    let mut len = 0;
    for &b in bytes {
        let entry = DECIMAL_ENTRIES[b as usize];
        // SAFETY: `len` grows by at most 4 a number, so before this store it is at most
        // 4 times the numbers written, and the 4 bytes stored end within `out` (asserted
        // above to hold 4 a number).
        unsafe { dst.add(len).cast::<u32>().write_unaligned(entry as u32) };
        len += (entry >> 32) as usize;
    }
    len
}

/// Writes an event's canonical form (the exact bytes that are hashed) to `out`.
pub fn write_canonical(
    out: &mut impl Write,
    parent: Option<&[u8]>,
    event_type: &str,
    data: &[u8],
) -> io::Result<()> {
    with_canonical_text(parent, event_type, data, |text| out.write_all(text))
}

/// `[1,2,3]`, as serde_json writes a byte sequence compactly.
///
/// Hot in `check` (every payload byte of a chain passes through here): numbers are
/// formatted into a stack chunk with one fixed-size copy each (a table entry of digits and
/// a comma), and the chunk goes to `out` in a few large writes instead of one per number.
pub(crate) fn write_byte_array(out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    const NUMBERS: usize = 512;
    let mut buf = [0u8; 2 + 4 * NUMBERS];
    buf[0] = b'[';
    if bytes.is_empty() {
        buf[1] = b']';
        return out.write_all(&buf[..2]);
    }
    let mut len = 1;
    let mut chunks = bytes.chunks(NUMBERS).peekable();
    while let Some(chunk) = chunks.next() {
        len += numbers_at(&mut buf[len..], chunk);
        if chunks.peek().is_some() {
            out.write_all(&buf[..len])?;
            len = 0;
        }
    }
    // Replace the last comma.
    buf[len - 1] = b']';
    out.write_all(&buf[..len])
}

/// For each byte value: its decimal digits and a comma in the low 4 bytes (little-endian,
/// padded), and how many of those bytes count in the fifth.
static DECIMAL_ENTRIES: [u64; 256] = {
    let mut table = [0u64; 256];
    let mut b = 0;
    while b < 256 {
        let digits: [u8; 3] = [b'0' + (b / 100) as u8, b'0' + (b / 10 % 10) as u8, b'0' + (b % 10) as u8];
        let skip = if b >= 100 { 0 } else if b >= 10 { 1 } else { 2 };
        let mut entry = [0u8; 4];
        let mut k = 0;
        while skip + k < 3 {
            entry[k] = digits[skip + k];
            k += 1;
        }
        entry[k] = b',';
        table[b] = u32::from_le_bytes(entry) as u64 | ((k as u64 + 1) << 32);
        b += 1;
    }
    table
};

/// Decimal text of every byte value, so encoding a byte is a table lookup.
pub(crate) static DECIMAL: [&str; 256] = {
    const DIGITS: [&str; 256] = [
        "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15",
        "16", "17", "18", "19", "20", "21", "22", "23", "24", "25", "26", "27", "28", "29", "30",
        "31", "32", "33", "34", "35", "36", "37", "38", "39", "40", "41", "42", "43", "44", "45",
        "46", "47", "48", "49", "50", "51", "52", "53", "54", "55", "56", "57", "58", "59", "60",
        "61", "62", "63", "64", "65", "66", "67", "68", "69", "70", "71", "72", "73", "74", "75",
        "76", "77", "78", "79", "80", "81", "82", "83", "84", "85", "86", "87", "88", "89", "90",
        "91", "92", "93", "94", "95", "96", "97", "98", "99", "100", "101", "102", "103", "104",
        "105", "106", "107", "108", "109", "110", "111", "112", "113", "114", "115", "116", "117",
        "118", "119", "120", "121", "122", "123", "124", "125", "126", "127", "128", "129", "130",
        "131", "132", "133", "134", "135", "136", "137", "138", "139", "140", "141", "142", "143",
        "144", "145", "146", "147", "148", "149", "150", "151", "152", "153", "154", "155", "156",
        "157", "158", "159", "160", "161", "162", "163", "164", "165", "166", "167", "168", "169",
        "170", "171", "172", "173", "174", "175", "176", "177", "178", "179", "180", "181", "182",
        "183", "184", "185", "186", "187", "188", "189", "190", "191", "192", "193", "194", "195",
        "196", "197", "198", "199", "200", "201", "202", "203", "204", "205", "206", "207", "208",
        "209", "210", "211", "212", "213", "214", "215", "216", "217", "218", "219", "220", "221",
        "222", "223", "224", "225", "226", "227", "228", "229", "230", "231", "232", "233", "234",
        "235", "236", "237", "238", "239", "240", "241", "242", "243", "244", "245", "246", "247",
        "248", "249", "250", "251", "252", "253", "254", "255",
    ];
    DIGITS
};

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Serialize;

    /// The straightforward definition: serde_json's compact output of the emptied event.
    #[derive(Serialize)]
    struct Emptied<'a> {
        hash: [u8; 0],
        parent_hash: Option<&'a [u8]>,
        event_type: &'a str,
        data: &'a [u8],
    }

    proptest! {
        #[test]
        fn canonical_form_is_serde_jsons_compact_form(
            parent in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
            event_type in any::<String>(),
            data in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let mut ours = Vec::new();
            write_canonical(&mut ours, parent.as_deref(), &event_type, &data).unwrap();
            let reference = serde_json::to_vec(&Emptied {
                hash: [], parent_hash: parent.as_deref(), event_type: &event_type, data: &data,
            }).unwrap();
            prop_assert_eq!(ours, reference);
        }
    }

    proptest! {
        #[test]
        fn hashes_the_canonical_form(
            parent in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
            event_type in prop_oneof![any::<String>(), "[a-z:/@.\\\\\"\n\u{1}]{0,20}"],
            data in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let mut text = Vec::new();
            write_canonical(&mut text, parent.as_deref(), &event_type, &data).unwrap();
            let sha256 = canonical_hash(HashAlg::Sha256, parent.as_deref(), &event_type, &data);
            prop_assert_eq!(sha256.as_bytes(), &Sha256::digest(&text)[..]);
            let sha1 = canonical_hash(HashAlg::Sha1, parent.as_deref(), &event_type, &data);
            prop_assert_eq!(sha1.as_bytes(), &Sha1::digest(&text)[..]);
        }
    }

    #[test]
    fn writes_a_large_byte_array_across_buffer_flushes() {
        let data: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
        let mut text = Vec::new();
        write_byte_array(&mut text, &data).unwrap();
        assert_eq!(text, serde_json::to_vec(&data).unwrap());
    }

    #[test]
    fn writes_arrays_of_every_length_around_a_chunk() {
        for len in [0, 1, 2, 255, 511, 512, 513, 1023, 1024, 1025, 1536] {
            let data: Vec<u8> = (0..len).map(|i| (i * 97 % 256) as u8).collect();
            let mut text = Vec::new();
            write_byte_array(&mut text, &data).unwrap();
            assert_eq!(String::from_utf8(text).unwrap(), serde_json::to_string(&data).unwrap(), "{len}");
        }
    }

    #[test]
    fn hashes_a_large_payload_across_buffer_flushes() {
        let data: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
        let mut text = Vec::new();
        write_canonical(&mut text, Some(&[1, 2]), "x", &data).unwrap();
        let expected = Sha256::digest(&text);
        assert_eq!(canonical_hash(HashAlg::Sha256, Some(&[1, 2]), "x", &data).as_bytes(), &expected[..]);
    }
}
