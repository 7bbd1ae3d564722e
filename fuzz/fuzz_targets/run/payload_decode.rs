//! Payload decoding on arbitrary bytes: our format ([`Payload::decode`]), theater's JSON
//! payloads ([`theater_json::parse`]), theater 0.3.8's CGRF payloads ([`PackPayload::decode`]),
//! the display decoders (`inspect`, `diff`), dialect detection, and the typed values inside
//! decoded against the zoo component's types. Never a panic; every error one short line (summaries are escaped where shown);
//! what decodes re-encodes to something that decodes the same; the replay's fast paths
//! agree with the full decode.

use super::common::{ZOO, one_line};
use serde_json::Value;
use theater_replay::chain::{Event, HashAlg};
use theater_replay::decode;
use theater_replay::dialect::pack::{PackPayload, encode_value, host_call_bytes};
use theater_replay::dialect::theater_json::{self, Style};
use theater_replay::dialect::Dialect;
use theater_replay::payload::{HostCall, Payload, RECORDING_EVENT_TYPE};
use theater_replay::values::{self, NoResources};
use wasmtime::component::Type;

/// Typed values (ours): what decodes against a signature re-encodes, and that decodes and
/// re-encodes to the same JSON.
fn typed_values(value: &Value) {
    for f in ZOO.exports.iter().chain(&ZOO.imports) {
        for types in [&f.params, &f.results] {
            match values::decode_args(value, types, &mut NoResources) {
                Ok(vals) => {
                    let again = values::encode_args(&vals, types, &mut NoResources).expect("a decoded value encodes");
                    let vals2 = values::decode_args(&again, types, &mut NoResources).expect("an encoded value decodes");
                    let again2 = values::encode_args(&vals2, types, &mut NoResources).expect("encodes");
                    assert_eq!(again, again2, "not idempotent: {value}");
                }
                Err(e) => one_line(&e.to_string(), 1000),
            }
        }
    }
}

/// theater's values (untyped JSON text and typed `SerializableVal`), as the replay reads
/// recorded host outputs.
fn theater_values(call: &HostCall, output: &Value) {
    for f in &ZOO.imports {
        for style in [Style::Untyped, Style::Typed] {
            match theater_json::decode_output(style, call, output, &f.results, &mut NoResources) {
                Ok(vals) => {
                    // Written back the way the replay writes a guest's input.
                    let _ = theater_json::encode_input(style, &vals, &f.results, &mut NoResources);
                }
                Err(e) => one_line(&e.to_string(), 1000),
            }
        }
    }
}

fn untyped_round_trip(value: &Value, ty: &Type) {
    if let Ok(val) = theater_json::from_untyped(value, ty, &mut NoResources, "$") {
        let json = theater_json::to_untyped(&val, ty, &mut NoResources, "$").expect("a decoded value encodes");
        let val2 = theater_json::from_untyped(&json, ty, &mut NoResources, "$").expect("an encoded value decodes");
        let json2 = theater_json::to_untyped(&val2, ty, &mut NoResources, "$").expect("encodes");
        assert_eq!(json, json2, "untyped not idempotent: {value}");
    }
    if let Ok(val) = theater_json::from_typed(value, ty, &mut NoResources, "$") {
        let json = theater_json::to_typed(&val, ty, &mut NoResources, "$").expect("a decoded value encodes");
        let val2 = theater_json::from_typed(&json, ty, &mut NoResources, "$").expect("an encoded value decodes");
        let json2 = theater_json::to_typed(&val2, ty, &mut NoResources, "$").expect("encodes");
        assert_eq!(json, json2, "typed not idempotent: {value}");
    }
}

/// The target's check of one input: run by the fuzzer and by `tests/fuzz_corpora.rs`.
pub fn run(data: &[u8]) {
    // Ours.
    match Payload::decode(data) {
        Ok(payload) => {
            let _ = payload.summary();
            let encoded = payload.encode();
            assert_eq!(Payload::decode(&encoded).as_ref(), Ok(&payload), "re-encoded differently");
            match &payload {
                Payload::HostFunction { call, input, output } => {
                    // The replay's fast path: Some exactly when the bytes are canonical.
                    let fast = Payload::recorded_host_output(data, call, input, &mut Vec::new());
                    assert_eq!(fast.as_ref(), (encoded == data).then_some(output), "fast path disagrees");
                    typed_values(input);
                    typed_values(output);
                }
                Payload::WasmCall { params: v, .. } | Payload::WasmResult { result: v, .. } => typed_values(v),
                _ => {}
            }
        }
        Err(e) => one_line(&e.to_string(), 1000),
    }

    // theater's JSON payloads.
    if let Some(event) = theater_json::parse(data) {
        match &event {
            theater_json::Event::HostFunction { call, input, output } => {
                theater_values(call, output);
                for f in ZOO.imports.iter().take(20) {
                    for ty in f.params.iter().chain(&f.results) {
                        untyped_round_trip(input, ty);
                        if let Some(bytes) = theater_json::json_bytes(output)
                            && let Ok(inner) = serde_json::from_slice::<Value>(&bytes)
                        {
                            untyped_round_trip(&inner, ty);
                        }
                    }
                }
            }
            theater_json::Event::WasmCall { params: v, .. } | theater_json::Event::WasmResult { result: v, .. } => {
                for f in &ZOO.exports {
                    for ty in f.params.iter().chain(&f.results) {
                        untyped_round_trip(v, ty);
                    }
                }
            }
            theater_json::Event::WasmError { .. } => {}
        }
    }

    // theater 0.3.8's CGRF payloads, and the host-call fast path.
    match PackPayload::decode(data) {
        Ok(payload) => {
            let _ = payload.summary();
            let _ = payload.to_json();
            let _ = payload.encode();
            // A spent buffer holding anything, as the replay reuses them.
            if let Ok(fast) = host_call_bytes(data, data.to_vec()) {
                let PackPayload::HostFunction { interface, function, input, output } = &payload else {
                    panic!("the fast path took a non-host-call: {payload:?}")
                };
                assert_eq!(&data[fast.interface.clone()], interface.as_bytes());
                assert_eq!(&data[fast.function.clone()], function.as_bytes());
                assert_eq!(fast.input(), encode_value(input), "input bytes");
                assert_eq!(fast.output(), encode_value(output), "output bytes");
                assert_eq!(payload.encode(), data, "the fast path took non-canonical bytes");
            }
        }
        Err(e) => {
            one_line(&e.to_string(), 1000);
            assert!(host_call_bytes(data, Vec::new()).is_err(), "the fast path took bytes that do not decode");
        }
    }

    // The display decoders and dialect detection.
    let _ = decode::decode_payload(data);
    for event_type in ["wasm", RECORDING_EVENT_TYPE, "demo:zoo/host/text"] {
        let event = Event::new_linked(HashAlg::Sha1, None, event_type.into(), data.to_vec());
        let _ = decode::summary(&event);
        let _ = Dialect::detect(&event);
    }
}
