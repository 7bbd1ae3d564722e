//! theater 0.3.9's and 0.3.12's own chains (fixtures/theater-0.3.9 and -0.3.12: the Pack
//! actors of fixtures/pack run by those releases' own runtimes, in every container they
//! write). 0.3.9's JSON Lines run log, whose payloads are decoded Values, is read as the
//! events it stands for; 0.3.12's Value payloads verify in its JSON array, state chain and
//! event store. (0.3.12's `---` run log is not read yet.)

mod pack_common;

use assert_cmd::Command;
use pack_common::root;
use serde_json::Value;
use std::path::{Path, PathBuf};
use theater_replay::chain::{ChainReader, Container, Event};

fn cli() -> Command {
    pack_common::cli("theater-0309-cache")
}

fn chains(release: &str) -> PathBuf {
    root().join("fixtures").join(format!("theater-{release}")).join("chains")
}

fn actor(name: &str) -> PathBuf {
    root().join("fixtures/pack").join(format!("{name}.wasm"))
}

fn scenarios(release: &str) -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(chains(release).join("calls.json")).unwrap();
    serde_json::from_str::<Value>(&text).unwrap().as_object().unwrap().clone()
}

fn verify_json(actor: &Path, chain: &Path, extra: &[&str]) -> (i32, Value) {
    pack_common::verify_json_with(cli(), actor, chain, extra)
}

fn events(path: &Path) -> Vec<Event> {
    ChainReader::open(path).unwrap().map(Result::unwrap).collect()
}

#[test]
fn theater_0309s_run_log_verifies_and_holds_the_events_of_its_json_array() {
    for (name, scenario) in &scenarios("0.3.9") {
        let build = scenario["actor"].as_str().unwrap();
        let log = chains("0.3.9").join(format!("{name}.jsonl"));
        assert_eq!(ChainReader::open(&log).unwrap().container(), Container::TheaterRunLog);
        assert_eq!(events(&log), events(&chains("0.3.9").join(format!("{name}.json"))), "{name}");
        for ext in ["jsonl", "json", "state.json", "store"] {
            let chain = chains("0.3.9").join(format!("{name}.{ext}"));
            let (code, report) = verify_json(&actor(build), &chain, &[]);
            assert_eq!(code, 0, "{}: {report}", chain.display());
            assert_eq!(report["dialect"], "theater-0.3.8-pack");
            // theater-cli 0.3.9 starts the actor with init(): not 0.3.8's init(none).
            assert_eq!(report["theater"]["releases"], "0.3.9-0.3.10", "{report}");
        }
        if let Some(first) = scenario["v2"]["first_divergent_event"].as_u64() {
            let (code, report) = verify_json(&actor(&format!("{build}-v2")), &log, &[]);
            assert_eq!(code, 1, "{name}: {report}");
            assert_eq!(report["divergence"]["index"], first, "{name}: {report}");
        }
    }
}

/// A one-byte edit anywhere in a run log's events is caught at the event it is in: as that
/// event's content hash, or as the line that no longer reads.
#[test]
fn every_edit_of_a_run_log_is_caught_at_its_event() {
    let log = std::fs::read(chains("0.3.9").join("edge-wrong-state.jsonl")).unwrap();
    let line_of = |at: usize| log[..at].iter().filter(|&&b| b == b'\n').count() as u64;
    let mut caught = 0;
    for at in (0..log.len()).step_by(3) {
        if log[at] == b'\n' {
            continue;
        }
        let mut edited = log.clone();
        edited[at] = if edited[at] == b'1' { b'2' } else { b'1' };
        let outcome = theater_replay::check_reader("edited.jsonl", std::io::Cursor::new(edited));
        match outcome {
            Ok(outcome) => {
                let broken = outcome.broken.unwrap_or_else(|| panic!("an edit at byte {at} went unnoticed"));
                assert_eq!(broken.index, line_of(at), "edit at byte {at}");
            }
            Err(e) => {
                let text = e.to_string();
                assert!(text.contains(&format!("line {}", line_of(at) + 1)), "edit at byte {at}: {text}");
            }
        }
        caught += 1;
    }
    assert!(caught > 1000);
}

#[test]
fn theater_0312s_value_payloads_verify_in_every_container_it_writes() {
    for (name, scenario) in &scenarios("0.3.12") {
        let build = scenario["actor"].as_str().unwrap();
        // A JSON array may be any later release's (a subscriber's), so the release is given;
        // a state chain or an event store is theater's own persistence, gone in 0.3.20.
        for (ext, flags) in [("json", &["--theater", "0.3.12"][..]), ("state.json", &[]), ("store", &[])] {
            let chain = chains("0.3.12").join(format!("{name}.{ext}"));
            let (code, report) = verify_json(&actor(build), &chain, flags);
            assert_eq!(code, 0, "{}: {report}", chain.display());
            assert_eq!(report["dialect"], "theater-pack-values");
            if flags.is_empty() {
                let releases = report["theater"]["releases"].as_str().unwrap();
                assert!(releases.ends_with("0.3.18"), "{name}: {releases}");
            }
        }
        if let Some(first) = scenario["v2"]["first_divergent_event"].as_u64() {
            let chain = chains("0.3.12").join(format!("{name}.json"));
            let (code, report) = verify_json(&actor(&format!("{build}-v2")), &chain, &["--theater", "0.3.12"]);
            assert_eq!(code, 1, "{name}: {report}");
            assert_eq!(report["divergence"]["index"], first, "{name}: {report}");
        }
    }
}

/// Without `--theater`, a 0.3.12 chain's events fit 0.3.29 too, and an old actor cannot take
/// 0.3.29's async answers: the report says which flag settles it.
#[test]
fn an_old_actor_under_the_newest_releases_conventions_is_told_which_flag_settles_it() {
    let chain = chains("0.3.12").join("types-actor.json");
    let (code, report) = verify_json(&actor("types-actor"), &chain, &["--timeout", "0.5"]);
    assert_eq!(code, 1, "{report}");
    let detail = report["divergence"]["detail"].as_str().unwrap();
    assert!(detail.contains("packr-guest before 0.8") && detail.contains("--theater 0.3.28"), "{detail}");
}
