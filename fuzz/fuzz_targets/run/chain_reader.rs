//! The chain reader and `check` on arbitrary bytes: never a panic, never unbounded output;
//! whatever reads as a chain reads the same through `check`'s two-thread path.

use std::io::Cursor;
use theater_replay::chain::{self, ChainReader};

/// The target's check of one input: run by the fuzzer and by `tests/fuzz_corpora.rs`.
pub fn run(data: &[u8]) {
    let streamed = ChainReader::from_reader("f", Box::new(Cursor::new(data.to_vec())))
        .and_then(|reader| reader.collect::<Result<Vec<_>, _>>());
    let checked = ChainReader::from_reader("f", Box::new(Cursor::new(data.to_vec()))).and_then(chain::check_reader);
    if let Err(e) = &checked {
        assert!(!e.to_string().contains('\n'));
    }
    // Readable by one is readable by the other (check may stop early at a broken event).
    if streamed.is_ok() {
        assert!(checked.is_ok(), "{checked:?}");
    }
}
