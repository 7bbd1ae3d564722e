//! WAVE arguments on arbitrary text: `record --invoke` for components (typed by the zoo
//! component's exports, as `record` checks them before anything runs) and for Pack actors
//! (typed by metadata with every declared Pack type), and `--initial-state`. Never a panic;
//! every error one short line; what parses encodes, and decodes and re-encodes the same;
//! a Pack value parsed for a declared type passes theater's own check of that type.

use super::common::{PACK, ZOO, one_line, pack_type_defs, pack_types};
use theater_replay::dialect::pack::{decode_value, encode_value};
use theater_replay::dialect::pack_wave;
use theater_replay::record;
use theater_replay::runtime::pack::types;
use theater_replay::values::{self, NoResources};
use wasmtime::component::Val;

/// A Pack value re-encodes to bytes that decode and encode to themselves.
fn pack_round_trip(value: &packr_abi::Value) {
    let bytes = encode_value(value);
    assert!(!bytes.is_empty(), "a parsed value does not encode: {value:?}");
    let again = decode_value(&bytes).expect("an encoded value decodes");
    assert_eq!(encode_value(&again), bytes, "not idempotent");
}

/// The target's check of one input: run by the fuzzer and by `tests/fuzz_corpora.rs`.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };

    // Components: the call's name picks the export, as `record` does; every export's
    // parameter types are tried too, so that the fuzzer needs no names.
    match record::parse_invocation(text) {
        Ok((name, call)) => {
            let named = ZOO.exports.iter().position(|f| f.name == name);
            for (i, f) in ZOO.exports.iter().enumerate() {
                match call.to_wasm_params::<Val>(f.params.iter()) {
                    Ok(vals) => {
                        let json = values::encode_args(&vals, &f.params, &mut NoResources).expect("parsed arguments encode");
                        let vals2 = values::decode_args(&json, &f.params, &mut NoResources).expect("encoded arguments decode");
                        let json2 = values::encode_args(&vals2, &f.params, &mut NoResources).expect("encodes");
                        assert_eq!(json, json2, "arguments of {} not idempotent", f.name);
                        let _ = values::args_to_wave(&json, Some(f.params.len()));
                    }
                    Err(e) if Some(i) == named => one_line(&e.to_string(), 1000),
                    Err(_) => {}
                }
            }
        }
        Err(e) => one_line(&e, 1000),
    }

    // Pack actors.
    match record::pack::invocation(text, &PACK) {
        Ok((name, args)) => {
            let sig = PACK.export(&name).expect("the export parsed for");
            for (value, (_, ty)) in args.iter().zip(sig.params.iter().skip(1)) {
                types::check(value, ty, &sig.type_defs).expect("a parsed argument has its declared type");
                pack_round_trip(value);
            }
        }
        Err(e) => one_line(&e, 1000),
    }

    // `--initial-state`, for every declared type.
    let defs = pack_type_defs();
    for ty in pack_types() {
        match pack_wave::parse(text, &ty, &defs) {
            Ok(value) => {
                types::check(&value, &ty, &defs).expect("a parsed state has its declared type");
                pack_round_trip(&value);
            }
            Err(e) => one_line(&e, 1000),
        }
    }
}
