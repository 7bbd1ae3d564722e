//! Decoding event payloads for display (`inspect`, `diff`): best effort, never an error.
//!
//! Payloads are UTF-8 JSON. Theater's older chains nest more JSON inside as byte arrays
//! (`"input":[34,80,65,84,72,34]` is the text `"PATH"`), so a JSON array of numbers 0..=255
//! that is UTF-8 JSON text is shown as that JSON. An array of small numbers that merely
//! happens to spell JSON (a one-byte list `[48]`) is shown decoded too: the bytes do not say
//! which was meant, and theater's chains use the nested form throughout.

use crate::chain::Event;
use crate::dialect::pack::{CGRF_MAGIC, PackPayload};
use crate::values::diff::Compared;
use serde_json::Value;

/// How deep byte arrays nested in byte arrays are decoded. Each level at least doubles
/// the text, so real payloads stay far below this; it bounds recursion on crafted input.
pub const MAX_NESTING: usize = 8;
/// Longest rendering of one value in a summary line.
const MAX_VALUE_CHARS: usize = 120;

/// The payload as JSON, with nested byte-array JSON decoded; theater 0.3.8's CGRF payloads
/// as their decoded JSON view ([`PackPayload::to_json`]); `None` if it is neither.
pub fn decode_payload(data: &[u8]) -> Option<Value> {
    if data.starts_with(CGRF_MAGIC) {
        return PackPayload::decode(data).ok().map(|p| p.to_json());
    }
    let value = serde_json::from_slice::<Value>(data).ok()?;
    Some(decode_nested(value, MAX_NESTING))
}

/// Replaces every byte array holding UTF-8 JSON text in `value` by that JSON.
pub fn decode_nested(value: Value, depth: usize) -> Value {
    match value {
        Value::Array(items) => match as_bytes(&items).and_then(|b| serde_json::from_slice::<Value>(&b).ok()) {
            Some(inner) if depth > 0 => decode_nested(inner, depth - 1),
            _ => Value::Array(items.into_iter().map(|v| decode_nested(v, depth)).collect()),
        },
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, decode_nested(v, depth))).collect()),
        other => other,
    }
}

/// The bytes of a non-empty array of numbers 0..=255.
fn as_bytes(items: &[Value]) -> Option<Vec<u8>> {
    if items.is_empty() {
        return None;
    }
    items.iter().map(|v| v.as_u64().and_then(|n| u8::try_from(n).ok())).collect()
}

/// The value a divergence diffs of an event, for our payloads and theater 0.3.8's;
/// theater's component-era ones need the component's types (see
/// [`crate::dialect::theater_types::HostTypes::compared`]).
pub fn compared(data: &[u8]) -> Option<Compared> {
    if data.starts_with(CGRF_MAGIC) {
        return PackPayload::decode(data).ok()?.compared();
    }
    match crate::payload::Payload::decode(data) {
        Ok(payload) => payload.compared(),
        // theater's component-era results carry the actor's state.
        Err(_) => crate::dialect::theater_json::result_compared(data),
    }
}

/// One line describing an event's payload, as each dialect reads best: ours in WAVE
/// (`call F(args)`, `F returned R`, `iface#f(args) -> R`), Pack's with the state
/// (`F returned R (state S)`), theater's component-era JSON as `call F(params)`,
/// `result F -> R (state: S)`, `error F: message`, `interface/function(input) -> output`.
pub fn summary(event: &Event) -> String {
    // Our typed payloads read best as WAVE; everything else (theater's older payloads)
    // is summarised from its JSON.
    if let Ok(payload) = crate::payload::Payload::decode(&event.data) {
        return payload.summary();
    }
    if event.data.starts_with(CGRF_MAGIC) {
        return match PackPayload::decode(&event.data) {
            Ok(payload) => payload.summary(),
            Err(e) => format!("{} bytes, {e}", event.data.len()),
        };
    }
    match decode_payload(&event.data) {
        Some(value) => summarize_value(&value),
        None => summarize_raw(&event.data),
    }
}

/// The summary of an already decoded payload.
pub fn summarize_value(value: &Value) -> String {
    let field = |v: &Value, key: &str| v.get(key).cloned().unwrap_or(Value::Null);
    let text = |v: &Value, key: &str| match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => short(other),
        None => "?".to_owned(),
    };
    match value.get("category").and_then(Value::as_str) {
        Some("HostFunction") => {
            let interface = text(value, "interface");
            let function = text(value, "function");
            let input = field(value, "input");
            let output = field(value, "output");
            let path = if interface.is_empty() { function } else { format!("{interface}/{function}") };
            format!("{path}({}) -> {}", short(&input), short(&output))
        }
        Some("Wasm") => {
            if let Some(call) = value.get("WasmCall") {
                format!("call {}({})", text(call, "function_name"), short(&field(call, "params")))
            } else if let Some(result) = value.get("WasmResult") {
                let f = text(result, "function_name");
                match field(result, "result") {
                    // Theater's result is [state, result]: show the result, note the state.
                    Value::Array(pair) if pair.len() == 2 => {
                        let state = match &pair[0] {
                            Value::Null => String::new(),
                            // Decoded when it is text, as theater's actors mostly keep it.
                            Value::Array(bytes) => {
                                let state = crate::dialect::theater_json::json_bytes(&pair[0]).unwrap_or_default();
                                match crate::dialect::theater_json::state_text(&state) {
                                    Some(text) => format!(" (state: {})", short(&Value::String(text.into()))),
                                    None => format!(" (state: {} bytes)", bytes.len()),
                                }
                            }
                            other => format!(" (state: {})", short(other)),
                        };
                        format!("result {f} -> {}{state}", short(&pair[1]))
                    }
                    other => format!("result {f} -> {}", short(&other)),
                }
            } else if let Some(error) = value.get("WasmError") {
                format!("error {}: {}", text(error, "function_name"), text(error, "message"))
            } else {
                short(value)
            }
        }
        _ => short(value),
    }
}

/// Data that is not JSON: its size, and its text if it is text.
fn summarize_raw(data: &[u8]) -> String {
    match std::str::from_utf8(data) {
        Ok(text) => format!("{} bytes, not JSON: {}", data.len(), short(&Value::String(text.to_owned()))),
        Err(_) => {
            let head = hex::encode(&data[..data.len().min(16)]);
            let more = if data.len() > 16 { "…" } else { "" };
            format!("{} bytes, binary: {head}{more}", data.len())
        }
    }
}

/// Compact JSON, cut to `MAX_VALUE_CHARS` characters. Always one line: JSON escapes
/// line breaks inside strings.
pub fn short(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(MAX_VALUE_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bytes(s: &str) -> Value {
        Value::Array(s.bytes().map(|b| json!(b)).collect())
    }

    #[test]
    fn nested_byte_arrays_are_decoded() {
        let v = json!({"input": bytes("\"PATH\""), "output": bytes("null"), "n": bytes("0"), "typed": {"U64": 1}});
        assert_eq!(
            decode_nested(v, MAX_NESTING),
            json!({"input": "PATH", "output": null, "n": 0, "typed": {"U64": 1}})
        );
        // Not JSON text, or not bytes: left alone.
        assert_eq!(decode_nested(bytes("a b"), MAX_NESTING), bytes("a b"));
        assert_eq!(decode_nested(json!([]), MAX_NESTING), json!([]));
        assert_eq!(decode_nested(json!([1, 256]), MAX_NESTING), json!([1, 256]));
        // Twice nested.
        let twice = bytes(&serde_json::to_string(&bytes("true")).unwrap());
        assert_eq!(decode_nested(twice, MAX_NESTING), json!(true));
    }

    #[test]
    fn summaries() {
        let host =
            json!({"category":"HostFunction","interface":"a:b/c","function":"f","input": "x","output": {"U64": 1}});
        assert_eq!(summarize_value(&host), "a:b/c/f(\"x\") -> {\"U64\":1}");
        let call = json!({"category":"Wasm","WasmCall":{"function_name":"init","params":null}});
        assert_eq!(summarize_value(&call), "call init(null)");
        let result = json!({"category":"Wasm","WasmResult":{"function_name":"init","result":[[1,2],null]}});
        assert_eq!(summarize_value(&result), "result init -> null (state: 2 bytes)");
        // A state that is text is shown as text.
        let text = json!({"category":"Wasm","WasmResult":{"function_name":"init","result":[[111,107,10],null]}});
        assert_eq!(summarize_value(&text), "result init -> null (state: \"ok\\n\")");
        let error = json!({"category":"Wasm","WasmError":{"function_name":"init","message":"boom"}});
        assert_eq!(summarize_value(&error), "error init: boom");
        assert_eq!(summarize_raw(&[0xff, 0]), "2 bytes, binary: ff00");
        assert!(short(&Value::String("x".repeat(500))).ends_with('…'));
    }
}
