//! theater 0.3.9's and 0.3.12's own chains (fixtures/theater-0.3.9 and -0.3.12: the Pack
//! actors of fixtures/pack run by those releases' own runtimes, in every container they
//! write). 0.3.9's JSON Lines run log, whose payloads are decoded Values, is read as the
//! events it stands for; 0.3.12's Value payloads verify in its JSON array, state chain and
//! event store, and in its `---` text run log, whose lost variant tags and event types are
//! restored.

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

fn line_of(text: &[u8], at: usize) -> u64 {
    text[..at].iter().filter(|&&b| b == b'\n').count() as u64 + 1
}

#[test]
fn theater_0312s_text_run_log_verifies_and_holds_the_events_of_its_json_array() {
    for (name, scenario) in &scenarios("0.3.12") {
        let build = scenario["actor"].as_str().unwrap();
        let log = chains("0.3.12").join(format!("{name}.chain"));
        assert_eq!(ChainReader::open(&log).unwrap().container(), Container::TheaterTextLog);
        // Every tag and event_type restored: the very events of the JSON array, byte for byte.
        assert_eq!(events(&log), events(&chains("0.3.12").join(format!("{name}.json"))), "{name}");
        let check = cli().args(["check", "--format", "json"]).arg(&log).output().unwrap();
        let line: Value = serde_json::from_slice(&check.stdout).unwrap();
        assert_eq!((check.status.code(), line["status"].as_str()), (Some(0), Some("intact")), "{line}");
        assert_eq!(line["container"], "theater_text_log");
        // Only releases 0.3.11 to 0.3.18 write this log: no flag needed.
        let (code, report) = verify_json(&actor(build), &log, &[]);
        assert_eq!(code, 0, "{name}: {report}");
        // (A trap's text, the whole error chain, narrows it to 0.3.12 on.)
        let releases = report["theater"]["releases"].as_str().unwrap();
        assert!(["0.3.11-0.3.18", "0.3.12-0.3.18"].contains(&releases), "{report}");
        if let Some(first) = scenario["v2"]["first_divergent_event"].as_u64() {
            let (code, report) = verify_json(&actor(&format!("{build}-v2")), &log, &[]);
            assert_eq!(code, 1, "{name}: {report}");
            assert_eq!(report["divergence"]["index"], first, "{name}: {report}");
            // Where a person opens the file: the event's `---` line.
            assert_eq!(report["divergence"]["line"], 4 * first + 1, "{name}: {report}");
            let text = std::fs::read(&log).unwrap();
            let at = text.split(|&b| b == b'\n').nth(4 * first as usize).unwrap();
            assert_eq!(at, b"---");
        }
    }
    // theater's v2 runs, in the same form, verify against the v2 builds.
    let v2 = chains("0.3.12").join("v2/types-actor-v2.chain");
    assert_eq!(verify_json(&actor("types-actor-v2"), &v2, &[]).0, 0);
}

/// Every one-byte edit of a text run log is caught at the event it is in: its `---`,
/// `hash:` or `parent:` line no longer reads or links, its payload is not the text theater
/// writes, or its content no longer gives its hash.
#[test]
fn every_edit_of_a_text_run_log_is_caught_at_its_event() {
    for name in ["edge-wrong-state", "types-actor"] {
        let log = std::fs::read(chains("0.3.12").join(format!("{name}.chain"))).unwrap();
        let step = if name == "types-actor" { 7 } else { 1 };
        let mut caught = 0;
        for at in (0..log.len()).step_by(step) {
            let mut edited = log.clone();
            edited[at] = match edited[at] {
                b'1' => b'2',
                b'\n' => b' ',
                // Another spelling of the same hash digit is an edit too.
                b'a'..=b'f' if at % 2 == 0 => edited[at].to_ascii_uppercase(),
                _ => b'1',
            };
            let event = (line_of(&log, at) - 1) / 4;
            // An edited hash of an event whose case numbers were found by search leaves it
            // unchecked (nothing gives that hash) and breaks the next one's link: the first
            // finding is the event edited.
            let found = match theater_replay::check_reader("edited.chain", std::io::Cursor::new(edited)) {
                Ok(outcome) => {
                    let unchecked = outcome.unchecked.listed.first().map(|u| u.index);
                    let broken = outcome.broken.map(|b| b.index);
                    unchecked.into_iter().chain(broken).min().unwrap_or_else(|| panic!("{name}: an edit at byte {at} went unnoticed"))
                }
                Err(e) => e.index(),
            };
            assert_eq!(found, event, "{name}: edit at byte {at} (line {})", line_of(&log, at));
            caught += 1;
        }
        assert!(caught > 900, "{caught}");
    }
}

/// A variant of the actor's own whose case number neither its types nor a search can give
/// back: `check` does not call the chain broken or intact, but names the event, its line
/// and why, and exits 5.
#[test]
fn a_text_run_log_whose_actor_variant_cannot_be_restored_says_so() {
    use theater_replay::chain::HashAlg;
    // Case 100 of the actor's `color`: beyond any search.
    let teal = packr_abi::Value::Variant { type_name: "color".into(), case_name: "teal".into(), tag: 100, payload: vec![] };
    let pick = theater_replay::dialect::pack::host_function_value("my:actor/host", "pick", packr_abi::Value::Tuple(vec![]), teal);
    let first = Event::new_linked(HashAlg::Sha1, None, "my:actor/host/pick".into(), packr_abi::encode(&pick).unwrap());
    let log_call = r#"chain-event-payload::host-function(host-function-call{interface: "theater:simple/runtime", function: "log", input: "x", output: ()})"#;
    let log = theater_replay::dialect::pack::host_function_value(
        "theater:simple/runtime",
        "log",
        packr_abi::Value::String("x".into()),
        packr_abi::Value::Tuple(vec![]),
    );
    let second = Event::new_linked(HashAlg::Sha1, Some(&first.hash), "theater:simple/runtime/log".into(), packr_abi::encode(&log).unwrap());
    let text = format!(
        "---\nhash: {}\nparent: root\n{}\n---\nhash: {}\nparent: {}\n{log_call}\n",
        hex::encode(&first.hash),
        r#"chain-event-payload::host-function(host-function-call{interface: "my:actor/host", function: "pick", input: (), output: color::teal})"#,
        hex::encode(&second.hash),
        hex::encode(&first.hash),
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pick.chain");
    std::fs::write(&path, &text).unwrap();
    let out = cli().args(["check", "--format", "json"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", String::from_utf8_lossy(&out.stderr));
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((line["status"].as_str(), line["events"].as_u64(), line["unchecked_total"].as_u64()), (Some("incomplete"), Some(2), Some(1)));
    let unchecked = &line["unchecked"][0];
    assert_eq!((unchecked["index"].as_u64(), unchecked["line"].as_u64()), (Some(0), Some(1)), "{line}");
    let reason = unchecked["reason"].as_str().unwrap();
    assert!(reason.contains("`color::teal` is a case of the actor's own variant type") && reason.contains("up to 63"), "{reason}");
    let human = cli().arg("check").arg(&path).output().unwrap();
    let human = String::from_utf8(human.stdout).unwrap();
    assert!(human.contains("incomplete, 2 events, 1 not checked (events 0)") && human.contains("line 1"), "{human}");
    // Reading it as events (inspect, diff, a replay) stops there, at the event and line.
    let inspect = cli().arg("inspect").arg(&path).output().unwrap();
    assert_eq!(inspect.status.code(), Some(2));
    let error = String::from_utf8(inspect.stderr).unwrap();
    assert!(error.contains("event 0") && error.contains("line 4") && error.contains("`color::teal`"), "{error}");
}
