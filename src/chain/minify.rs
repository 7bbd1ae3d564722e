//! The canonical text of a stored JSON byte array, straight from its stored text.
//!
//! Why: the hash of an event is the digest of its canonical (compact) form, and for a valid
//! byte array that form is simply its stored text without whitespace. `check` parsing each
//! number to a byte and writing it back as decimal for the digest cost two thirds of its
//! time; validating and removing whitespace 64 bytes at a time costs a fraction of that.
//!
//! A block's bytes are classified into bit masks (whitespace, digits, commas, `]`, and the
//! digits that matter for the 255 limit), the grammar is checked on the masks with a few
//! shifts and additions, carrying state from block to block, and the bytes that are not
//! whitespace are packed into the output. Anything the fast check does not vouch for
//! (bad bytes, an array running past the buffered input, no SIMD at hand) returns `None`,
//! and the caller parses the array the exact way, which reports the exact error.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kernel {
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(target_arch = "x86_64")]
    Avx2,
}

/// The kernel this process runs (`None`: no vectorized pass), chosen once.
pub(crate) fn kernel() -> Option<Kernel> {
    static KERNEL: std::sync::OnceLock<Option<Kernel>> = std::sync::OnceLock::new();
    *KERNEL.get_or_init(|| {
        // For tests and for comparing the kernels: THEATER_REPLAY_SIMD=avx2 or =off.
        let wanted = std::env::var("THEATER_REPLAY_SIMD").unwrap_or_default();
        detect(&wanted)
    })
}

#[cfg(target_arch = "x86_64")]
pub(crate) fn detect(wanted: &str) -> Option<Kernel> {
    let avx512 = is_x86_feature_detected!("avx512bw") && is_x86_feature_detected!("avx512vbmi2");
    let avx2 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("bmi1");
    match wanted {
        "off" => None,
        "avx2" => avx2.then_some(Kernel::Avx2),
        _ if avx512 => Some(Kernel::Avx512),
        _ => avx2.then_some(Kernel::Avx2),
    }
}

#[cfg(not(target_arch = "x86_64"))]
pub(crate) fn detect(_wanted: &str) -> Option<Kernel> {
    None
}

/// Appends to `out` the canonical text of the byte array whose `[` is at `buf[at]` and
/// returns the position after its `]`. `None` (with `out` as it was) when the array is not
/// plainly valid and complete within `buf[..end]`, or the pass is not available: then the
/// exact parser must read it. `buf` holds at least 16 readable bytes after `end`.
pub(crate) fn canonical_array_with(kernel: Kernel, buf: &[u8], at: usize, end: usize, out: &mut Vec<u8>) -> Option<usize> {
    if buf.get(at) != Some(&b'[') {
        return None;
    }
    // The whitespace after `[`, and an empty array, are left to plain code: the blocks
    // start at the first number, so that the byte before them is never a digit or comma.
    let mut first = at + 1;
    while first < end && matches!(buf[first], b' ' | b'\n' | b'\r' | b'\t') {
        first += 1;
    }
    if first >= end {
        return None;
    }
    if buf[first] == b']' {
        out.extend_from_slice(b"[]");
        return Some(first + 1);
    }
    // The blocks look two bytes back (for three-digit numbers): there must be two.
    if !buf[first].is_ascii_digit() || first < 2 {
        return None;
    }
    let len = out.len();
    out.push(b'[');
    let done = match kernel {
        // SAFETY: the kernel was chosen by runtime detection of the features it enables.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 => unsafe { x86::run_avx512(buf, first, end, out) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 => unsafe { x86::run_avx2(buf, first, end, out) },
    };
    if done.is_none() {
        out.truncate(len);
    }
    done
}

/// Appends to `out` the bytes of the byte array whose `[` is at `buf[at]` and returns the
/// position after its `]`, on the terms of [`canonical_array_with`] (`None`, with `out` as
/// it was, for anything the pass does not vouch for). The same validation, 64 text bytes
/// at a time; each number is then read where it ends (the byte after it is a comma, `]` or
/// whitespace), from the one, two and three bytes before, through digit-value tables, and
/// the numbers are packed out. Where the exact parser takes each number after the one
/// before, this has no chain of dependencies from number to number.
pub(crate) fn byte_array_with(kernel: Kernel, buf: &[u8], at: usize, end: usize, out: &mut Vec<u8>) -> Option<usize> {
    if buf.get(at) != Some(&b'[') {
        return None;
    }
    let mut first = at + 1;
    while first < end && matches!(buf[first], b' ' | b'\n' | b'\r' | b'\t') {
        first += 1;
    }
    if first >= end {
        return None;
    }
    if buf[first] == b']' {
        return Some(first + 1);
    }
    // The blocks look three bytes back (the first digit of a three-digit number, from the
    // byte after it): there must be three.
    if !buf[first].is_ascii_digit() || first < 3 {
        return None;
    }
    let len = out.len();
    let done = match kernel {
        // SAFETY: the kernel was chosen by runtime detection of the features it enables.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 => unsafe { x86::bytes_avx512(buf, first, end, out) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 => unsafe { x86::bytes_avx2(buf, first, end, out) },
    };
    if done.is_none() {
        out.truncate(len);
    }
    done
}

/// A block's bits up to and including bit `r` (the array's `]`), or all of them.
#[inline(always)]
fn up_to(verdict: Option<u32>) -> u64 {
    match verdict {
        Some(63) | None => !0,
        Some(r) => (2u64 << r) - 1,
    }
}

/// The bytes where a number has just ended: a comma, `]` or whitespace right after a digit.
#[inline(always)]
fn number_ends(m: &Masks, digit_before: u64) -> u64 {
    (m.comma | m.close | m.ws) & shifted(m.digit, digit_before, 1)
}

/// One 64-byte block as bit masks: bit k stands for the block's byte k.
#[derive(Clone, Copy, Default)]
struct Masks {
    ws: u64,
    digit: u64,
    comma: u64,
    close: u64,
    /// Bytes k where bytes k-2, k-1, k, if all digits, make a number above 255.
    over: u64,
    /// Bytes k where bytes k-3, k-2, k-1, if all digits, make a number above 255: what
    /// [`x86::bytes_avx2`] finds from the numbers it reads anyway (0 where `over` is used).
    over_after: u64,
    /// Bytes k whose byte k-1 is `0`.
    after_zero: u64,
}

/// What a block needs of the block before it.
#[derive(Default)]
struct Carry {
    digit: u64,
    comma: u64,
    /// The previous block ends in whitespace that follows a digit, or a comma.
    ws_after_digit: bool,
    ws_after_comma: bool,
}

/// `cur` moved k bytes on (bit i becomes bit i + k), the previous block's top bytes
/// filling in below.
#[inline(always)]
fn shifted(cur: u64, prev: u64, k: u32) -> u64 {
    (cur << k) | (prev >> (64 - k))
}

/// The bytes of one block that break a byte array's grammar, given what came before:
/// a byte that is none of whitespace, digit, comma or `]`; a number of four digits, with
/// a leading zero, or over 255; a number or `]` right after whitespace after a number (two
/// numbers with no comma); anything but a number after a comma. Bits past the array's
/// `]` mean nothing (everything here only looks backwards, so they do not affect others).
#[inline(always)]
fn faults(m: &Masks, carry: &mut Carry) -> u64 {
    let after_digit = shifted(m.digit, carry.digit, 1);
    let two_after_digit = shifted(m.digit, carry.digit, 2);
    let three_after_digit = shifted(m.digit, carry.digit, 3);
    let third = m.digit & after_digit & two_after_digit;
    let mut bad = !(m.ws | m.digit | m.comma | m.close);
    bad |= third & (three_after_digit | m.over);
    bad |= after_digit & two_after_digit & three_after_digit & m.over_after;
    // A digit after a `0` that starts a number.
    bad |= m.digit & m.after_zero & !two_after_digit;
    // The first byte after a run of whitespace that starts right after a digit: adding the
    // run's first bit to the whitespace mask carries through the run to the bit after it.
    let (sum, c1) = m.ws.overflowing_add(after_digit & m.ws);
    let (sum, c2) = sum.overflowing_add(u64::from(carry.ws_after_digit));
    bad |= sum & !m.ws & !(m.comma | m.close);
    let after_comma = shifted(m.comma, carry.comma, 1);
    let (sum, d1) = m.ws.overflowing_add(after_comma & m.ws);
    let (sum, d2) = sum.overflowing_add(u64::from(carry.ws_after_comma));
    bad |= ((sum & !m.ws) | (after_comma & !m.ws)) & !m.digit;
    *carry = Carry { digit: m.digit, comma: m.comma, ws_after_digit: c1 | c2, ws_after_comma: d1 | d2 };
    bad
}

/// The verdict on one block: `Err` if it breaks the grammar, `Ok(Some(r))` if its byte r
/// closes the array, `Ok(None)` to go on. `keep` is set to the bytes to copy out.
#[inline(always)]
fn judge(m: &Masks, carry: &mut Carry, keep: &mut u64) -> Result<Option<u32>, ()> {
    let bad = faults(m, carry);
    if m.close == 0 {
        *keep = !m.ws;
        return if bad == 0 { Ok(None) } else { Err(()) };
    }
    let r = m.close.trailing_zeros();
    let upto = if r == 63 { !0 } else { (2u64 << r) - 1 };
    *keep = !m.ws & upto;
    if bad & upto == 0 { Ok(Some(r)) } else { Err(()) }
}

/// Where packed bytes go: the spare capacity of a vector, kept in registers while a
/// kernel runs (a `Vec` behind `&mut` is read and written through memory at each use).
struct Sink<'a> {
    out: &'a mut Vec<u8>,
    len: usize,
    room: usize,
}

impl<'a> Sink<'a> {
    fn new(out: &'a mut Vec<u8>) -> Sink<'a> {
        let len = out.len();
        let room = out.capacity() - len;
        Sink { out, len, room }
    }

    /// A pointer to `want` writable bytes at the end of the packed ones.
    #[inline(always)]
    fn reserve(&mut self, want: usize) -> *mut u8 {
        if self.room < want {
            // SAFETY: the first `len` bytes are initialized (the vector's, then packed ones).
            unsafe { self.out.set_len(self.len) };
            self.out.reserve(want.max(self.len));
            self.room = self.out.capacity() - self.len;
        }
        // SAFETY: `len` is within the allocation (at most its capacity).
        unsafe { self.out.as_mut_ptr().add(self.len) }
    }

    /// Counts `n` more bytes, written through [`Sink::reserve`]'s pointer, as packed.
    #[inline(always)]
    fn advance(&mut self, n: usize) {
        debug_assert!(n <= self.room);
        self.len += n;
        self.room -= n;
    }

    fn finish(self) {
        // SAFETY: the bytes up to `len` are initialized: the vector's and the packed ones.
        unsafe { self.out.set_len(self.len) };
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Carry, Masks, Sink, judge, number_ends, up_to};
    use std::arch::x86_64::*;

    /// A digit's value times 1, 10 and 100 (modulo 256: a number over 255 was refused), by
    /// the byte minus `'0'`; 0 for the other bytes of an array (`,` `]` `[` and whitespace
    /// have a low nibble of 10 or more, or their high bit set, which `pshufb` makes 0).
    const ONES: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0, 0, 0, 0, 0];
    const TENS: [u8; 16] = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 0, 0, 0, 0, 0, 0];
    const HUNDREDS: [u8; 16] = [0, 100, 200, 44, 144, 244, 88, 188, 32, 132, 0, 0, 0, 0, 0, 0];

    /// The whitespace bytes by their low nibble (`pshufb` gives 0 for bytes >= 0x80, which
    /// are not whitespace; no other byte equals its entry).
    const WS_BY_NIBBLE: [u8; 16] = [0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, b'\t', b'\n', 0xff, 0xff, b'\r', 0xff, 0xff];

    /// Reads blocks from `buf[i]` (a digit, with `i >= 2`) until the array's `]`, pushing
    /// the bytes that are not whitespace to `out`.
    ///
    /// # Safety
    /// The CPU must have AVX-512 BW and VBMI2.
    #[target_feature(enable = "avx512bw,avx512vbmi2,bmi1,bmi2,popcnt")]
    pub(super) unsafe fn run_avx512(buf: &[u8], mut i: usize, end: usize, out: &mut Vec<u8>) -> Option<usize> {
        assert!(i >= 2 && end <= buf.len());
        let mut carry = Carry::default();
        let mut sink = Sink::new(out);
        // SAFETY: a 16-byte read of a 16-byte constant.
        let ws_table = _mm512_broadcast_i32x4(unsafe { _mm_loadu_si128(WS_BY_NIBBLE.as_ptr().cast()) });
        let char = |c: u8| _mm512_set1_epi8(c as i8);
        let result = loop {
            if i >= end {
                break None;
            }
            let left = end - i;
            let present = if left >= 64 { !0u64 } else { _bzhi_u64(!0, left as u32) };
            let at = buf.as_ptr().wrapping_add(i);
            // SAFETY: the mask limits each load to `buf[i - 2..end]`, in bounds (`i >= 2`);
            // masked-off bytes are not read and are zero in the register (not a valid byte).
            let (x, x1, x2) = unsafe {
                (
                    _mm512_maskz_loadu_epi8(present, at.cast()),
                    _mm512_maskz_loadu_epi8(present, at.sub(1).cast()),
                    _mm512_maskz_loadu_epi8(present, at.sub(2).cast()),
                )
            };
            let value = _mm512_sub_epi8(x, char(b'0'));
            // Three digits above 255: x2 > 2, or x2 = 2 and (x1 > 5, or x1 = 5 and x > 5).
            let x1_high = _mm512_cmpgt_epu8_mask(x1, char(b'5'))
                | (_mm512_cmpeq_epi8_mask(x1, char(b'5')) & _mm512_cmpgt_epu8_mask(x, char(b'5')));
            let over = _mm512_cmpgt_epu8_mask(x2, char(b'2')) | (_mm512_cmpeq_epi8_mask(x2, char(b'2')) & x1_high);
            let m = Masks {
                ws: _mm512_cmpeq_epi8_mask(_mm512_shuffle_epi8(ws_table, x), x),
                digit: _mm512_cmplt_epu8_mask(value, char(10)),
                comma: _mm512_cmpeq_epi8_mask(x, char(b',')),
                close: _mm512_cmpeq_epi8_mask(x, char(b']')),
                over,
                over_after: 0,
                after_zero: _mm512_cmpeq_epi8_mask(x1, char(b'0')),
            };
            let mut keep = 0;
            let Ok(verdict) = judge(&m, &mut carry, &mut keep) else { break None };
            let dst = sink.reserve(64);
            // SAFETY: `reserve` gave 64 writable bytes, all of which the store writes; only
            // the packed ones (`keep`'s count) are counted in.
            unsafe { _mm512_storeu_si512(dst.cast(), _mm512_maskz_compress_epi8(keep, x)) };
            sink.advance(keep.count_ones() as usize);
            if let Some(r) = verdict {
                break Some(i + r as usize + 1);
            }
            i += 64;
        };
        sink.finish();
        result
    }

    /// As [`run_avx512`], but what is packed out is each number's value, at the byte after
    /// it (see [`super::byte_array_with`]).
    ///
    /// # Safety
    /// The CPU must have AVX-512 BW and VBMI2.
    #[target_feature(enable = "avx512bw,avx512vbmi2,bmi1,bmi2,popcnt")]
    pub(super) unsafe fn bytes_avx512(buf: &[u8], mut i: usize, end: usize, out: &mut Vec<u8>) -> Option<usize> {
        assert!(i >= 3 && end <= buf.len());
        let mut carry = Carry::default();
        let mut sink = Sink::new(out);
        // SAFETY: 16-byte reads of 16-byte constants.
        let table = |t: &[u8; 16]| _mm512_broadcast_i32x4(unsafe { _mm_loadu_si128(t.as_ptr().cast()) });
        let (ws_table, ones, tens, hundreds) = (table(&WS_BY_NIBBLE), table(&ONES), table(&TENS), table(&HUNDREDS));
        let char = |c: u8| _mm512_set1_epi8(c as i8);
        let result = loop {
            if i >= end {
                break None;
            }
            let left = end - i;
            let present = if left >= 64 { !0u64 } else { _bzhi_u64(!0, left as u32) };
            let at = buf.as_ptr().wrapping_add(i);
            // SAFETY: the mask limits each load to `buf[i - 3..end]`, in bounds (`i >= 3`);
            // masked-off bytes are not read and are zero in the register (not a valid byte).
            let (x, x1, x2, x3) = unsafe {
                (
                    _mm512_maskz_loadu_epi8(present, at.cast()),
                    _mm512_maskz_loadu_epi8(present, at.sub(1).cast()),
                    _mm512_maskz_loadu_epi8(present, at.sub(2).cast()),
                    _mm512_maskz_loadu_epi8(present, at.sub(3).cast()),
                )
            };
            let value = _mm512_sub_epi8(x, char(b'0'));
            let x1_high = _mm512_cmpgt_epu8_mask(x1, char(b'5'))
                | (_mm512_cmpeq_epi8_mask(x1, char(b'5')) & _mm512_cmpgt_epu8_mask(x, char(b'5')));
            let over = _mm512_cmpgt_epu8_mask(x2, char(b'2')) | (_mm512_cmpeq_epi8_mask(x2, char(b'2')) & x1_high);
            let m = Masks {
                ws: _mm512_cmpeq_epi8_mask(_mm512_shuffle_epi8(ws_table, x), x),
                digit: _mm512_cmplt_epu8_mask(value, char(10)),
                comma: _mm512_cmpeq_epi8_mask(x, char(b',')),
                close: _mm512_cmpeq_epi8_mask(x, char(b']')),
                over,
                over_after: 0,
                after_zero: _mm512_cmpeq_epi8_mask(x1, char(b'0')),
            };
            let digit_before = carry.digit;
            let mut keep = 0;
            let Ok(verdict) = judge(&m, &mut carry, &mut keep) else { break None };
            let ends = number_ends(&m, digit_before) & up_to(verdict);
            // The hundreds count only where the tens are a digit too (`1,5`: no hundreds).
            let (d2, d3) = (_mm512_sub_epi8(x2, char(b'0')), _mm512_sub_epi8(x3, char(b'0')));
            let tens_digit = _mm512_cmplt_epu8_mask(d2, char(10));
            let number = _mm512_add_epi8(
                _mm512_add_epi8(_mm512_shuffle_epi8(ones, _mm512_sub_epi8(x1, char(b'0'))), _mm512_shuffle_epi8(tens, d2)),
                _mm512_maskz_shuffle_epi8(tens_digit, hundreds, d3),
            );
            let dst = sink.reserve(64);
            // SAFETY: `reserve` gave 64 writable bytes, all of which the store writes; only
            // the packed ones (`ends`' count) are counted in.
            unsafe { _mm512_storeu_si512(dst.cast(), _mm512_maskz_compress_epi8(ends, number)) };
            sink.advance(ends.count_ones() as usize);
            if let Some(r) = verdict {
                break Some(i + r as usize + 1);
            }
            i += 64;
        };
        sink.finish();
        result
    }

    /// The smallest tens and ones (`10 * tens + ones`) that make a three-digit number over
    /// 255, by its hundreds digit: none for 0 and 1, 56 for 2 (256), any for 3 and more.
    const OVER_FROM: [u8; 16] = [255, 255, 56, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    /// Each number's value at the byte after it, for 32 bytes whose one, two and three
    /// bytes before are `x1`, `x2`, `x3` (see [`bytes_avx512`]); and the bytes where those
    /// three, if all digits, make a number over 255 (found from the tens and ones already
    /// summed: a table lookup and a compare, where testing the text took seven steps).
    #[target_feature(enable = "avx2")]
    #[inline]
    fn numbers32(x1: __m256i, x2: __m256i, x3: __m256i) -> (__m256i, u32) {
        // SAFETY: 16-byte reads of 16-byte constants.
        let table = |t: &[u8; 16]| _mm256_broadcastsi128_si256(unsafe { _mm_loadu_si128(t.as_ptr().cast()) });
        let zero = _mm256_set1_epi8(b'0' as i8);
        let (d1, d2, d3) = (_mm256_sub_epi8(x1, zero), _mm256_sub_epi8(x2, zero), _mm256_sub_epi8(x3, zero));
        let nine = _mm256_set1_epi8(9);
        let tens_digit = _mm256_cmpeq_epi8(_mm256_max_epu8(d2, nine), nine);
        let hundreds = _mm256_and_si256(_mm256_shuffle_epi8(table(&HUNDREDS), d3), tens_digit);
        let tens_and_ones = _mm256_add_epi8(_mm256_shuffle_epi8(table(&ONES), d1), _mm256_shuffle_epi8(table(&TENS), d2));
        let over = _mm256_cmpeq_epi8(_mm256_max_epu8(tens_and_ones, _mm256_shuffle_epi8(table(&OVER_FROM), d3)), tens_and_ones);
        (_mm256_add_epi8(tens_and_ones, hundreds), _mm256_movemask_epi8(over) as u32)
    }

    /// As [`bytes_avx512`], with AVX2 compares and byte shuffles from a table.
    ///
    /// # Safety
    /// The CPU must have AVX2 and BMI1.
    #[target_feature(enable = "avx2,bmi1,popcnt")]
    pub(super) unsafe fn bytes_avx2(buf: &[u8], mut i: usize, end: usize, out: &mut Vec<u8>) -> Option<usize> {
        assert!(i >= 3 && end <= buf.len());
        let mut carry = Carry::default();
        let mut sink = Sink::new(out);
        // The last, partial block with the three bytes before it, zeros after the input,
        // where `buf` ends within the block.
        let mut tail = [0u8; 67];
        let mut numbers = [0u8; 64];
        let result = loop {
            if i >= end {
                break None;
            }
            let left = end - i;
            // The bytes of the block that are input: the last block is read in place where
            // `buf` goes on (it mostly does: the rest of the chain), its bytes past `end`
            // taken for none of the array's (as the zeros of a copy would be). Copying it
            // took two library calls per array, and every event has two (hash and payload).
            let (bytes, input): (&[u8], u64) = if left >= 64 {
                (&buf[i - 3..i + 64], !0)
            } else if buf.len() >= i + 64 {
                (&buf[i - 3..i + 64], (1 << left) - 1)
            } else {
                tail[..left + 3].copy_from_slice(&buf[i - 3..end]);
                tail[left + 3..].fill(0);
                (&tail, !0)
            };
            let at = bytes.as_ptr();
            // SAFETY: `bytes` holds 67 bytes: unaligned 32-byte loads at 0 to 35 are in it.
            let load = |k: usize| unsafe { _mm256_loadu_si256(at.add(k).cast()) };
            let (a, b) = (classify32::<false>(load(3), load(2), load(1)), classify32::<false>(load(35), load(34), load(33)));
            let join = |k: usize| u64::from(a[k]) | (u64::from(b[k]) << 32);
            let ((lo, over_lo), (hi, over_hi)) = (numbers32(load(2), load(1), load(0)), numbers32(load(34), load(33), load(32)));
            let over_after = u64::from(over_lo) | (u64::from(over_hi) << 32);
            let input_mask = |k: usize| join(k) & input;
            let m = Masks {
                ws: input_mask(0),
                digit: input_mask(1),
                comma: input_mask(2),
                close: input_mask(3),
                over: 0,
                over_after,
                after_zero: join(5),
            };
            let digit_before = carry.digit;
            let mut keep = 0;
            let Ok(verdict) = judge(&m, &mut carry, &mut keep) else { break None };
            let ends = number_ends(&m, digit_before) & up_to(verdict);
            let dst = sink.reserve(64 + 8);
            let count = ends.count_ones();
            // SAFETY: `reserve` gave the 8 bytes `pack_spaced` may write.
            let packed = if count <= 8 && unsafe { pack_spaced(lo, hi, ends, count, dst) } {
                count as usize
            } else {
                // SAFETY: two 32-byte stores into the 64 bytes of `numbers`.
                unsafe {
                    _mm256_storeu_si256(numbers.as_mut_ptr().cast(), lo);
                    _mm256_storeu_si256(numbers.as_mut_ptr().add(32).cast(), hi);
                }
                if count <= 8 {
                    // Few numbers, some of them close (an array indented by less than five):
                    // each taken at its bit, eight times without a branch, in about half the
                    // instructions of the shuffles below. Past the last number the bits are
                    // spent (index 63), and what is stored lies beyond the packed bytes,
                    // which is not counted.
                    let mut rest = ends;
                    for k in 0..8 {
                        // SAFETY: the index is below 64, within `numbers`; the store is at
                        // most 8 bytes in, within the 72 reserved.
                        unsafe { *dst.add(k) = *numbers.get_unchecked((rest.trailing_zeros() & 63) as usize) };
                        rest &= rest.wrapping_sub(1);
                    }
                    count as usize
                } else {
                    // SAFETY: `numbers` holds 64 bytes; `reserve` gave the 72 needed.
                    unsafe { pack64(numbers.as_ptr(), ends, dst) }
                }
            };
            sink.advance(packed);
            if let Some(r) = verdict {
                break Some(i + r as usize + 1);
            }
            i += 64;
        };
        sink.finish();
        result
    }

    /// Writes to `dst` the numbers of a block (`lo`, `hi`: each number's value at the byte
    /// after it) at the `count` bits of `ends`, when no 8 bytes of the block (`k * 8..` to
    /// `k * 8 + 8`) hold two of them: so in every array indented by five spaces or more, a
    /// number a line of at least eight bytes. `false`, with nothing written, when some do.
    ///
    /// Each group's number is its sum (the other bytes masked out), and one table shuffle
    /// packs the groups' eight sums. Taking each number at its bit from a copy of the block
    /// in memory, as the other paths do, was a fifth of the kernel's time on a pretty chain;
    /// this takes about a sixth of that.
    ///
    /// # Safety
    /// `dst` must have 8 writable bytes; the CPU must have AVX2.
    #[target_feature(enable = "avx2,popcnt")]
    #[inline]
    unsafe fn pack_spaced(lo: __m256i, hi: __m256i, ends: u64, count: u32, dst: *mut u8) -> bool {
        // The groups that hold an end: one for each end, or this does not apply.
        let groups = !(_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_cvtsi64_si128(ends as i64), _mm_setzero_si128())) as u32) & 0xff;
        if groups.count_ones() != count {
            return false;
        }
        // Each byte of a half's 32 bits of `ends` copied to the 8 bytes it stands for, and
        // each of those tested for its own bit: 0xff at an end, 0 elsewhere.
        const SPREAD: [u8; 32] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3];
        // SAFETY: a 32-byte read of a 32-byte constant.
        let spread = unsafe { _mm256_loadu_si256(SPREAD.as_ptr().cast()) };
        let bit = _mm256_set1_epi64x(0x8040_2010_0804_0201u64 as i64);
        let at_ends = |half: u32| {
            let bits = _mm256_shuffle_epi8(_mm256_set1_epi32((ends >> (32 * half)) as u32 as i32), spread);
            _mm256_cmpeq_epi8(_mm256_and_si256(bits, bit), bit)
        };
        // Group k's sum in the low byte of 64-bit lane k of `sums_lo` (k < 4) or lane k - 4
        // of `sums_hi`; then the two in bytes 0 and 1 of one lane, and the four lanes' low
        // 32 bits side by side in the low 16 bytes (the table's byte positions).
        let zero = _mm256_setzero_si256();
        let sums_lo = _mm256_sad_epu8(_mm256_and_si256(lo, at_ends(0)), zero);
        let sums_hi = _mm256_sad_epu8(_mm256_and_si256(hi, at_ends(1)), zero);
        let both = _mm256_or_si256(sums_lo, _mm256_slli_epi64::<8>(sums_hi));
        let ordered = _mm256_permutevar8x32_epi32(both, _mm256_setr_epi32(0, 2, 4, 6, 0, 0, 0, 0));
        // SAFETY: an 8-byte read of a table entry; an 8-byte store to `dst`, which has room.
        unsafe {
            let index = _mm_loadl_epi64(SPACED.as_ptr().add(groups as usize).cast());
            _mm_storel_epi64(dst.cast(), _mm_shuffle_epi8(_mm256_castsi256_si128(ordered), index));
        }
        true
    }

    /// Shuffle indices that pack, for an 8-bit mask of groups, the sums of those groups in
    /// order: group k's sum is byte `4 * k` of [`pack_spaced`]'s gathered sums for k below
    /// 4, byte `4 * (k - 4) + 1` for the others.
    const SPACED: [u64; 256] = pack_indices([0, 4, 8, 12, 1, 5, 9, 13]);

    /// Copies the bytes of `src[..64]` whose bits are set in `mask` to `dst`, in order, and
    /// returns how many: eight stores of 8 bytes, each at most 8 bytes past the packed ones
    /// before it.
    ///
    /// # Safety
    /// `src` must have 64 readable bytes and `dst` 72 writable ones; the CPU must have AVX2.
    #[target_feature(enable = "avx2,popcnt")]
    #[inline]
    unsafe fn pack64(src: *const u8, mask: u64, dst: *mut u8) -> usize {
        let mut packed = 0;
        for half in 0..4 {
            let lo_bits = (mask >> (16 * half)) as u8;
            let hi_bits = (mask >> (16 * half + 8)) as u8;
            // SAFETY: 16 bytes at 16 * half are within `src`'s 64; each store writes 8 bytes
            // at `packed` < 64, within `dst`'s 72; only packed bytes count.
            unsafe {
                let chunk = _mm_loadu_si128(src.add(16 * half).cast());
                let index = _mm_set_epi64x((PACK[hi_bits as usize] | 0x0808_0808_0808_0808) as i64, PACK[lo_bits as usize] as i64);
                let shuffled = _mm_shuffle_epi8(chunk, index);
                _mm_storel_epi64(dst.add(packed).cast(), shuffled);
                packed += lo_bits.count_ones() as usize;
                _mm_storel_epi64(dst.add(packed).cast(), _mm_unpackhi_epi64(shuffled, shuffled));
                packed += hi_bits.count_ones() as usize;
            }
        }
        packed
    }

    /// Shuffle indices that pack the bytes whose bits are set in an 8-bit mask, in order.
    const PACK: [u64; 256] = pack_indices([0, 1, 2, 3, 4, 5, 6, 7]);

    /// For each 8-bit mask, the shuffle indices (low byte first) of the items whose bits are
    /// set, in order, item k being found at byte `at[k]`.
    const fn pack_indices(at: [u8; 8]) -> [u64; 256] {
        let mut table = [0u64; 256];
        let mut m = 0;
        while m < 256 {
            let (mut k, mut n, mut entry) = (0, 0, 0u64);
            while k < 8 {
                if m & (1 << k) != 0 {
                    entry |= (at[k] as u64) << (8 * n);
                    n += 1;
                }
                k += 1;
            }
            table[m] = entry;
            m += 1;
        }
        table
    }

    /// The masks of 32 bytes `x`, with the bytes one and two before them in `x1` and `x2`,
    /// in [`Masks`]' order; `over` only when `OVER` (the bytes kernel finds it from its
    /// numbers).
    #[target_feature(enable = "avx2")]
    #[inline]
    fn classify32<const OVER: bool>(x: __m256i, x1: __m256i, x2: __m256i) -> [u32; 6] {
        // SAFETY: a 16-byte read of a 16-byte constant.
        let ws_table = _mm256_broadcastsi128_si256(unsafe { _mm_loadu_si128(WS_BY_NIBBLE.as_ptr().cast()) });
        let char = |c: u8| _mm256_set1_epi8(c as i8);
        let bits = |v: __m256i| _mm256_movemask_epi8(v) as u32;
        // For digits (and for bytes compared only where all three are digits) unsigned and
        // signed order agree: every byte in question is below 0x80.
        let above = |v: __m256i, c: u8| _mm256_cmpgt_epi8(v, char(c));
        let value = _mm256_sub_epi8(x, char(b'0'));
        let digit = _mm256_cmpeq_epi8(_mm256_max_epu8(value, char(9)), char(9));
        let x1_high = _mm256_or_si256(above(x1, b'5'), _mm256_and_si256(_mm256_cmpeq_epi8(x1, char(b'5')), above(x, b'5')));
        let over = _mm256_or_si256(above(x2, b'2'), _mm256_and_si256(_mm256_cmpeq_epi8(x2, char(b'2')), x1_high));
        [
            bits(_mm256_cmpeq_epi8(_mm256_shuffle_epi8(ws_table, x), x)),
            bits(digit),
            bits(_mm256_cmpeq_epi8(x, char(b','))),
            bits(_mm256_cmpeq_epi8(x, char(b']'))),
            if OVER { bits(over) } else { 0 },
            bits(_mm256_cmpeq_epi8(x1, char(b'0'))),
        ]
    }

    /// As [`run_avx512`], with AVX2 compares and byte shuffles from a table.
    ///
    /// # Safety
    /// The CPU must have AVX2 and BMI1.
    #[target_feature(enable = "avx2,bmi1,popcnt")]
    pub(super) unsafe fn run_avx2(buf: &[u8], mut i: usize, end: usize, out: &mut Vec<u8>) -> Option<usize> {
        assert!(i >= 2 && end <= buf.len());
        let mut carry = Carry::default();
        let mut sink = Sink::new(out);
        // The last, partial block with the two bytes before it, zeros after the input.
        let mut tail = [0u8; 66];
        let result = loop {
            if i >= end {
                break None;
            }
            let left = end - i;
            let bytes: &[u8] = if left >= 64 {
                &buf[i - 2..i + 64]
            } else {
                tail[..left + 2].copy_from_slice(&buf[i - 2..end]);
                tail[left + 2..].fill(0);
                &tail
            };
            let at = bytes.as_ptr();
            // SAFETY: `bytes` holds 66 bytes: unaligned 32-byte loads at 0 to 34 are in it.
            let load = |k: usize| unsafe { _mm256_loadu_si256(at.add(k).cast()) };
            let (a, b) = (classify32::<true>(load(2), load(1), load(0)), classify32::<true>(load(34), load(33), load(32)));
            let join = |k: usize| u64::from(a[k]) | (u64::from(b[k]) << 32);
            let m = Masks { ws: join(0), digit: join(1), comma: join(2), close: join(3), over: join(4), over_after: 0, after_zero: join(5) };
            let mut keep = 0;
            let Ok(verdict) = judge(&m, &mut carry, &mut keep) else { break None };
            let dst = sink.reserve(64 + 8);
            // SAFETY: `bytes` holds the block's 64 bytes from 2; `reserve` gave the 72 needed.
            let packed = unsafe { pack64(at.add(2), keep, dst) };
            sink.advance(packed);
            if let Some(r) = verdict {
                break Some(i + r as usize + 1);
            }
            i += 64;
        };
        sink.finish();
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact parser's verdict, as the canonical text it implies.
    fn exact(text: &[u8]) -> Option<Vec<u8>> {
        let mut raw = text.to_vec();
        raw.extend_from_slice(&[0; 16]);
        let mut bytes = Vec::new();
        super::super::scan::parse_raw_byte_array(&raw, &mut bytes, "data").ok()?;
        Some(serde_json::to_vec(&bytes).unwrap())
    }

    /// The fast pass's canonical text and where it says the array ends.
    /// Every kernel this machine can run.
    fn kernels() -> Vec<Kernel> {
        ["avx2", ""].iter().filter_map(|wanted| detect(wanted)).collect()
    }

    fn fast(text: &[u8]) -> Option<(Vec<u8>, usize)> {
        let verdicts: Vec<_> = kernels().into_iter().map(|kernel| fast_with(kernel, text)).collect();
        assert!(verdicts.windows(2).all(|w| w[0] == w[1]), "the kernels disagree on {:?}", String::from_utf8_lossy(text));
        verdicts.into_iter().next().flatten()
    }

    fn fast_with(kernel: Kernel, text: &[u8]) -> Option<(Vec<u8>, usize)> {
        // As in a chain: something before the array (a key), the padding after it.
        let mut buf = b":".to_vec();
        buf.extend_from_slice(text);
        buf.extend_from_slice(&[0; 16]);
        let mut out = b"prefix".to_vec();
        let end = canonical_array_with(kernel, &buf, 1, text.len() + 1, &mut out);
        if end.is_none() {
            assert_eq!(out, b"prefix", "a refusal leaves the output as it was");
        }
        Some((out[6..].to_vec(), end? - 1))
    }

    /// The exact parser's bytes.
    fn exact_bytes(text: &[u8]) -> Option<Vec<u8>> {
        let mut raw = text.to_vec();
        raw.extend_from_slice(&[0; 16]);
        let mut bytes = Vec::new();
        super::super::scan::parse_raw_byte_array(&raw, &mut bytes, "data").ok()?;
        Some(bytes)
    }

    /// The bytes pass: its bytes and where it says the array ends, the same from every
    /// kernel and the same array end as the canonical pass's.
    fn fast_bytes(text: &[u8]) -> Option<(Vec<u8>, usize)> {
        let verdicts: Vec<_> = kernels()
            .into_iter()
            .map(|kernel| {
                // Three bytes before the array, as in a chain (`"data":[`).
                let mut buf = b"a\":".to_vec();
                buf.extend_from_slice(text);
                buf.extend_from_slice(&[0; 16]);
                let mut out = b"prefix".to_vec();
                let end = byte_array_with(kernel, &buf, 3, text.len() + 3, &mut out);
                if end.is_none() {
                    assert_eq!(out, b"prefix", "a refusal leaves the output as it was");
                }
                Some((out[6..].to_vec(), end? - 3))
            })
            .collect();
        assert!(verdicts.windows(2).all(|w| w[0] == w[1]), "the kernels disagree on {:?}", String::from_utf8_lossy(text));
        let bytes = verdicts.into_iter().next().flatten();
        assert_eq!(bytes.as_ref().map(|b| b.1), fast(text).map(|f| f.1), "{:?}", String::from_utf8_lossy(text));
        bytes
    }

    /// The fast passes never vouch for what the exact parser refuses, and give the
    /// canonical text, and the bytes, whenever they vouch.
    fn agrees(text: &[u8]) {
        if let Some((fast, end)) = fast(text) {
            assert_eq!(Some(fast), exact(&text[..end]), "{:?}", String::from_utf8_lossy(text));
        }
        if let Some((bytes, end)) = fast_bytes(text) {
            assert_eq!(Some(bytes), exact_bytes(&text[..end]), "{:?}", String::from_utf8_lossy(text));
        }
    }

    fn whole(text: &[u8]) -> Option<Vec<u8>> {
        let bytes = fast_bytes(text).map(|(bytes, end)| {
            assert_eq!(end, text.len(), "{}", String::from_utf8_lossy(text));
            bytes
        });
        assert_eq!(bytes, exact_bytes(text), "{}", String::from_utf8_lossy(text));
        fast(text).map(|(out, end)| {
            assert_eq!(end, text.len(), "{}", String::from_utf8_lossy(text));
            out
        })
    }

    fn pretty(bytes: &[u8], indent: usize) -> Vec<u8> {
        let pad = " ".repeat(indent);
        let items: Vec<String> = bytes.iter().map(|b| format!("\n{pad}{b}")).collect();
        format!("[{}\n{}]", items.join(","), " ".repeat(indent.saturating_sub(2))).into_bytes()
    }

    #[test]
    fn vouches_for_valid_arrays_in_every_layout() {
        if kernels().is_empty() {
            return;
        }
        let bytes: Vec<u8> = (0..=255).chain((0..300).map(|i| (i * 37 % 256) as u8)).collect();
        // Indents 0 to 10: numbers from one to several an 8-byte group, which the bytes pass
        // packs in different ways.
        let layouts = (0..=10).map(|indent| pretty(&bytes, indent));
        for text in layouts.chain([serde_json::to_vec(&bytes).unwrap(), b"[ 1 ,\t2\r\n, 255 ]".to_vec()]) {
            assert_eq!(whole(&text), exact(&text), "{}", String::from_utf8_lossy(&text));
            assert!(whole(&text).is_some());
        }
        for n in 0..200 {
            let text = pretty(&bytes[..n], 6);
            assert_eq!(whole(&text), exact(&text), "{n}");
        }
        assert_eq!(whole(b"[ ]").as_deref(), Some(&b"[]"[..]));
    }

    #[test]
    fn refuses_every_bad_spelling_at_every_block_offset() {
        if kernels().is_empty() {
            return;
        }
        let bads = ["256", "300", "260", "0 1", "01", "00", "1000", "1 2", ",", "1,,2", "-1", "1.0", "1e2", "[1]", "\"1\"", "1,]", "999", "2 55"];
        for bad in bads {
            for lead in 0..140 {
                let mut items: Vec<String> = (0..lead).map(|i| ((i * 7) % 256).to_string()).collect();
                items.push(bad.to_owned());
                items.push("7".to_owned());
                for sep in [",", ",\n      "] {
                    let text = format!("[{}]", items.join(sep));
                    agrees(text.as_bytes());
                }
            }
        }
    }

    #[test]
    fn agrees_with_the_exact_parser_on_every_one_byte_edit() {
        if kernels().is_empty() {
            return;
        }
        let base = pretty(&[0, 9, 10, 99, 100, 199, 200, 249, 250, 255, 1, 2, 3, 4, 5, 6, 7, 8], 6);
        for at in 0..base.len() {
            for b in [b' ', b'\n', b'0', b'1', b'2', b'5', b'6', b'9', b',', b']', b'[', b'x', 0, 0xff] {
                let mut text = base.clone();
                text[at] = b;
                agrees(&text);
                let mut shorter = base.clone();
                shorter.remove(at);
                agrees(&shorter);
            }
        }
    }

    #[test]
    fn needs_the_whole_array() {
        if kernels().is_empty() {
            return;
        }
        let text = pretty(&[1; 100], 6);
        let mut buf = b":".to_vec();
        buf.extend_from_slice(&text);
        buf.extend_from_slice(&[0; 16]);
        let mut out = Vec::new();
        for kernel in kernels() {
            for cut in [text.len(), text.len() - 1, 70, 64, 10] {
                assert_eq!(canonical_array_with(kernel, &buf, 1, cut, &mut out), None, "{cut}");
                assert!(out.is_empty());
            }
            assert_eq!(canonical_array_with(kernel, &buf, 1, text.len() + 1, &mut out), Some(text.len() + 1));
            out.clear();
        }
        // The bytes pass, likewise (three bytes before the `[`), with a block's worth of
        // bytes after the array, so that every last block is read in place.
        let mut buf = b"a\":".to_vec();
        buf.extend_from_slice(&text);
        buf.extend_from_slice(&[0; 64]);
        for kernel in kernels() {
            // Every cut: the bytes past it (the rest of the array) are read in place when the
            // buffer goes on, and must count for nothing.
            for cut in 4..text.len() + 3 {
                assert_eq!(byte_array_with(kernel, &buf, 3, cut, &mut out), None, "{cut}");
                assert!(out.is_empty());
            }
            assert_eq!(byte_array_with(kernel, &buf, 3, text.len() + 3, &mut out), Some(text.len() + 3));
            assert_eq!(out, [1; 100]);
            out.clear();
        }
    }
}
