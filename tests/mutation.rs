//! Random single-byte mutations of theater's own chains, in every container: each mutated
//! chain is either refused (malformed: `check` exit 2; broken: exit 3) at the event the
//! mutation is in (or the next one, when the mutation ends an event early), or it still
//! reads to exactly the same events (whitespace, say): exit 0 only then.
//!
//! Through the library (`chain::check_reader`, what `check` runs), so 1,000 mutations take
//! about a second. The seed is new each run and printed; `MUTATION_SEED=N` replays a run,
//! `MUTATIONS=N` changes how many are made.

use std::io::Cursor;
use std::path::Path;
use theater_replay::chain::{self, ChainError, ChainReader, ChainWriter, Event, Layout};

const LAYOUTS: [Layout; 5] = [Layout::PrettyArray, Layout::CompactArray, Layout::JsonLines, Layout::EventLog, Layout::StateChain];

/// splitmix64: small, and the same sequence for a seed on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn read(text: &[u8]) -> Result<Vec<Event>, ChainError> {
    ChainReader::from_reader("m", Box::new(Cursor::new(text.to_vec())))?.collect()
}

/// A chain as written in one container, and where each event's text ends.
struct Subject {
    name: String,
    text: Vec<u8>,
    events: Vec<Event>,
    ends: Vec<u64>,
}

fn subjects() -> Vec<Subject> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut chains = Vec::new();
    for dir in ["theater-chains", "theater-0.3.8/chains"] {
        let mut paths: Vec<_> = std::fs::read_dir(root.join(dir)).unwrap().map(|e| e.unwrap().path()).collect();
        paths.sort();
        for path in paths {
            let is_chain = path.extension().is_some_and(|e| e == "json") && !path.to_string_lossy().ends_with(".state.json");
            if !is_chain {
                continue;
            }
            // Only chains (theater-0.3.8/ also holds other JSON).
            let Ok(events) = read(&std::fs::read(&path).unwrap()) else { continue };
            if !events.is_empty() {
                chains.push((path.file_name().unwrap().to_string_lossy().into_owned(), events));
            }
        }
    }
    assert!(chains.len() >= 8, "theater's chains: {}", chains.len());
    let mut subjects = Vec::new();
    for (name, events) in chains {
        for layout in LAYOUTS {
            let mut writer = ChainWriter::with_layout(Vec::new(), layout);
            for event in &events {
                writer.write(event).unwrap();
            }
            let text = writer.finish().unwrap();
            let mut reader = ChainReader::from_reader("m", Box::new(Cursor::new(text.clone()))).unwrap();
            let mut ends = Vec::new();
            while let Some(item) = reader.next() {
                item.unwrap();
                ends.push(reader.offset());
            }
            assert_eq!(read(&text).unwrap(), events, "{name} {layout:?} reads back");
            assert!(chain::check_reader(ChainReader::from_reader("m", Box::new(Cursor::new(text.clone()))).unwrap()).unwrap().is_intact());
            subjects.push(Subject { name: format!("{name} ({layout:?})"), text, events: events.clone(), ends });
        }
    }
    subjects
}

#[test]
fn every_single_byte_mutation_is_detected_at_its_event_or_changes_nothing() {
    let seed = std::env::var("MUTATION_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
    });
    let count: usize = std::env::var("MUTATIONS").ok().and_then(|s| s.parse().ok()).unwrap_or(1000);
    // Printed first, so a failing run can be replayed (cargo test shows it on failure).
    println!("mutation seed: {seed} (MUTATION_SEED={seed} replays this run)");
    eprintln!("mutation seed: {seed}");
    let subjects = subjects();
    let mut rng = Rng(seed);
    // Bytes that keep a chain looking like JSON, or end a token, are the interesting ones.
    const NASTY: &[u8] = b"0123456789 \n\r\t,[]{}\":\\-.eE";
    let (mut malformed, mut broken, mut unchanged) = (0, 0, 0);
    let mut failures = Vec::new();
    for _ in 0..count {
        let subject = &subjects[rng.below(subjects.len())];
        let at = rng.below(subject.text.len());
        let old = subject.text[at];
        let new = loop {
            let b = if rng.below(2) == 0 { NASTY[rng.below(NASTY.len())] } else { rng.below(256) as u8 };
            if b != old {
                break b;
            }
        };
        let mut text = subject.text.clone();
        text[at] = new;
        // The event the byte is in (separators before an event count as that event's;
        // bytes after the last event, such as a state chain's current_hash, as `n`).
        let k = subject.ends.partition_point(|&end| end <= at as u64) as u64;
        let n = subject.events.len() as u64;
        let what = format!("{}: byte {at} ({:?} -> {:?}), in event {k}", subject.name, old as char, new as char);
        let verdict = ChainReader::from_reader("m", Box::new(Cursor::new(text.clone()))).and_then(chain::check_reader);
        match verdict {
            Err(e) => {
                malformed += 1;
                // Where the chain layer says where: at the event, and not before the byte.
                if !(e.index() == k || e.index() == k + 1) {
                    failures.push(format!("{what}: error names event {}: {e}", e.index()));
                }
            }
            Ok(outcome) => match outcome.broken {
                Some(b) => {
                    broken += 1;
                    let at_head = k == n && b.index == n - 1;
                    if !(b.index == k || b.index == k + 1 || at_head) {
                        failures.push(format!("{what}: broken at event {}: {b}", b.index));
                    }
                }
                None => {
                    unchanged += 1;
                    // Intact only when the content is exactly the same.
                    match read(&text) {
                        Ok(events) if events == subject.events => {}
                        Ok(_) => failures.push(format!("{what}: intact, but its events changed")),
                        Err(e) => failures.push(format!("{what}: check says intact, the reader says {e}")),
                    }
                }
            },
        }
    }
    println!("{count} mutations: {malformed} malformed (exit 2), {broken} broken (exit 3), {unchanged} unchanged (exit 0)");
    assert!(failures.is_empty(), "seed {seed}: {} of {count} mutations:\n{}", failures.len(), failures.join("\n"));
    assert!(malformed > 0 && broken > 0, "both kinds of detection are exercised");
}
