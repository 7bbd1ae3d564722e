//! The six real theater chains: intact, fully decoded, diffed correctly, and every single
//! byte change caught at the right event.

use std::io::Cursor;
use std::path::PathBuf;
use theater_replay::chain::{
    self, BrokenReason, ChainReader, ChainWriter, Container, Event, HashAlg, IntegrityChecker, Layout,
};
use theater_replay::report;

const FIXTURES: [(&str, u64); 6] = [
    ("environment-environment-test.json", 8),
    ("http-wasi-http-test-first.json", 2),
    ("http-wasi-http-test-two.json", 22),
    ("random-wasi-random-test.json", 7),
    ("runtime-runtime-test.json", 6),
    ("timing-wasi-clocks-test.json", 16),
];

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/theater-chains").join(name)
}

fn events(name: &str) -> Vec<Event> {
    ChainReader::open(&fixture(name)).unwrap().collect::<Result<_, _>>().unwrap()
}

fn pretty(events: &[Event]) -> Vec<u8> {
    let mut w = ChainWriter::with_layout(Vec::new(), Layout::PrettyArray);
    for e in events {
        w.write(e).unwrap();
    }
    w.finish().unwrap()
}

fn check_bytes(text: Vec<u8>) -> chain::CheckOutcome {
    chain::check_reader(ChainReader::from_reader("mutated.json", Box::new(Cursor::new(text))).unwrap()).unwrap()
}

#[test]
fn all_six_are_intact_sha1_json_arrays() {
    for (name, count) in FIXTURES {
        let outcome = chain::check_path(&fixture(name)).unwrap();
        assert_eq!(outcome.broken, None, "{name}");
        assert_eq!((outcome.events, outcome.alg, outcome.container), (count, Some(HashAlg::Sha1), Container::JsonArray), "{name}");
    }
}

#[test]
fn all_six_decode_fully() {
    for (name, _) in FIXTURES {
        for (i, e) in events(name).iter().enumerate() {
            let rec = report::inspect::record(i as u64, e);
            assert!(rec.data_hex.is_none(), "{name} event {i} not decoded");
            let payload = rec.payload.unwrap();
            assert!(payload.get("category").is_some(), "{name} event {i}: {payload}");
            // The summary names the call, on one line.
            let summary = theater_replay::decode::summary(e);
            assert!(!summary.contains('\n') && !summary.is_empty());
        }
    }
    // Nested byte-array JSON is decoded: `"input":[34,80,65,84,72,34]` is "PATH".
    let env = events("environment-environment-test.json");
    let payload = theater_replay::decode::decode_payload(&env[1].data).unwrap();
    assert_eq!(payload["input"], "PATH");
    assert_eq!(payload["output"], true);
    assert_eq!(
        theater_replay::decode::summary(&env[1]),
        r#"theater:simple/environment/exists("PATH") -> true"#
    );
    // Typed values stay as they are.
    let timing = events("timing-wasi-clocks-test.json");
    let payload = theater_replay::decode::decode_payload(&timing[5].data).unwrap();
    assert_eq!(payload["input"], serde_json::json!({"U64": 50000000}));
}

#[test]
fn pretty_writer_reproduces_theaters_files_byte_for_byte() {
    for (name, _) in FIXTURES {
        assert_eq!(pretty(&events(name)), std::fs::read(fixture(name)).unwrap(), "{name}");
    }
}

#[test]
fn diffs_between_all_pairs() {
    for (a, _) in FIXTURES {
        for (b, _) in FIXTURES {
            let (ea, eb) = (events(a), events(b));
            let expected = ea.iter().zip(&eb).take_while(|(x, y)| x.hash == y.hash).count();
            let mut ra = ChainReader::open(&fixture(a)).unwrap();
            let mut rb = ChainReader::open(&fixture(b)).unwrap();
            let outcome = chain::diff_readers(&mut ra, &mut rb).unwrap();
            assert_eq!(outcome.common_prefix, expected as u64, "{a} vs {b}");
            assert_eq!(outcome.is_same(), a == b, "{a} vs {b}");
            assert_eq!(outcome.a.as_ref(), ea.get(expected), "{a} vs {b}");
            assert_eq!(outcome.b.as_ref(), eb.get(expected), "{a} vs {b}");
        }
    }
    // http-first is a prefix of http-two: they part where first ends.
    let mut ra = ChainReader::open(&fixture("http-wasi-http-test-first.json")).unwrap();
    let mut rb = ChainReader::open(&fixture("http-wasi-http-test-two.json")).unwrap();
    let outcome = chain::diff_readers(&mut ra, &mut rb).unwrap();
    assert_eq!((outcome.common_prefix, outcome.a.is_none(), outcome.b.is_some()), (2, true, true));
}

/// Feeds `events[..i]` once, then checks every single-byte change of event `i` against a
/// copy of that checker state: the change must be caught at `i`, for the right reason.
#[test]
fn every_single_byte_change_is_caught_at_its_event() {
    let mut tried = 0;
    for (name, _) in FIXTURES {
        let events = events(name);
        let mut before = IntegrityChecker::new();
        for (i, event) in events.iter().enumerate() {
            let expect = |mutated: &Event, reason: BrokenReason, what: &str| {
                let broken = before.clone().push(mutated).expect_err(what);
                assert_eq!((broken.index, broken.reason), (i as u64, reason), "{name} event {i} {what}");
                assert_eq!(broken.event_type, mutated.event_type);
            };
            for k in 0..event.data.len() {
                let mut m = event.clone();
                m.data[k] ^= 0x01;
                expect(&m, BrokenReason::ContentHashMismatch, &format!("data byte {k}"));
                m.data[k] = event.data[k].wrapping_add(128);
                expect(&m, BrokenReason::ContentHashMismatch, &format!("data byte {k} (+128)"));
                tried += 2;
            }
            for k in 0..event.hash.len() {
                let mut m = event.clone();
                m.hash[k] ^= 0x80;
                expect(&m, BrokenReason::ContentHashMismatch, &format!("hash byte {k}"));
                tried += 1;
            }
            if let Some(parent) = &event.parent_hash {
                for k in 0..parent.len() {
                    let mut m = event.clone();
                    if let Some(p) = m.parent_hash.as_mut() {
                        p[k] ^= 0x01;
                    }
                    expect(&m, BrokenReason::WrongParentLink, &format!("parent byte {k}"));
                    tried += 1;
                }
            }
            before.push(event).unwrap();
        }
    }
    assert!(tried > 30_000, "{tried}");
}

/// The same through the file format and the streaming reader, for a sample of changes
/// (every 37th data byte, every hash byte of a few events, every parent byte of one).
#[test]
fn byte_changes_in_the_file_are_caught_at_their_event() {
    for (name, _) in FIXTURES {
        let events = events(name);
        for (i, event) in events.iter().enumerate() {
            let mut positions: Vec<(&str, usize)> =
                (0..event.data.len()).step_by(37).map(|k| ("data", k)).collect();
            if i % 5 == 0 {
                positions.extend((0..event.hash.len()).map(|k| ("hash", k)));
            }
            if i == events.len() / 2 && i > 0 {
                positions.extend((0..20).map(|k| ("parent", k)));
            }
            for (field, k) in positions {
                let mut copy = events.clone();
                let e = &mut copy[i];
                let (slot, reason) = match field {
                    "data" => (&mut e.data[k], BrokenReason::ContentHashMismatch),
                    "hash" => (&mut e.hash[k], BrokenReason::ContentHashMismatch),
                    _ => (&mut e.parent_hash.as_mut().unwrap()[k], BrokenReason::WrongParentLink),
                };
                *slot ^= 0x01;
                let outcome = check_bytes(pretty(&copy));
                let broken = outcome.broken.unwrap_or_else(|| panic!("{name} {i} {field} {k} not caught"));
                assert_eq!((broken.index, broken.reason), (i as u64, reason), "{name} {field} byte {k}");
            }
        }
    }
}
