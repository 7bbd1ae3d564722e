//! Rendering events for `inspect` (and `diff`): a human line, or a JSON object.

use crate::chain::Event;
use crate::decode;
use serde::Serialize;
use serde_json::Value;

/// Hex digits of the hash shown in human output.
const SHORT_HASH: usize = 8;

/// `INDEX  SHORTHASH  EVENT_TYPE  SUMMARY`.
pub fn human_line(index: u64, event: &Event) -> String {
    let hash = hex::encode(&event.hash[..event.hash.len().min(SHORT_HASH / 2)]);
    // The event type and payload are the chain's: escaped, so they cannot steer a terminal.
    let line = format!("{index:>4}  {hash}  {}  {}", event.event_type, decode::summary(event));
    crate::text::escape(&line).into_owned()
}

/// One event as `inspect --format jsonl` prints it. Keys always in this order; the
/// payload's own keys are sorted by serde_json, so equal events print equal text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventRecord {
    pub index: u64,
    /// Lowercase hex.
    pub hash: String,
    /// Lowercase hex, or null on the first event.
    pub parent_hash: Option<String>,
    pub event_type: String,
    /// The data decoded as JSON (nested byte-array JSON decoded too); absent if not JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
    /// The data in hex, present only when it is not JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_hex: Option<String>,
}

pub fn record(index: u64, event: &Event) -> EventRecord {
    let payload = decode::decode_payload(&event.data);
    let data_hex = payload.is_none().then(|| hex::encode(&event.data));
    EventRecord {
        index,
        hash: hex::encode(&event.hash),
        parent_hash: event.parent_hash.as_ref().map(hex::encode),
        event_type: event.event_type.clone(),
        payload,
        data_hex,
    }
}

/// One compact JSON line.
pub fn json_line(index: u64, event: &Event) -> String {
    serde_json::to_string(&record(index, event)).unwrap_or_default()
}
