//! Malformed input: a one-line error naming the file, the event index and the byte offset
//! (or line), and exit code 2. Integrity failures that are not parse errors: exit 3.

use assert_cmd::Command;
use std::io::Cursor;
use std::path::PathBuf;
use theater_replay::chain::{self, BrokenReason, ChainError, ChainReader, ChainWriter, Event, HashAlg, Layout};

fn fixture_text() -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/theater-chains/runtime-runtime-test.json");
    std::fs::read(path).unwrap()
}

fn event(parent: Option<&Event>) -> Event {
    Event::new_linked(HashAlg::Sha1, parent.map(|p| p.hash.as_slice()), "wasm".into(), b"{}".to_vec())
}

fn compact(e: &Event) -> String {
    let mut out = Vec::new();
    chain::write_compact(&mut out, e).unwrap();
    String::from_utf8(out).unwrap()
}

fn bytes_json(b: &[u8]) -> String {
    format!("[{}]", b.iter().map(u8::to_string).collect::<Vec<_>>().join(","))
}

/// Reads the whole input; returns the first error.
fn first_error(text: &[u8]) -> ChainError {
    match ChainReader::from_reader("bad.json", Box::new(Cursor::new(text.to_vec()))) {
        Err(e) => e,
        Ok(reader) => reader
            .filter_map(Result::err)
            .next()
            .unwrap_or_else(|| panic!("no error for {:?}", String::from_utf8_lossy(text))),
    }
}

/// Each case: input, the event index the error names, and a phrase of its message.
fn cases() -> Vec<(&'static str, Vec<u8>, u64, &'static str)> {
    let a = event(None);
    let b = event(Some(&a));
    let (ca, cb) = (compact(&a), compact(&b));
    let text = fixture_text();
    let log = {
        let mut w = ChainWriter::with_layout(Vec::new(), Layout::EventLog);
        w.write(&a).unwrap();
        w.write(&b).unwrap();
        w.finish().unwrap()
    };
    let short_body = {
        // Second event states 2 bytes of body but the file ends after 1.
        let mut t = log.clone();
        let cut = t.len() - 4;
        t.truncate(cut);
        t
    };
    let hash = bytes_json(&a.hash);
    vec![
        ("empty file", vec![], 0, "empty file"),
        ("only whitespace", b"  \n\t ".to_vec(), 0, "empty file"),
        ("not a chain", b"hello".to_vec(), 0, "not a chain"),
        ("bad JSON", format!("[{ca},{{\"hash\" {hash}}}]").into_bytes(), 1, "expected ':'"),
        ("missing comma", format!("[{ca} {cb}]").into_bytes(), 1, "expected ',' or ']'"),
        ("trailing garbage", format!("[{ca}] x").into_bytes(), 1, "nothing after the chain"),
        ("hash is a string", format!("[{ca},{}]", cb.replacen(&format!("\"hash\":{}", bytes_json(&b.hash)), "\"hash\":\"ab\"", 1)).into_bytes(), 1, "expected an array of bytes for hash, found a string"),
        ("event_type is a number", format!("[{}]", ca.replace("\"event_type\":\"wasm\"", "\"event_type\":5")).into_bytes(), 0, "expected a string for event_type"),
        ("data is an object", format!("[{}]", ca.replace("\"data\":[123,125]", "\"data\":{}")).into_bytes(), 0, "expected an array of bytes for data"),
        ("byte above 255", format!("[{}]", ca.replace("\"data\":[123,125]", "\"data\":[123,256]")).into_bytes(), 0, "byte outside 0..=255: 256"),
        ("negative byte", format!("[{}]", ca.replace("\"data\":[123,125]", "\"data\":[-1]")).into_bytes(), 0, "byte outside 0..=255: -1"),
        ("float byte", format!("[{}]", ca.replace("\"data\":[123,125]", "\"data\":[1.5]")).into_bytes(), 0, "integer 0..=255"),
        ("truncated file", text[..text.len() / 2].to_vec(), 3, "unexpected end of file"),
        ("truncated after an event", format!("[{ca},").into_bytes(), 1, "expected an event object, found end of file"),
        ("invalid UTF-8 in event_type", format!("[{}]", ca.replace("\"wasm\"", "\"wa\u{1}sm\"")).into_bytes().into_iter().map(|c| if c == 1 { 0xff } else { c }).collect(), 0, "invalid UTF-8 in event_type"),
        ("control character in event_type", format!("[{}]", ca.replace("\"wasm\"", "\"wa\u{1}sm\"")).into_bytes(), 0, "invalid event_type string"),
        ("unknown field", format!("[{}]", ca.replace("{\"hash\"", "{\"timestamp\":1,\"hash\"")).into_bytes(), 0, "unknown field `timestamp`"),
        ("missing field", format!("[{}]", ca.replace(",\"data\":[123,125]", "")).into_bytes(), 0, "missing field `data`"),
        ("duplicate field", format!("[{}]", ca.replace("{\"hash\"", "{\"data\":[],\"hash\"")).into_bytes(), 0, "duplicate field `data`"),
        ("EVENT body shorter than stated", short_body, 1, "shorter than its stated length"),
        ("EVENT body longer than stated", String::from_utf8(log.clone()).unwrap().replacen("\n2\n\n{}", "\n1\n\n{}", 1).into_bytes(), 0, "does not end after its stated length"),
        ("EVENT bad hex", String::from_utf8(log.clone()).unwrap().replacen("EVENT ", "EVENT zz", 1).into_bytes(), 0, "invalid hex in hash"),
        ("EVENT bad length", String::from_utf8(log.clone()).unwrap().replacen("\n2\n\n", "\ntwo\n\n", 1).into_bytes(), 0, "data length"),
        ("EVENT invalid UTF-8 type", {
            let mut t = log.clone();
            let at = t.windows(5).position(|w| w == b"\nwasm").unwrap() + 1;
            t[at] = 0xfe;
            t
        }, 0, "invalid UTF-8 in event_type"),
        ("JSON Lines with a bad line", format!("{ca}\n{}\n", cb.replacen(&bytes_json(&b.hash), "[1,2,256]", 1)).into_bytes(), 1, "byte outside 0..=255: 256 in hash"),
        ("state chain unknown key", format!("{{\"events\":[{ca}],\"head\":null}}").into_bytes(), 1, "unknown field `head`"),
        ("state chain missing head", format!("{{\"events\":[{ca}]}}").into_bytes(), 1, "missing field `current_hash`"),
    ]
}

#[test]
fn each_kind_of_malformed_input_is_a_located_error() {
    for (name, text, index, phrase) in cases() {
        let err = first_error(&text);
        let message = err.to_string();
        assert!(matches!(err, ChainError::Malformed { .. }), "{name}: {message}");
        assert_eq!(err.index(), index, "{name}: {message}");
        assert!(message.contains(phrase), "{name}: {message}");
        assert!(message.starts_with("bad.json: event "), "{name}: {message}");
        assert!(message.contains("byte "), "{name}: {message}");
        assert!(!message.contains('\n'), "{name}: {message}");
        assert!(err.offset().unwrap() <= text.len() as u64, "{name}: {message}");
    }
}

#[test]
fn offsets_and_lines_point_at_the_problem() {
    let text = fixture_text();
    // Put a 256 where event 2's first data byte is.
    let s = String::from_utf8(text).unwrap();
    let marker = "\"data\": [\n      ";
    let at = s.match_indices(marker).nth(2).map(|(i, _)| i + marker.len()).unwrap();
    let mut bad = s.clone();
    bad.replace_range(at..at + 3, "999");
    let err = first_error(bad.as_bytes());
    let ChainError::Malformed { index, offset, line, .. } = &err else { panic!("{err}") };
    assert_eq!((*index, *offset), (2, at as u64));
    assert_eq!(line.unwrap(), s[..at].matches('\n').count() as u64 + 1);
}

#[test]
fn integrity_failures_are_not_parse_errors() {
    let a = event(None);
    let b = event(Some(&a));
    // A state chain whose head is not the last event's hash.
    let text = format!("{{\"events\":[{},{}],\"current_hash\":{}}}", compact(&a), compact(&b), bytes_json(&a.hash));
    let reader = ChainReader::from_reader("s.json", Box::new(Cursor::new(text.clone().into_bytes()))).unwrap();
    let items: Vec<_> = reader.collect();
    assert_eq!(items.len(), 3);
    let err = items[2].as_ref().unwrap_err();
    let broken = err.integrity().unwrap();
    assert_eq!((broken.index, broken.reason), (1, BrokenReason::HeadMismatch));
    let reader = ChainReader::from_reader("s.json", Box::new(Cursor::new(text.into_bytes()))).unwrap();
    let outcome = chain::check_reader(reader).unwrap();
    assert_eq!(outcome.broken.map(|b| b.reason), Some(BrokenReason::HeadMismatch));

    // A hash of unsupported length is a broken chain at its event (README: exit 3,
    // `unsupported_hash_length`), in every container, not unreadable input.
    let hash = bytes_json(&a.hash);
    let cases = [
        (format!("[{}]", compact(&a).replacen(&hash, "[1,2,3]", 1)), 0, BrokenReason::UnsupportedHashLength(3)),
        (format!("{}\n{}\n", compact(&a), compact(&b).replacen(&bytes_json(&b.hash), "[1,2]", 1)), 1, BrokenReason::UnsupportedHashLength(2)),
        // A parent of the wrong length cannot be the previous hash.
        (format!("[{},{}]", compact(&a), compact(&b).replacen(&format!("\"parent_hash\":{hash}"), "\"parent_hash\":[1]", 1)), 1, BrokenReason::WrongParentLink),
    ];
    for (text, index, reason) in cases {
        let reader = ChainReader::from_reader("l.json", Box::new(Cursor::new(text.clone().into_bytes()))).unwrap();
        let broken = chain::check_reader(reader).unwrap().broken.unwrap_or_else(|| panic!("intact: {text}"));
        assert_eq!((broken.index, broken.reason), (index, reason), "{text}");
    }
    let mut log = ChainWriter::with_layout(Vec::new(), Layout::EventLog);
    log.write(&Event { hash: vec![7; 5], ..a.clone() }).unwrap();
    let reader = ChainReader::from_reader("l.chain", Box::new(Cursor::new(log.finish().unwrap()))).unwrap();
    let broken = chain::check_reader(reader).unwrap().broken.unwrap();
    assert_eq!((broken.index, broken.reason), (0, BrokenReason::UnsupportedHashLength(5)));

    // Mixed hash lengths are broken, not malformed.
    let c = Event::new_linked(HashAlg::Sha256, Some(&b.hash), "wasm".into(), vec![]);
    let text = format!("[{},{},{}]", compact(&a), compact(&b), compact(&c));
    let reader = ChainReader::from_reader("m.json", Box::new(Cursor::new(text.into_bytes()))).unwrap();
    let broken = chain::check_reader(reader).unwrap().broken.unwrap();
    assert_eq!((broken.index, broken.reason), (2, BrokenReason::MixedHashLengths));
}

#[test]
fn cli_exits_2_with_one_located_line_for_each_kind() {
    let dir = tempfile::tempdir().unwrap();
    for (k, (name, text, index, phrase)) in cases().into_iter().enumerate() {
        let path = dir.path().join(format!("case{k}.json"));
        std::fs::write(&path, &text).unwrap();
        for command in [vec!["check"], vec!["inspect"]] {
            let out = Command::cargo_bin("theater-replay").unwrap().args(&command).arg(&path).output().unwrap();
            assert_eq!(out.status.code(), Some(2), "{name} {command:?}");
            let stderr = String::from_utf8(out.stderr).unwrap();
            let line = stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or_else(|| panic!("{name}: {stderr}"));
            assert!(line.contains(&path.display().to_string()), "{name}: {line}");
            assert!(line.contains(&format!("event {index}")), "{name}: {line}");
            assert!(line.contains("byte "), "{name}: {line}");
            assert!(line.contains(phrase), "{name}: {line}");
        }
    }
    // A hash of unsupported length: broken (exit 3) at its event, for check and verify alike.
    let a = event(None);
    let short = dir.path().join("short-hash.json");
    std::fs::write(&short, format!("[{}]", compact(&a).replacen(&bytes_json(&a.hash), "[1,2,3]", 1))).unwrap();
    let out = Command::cargo_bin("theater-replay").unwrap().args(["check", "--format", "json"]).arg(&short).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((v["status"].as_str(), v["broken_at"].as_u64(), v["reason"].as_str()), (Some("broken"), Some(0), Some("unsupported_hash_length")));
    let out = Command::cargo_bin("theater-replay").unwrap().arg("inspect").arg(&short).output().unwrap();
    // inspect shows what is stored and, as every command, judges its integrity too.
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).contains("^ BROKEN here: event 0"));

    // A file that does not exist.
    let out = Command::cargo_bin("theater-replay").unwrap().args(["check", "/nonexistent/chain.json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/chain.json"));
}

#[test]
fn cli_check_json_reports_errors_per_chain() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, b"[{\"hash\":[1,2,3,").unwrap();
    let out = Command::cargo_bin("theater-replay")
        .unwrap()
        .args(["check", "--format", "json"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "error");
    assert_eq!(v["broken_at"], serde_json::Value::Null);
    assert!(v["message"].as_str().unwrap().contains("unexpected end of file"));
    assert_eq!(v["offset"], 16);
}

/// `check` parses some payloads on its hashing thread; errors found there name the same
/// event and offset as the streaming reader does.
#[test]
fn check_locates_payload_errors_on_either_thread() {
    let text = String::from_utf8(fixture_text()).unwrap();
    let marker = "\"data\": [\n      ";
    let starts: Vec<usize> = text.match_indices(marker).map(|(i, _)| i + marker.len()).collect();
    for (index, &at) in starts.iter().enumerate() {
        let mut bad = text.clone();
        bad.replace_range(at..at + 3, "300");
        let reader = ChainReader::from_reader("bad.json", Box::new(Cursor::new(bad.clone().into_bytes()))).unwrap();
        let err = chain::check_reader(reader).unwrap_err();
        assert_eq!((err.index(), err.offset()), (index as u64, Some(at as u64)), "{err}");
        assert!(err.to_string().contains("byte outside 0..=255: 300"), "{err}");
        let streamed = first_error(bad.as_bytes());
        assert_eq!((streamed.index(), streamed.offset()), (index as u64, Some(at as u64)));
    }
}

/// A nested value inside `data` (a `[`, not a byte) is reported where it is, by `check` on
/// either of its threads and by `inspect`, not where the rest of the event stops parsing.
#[test]
fn nested_values_in_data_are_located_at_the_fault() {
    let text = String::from_utf8(fixture_text()).unwrap();
    let marker = "\"data\": [\n      ";
    let starts: Vec<usize> = text.match_indices(marker).map(|(i, _)| i + marker.len()).collect();
    let dir = tempfile::tempdir().unwrap();
    for (index, &at) in starts.iter().enumerate().take(4) {
        for inserted in ["[1],", "{}, ", "\"x\","] {
            let mut bad = text.clone();
            bad.insert_str(at, inserted);
            let reader = ChainReader::from_reader("bad.json", Box::new(Cursor::new(bad.clone().into_bytes()))).unwrap();
            let err = chain::check_reader(reader).unwrap_err();
            assert_eq!((err.index(), err.offset()), (index as u64, Some(at as u64)), "{inserted}: {err}");
            let streamed = first_error(bad.as_bytes());
            assert_eq!((streamed.index(), streamed.offset()), (index as u64, Some(at as u64)), "{inserted}: {streamed}");
            // The same offset from both commands.
            let path = dir.path().join("bad.json");
            std::fs::write(&path, &bad).unwrap();
            for command in ["check", "inspect"] {
                let out = Command::cargo_bin("theater-replay").unwrap().arg(command).arg(&path).output().unwrap();
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert_eq!(out.status.code(), Some(2), "{command} {inserted}: {stderr}");
                let located = [" ", ":"].iter().any(|end| stderr.contains(&format!("event {index}, byte {at}{end}")));
                assert!(located, "{command} {inserted}: {stderr}");
            }
        }
    }
    // Truncated after a bad byte: the bad byte, not the end of the file.
    let at = starts[1];
    let mut cut = text[..at + 40].to_owned();
    cut.replace_range(at..at + 3, "777");
    let reader = ChainReader::from_reader("cut.json", Box::new(Cursor::new(cut.into_bytes()))).unwrap();
    let err = chain::check_reader(reader).unwrap_err();
    assert_eq!((err.index(), err.offset()), (1, Some(at as u64)), "{err}");
}

/// JSON Lines hold one event per line, exactly.
#[test]
fn json_lines_framing_is_one_event_per_line() {
    let a = event(None);
    let b = event(Some(&a));
    let (ca, cb) = (compact(&a), compact(&b));
    let fine = [format!("{ca}\n{cb}\n"), format!("{ca}\r\n{cb}"), format!("{ca}  \n\n{cb}\n"), format!("{ca}\n")];
    for text in fine {
        let events: Result<Vec<_>, _> = ChainReader::from_reader("l", Box::new(Cursor::new(text.clone().into_bytes()))).unwrap().collect();
        assert!(events.is_ok(), "{text:?}: {events:?}");
    }
    let pretty_object = ca.replacen(",\"data\"", ",\n\"data\"", 1);
    let bad = [
        (format!("{ca}{cb}\n"), 1, ca.len(), "a newline after the event"),
        (format!("{ca} {cb}\n"), 1, ca.len() + 1, "a newline after the event"),
        (format!("{ca}\t{cb}"), 1, ca.len() + 1, "a newline after the event"),
        (format!("{ca}\n{cb} x\n"), 2, ca.len() + cb.len() + 2, "a newline after the event"),
        (format!("{ca}\n{pretty_object}\n"), 1, ca.len() + 1 + pretty_object.find('\n').unwrap(), "a newline inside an event"),
    ];
    for (text, index, offset, phrase) in bad {
        let err = first_error(text.as_bytes());
        assert_eq!((err.index(), err.offset()), (index, Some(offset as u64)), "{text:?}: {err}");
        assert!(err.to_string().contains(phrase), "{err}");
        let reader = ChainReader::from_reader("l", Box::new(Cursor::new(text.clone().into_bytes()))).unwrap();
        assert_eq!(chain::check_reader(reader).unwrap_err().offset(), Some(offset as u64), "check: {text:?}");
    }
}

/// Regular files are read through a memory map, other input as a stream: every malformed
/// input gets the same error from both, and files whose size is a multiple of the page
/// size (nothing mapped after the last byte but the reader's own zeros) are read to the end.
#[test]
fn mapped_files_and_streams_report_the_same_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    let from_file = |text: &[u8]| {
        std::fs::write(&path, text).unwrap();
        match ChainReader::open(&path) {
            Err(e) => e,
            Ok(reader) => reader.filter_map(Result::err).next().expect("an error"),
        }
    };
    let same = |name: &str, streamed: &ChainError, mapped: &ChainError| {
        // A stream names the line only while the bytes before the error are buffered; a map
        // always can.
        let streamed_line = matches!(streamed, ChainError::Malformed { line: Some(_), .. });
        let unnamed = |e: &ChainError| {
            let text = e.to_string().replace(&path.display().to_string(), "bad.json");
            match (streamed_line, text.find(" (line "), text.find("): ")) {
                (false, Some(from), Some(to)) if from < to => format!("{}{}", &text[..from], &text[to + 1..]),
                _ => text,
            }
        };
        assert_eq!(unnamed(mapped), unnamed(streamed), "{name}");
        assert_eq!((mapped.index(), mapped.offset()), (streamed.index(), streamed.offset()), "{name}");
        if let (ChainError::Malformed { line: Some(a), .. }, ChainError::Malformed { line: b, .. }) = (streamed, mapped) {
            assert_eq!(Some(*a), *b, "{name}");
        }
    };
    for (name, text, _, _) in cases() {
        same(name, &first_error(&text), &from_file(&text));
        // And `check`, whose two threads share the parsing.
        let streamed = ChainReader::from_reader("bad.json", Box::new(Cursor::new(text.clone())));
        std::fs::write(&path, &text).unwrap();
        if let (Ok(streamed), Ok(reader)) = (streamed, ChainReader::open(&path)) {
            match (chain::check_reader(streamed), chain::check_reader(reader)) {
                (Err(a), Err(b)) => same(name, &a, &b),
                (Ok(a), Ok(b)) => assert_eq!(a.broken, b.broken, "{name}"),
                (a, b) => panic!("{name}: {a:?} streamed, {b:?} mapped"),
            }
        }
    }
    // Cut off inside a byte array at exactly a page's length, and one byte either side.
    for len in [4095, 4096, 4097, 8192] {
        let head = "[{\"hash\":[1,2,3],\"parent_hash\":null,\"event_type\":\"wasm\",\"data\":[1";
        let mut text = head.as_bytes().to_vec();
        text.splice(1..1, std::iter::repeat_n(b' ', len - head.len()));
        assert_eq!(text.len(), len);
        let mapped = from_file(&text);
        assert!(mapped.to_string().contains("unexpected end of file in data"), "{len}: {mapped}");
        same(&format!("cut at {len}"), &first_error(&text), &mapped);
    }
    // An error far into a large file (past the memory the reader lets go of as it goes)
    // names its line exactly.
    let text = String::from_utf8(fixture_text()).unwrap();
    let events: Vec<Event> = ChainReader::from_reader("f", Box::new(Cursor::new(text.into_bytes()))).unwrap().map(Result::unwrap).collect();
    let mut writer = ChainWriter::with_layout(Vec::new(), Layout::PrettyArray);
    let mut last: Option<Event> = None;
    let mut written = 0;
    while written < 12 << 20 {
        for e in &events {
            let next = Event::new_linked(HashAlg::Sha1, last.as_ref().map(|p| p.hash.as_slice()), e.event_type.clone(), e.data.clone());
            writer.write(&next).unwrap();
            written += 5 * next.data.len() + 200;
            last = Some(next);
        }
    }
    let mut big = String::from_utf8(writer.finish().unwrap()).unwrap();
    let marker = "\"data\": [\n      ";
    let at = big.rmatch_indices(marker).nth(1).map(|(i, _)| i + marker.len()).unwrap();
    big.replace_range(at..at + 1, "x");
    let mapped = from_file(big.as_bytes());
    let ChainError::Malformed { offset, line, .. } = &mapped else { panic!("{mapped}") };
    assert_eq!((*offset, *line), (at as u64, Some(big[..at].matches('\n').count() as u64 + 1)));
    same("large", &first_error(big.as_bytes()), &mapped);
}
