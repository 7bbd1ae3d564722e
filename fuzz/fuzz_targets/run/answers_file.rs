//! Answers files (`record --answers`) on arbitrary text: the JSON object of arrays is read,
//! its queues give back exactly the file's answers in order, and every answer is parsed as
//! `record` parses it: WAVE against a component import's result type (the zoo component's
//! imports), or for a Pack actor `cgrf:<hex>` or WAVE typed by its metadata. Never a panic;
//! every error one short line; what parses encodes, and re-encodes the same; a Pack answer
//! given as WAVE passes theater's check of its declared type.

use super::common::{PACK, ZOO, one_line};
use std::collections::BTreeMap;
use theater_replay::dialect::pack::{CGRF_ANSWER_PREFIX, decode_value, encode_value};
use theater_replay::record::{Answers, pack::parse_answer};
use theater_replay::runtime::pack::types;
use theater_replay::values::{self, NoResources};
use wasmtime::component::Val;
use wasmtime::component::wasm_wave;

fn component_answer(text: &str) {
    for f in &ZOO.imports {
        let [ty] = f.results.as_slice() else { continue };
        match wasm_wave::from_str::<Val>(ty, text) {
            Ok(val) => {
                // As `record` writes it into the chain, then as the replay reads it back.
                let types = std::slice::from_ref(ty);
                let Ok(json) = values::encode_args(std::slice::from_ref(&val), types, &mut NoResources) else {
                    continue; // A resource: `record` mints those itself.
                };
                let vals = values::decode_args(&json, types, &mut NoResources).expect("an encoded answer decodes");
                let json2 = values::encode_args(&vals, types, &mut NoResources).expect("encodes");
                assert_eq!(json, json2, "answer for {} not idempotent", f.name);
            }
            Err(e) => one_line(&e.to_string(), 1000),
        }
    }
}

fn pack_answer(key: &str, text: &str) {
    for sig in &PACK.imports {
        let Some(ty) = sig.results.first() else { continue };
        match parse_answer(key, text, ty, &sig.type_defs) {
            Ok(value) => {
                if !text.starts_with(CGRF_ANSWER_PREFIX) {
                    types::check(&value, ty, &sig.type_defs).expect("a WAVE answer has its declared type");
                }
                let bytes = encode_value(&value);
                assert!(!bytes.is_empty(), "an answer does not encode: {value:?}");
                let again = decode_value(&bytes).expect("an encoded answer decodes");
                assert_eq!(encode_value(&again), bytes, "not idempotent");
            }
            Err(e) => one_line(&e, 1000),
        }
    }
}

/// The target's check of one input: run by the fuzzer and by `tests/fuzz_corpora.rs`.
pub fn run(data: &[u8]) {
    // `record` reads the file with read_to_string: UTF-8 only.
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut answers = match Answers::from_json(text) {
        Ok(answers) => answers,
        Err(e) => {
            one_line(&e, 1000);
            return;
        }
    };
    let file: BTreeMap<String, Vec<String>> = serde_json::from_str(text).expect("read as the answers file is");
    for (key, queue) in &file {
        for expected in queue {
            assert_eq!(&answers.next(key).expect("an answer left"), expected);
        }
        assert!(answers.next(key).is_err(), "more answers than the file has");
        // Keys are import names: shown only when they name one (so not checked here).
        for text in queue.iter().take(8) {
            component_answer(text);
            pack_answer("fuzz:host/io#f", text);
        }
    }
}
