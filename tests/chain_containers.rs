//! Every container round-trips through the writer and the reader; the scanner agrees
//! with serde_json.

use proptest::prelude::*;
use std::io::Cursor;
use std::path::PathBuf;
use theater_replay::chain::{
    self, ChainReader, ChainWriter, Container, Event, HashAlg, Layout, OutputFormat,
};

const LAYOUTS: [(Layout, Container); 5] = [
    (Layout::PrettyArray, Container::JsonArray),
    (Layout::CompactArray, Container::JsonArray),
    (Layout::JsonLines, Container::JsonLines),
    (Layout::EventLog, Container::EventLog),
    (Layout::StateChain, Container::StateChain),
];

fn fixtures() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/theater-chains");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 6);
    files
}

fn write(events: &[Event], layout: Layout) -> Vec<u8> {
    let mut w = ChainWriter::with_layout(Vec::new(), layout);
    for e in events {
        w.write(e).unwrap();
    }
    w.finish().unwrap()
}

fn read(bytes: Vec<u8>) -> (Container, Vec<Event>) {
    let reader = ChainReader::from_reader("mem", Box::new(Cursor::new(bytes))).unwrap();
    let container = reader.container();
    (container, reader.collect::<Result<_, _>>().unwrap())
}

#[test]
fn fixtures_round_trip_through_every_container() {
    for path in fixtures() {
        let events: Vec<Event> = ChainReader::open(&path).unwrap().collect::<Result<_, _>>().unwrap();
        for (layout, container) in LAYOUTS {
            let bytes = write(&events, layout);
            let (detected, back) = read(bytes.clone());
            assert_eq!(detected, container, "{path:?} {layout:?}");
            assert_eq!(back, events, "{path:?} {layout:?}");
            let reader = ChainReader::from_reader("mem", Box::new(Cursor::new(bytes))).unwrap();
            let outcome = chain::check_reader(reader).unwrap();
            assert!(outcome.is_intact() && outcome.events == events.len() as u64, "{path:?} {layout:?}");
        }
    }
}

#[test]
fn record_formats_have_the_promised_shape() {
    let a = Event::new_linked(HashAlg::Sha256, None, "wasm".into(), b"{}".to_vec());
    let b = Event::new_linked(HashAlg::Sha256, Some(&a.hash), "x".into(), b"1".to_vec());
    let mut w = ChainWriter::new(Vec::new(), OutputFormat::JsonArray);
    w.write(&a).unwrap();
    w.write(&b).unwrap();
    let text = String::from_utf8(w.finish().unwrap()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4);
    assert_eq!((lines[0], lines[3]), ("[", "]"));
    assert!(text.ends_with("\n]\n"));
    assert!(lines[1].starts_with(r#"{"hash":["#) && lines[1].ends_with(','));
    assert!(lines[1].contains(r#","parent_hash":null,"event_type":"wasm","data":[123,125]}"#));
    // serde_json reads what we write, in the same key order.
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v[1]["data"], serde_json::json!([49]));

    let mut w = ChainWriter::new(Vec::new(), OutputFormat::JsonLines);
    w.write(&a).unwrap();
    w.write(&b).unwrap();
    let text = String::from_utf8(w.finish().unwrap()).unwrap();
    for line in text.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
    assert_eq!(text.lines().count(), 2);

    // Empty chains in each layout.
    for (layout, container) in LAYOUTS {
        if matches!(layout, Layout::JsonLines | Layout::EventLog) {
            continue; // an empty file is not a chain
        }
        let (detected, events) = read(write(&[], layout));
        assert_eq!((detected, events.len()), (container, 0));
    }
}

#[test]
fn state_chain_keys_in_either_order() {
    let a = Event::new_linked(HashAlg::Sha1, None, "t".into(), vec![1]);
    let head: Vec<String> = a.hash.iter().map(u8::to_string).collect();
    let mut ev = Vec::new();
    chain::write_compact(&mut ev, &a).unwrap();
    let ev = String::from_utf8(ev).unwrap();
    let text = format!(r#"{{ "current_hash": [{}], "events": [ {ev} ] }}"#, head.join(","));
    let (container, events) = read(text.into_bytes());
    assert_eq!((container, events), (Container::StateChain, vec![a]));
}

#[test]
fn escaped_keys_and_odd_whitespace_are_json() {
    let a = Event::new_linked(HashAlg::Sha1, None, "w\"a/sm\n".into(), vec![0, 255]);
    let mut text = Vec::new();
    chain::write_compact(&mut text, &a).unwrap();
    let text = String::from_utf8(text).unwrap().replace("\"hash\"", "\"h\\u0061sh\"").replace(',', " ,\r\n\t");
    let (_, events) = read(format!("[ {text} ]").into_bytes());
    assert_eq!(events, vec![a]);
}

fn arb_event_type() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("wasm".to_owned()),
        "[a-z:/@.0-9\\[\\]-]{0,40}",
        any::<String>(),
    ]
}

fn arb_chain() -> impl Strategy<Value = Vec<Event>> {
    (
        prop_oneof![Just(HashAlg::Sha1), Just(HashAlg::Sha256)],
        proptest::collection::vec((arb_event_type(), proptest::collection::vec(any::<u8>(), 0..300)), 1..8),
    )
        .prop_map(|(alg, items)| {
            let mut out: Vec<Event> = Vec::new();
            for (t, data) in items {
                let parent = out.last().map(|e| e.hash.clone());
                out.push(Event::new_linked(alg, parent.as_deref(), t, data));
            }
            out
        })
}

#[derive(serde::Serialize)]
struct SerdeEvent<'a> {
    hash: &'a [u8],
    parent_hash: Option<&'a [u8]>,
    event_type: &'a str,
    data: &'a [u8],
}

proptest! {
    #[test]
    fn writer_then_reader_is_identity(events in arb_chain()) {
        for (layout, container) in LAYOUTS {
            if layout == Layout::EventLog && events.iter().any(|e| e.event_type.contains(['\n', '\r'])) {
                continue;
            }
            let (detected, back) = read(write(&events, layout));
            prop_assert_eq!(detected, container);
            prop_assert_eq!(&back, &events);
        }
    }

    #[test]
    fn scanner_agrees_with_serde_json(events in arb_chain(), pretty in any::<bool>()) {
        let as_serde: Vec<SerdeEvent> = events.iter().map(|e| SerdeEvent {
            hash: &e.hash, parent_hash: e.parent_hash.as_deref(), event_type: &e.event_type, data: &e.data,
        }).collect();
        let text = if pretty { serde_json::to_vec_pretty(&as_serde) } else { serde_json::to_vec(&as_serde) }.unwrap();
        let (_, back) = read(text);
        prop_assert_eq!(back, events);
    }

    /// Random damage to a real chain's text: always an answer (events, an error, or a
    /// broken verdict), never a panic or a hang.
    #[test]
    fn damaged_text_never_panics(cut in 0usize..20_000, flips in proptest::collection::vec((0usize..20_000, any::<u8>()), 0..4)) {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/theater-chains/runtime-runtime-test.json");
        let mut text = std::fs::read(path).unwrap();
        for (at, byte) in flips {
            let n = text.len();
            text[at % n] = byte;
        }
        text.truncate(cut.min(text.len()));
        if let Ok(reader) = ChainReader::from_reader("fuzz", Box::new(Cursor::new(text))) {
            let _ = chain::check_reader(reader);
        }
    }
}
