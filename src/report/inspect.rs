//! Rendering events for `inspect` (and `diff`): a human line, or a JSON object.

use crate::chain::Event;
use crate::decode;
pub use crate::dialect::theater_types::{HostTypes, WaveView};
use serde::Serialize;
use serde_json::Value;

/// Hex digits of the hash shown in human output.
const SHORT_HASH: usize = 8;

/// `INDEX  SHORTHASH  EVENT_TYPE  SUMMARY`.
pub fn human_line(index: u64, event: &Event) -> String {
    human_line_typed(index, event, None)
}

/// [`human_line`], with host calls typed by `types` when given.
pub fn human_line_typed(index: u64, event: &Event, types: Option<&HostTypes>) -> String {
    let hash = hex::encode(&event.hash[..event.hash.len().min(SHORT_HASH / 2)]);
    let summary = types.and_then(|t| t.summary(event)).unwrap_or_else(|| decode::summary(event));
    // The event type and payload are the chain's: escaped, so they cannot steer a terminal.
    let line = format!("{index:>4}  {hash}  {}  {summary}", event.event_type);
    crate::text::escape(&line).into_owned()
}

/// One event as `inspect --format json` prints it (after `schema_version`; see
/// `docs/schema/inspect.schema.json`). Keys always in this order; the
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
    /// A host call's values typed by the component (`inspect --component`), when they decode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wave: Option<WaveView>,
    /// On the event where the chain fails its integrity check (`inspect` only): why. The
    /// events after it are shown, but nothing vouches for them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broken: Option<super::diff::BrokenRecord>,
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
        wave: None,
        broken: None,
    }
}

/// One compact JSON line.
pub fn json_line(index: u64, event: &Event) -> String {
    json_line_typed(index, event, None)
}

/// [`json_line`], with a host call's `wave` values when `types` decode them.
pub fn json_line_typed(index: u64, event: &Event, types: Option<&HostTypes>) -> String {
    json_line_checked(index, event, types, None)
}

/// [`json_line_typed`], marked with `broken` when the chain breaks at this event.
pub fn json_line_checked(
    index: u64,
    event: &Event,
    types: Option<&HostTypes>,
    broken: Option<&crate::chain::Broken>,
) -> String {
    let mut record = record(index, event);
    record.wave = types.and_then(|t| t.wave(event));
    record.broken = broken.map(super::diff::broken_record);
    super::document(record)
}

/// The line `inspect` prints under the event where the chain breaks.
pub fn human_broken_marker(broken: &crate::chain::Broken) -> String {
    let line = format!("      ^ BROKEN here: {broken}; the events after it are shown, but nothing vouches for them");
    crate::text::escape(&line).into_owned()
}

/// The last line of a stream that ends in an integrity failure: events up to it were
/// printed, and a script must not take the stream for the whole chain.
pub fn broken_line(broken: &crate::chain::Broken) -> String {
    #[derive(Serialize)]
    struct Line {
        status: &'static str,
        broken: super::diff::BrokenRecord,
    }
    super::document(Line { status: "broken", broken: super::diff::broken_record(broken) })
}
