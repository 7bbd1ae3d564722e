//! theater's event store (`StateChain::save_chain`: `events/<hex>` and `chains/<actor-id>`)
//! reads as the chain it holds, in every command, on the stores theater 0.3.8 itself wrote;
//! and every way a store can be wrong is caught.

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use theater_replay::chain::{ChainReader, Container, Event};

const ACTORS: [(&str, u64); 3] = [("state-actor", 13), ("edge-actor", 27), ("types-actor", 38)];

fn chains() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/theater-0.3.8/chains")
}

fn events(path: &Path) -> (Container, Vec<Event>) {
    let reader = ChainReader::open(path).unwrap();
    let container = reader.container();
    (container, reader.map(Result::unwrap).collect())
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("theater-replay").unwrap().args(args).output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap(), text(&out.stdout), text(&out.stderr))
}

/// A copy of a fixture store to break, in a scratch directory.
fn copy_store(actor: &str) -> (tempfile::TempDir, PathBuf) {
    let scratch = tempfile::tempdir().unwrap();
    let store = scratch.path().join("home");
    for dir in ["events", "chains"] {
        std::fs::create_dir_all(store.join(dir)).unwrap();
        for entry in std::fs::read_dir(chains().join(format!("{actor}.store")).join(dir)).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), store.join(dir).join(entry.file_name())).unwrap();
        }
    }
    (scratch, store)
}

#[test]
fn theaters_stores_hold_the_same_events_as_its_other_containers() {
    for (actor, count) in ACTORS {
        let store = chains().join(format!("{actor}.store"));
        let (container, stored) = events(&store);
        assert_eq!(container, Container::EventStore);
        assert_eq!(stored.len() as u64, count, "{actor}");
        // The store's directory and its head file name the same chain.
        assert_eq!(events(&store.join("chains").join(actor)).1, stored, "{actor}");
        // Event for event what theater wrote in its JSON array.
        assert_eq!(events(&chains().join(format!("{actor}.json"))).1, stored, "{actor}");

        let (code, out, _) = run(&["check", store.to_str().unwrap()]);
        assert_eq!(code, 0, "{out}");
        assert!(out.ends_with(&format!("intact, {count} events, sha1 (event-store)\n")), "{out}");
        let json = chains().join(format!("{actor}.json"));
        let (code, out, _) = run(&["diff", store.to_str().unwrap(), json.to_str().unwrap()]);
        assert_eq!(code, 0, "{out}");
    }
    let (code, out, err) =
        run(&["verify", "fixtures/pack/state-actor.wasm", chains().join("state-actor.store").to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("all 13 events replayed and matched"), "{out}");
}

#[test]
fn an_edited_event_is_a_broken_chain_at_its_index() {
    let (_scratch, store) = copy_store("state-actor");
    let victim = &events(&store).1[5];
    let file = store.join("events").join(hex::encode(&victim.hash));
    let text = std::fs::read_to_string(&file).unwrap();
    // One payload byte changed, the stored hash kept.
    let edited = text.replacen("\"data\":[", "\"data\":[1,", 1);
    assert_ne!(edited, text);
    std::fs::write(&file, edited).unwrap();
    let (code, out, _) = run(&["check", "--format", "json", store.to_str().unwrap()]);
    assert_eq!(code, 3, "{out}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!((doc["broken_at"].as_u64(), doc["reason"].as_str()), (Some(5), Some("content_hash_mismatch")));
}

#[test]
fn a_head_that_is_not_its_last_events_hash_is_a_head_mismatch() {
    let (_scratch, store) = copy_store("state-actor");
    let chain = events(&store).1;
    // The head's file holds another event (the one before it): the walk goes on from
    // there, and the chain it finds does not end in the head.
    let head = store.join("events").join(hex::encode(&chain[12].hash));
    std::fs::copy(store.join("events").join(hex::encode(&chain[11].hash)), &head).unwrap();
    let (code, out, _) = run(&["check", "--format", "json", store.to_str().unwrap()]);
    assert_eq!(code, 3, "{out}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["reason"], "head_mismatch", "{out}");
}

#[test]
fn a_missing_event_a_loop_or_a_bad_head_is_one_line_exit_2() {
    let (_scratch, store) = copy_store("state-actor");
    let chain = events(&store).1;
    let path = store.to_str().unwrap().to_owned();
    let missing = store.join("events").join(hex::encode(&chain[4].hash));
    let kept = std::fs::read(&missing).unwrap();
    std::fs::remove_file(&missing).unwrap();
    let (code, _, err) = run(&["check", &path]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!("event {}, 8 links back from the head", hex::encode(&chain[4].hash)))
            && err.contains("is not in"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    std::fs::write(&missing, kept).unwrap();

    // The first event's parent is the head: following the links would never end.
    let first = store.join("events").join(hex::encode(&chain[0].hash));
    let text = std::fs::read_to_string(&first).unwrap();
    let head = format!("{:?}", chain[12].hash).replace(' ', "");
    std::fs::write(&first, text.replacen("\"parent_hash\":null", &format!("\"parent_hash\":{head}"), 1)).unwrap();
    let (code, _, err) = run(&["check", &path]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("loop back"), "{err}");

    // An event's file that is a FIFO would block a read forever: refused.
    std::fs::remove_file(&missing).unwrap();
    assert!(std::process::Command::new("mkfifo").arg(&missing).status().unwrap().success());
    let (code, _, err) = run(&["check", &path]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a regular file"), "{err}");
    std::fs::remove_file(&missing).unwrap();
    std::fs::write(
        &missing,
        std::fs::read(chains().join("state-actor.store/events").join(hex::encode(&chain[4].hash))).unwrap(),
    )
    .unwrap();

    // Two chains in one store: the directory alone does not say which.
    std::fs::write(store.join("chains/other-actor"), "null").unwrap();
    let (code, _, err) = run(&["inspect", &path]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("2 chains: name one"), "{err}");
    // An empty head is an empty chain.
    let (code, out, _) = run(&["check", store.join("chains/other-actor").to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("intact, 0 events"), "{out}");
}

#[test]
fn a_chain_file_beside_an_events_directory_is_read_as_what_it_is() {
    let scratch = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(scratch.path().join("events")).unwrap();
    std::fs::create_dir_all(scratch.path().join("chains")).unwrap();
    let file = scratch.path().join("chains/state-actor.json");
    std::fs::copy(chains().join("state-actor.json"), &file).unwrap();
    let (container, events) = events(&file);
    assert_eq!((container, events.len()), (Container::JsonArray, 13));
}
