//! Regular chain files read through a memory map instead of `read` calls.
//!
//! Why: reading a 490 MB chain through a 256 KiB buffer spent a fifth of `check`'s time in
//! the kernel copying the file into the buffer, and more moving the unread tail of each
//! buffer to its front. A map hands the scanner the page cache itself.
//!
//! The scanner needs [`super::scan`]'s `PAD` zero bytes after the text (its loops stop on
//! them instead of testing bounds). A map of the file alone cannot promise them: when the
//! file's size is a multiple of the page size, the byte after it is on no mapped page. So an
//! anonymous zeroed region a page longer than the file is reserved first and the file is
//! mapped over its start: whatever the size, the bytes after the file are zeros. (The
//! memmap2 crate maps a file's own pages only, which is why this is our own code.)
//!
//! Memory stays bounded: pages behind the reader are dropped from this process
//! ([`Mapping::release_to`], `MADV_DONTNEED`; they stay in the page cache), so the resident
//! set holds the pages near the cursor, not the file.
//!
//! The map starts on a 2 MiB boundary and asks for huge pages, so that the page cache's
//! 2 MiB folios are mapped and dropped whole: one page-table entry each instead of 512.
//!
//! The scanner is shown the file a step at a time ([`Mapping::stop_at`]): the `pad` bytes
//! after the step's end are overwritten with zeros, which only this process sees (the map
//! is private: a written page is copied for it, and never reaches the file), and put back
//! when the stop moves on. So a huge event is refused as it is read, as in a stream, and
//! not read whole first.
//!
//! A file truncated by another process while it is mapped would fault (SIGBUS) where a read
//! would have ended early. Chains are written by replacing the file (a temporary file
//! renamed over it, as `record` and `verify --accept` do), which leaves a mapped file whole.

use std::fs::File;

/// A private map of a whole file, followed by at least `pad` zero bytes; written only to
/// place a stop (see the module's docs).
pub(crate) struct Mapping {
    ptr: *mut libc::c_void,
    /// Bytes mapped: the file's length plus the zeros.
    mapped: usize,
    /// The file's length.
    len: usize,
    /// Bytes before this offset (a page multiple) were released.
    released: usize,
    /// The end of the pages mapped in ahead of the reader (see [`Mapping::release_to`]).
    populated: usize,
    /// Where the zeros of the stop are, and the bytes they cover.
    stop: Option<(usize, Vec<u8>)>,
    pad: usize,
}

// SAFETY: the map is read-only and owned by this value alone; reading it from any thread
// is as safe as reading a `Box<[u8]>`.
unsafe impl Send for Mapping {}

/// The system's page size, asked once (the reader releases pages after every event).
fn page_size() -> usize {
    static PAGE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *PAGE.get_or_init(|| {
        // SAFETY: sysconf has no preconditions.
        let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        usize::try_from(size).ok().filter(|&s| s > 0).unwrap_or(4096)
    })
}

/// The size of a huge page on x86-64 and of the largest folio a page table's middle level
/// maps (see [`Mapping::new`]).
const HUGE_PAGE: usize = 2 << 20;

impl Mapping {
    /// Maps `file` (of `len` bytes, `len > 0`) followed by `pad` zeros. `None` if the system
    /// refuses (the caller then reads the file as a stream).
    pub fn new(file: &File, len: u64, pad: usize) -> Option<Mapping> {
        use std::os::fd::AsRawFd;
        let len = usize::try_from(len).ok().filter(|&l| l > 0)?;
        let page = page_size();
        let mapped = len.checked_add(pad)?.checked_next_multiple_of(page)?;
        // The region starts on a huge-page boundary, as the file's offset 0 does: then a
        // 2 MiB folio of the page cache is mapped by one page-table entry instead of 512
        // (see the `MADV_HUGEPAGE` below). A huge page more is reserved and the slack cut off.
        let reserved = mapped.checked_add(HUGE_PAGE)?;
        // SAFETY: a fresh anonymous mapping at an address of the kernel's choosing; no
        // existing memory is affected.
        let raw = unsafe {
            libc::mmap(std::ptr::null_mut(), reserved, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0)
        };
        if raw == libc::MAP_FAILED {
            return None;
        }
        let head = (raw as usize).next_multiple_of(HUGE_PAGE) - raw as usize;
        // SAFETY: both ranges are page-aligned parts of the region just reserved (`head` and
        // the reservation are page multiples) that nothing uses.
        let ptr = unsafe {
            let ptr = raw.cast::<u8>().add(head).cast::<libc::c_void>();
            if head > 0 {
                libc::munmap(raw, head);
            }
            if reserved - head - mapped > 0 {
                libc::munmap(ptr.cast::<u8>().add(mapped).cast(), reserved - head - mapped);
            }
            ptr
        };
        // SAFETY: replaces the start of the region reserved just above (MAP_FIXED within our
        // own mapping), so nothing else can be clobbered. Writable but private: a write
        // (a stop) copies the page for this process and never reaches the file.
        let file_ptr = unsafe {
            libc::mmap(ptr, len, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE | libc::MAP_FIXED, file.as_raw_fd(), 0)
        };
        if file_ptr == libc::MAP_FAILED {
            // SAFETY: unmapping exactly the region mapped above.
            unsafe { libc::munmap(ptr, mapped) };
            return None;
        }
        // The file is read front to back: the kernel reads ahead more eagerly. And huge
        // pages: a file read in through this map fills the page cache with 2 MiB folios, and
        // those (also the ones a single large write leaves, as the capture program in
        // fixtures/theater-0.3.29 saves a chain) are mapped a whole folio at a time; mapping
        // and releasing 4 KiB pages one by one was a sixth of a pretty chain's replay.
        // Advice only: where transparent huge pages are off, or the page cache holds small
        // folios, nothing changes.
        // SAFETY: advice on our own mapping; it never changes its contents.
        unsafe {
            libc::madvise(ptr, len, libc::MADV_SEQUENTIAL);
            libc::madvise(ptr, len, libc::MADV_HUGEPAGE);
        }
        Some(Mapping { ptr, mapped, len, released: 0, populated: 0, stop: None, pad })
    }

    /// Moves the stop to `offset`: the bytes there are read as zeros until it moves on,
    /// those of the previous stop are the file's again. Returns the offset the bytes now
    /// end at: `offset`, or the file's length when the stop would be too near its end to
    /// matter (the zeros after the file end it there).
    pub fn stop_at(&mut self, offset: usize) -> usize {
        if let Some((at, saved)) = self.stop.take() {
            // SAFETY: `at..at + saved.len()` lies inside our mapping (checked when the stop
            // was placed), which is writable and private; no slice of it is alive, since
            // `&mut self` is held.
            unsafe { std::ptr::copy_nonoverlapping(saved.as_ptr(), (self.ptr as *mut u8).add(at), saved.len()) };
        }
        if offset.saturating_add(self.pad) >= self.len {
            return self.len;
        }
        let saved = self.bytes()[offset..offset + self.pad].to_vec();
        // SAFETY: as above: `offset + pad < len`, inside the mapping.
        unsafe { std::ptr::write_bytes((self.ptr as *mut u8).add(offset), 0, self.pad) };
        self.stop = Some((offset, saved));
        offset
    }

    /// The file's bytes and the zeros after them.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `mapped` readable bytes start at `ptr` for as long as `self` lives.
        unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.mapped) }
    }

    /// The file's length.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Drops the pages wholly before `offset` from this process's memory (reading them again
    /// faults them back in from the page cache, with the same bytes: a stop is always at or
    /// after the reader's position, so never on a dropped page). Only whole huge pages, so
    /// the system call is rare and never unmaps a huge page the reader is still in.
    #[inline]
    pub fn release_to(&mut self, offset: usize) {
        // Called after every event: the test stays in the caller, the work does not.
        let to = offset.min(self.len) / HUGE_PAGE * HUGE_PAGE;
        if to > self.released {
            self.release_and_populate(to);
        }
    }

    #[inline(never)]
    fn release_and_populate(&mut self, to: usize) {
        // From a little before the last release: the page cache holds large folios, and a
        // fault maps the whole folio around the faulting page, pages before the last release
        // included. 2 MiB covers a folio mapped by page table entries.
        let from = self.released.saturating_sub(HUGE_PAGE);
        // SAFETY: a page-aligned range inside our own read-only private mapping; dropping
        // its pages never loses data (they are re-read from the file).
        unsafe {
            libc::madvise((self.ptr as *mut u8).add(from).cast(), to - from, libc::MADV_DONTNEED);
        }
        self.released = to;
        // The next few MiB mapped in one call: a fault per 64 KiB cost the reading thread a
        // tenth of its time on large chains. (Linux 5.14 on; elsewhere the call fails and
        // the pages fault in as before.)
        let ahead = (to + 2 * HUGE_PAGE).min(self.len).next_multiple_of(page_size()).min(self.mapped);
        let from = self.populated.max(to);
        if ahead > from {
            // SAFETY: a page-aligned range inside our own mapping; populating reads the
            // file's pages in and changes no byte.
            unsafe { libc::madvise((self.ptr as *mut u8).add(from).cast(), ahead - from, libc::MADV_POPULATE_READ) };
            self.populated = ahead;
        }
    }

    /// Newlines in the file before `offset`, counted a few MiB at a time and released again
    /// behind the count, so that an error late in a large file does not bring the whole file
    /// into memory to say on which line it is.
    pub fn count_newlines_to(&self, offset: usize, count: impl Fn(&[u8]) -> usize) -> usize {
        const CHUNK: usize = 8 << 20;
        let offset = offset.min(self.len);
        let (mut lines, mut at) = (0, 0);
        let released = self.released;
        while at < offset {
            let end = (at + CHUNK).min(offset);
            lines += count(&self.bytes()[at..end]);
            if end <= released {
                let page = page_size();
                let (from, to) = (at / page * page, end / page * page);
                if to > from {
                    // SAFETY: as in `release_to`: a page range of our own mapping that was
                    // released before this count faulted it back in.
                    unsafe { libc::madvise((self.ptr as *mut u8).add(from).cast(), to - from, libc::MADV_DONTNEED) };
                }
            }
            at = end;
        }
        lines
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the region `new` mapped; no slice of it outlives `self`.
        unsafe { libc::munmap(self.ptr, self.mapped) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// The map shows the file's bytes and then zeros, from a huge-page boundary (what lets
    /// the page cache's 2 MiB folios be mapped whole), and bytes dropped behind the reader
    /// read back the same.
    #[test]
    fn maps_from_a_huge_page_boundary_and_reads_back_what_it_released() {
        let text: Vec<u8> = (0..(5 << 20) + 123).map(|i: usize| (i % 251) as u8).collect();
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&text).unwrap();
        let mut map = Mapping::new(&file, text.len() as u64, 16).unwrap();
        assert_eq!(map.bytes().as_ptr() as usize % HUGE_PAGE, 0);
        assert_eq!(&map.bytes()[..text.len()], &text[..]);
        assert!(map.bytes()[text.len()..text.len() + 16].iter().all(|&b| b == 0));
        map.release_to(4 << 20);
        assert_eq!(map.released, 4 << 20, "whole huge pages behind the offset");
        map.release_to((4 << 20) + 4096);
        assert_eq!(map.released, 4 << 20, "not part of the next one");
        assert_eq!(&map.bytes()[..text.len()], &text[..]);
    }
}
