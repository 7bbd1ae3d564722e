//! theater 0.3.11 to 0.3.18's run log (`<chain dir>/<actor-id>.chain`): per event the lines
//! `---`, `hash: <hex>`, `parent: <hex>` (`parent: root` for the first), then the payload
//! as a packr Value literal on one line (packr-abi 0.5.3's `Display`).
//!
//! The text loses two things the hash covers: every variant's tag (the literal names the
//! case, not its number; packr-abi's parser sets 0) and the event_type (there is no line
//! for it). Both come back here: tags from the schemas of theater's own payload types and,
//! for the actor's own variants, from its `__pack_types` when the actor is given; the
//! event_type from the payload, as theater derives it. An event holding a variant of a
//! type neither knows is *lossy*: what it hashes to cannot be computed, so it is neither
//! broken nor intact (`check` says which events and why; a replay needs the actor).
//!
//! theater writes exactly `Display` of the value, so a line that is not the `Display` of
//! what it parses to (a space more, `00s32` for `0s32`) is not what theater wrote: refused,
//! so every edit of the text is caught, not only those that change the value.

use packr_abi::Value;
use std::collections::BTreeMap;

/// How the first line of such a log reads.
pub const SIGNATURE: &[u8] = b"---\n";

/// Lines per event: `---`, `hash:`, `parent:`, the payload. Events start at line
/// `LINES_PER_EVENT * index + 1`, which is how a report names an event's line.
pub const LINES_PER_EVENT: u64 = 4;

/// The variants of theater's own payload types, their cases in tag order (theater's
/// `ChainEventPayload` and `WasmEventData`, unchanged 0.3.11 to 0.3.18).
const THEATER_VARIANTS: &[(&str, &[&str])] = &[
    ("chain-event-payload", &["host-function", "wasm", "replay-summary"]),
    ("wasm-event-data", &["wasm-call", "wasm-result", "wasm-error", "wasm-component-creation-error"]),
];

/// Deepest nesting of brackets a payload line may have: packr-abi's parser recurses once
/// per level, without a limit of its own (the CGRF decoder's limit, for the same values).
const MAX_NESTING: usize = crate::dialect::cgrf_check::MAX_VALUE_DEPTH as usize;

/// The case lists of an actor's own variant types, from its `__pack_types`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActorVariants {
    /// Case names in tag order, by type name; `None` where two definitions of one name
    /// disagree (then no tag can be trusted).
    cases: BTreeMap<String, Option<Vec<String>>>,
}

impl ActorVariants {
    /// The variant types an actor defines, each as its name and its case names in tag
    /// order (see `Metadata::variants`), as often as its signatures repeat them.
    pub fn new(defs: impl IntoIterator<Item = (String, Vec<String>)>) -> ActorVariants {
        let mut cases: BTreeMap<String, Option<Vec<String>>> = BTreeMap::new();
        for (name, names) in defs {
            cases
                .entry(name)
                .and_modify(|known| {
                    if known.as_ref() != Some(&names) {
                        *known = None;
                    }
                })
                .or_insert(Some(names));
        }
        ActorVariants { cases }
    }

    /// `None` when the actor defines no such type (or disagrees with itself about it);
    /// `Err` when the type has no such case.
    fn tag(&self, type_name: &str, case: &str) -> Option<Result<usize, ()>> {
        let cases = self.cases.get(type_name)?.as_ref()?;
        Some(cases.iter().position(|c| c == case).ok_or(()))
    }
}

/// One payload line, read back.
#[derive(Debug, Clone, PartialEq)]
pub struct TextPayload {
    /// The CGRF bytes theater hashed (with tags restored).
    pub data: Vec<u8>,
    /// The event_type theater gave the event, rebuilt from the payload.
    pub event_type: String,
    /// Why the bytes cannot be trusted to be what theater hashed, when they cannot.
    pub lossy: Option<String>,
}

/// What the event's other lines say: the hash that confirms case numbers found by search.
#[derive(Debug, Clone, Copy)]
pub struct Stored<'a> {
    pub hash: &'a [u8],
    pub parent: Option<&'a [u8]>,
}

/// Case-number combinations tried per event, at most, for the variants no schema names.
const SEARCH_BUDGET: usize = 1024;

/// Reads one payload line. `Err` when it is not a value as theater writes one.
///
/// A variant of a type no schema names (the actor declared it `value`, or no actor was
/// given) gets its case number by search: the combinations of small numbers are tried
/// until one gives the event's stored hash, which makes the bytes exactly those theater
/// hashed (a SHA-1 that matches is no accident). When none does, the event is lossy.
pub fn payload(line: &str, actor: Option<&ActorVariants>, stored: Stored<'_>) -> Result<TextPayload, String> {
    if nesting(line) > MAX_NESTING {
        return Err(format!("the payload nests deeper than {MAX_NESTING} levels"));
    }
    let parsed = packr_abi_011::parse_value(line).map_err(|e| format!("not a packr value literal: {e}"))?;
    let written = parsed.to_string();
    if written != line {
        return Err(format!(
            "not the text theater writes for this value: it writes {}",
            crate::text::clip_to(&written, 120)
        ));
    }
    let mut value = crate::dialect::packr011::to_v05(parsed);
    let mut unknown = Vec::new();
    restore_tags(&mut value, actor, &mut unknown);
    let Some(event_type) = event_type(&value) else {
        let why = "its payload is not one theater's rules give an event type for".to_owned();
        return Ok(TextPayload { data: crate::dialect::pack::encode_value(&value), event_type: String::new(), lossy: Some(why) });
    };
    if unknown.is_empty() {
        return Ok(TextPayload { data: crate::dialect::pack::encode_value(&value), event_type, lossy: None });
    }
    let alg = super::HashAlg::from_len(stored.hash.len());
    let confirmed = |data: &[u8]| alg.is_some_and(|alg| super::canonical_hash(alg, stored.parent, &event_type, data) == *stored.hash);
    let (found, highest) = search(&mut value, &unknown, confirmed);
    if let Some(data) = found {
        return Ok(TextPayload { data, event_type, lossy: None });
    }
    let shown: Vec<String> = unknown.iter().take(3).map(|v| format!("`{v}`")).collect();
    let more = if unknown.len() > 3 { format!(" and {} more", unknown.len() - 3) } else { String::new() };
    let (names, one) = (format!("{}{more}", shown.join(", ")), unknown.len() == 1);
    let cases = if one { "is a case" } else { "are cases" };
    let why = match actor {
        None => format!(
            "{names} {cases} of the actor's own variant {}, whose case numbers the text does not keep, and no case numbers up to {highest} give the event's stored hash: the event was edited, or its cases are numbered higher (the actor's __pack_types numbers them: verify restores them, and so does inspect --component)",
            if one { "type" } else { "types" },
        ),
        Some(_) => format!(
            "{names} {cases} of no variant type theater's schemas or the actor's __pack_types define, and no case numbers up to {highest} give the event's stored hash: the event was edited, or its cases are numbered higher"
        ),
    };
    let data = crate::dialect::pack::encode_value(&value);
    Ok(TextPayload { data, event_type, lossy: Some(why) })
}

/// Tries case numbers for the `unknown` variants (every combination of numbers below a
/// bound that keeps them within [`SEARCH_BUDGET`]) until `confirmed` accepts the encoding;
/// also the highest number tried.
fn search(value: &mut Value, unknown: &[String], confirmed: impl Fn(&[u8]) -> bool) -> (Option<Vec<u8>>, usize) {
    let n = unknown.len();
    let per = (1..=64usize).rev().find(|k| k.checked_pow(n as u32).is_some_and(|c| c <= SEARCH_BUDGET)).unwrap_or(1);
    let mut tags = vec![0usize; n];
    loop {
        set_tags(value, unknown, &tags);
        let data = crate::dialect::pack::encode_value(value);
        if confirmed(&data) {
            return (Some(data), per - 1);
        }
        let mut i = 0;
        loop {
            if i == n {
                return (None, per - 1);
            }
            tags[i] += 1;
            if tags[i] < per {
                break;
            }
            tags[i] = 0;
            i += 1;
        }
    }
}

/// Sets the tag of every variant whose `type::case` is `unknown[i]` to `tags[i]`.
fn set_tags(value: &mut Value, unknown: &[String], tags: &[usize]) {
    match value {
        Value::Variant { type_name, case_name, tag, payload } => {
            let named = |u: &String| u.strip_prefix(type_name.as_str()).and_then(|r| r.strip_prefix("::")) == Some(case_name.as_str());
            if let Some(i) = unknown.iter().position(named) {
                *tag = tags[i];
            }
            for item in payload {
                set_tags(item, unknown, tags);
            }
        }
        Value::List { items, .. } | Value::Tuple(items) => items.iter_mut().for_each(|v| set_tags(v, unknown, tags)),
        Value::Option { value: Some(inner), .. } | Value::Result { value: Ok(inner) | Err(inner), .. } => {
            set_tags(inner, unknown, tags)
        }
        Value::Record { fields, .. } => fields.iter_mut().for_each(|(_, v)| set_tags(v, unknown, tags)),
        _ => {}
    }
}

/// Gives every variant its tag; the `type::case` of those it cannot, in `unknown`.
fn restore_tags(value: &mut Value, actor: Option<&ActorVariants>, unknown: &mut Vec<String>) {
    match value {
        Value::Variant { type_name, case_name, tag, payload } => {
            let theaters = THEATER_VARIANTS.iter().find(|(name, _)| name == type_name);
            let found = match theaters {
                Some((_, cases)) => Some(cases.iter().position(|c| c == case_name).ok_or(())),
                None => actor.and_then(|a| a.tag(type_name, case_name)),
            };
            match found {
                Some(Ok(t)) => *tag = t,
                // A case the type does not have: tag 0 is kept, and the hash then says the
                // event is not what theater wrote.
                Some(Err(())) => {}
                None => {
                    let name = format!("{type_name}::{case_name}");
                    if !unknown.contains(&name) {
                        unknown.push(name);
                    }
                }
            }
            for item in payload {
                restore_tags(item, actor, unknown);
            }
        }
        Value::List { items, .. } | Value::Tuple(items) => {
            for item in items {
                restore_tags(item, actor, unknown);
            }
        }
        Value::Option { value: Some(inner), .. } => restore_tags(inner, actor, unknown),
        Value::Result { value: Ok(inner) | Err(inner), .. } => restore_tags(inner, actor, unknown),
        Value::Record { fields, .. } => {
            for (_, item) in fields {
                restore_tags(item, actor, unknown);
            }
        }
        _ => {}
    }
}

/// The event_type theater gives a payload: `interface/function` for a host call, `shutdown`
/// for the runtime's closing call, `wasm` for the rest of the actor's calls.
fn event_type(value: &Value) -> Option<String> {
    let Value::Variant { type_name, case_name, payload, .. } = value else { return None };
    if type_name != "chain-event-payload" {
        return None;
    }
    let field = |record: &Value, name: &str| match record {
        Value::Record { fields, .. } => fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()),
        _ => None,
    };
    let string = |v: Option<Value>| match v {
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    match (case_name.as_str(), payload.as_slice()) {
        ("host-function", [call]) => {
            Some(format!("{}/{}", string(field(call, "interface"))?, string(field(call, "function"))?))
        }
        ("wasm", [Value::Variant { case_name, payload, .. }]) => match (case_name.as_str(), payload.as_slice()) {
            ("wasm-call", [call]) if string(field(call, "function-name")).as_deref() == Some("shutdown") => {
                Some("shutdown".to_owned())
            }
            _ => Some("wasm".to_owned()),
        },
        _ => None,
    }
}

/// How deep brackets nest in a literal, outside its strings and chars.
fn nesting(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut quoted: Option<u8> = None;
    let mut escaped = false;
    for &b in text.as_bytes() {
        match quoted {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == q {
                    quoted = None;
                }
            }
            None => match b {
                b'"' | b'\'' => quoted = Some(b),
                b'(' | b'[' | b'{' | b'<' => {
                    depth += 1;
                    deepest = deepest.max(depth);
                }
                b')' | b']' | b'}' | b'>' => depth = depth.saturating_sub(1),
                _ => {}
            },
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{HashAlg, canonical_hash};

    const INIT_CALL: &str = r#"chain-event-payload::wasm(wasm-event-data::wasm-call(wasm-call{function-name: "theater:simple/actor.init", params: ()}))"#;
    const CLASSIFY: &str = r#"chain-event-payload::host-function(host-function-call{interface: "t:h/x", function: "classify", input: (shape::rect(1u32, 2u32)), output: size::large})"#;
    const NO_HASH: Stored<'static> = Stored { hash: &[0; 20], parent: None };

    /// The SHA-1 theater gives CLASSIFY's event when `rect` and `large` are case 1.
    fn classify_hash() -> Vec<u8> {
        let mut value = crate::dialect::packr011::to_v05(packr_abi_011::parse_value(CLASSIFY).unwrap());
        restore_tags(&mut value, None, &mut Vec::new());
        set_tags(&mut value, &["shape::rect".into(), "size::large".into()], &[1, 1]);
        let data = crate::dialect::pack::encode_value(&value);
        canonical_hash(HashAlg::Sha1, None, "t:h/x/classify", &data).as_bytes().to_vec()
    }

    #[test]
    fn theaters_own_tags_and_event_types_come_back() {
        let read = payload(INIT_CALL, None, NO_HASH).unwrap();
        assert_eq!(read.event_type, "wasm");
        assert_eq!(read.lossy, None);
        // The text's hash is 0.3.12's init event's, given in the chain below it.
        let hash = canonical_hash(HashAlg::Sha1, None, &read.event_type, &read.data);
        assert_eq!(hex::encode(hash.as_bytes()), "7df1d45f275f4b950dbbe0f58be5c101fae07ec2");
        let shutdown = r#"chain-event-payload::wasm(wasm-event-data::wasm-call(wasm-call{function-name: "shutdown", params: ()}))"#;
        assert_eq!(payload(shutdown, None, NO_HASH).unwrap().event_type, "shutdown");
        let log = r#"chain-event-payload::host-function(host-function-call{interface: "theater:simple/runtime", function: "log", input: "x", output: ()})"#;
        assert_eq!(payload(log, None, NO_HASH).unwrap().event_type, "theater:simple/runtime/log");
    }

    #[test]
    fn an_actor_variant_is_found_by_its_hash_or_from_the_actors_types() {
        let hash = classify_hash();
        let stored = Stored { hash: &hash, parent: None };
        let read = payload(CLASSIFY, None, stored).unwrap();
        assert_eq!((read.lossy, read.event_type.as_str()), (None, "t:h/x/classify"));
        let value = crate::dialect::pack::decode_value(&read.data).unwrap();
        let text = format!("{value:?}");
        assert!(text.contains("case_name: \"rect\", tag: 1") && text.contains("case_name: \"large\", tag: 1"), "{text}");
        // An edited hash: nothing gives it.
        let lossy = payload(CLASSIFY, None, NO_HASH).unwrap().lossy.unwrap();
        assert!(lossy.contains("`shape::rect`, `size::large` are cases of the actor's own") && lossy.contains("up to 31"), "{lossy}");
        // The actor's types name the cases: no search, and a wrong hash is then the
        // integrity check's to find (the bytes are final).
        let actor = ActorVariants::new([
            ("shape".to_owned(), vec!["circle".to_owned(), "rect".to_owned()]),
            ("size".to_owned(), vec!["small".to_owned(), "large".to_owned()]),
        ]);
        let read = payload(CLASSIFY, Some(&actor), NO_HASH).unwrap();
        assert_eq!((read.lossy, read.data), (None, payload(CLASSIFY, None, stored).unwrap().data));
        // Two definitions of one name that disagree: that type is searched again.
        let disagreeing = ActorVariants::new([
            ("size".to_owned(), vec!["small".to_owned(), "large".to_owned()]),
            ("size".to_owned(), vec!["large".to_owned()]),
        ]);
        let lossy = payload(CLASSIFY, Some(&disagreeing), NO_HASH).unwrap().lossy.unwrap();
        assert!(lossy.contains("`shape::rect`, `size::large` are cases of no variant type"), "{lossy}");
    }

    #[test]
    fn only_the_text_theater_writes_is_read() {
        for edited in [
            INIT_CALL.replace(", params", ",  params"),
            INIT_CALL.replace("()}", "( )}"),
            r#"chain-event-payload::host-function(host-function-call{interface: "a", function: "b", input: 00s32, output: ()})"#.to_owned(),
        ] {
            let why = payload(&edited, None, NO_HASH).unwrap_err();
            assert!(why.contains("not the text theater writes") || why.contains("not a packr value"), "{edited}: {why}");
        }
        let deep = format!("{}1u8{}", "(".repeat(200), ")".repeat(200));
        assert!(payload(&deep, None, NO_HASH).unwrap_err().contains("nests deeper"));
        let quoted = format!("\"{}\"", "(".repeat(500));
        assert_eq!(nesting(&quoted), 0);
    }
}
