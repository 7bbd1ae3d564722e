//! One event may not take the memory of the machine: an event longer than
//! `--max-event-size` is refused as it is read, with one line and exit 2, the same line
//! whichever way the chain is read (a mapped file, a stream, compressed, the compact fast
//! path, the general parser, check's vectorized pass, every container).

use assert_cmd::Command;
use std::io::Write;
use std::path::{Path, PathBuf};
use theater_replay::chain::{self, ChainError, ChainReader, ChainWriter, Event, HashAlg, Layout, ReadOptions};

fn cli() -> Command {
    Command::cargo_bin("theater-replay").unwrap()
}

/// A chain of three events, the middle one with `payload` bytes of data, in `layout`.
fn chain_with(dir: &Path, name: &str, layout: Layout, payload: usize) -> PathBuf {
    let first = Event::new_linked(HashAlg::Sha256, None, "wasm".into(), b"{}".to_vec());
    let data: Vec<u8> = (0..payload).map(|i| (i * 7 % 256) as u8).collect();
    let big = Event::new_linked(HashAlg::Sha256, Some(&first.hash), "demo/big".into(), data);
    let last = Event::new_linked(HashAlg::Sha256, Some(&big.hash), "wasm".into(), b"{}".to_vec());
    let path = dir.join(name);
    let mut writer = ChainWriter::with_layout(std::fs::File::create(&path).unwrap(), layout);
    for e in [&first, &big, &last] {
        writer.write(e).unwrap();
    }
    writer.finish().unwrap();
    path
}

fn zstd(path: &Path) -> PathBuf {
    let out = path.with_extension("zst");
    std::fs::write(&out, zstd::encode_all(std::fs::File::open(path).unwrap(), 3).unwrap()).unwrap();
    out
}

/// `check` of `path` (or of stdin with its bytes): exit code and stderr.
fn check(path: &Path, stdin: bool, flags: &[&str]) -> (i32, String) {
    let mut cmd = cli();
    cmd.arg("check").args(flags);
    if stdin {
        cmd.arg("-").write_stdin(std::fs::read(path).unwrap());
    } else {
        cmd.arg(path);
    }
    let out = cmd.output().unwrap();
    (out.status.code().unwrap(), String::from_utf8_lossy(&out.stderr).into_owned())
}

const REFUSED: &str = "event 1, byte ";
const WHY: &str = "the event is larger than 1 MiB, the most one event may take (--max-event-size raises it)";

/// Every container and every way of reading it refuses the 2 MiB event under a 1 MiB limit
/// with the same line (but its name), and reads it whole under a 32 MiB one.
#[test]
fn an_event_over_the_limit_is_refused_the_same_way_on_every_path() {
    let dir = tempfile::tempdir().unwrap();
    let payload = 2 << 20;
    let mut messages = Vec::new();
    for (name, layout) in [
        ("compact.json", Layout::CompactArray),
        ("pretty.json", Layout::PrettyArray),
        ("lines.jsonl", Layout::JsonLines),
        ("state.json", Layout::StateChain),
        ("log.chain", Layout::EventLog),
    ] {
        let path = chain_with(dir.path(), name, layout, payload);
        let compressed = zstd(&path);
        for (input, stdin) in [(&path, false), (&path, true), (&compressed, false)] {
            let (code, stderr) = check(input, stdin, &["--max-event-size", "1"]);
            assert_eq!(code, 2, "{name} stdin={stdin}: {stderr}");
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
            let line = stderr.trim_end();
            assert!(line.contains(REFUSED) && line.ends_with(WHY), "{name}: {line}");
            // The file's name aside, the same words: same event, same offset.
            let (_, rest) = line.split_once(REFUSED).unwrap();
            messages.push((layout, rest.to_string()));
            let (code, stderr) = check(input, stdin, &["--max-event-size", "32"]);
            assert_eq!(code, 0, "{name}: {stderr}");
        }
    }
    for (layout, rest) in &messages {
        let same_layout: Vec<_> = messages.iter().filter(|(l, _)| l == layout).collect();
        assert!(same_layout.iter().all(|(_, r)| r == rest), "{messages:?}");
    }
    // verify, inspect and diff refuse it the same way (exit 2); verify's chain starts as
    // the counter's does, so that its dialect is known before the big event.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let header = ChainReader::open(&root.join("fixtures/chains/counter.json")).unwrap().next().unwrap().unwrap();
    let header = Event::new_linked(HashAlg::Sha256, None, header.event_type, header.data);
    let big = Event::new_linked(HashAlg::Sha256, Some(&header.hash), "demo/big".into(), vec![7; payload]);
    let path = dir.path().join("counter-big.json");
    let mut writer = ChainWriter::with_layout(std::fs::File::create(&path).unwrap(), Layout::CompactArray);
    writer.write(&header).unwrap();
    writer.write(&big).unwrap();
    writer.finish().unwrap();
    let component = root.join("fixtures/components/counter.wat");
    for args in [
        vec!["inspect".into(), path.display().to_string()],
        vec!["diff".into(), path.display().to_string(), path.display().to_string()],
        vec!["verify".into(), "--no-cache".into(), component.display().to_string(), path.display().to_string()],
    ] {
        let out = cli().args(&args).args(["--max-event-size", "1"]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(WHY), "{args:?}: {stderr}");
    }
}

/// The limit is exact: an event of exactly the limit is read, one byte more is refused,
/// read from a file (mapped) or from a stream alike; the library says so with a typed error.
#[test]
fn the_limit_is_exact() {
    let first = Event::new_linked(HashAlg::Sha256, None, "wasm".into(), b"{}".to_vec());
    let line = |type_len: usize| {
        let e = Event::new_linked(HashAlg::Sha256, Some(&first.hash), "t".repeat(type_len), b"{}".to_vec());
        let mut text = Vec::new();
        chain::write_compact(&mut text, &e).unwrap();
        text
    };
    let limit = 1 << 20;
    // The hash's digits vary with the type: find types that make the event exactly the
    // limit long, and one byte longer.
    let estimate = limit - (line(1).len() - 1);
    let sized = |len: usize| (estimate - 200..estimate + 200).find(|&t| line(t).len() == len).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (type_len, fits) in [(sized(limit), true), (sized(limit + 1), false)] {
        let mut text = Vec::new();
        chain::write_compact(&mut text, &first).unwrap();
        text.push(b'\n');
        text.extend(line(type_len));
        text.push(b'\n');
        let path = dir.path().join("chain.jsonl");
        std::fs::File::create(&path).unwrap().write_all(&text).unwrap();
        let options = ReadOptions { max_event_size: limit as u64 };
        let from_file = ChainReader::open_with(&path, options).unwrap().filter_map(Result::err).next();
        let from_stream = ChainReader::from_reader_with("chain.jsonl", Box::new(std::io::Cursor::new(text.clone())), options)
            .unwrap()
            .filter_map(Result::err)
            .next();
        for error in [from_file, from_stream] {
            match (fits, error) {
                (true, None) => {}
                (false, Some(ChainError::EventTooLarge { index: 1, limit: l, .. })) if l == limit as u64 => {}
                (fits, other) => panic!("fits={fits}: {other:?}"),
            }
        }
    }
}

/// A fault within an event's first `--max-event-size` bytes is reported as the fault, on
/// every path; past the limit, the event is too large whatever follows.
#[test]
fn a_fault_within_the_limit_is_reported_as_the_fault() {
    let dir = tempfile::tempdir().unwrap();
    let path = chain_with(dir.path(), "pretty.json", Layout::PrettyArray, 2 << 20);
    let mut text = std::fs::read(&path).unwrap();
    // A byte of 300 early in the big event's data.
    let at = text.windows(9).position(|w| w == b"\"data\": [").unwrap() + 200;
    let digit = at + text[at..].iter().position(u8::is_ascii_digit).unwrap();
    text.splice(digit..digit, b"3".iter().copied().chain(b"00,".iter().copied()));
    std::fs::write(&path, &text).unwrap();
    for stdin in [false, true] {
        let (code, stderr) = check(&path, stdin, &["--max-event-size", "1"]);
        assert_eq!(code, 2, "{stderr}");
        assert!(!stderr.contains("--max-event-size") && stderr.contains("event 1, byte"), "{stderr}");
    }
}

/// Files larger than one step of the mapped reader (16 MiB) read exactly as their stream:
/// the reader's stops between steps change nothing.
#[test]
fn a_large_mapped_file_reads_as_its_stream() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.json");
    let mut writer = ChainWriter::with_layout(std::fs::File::create(&path).unwrap(), Layout::PrettyArray);
    let mut parent: Option<Vec<u8>> = None;
    for i in 0..2200u32 {
        let data: Vec<u8> = (0..1500u32).map(|k| ((k * 31 + i) % 256) as u8).collect();
        let e = Event::new_linked(HashAlg::Sha1, parent.as_deref(), format!("t{i}"), data);
        parent = Some(e.hash.clone());
        writer.write(&e).unwrap();
    }
    writer.finish().unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() > 32 << 20);
    let mapped = chain::check_path(&path).unwrap();
    let streamed = chain::check_reader(ChainReader::from_reader("s", Box::new(std::fs::File::open(&path).unwrap())).unwrap()).unwrap();
    assert!(mapped.is_intact() && streamed.is_intact());
    assert_eq!((mapped.events, streamed.events), (2200, 2200));
    let events = ChainReader::open(&path).unwrap().map(Result::unwrap).count();
    assert_eq!(events, 2200);
}
