//! The Pack value decoder on arbitrary bytes: [`preflight`] (may packr-abi decode these at
//! all?), [`scan`] (are they exactly packr-abi's encoding?), [`decode_value`], the host-call
//! fast path, text renderings, and a Pack actor's metadata (`__pack_types`) with theater's
//! type check. Never a panic, abort or unbounded allocation; `scan` accepts exactly the
//! bytes packr-abi's decode then encode gives back; each accepted subtree is canonical
//! alone; what decodes re-encodes to bytes that decode and encode to themselves.

use super::common::one_line;
use theater_replay::dialect::cgrf_check::{Scratch, preflight, scan};
use theater_replay::dialect::pack::{cgrf_args_text, cgrf_text, decode_value, encode_value, host_call_bytes, to_text};
use theater_replay::dialect::pack_wave;
use theater_replay::runtime::pack::types::{self, Metadata};

/// The target's check of one input: run by the fuzzer and by `tests/fuzz_corpora.rs`.
pub fn run(data: &[u8]) {
    let preflighted = preflight(data);
    if let Err(e) = &preflighted {
        one_line(e, 1000);
    }
    // packr-abi itself only behind preflight, as in the tool.
    let by_packr = preflighted
        .is_ok()
        .then(|| packr_abi::decode(data).ok())
        .flatten()
        .and_then(|v| packr_abi::encode(&v).ok())
        .is_some_and(|b| b == data);
    let mut scratch = Scratch::default();
    match scan(data, &mut scratch) {
        Some(tree) => {
            assert!(by_packr, "scan accepted bytes packr-abi does not give back");
            let mut sub_scratch = Scratch::default();
            for i in 0..=tree.root() {
                let sub = tree.subtree_bytes(i).expect("every node's subtree");
                assert!(scan(&sub, &mut sub_scratch).is_some(), "subtree {i} not canonical alone");
            }
        }
        None => assert!(!by_packr, "scan refused bytes packr-abi gives back unchanged"),
    }

    match decode_value(data) {
        Ok(value) => {
            assert!(preflighted.is_ok());
            let _ = to_text(&value);
            let bytes = encode_value(&value);
            if !bytes.is_empty() {
                let again = decode_value(&bytes).expect("an encoded value decodes");
                assert_eq!(encode_value(&again), bytes, "not idempotent");
            }
            // As an actor's metadata: decoded, then every declared type used as the tool
            // uses it (theater's check, and the WAVE parser's view of the type).
            if let Ok(metadata) = Metadata::from_value(value.clone()) {
                let _: Metadata = metadata.clone();
                for sig in metadata.imports.iter().chain(&metadata.exports).take(16) {
                    for ty in sig.params.iter().map(|(_, t)| t).chain(&sig.results).take(16) {
                        if let Err(m) = types::check(&value, ty, &sig.type_defs) {
                            let _ = m.to_string();
                        }
                        if let Err(e) = pack_wave::parse("0", ty, &sig.type_defs) {
                            one_line(&e, 1000);
                        }
                    }
                }
            }
        }
        Err(e) => one_line(&e.to_string(), 1000),
    }
    let _ = cgrf_text(data);
    let _ = cgrf_args_text(data);
    if let Ok(fast) = host_call_bytes(data, Vec::new()) {
        assert!(by_packr, "the host-call fast path took non-canonical bytes");
        assert!(fast.input_len <= fast.io.len());
    }
}
