//! `cargo bench --bench replay`: replay speed on a long chain of small host calls, and the
//! replay's time against the recording's for the same run (issue 3, "Speed").
//!
//! Records `run(N)` of fixtures/components/chatty.wat (one export call making N calls of
//! `demo:bench/host#tick`, so N + 3 events with the recording header, the call and the
//! result) into a temporary file, in both containers `record` writes, then replays each
//! chain with `verify` (which must verify) and prints, per container: the recording time,
//! the replay time, the replay's events per second and the replay/record ratio.
//! Recording and replay are each timed as a whole process of the release binary
//! (`theater-replay record`, `theater-replay verify`), and the chain is also recorded with
//! `--compress` (zstd) to compare its size and replay rate with the plain array.
//! Targets (issue 12): at least 1,000,000 events/s replayed; a replay at most 0.6x its
//! recording; the compressed chain at least 10x smaller and replayed at >= 80% of the rate.
//! Then the same for a real component, the Rust wasip2 agent (BENCH_AGENT_CALLS calls).
//!
//! Then it splits one event's replay cost into the stages the replay runs (chain reading,
//! integrity hash, payload decode, value conversion, re-encode and re-hash, summary, the
//! wasmtime host call), each timed alone on the same chain, and the record side's extra
//! stages (answers parsing, WAVE parsing, chain writing).
//!
//! Times are the best of BENCH_RUNS (default 3) runs. BENCH_CALLS overrides N (default
//! 200,000; 2,000 without `--bench`, as under `cargo test`); BENCH_BREAKDOWN=0 skips the split;
//! BENCH_ONLY=component or BENCH_ONLY=pack runs one section alone (for a profiler), and
//! BENCH_DIR=DIR keeps the pack section's chains in DIR.

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use theater_replay::chain::{
    ChainReader, ChainWriter, Event, HashAlg, IntegrityChecker, OutputFormat, canonical_hash, write_canonical,
};
use theater_replay::payload::Payload;
use theater_replay::record::Answers;
use theater_replay::runtime::{EpochTicker, Loaded, Runtime, exports};
use theater_replay::values::{NoResources, decode_args, encode_args};
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Linker, Type, Val};
use wasmtime::{Engine, Store};

const TICK_KEY: &str = "demo:bench/host#tick";
const TARGET_EVENTS_PER_SEC: f64 = 1_000_000.0;
const TARGET_RATIO: f64 = 0.6;
const BIN: &str = env!("CARGO_BIN_EXE_theater-replay");

/// Runs `theater-replay verify COMPONENT CHAIN` and returns its wall-clock time; it must
/// verify all `events`.
fn verify_process(component: &Path, chain: &Path, events: u64) -> Duration {
    let t = Instant::now();
    let out = std::process::Command::new(BIN)
        .arg("verify")
        .arg(component)
        .arg(chain)
        .args(["--format", "json"])
        .output()
        .expect("run verify");
    let elapsed = t.elapsed();
    assert!(out.status.success(), "verify: {}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("verify's JSON report");
    assert_eq!(report["events_verified"].as_u64(), Some(events), "{report}");
    elapsed
}

/// A real component: the Rust wasip2 agent (fixtures/components/rust), `run("xN")` called
/// BENCH_AGENT_CALLS times (default 20,000) on one instance. Each call makes two calls of
/// its own host interface and three WASI calls (random, clock, a stdout write), so the
/// chain is mostly host-call events of real WASI interfaces, with an export call and
/// result between every five.
fn agent(runs: usize, dir: &Path) {
    let full = std::env::args().any(|a| a == "--bench");
    let calls = env_or("BENCH_AGENT_CALLS", if full { 20_000 } else { 200 });
    let component = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/components/rust/agent-wasip2.wasm");
    let answers = dir.join("agent.answers.json");
    std::fs::write(&answers, r#"{"demo:agent/host@0.1.0#next-token": {"always": "7"}}"#).expect("write answers");
    let path = dir.join("agent.json");
    let invocations: Vec<String> = (0..calls).flat_map(|i| ["--invoke".to_string(), format!("run(\"x{i}\")")]).collect();
    let record_time = best_of(runs, || {
        let t = Instant::now();
        let out = std::process::Command::new(BIN)
            .arg("record")
            .arg(&component)
            .arg("--answers")
            .arg(&answers)
            .args(&invocations)
            .arg("-o")
            .arg(&path)
            .output()
            .expect("run record");
        let elapsed = t.elapsed();
        assert!(out.status.success(), "record: {}", String::from_utf8_lossy(&out.stderr));
        elapsed
    });
    let events = ChainReader::open(&path).expect("open chain").count() as u64;
    let size = std::fs::metadata(&path).expect("chain written").len();
    let replay_time = best_of(runs, || verify_process(&component, &path, events));
    println!();
    println!("agent: rust/agent-wasip2.wasm, {calls} calls of run(\"xN\") = {events} events, whole processes");
    println!();
    println!("| chain MB | record s | replay s | replay events/s | replay/record |");
    println!("| -------: | -------: | -------: | --------------: | ------------: |");
    println!(
        "| {:>8.1} | {:>8.3} | {:>8.3} | {:>15} | {:>12.2}x |",
        size as f64 / 1e6,
        record_time.as_secs_f64(),
        replay_time.as_secs_f64(),
        thousands(events as f64 / replay_time.as_secs_f64()),
        replay_time.as_secs_f64() / record_time.as_secs_f64()
    );
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The answer to `tick(i)`: small, varied numbers.
fn tick_answer(i: u64) -> u64 {
    (i * 7 + 3) % 1000
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this unoptimized, where
    // a small smoke run proves the bench still works without costing CI minutes.
    let full = std::env::args().any(|a| a == "--bench");
    let calls = env_or("BENCH_CALLS", if full { 200_000 } else { 2_000 });
    let runs = env_or("BENCH_RUNS", if full { 3 } else { 1 }).max(1) as usize;
    let component = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/components/chatty.wat");
    let runtime = Runtime::new().expect("engine");
    let t = Instant::now();
    let loaded = runtime.load(&component).expect("chatty.wat compiles");
    eprintln!("compiled {} in {:.2} s", component.display(), t.elapsed().as_secs_f64());

    let answers_json = answers_json(calls);
    let events = calls + 3;
    let dir = tempfile::tempdir().expect("temp dir");
    // BENCH_DIR=DIR writes the chains there and keeps them, for a profiler to replay.
    let kept = std::env::var_os("BENCH_DIR").map(std::path::PathBuf::from);
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    if only == "pack" {
        pack(calls, runs, kept.as_deref().unwrap_or(dir.path()));
        return;
    }

    println!(
        "replay bench: chatty.wat run({calls}) = {events} events ({calls} host calls), best of {runs} run(s), {} core(s)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();
    println!(
        "| container  | chain MB | record s | replay s | replay events/s | replay/record | targets (>= 1M/s, <= 0.6x)   |"
    );
    println!(
        "| ---------- | -------: | -------: | -------: | --------------: | ------------: | ---------------------------- |"
    );
    let answers_path = dir.path().join("answers.json");
    std::fs::write(&answers_path, &answers_json).expect("write answers");
    let mut chains = Vec::new();
    let mut plain_rate = None;
    let mut plain_size = 0;
    for (layout, compress, name) in [("json", false, "json-array"), ("jsonl", false, "json-lines"), ("json", true, "json.zst")] {
        let path = dir.path().join(format!("chatty.{name}"));
        // Both sides are whole processes of the release binary: what a user (or CI) pays.
        let record_time = best_of(runs, || {
            let mut cmd = std::process::Command::new(BIN);
            cmd.arg("record").arg(&component).arg("--answers").arg(&answers_path);
            cmd.args(["--invoke", &format!("run({calls})"), "--layout", layout, "-o"]).arg(&path);
            if compress {
                cmd.arg("--compress");
            }
            let t = Instant::now();
            let out = cmd.output().expect("run record");
            let elapsed = t.elapsed();
            assert!(out.status.success(), "record: {}", String::from_utf8_lossy(&out.stderr));
            elapsed
        });
        let size = std::fs::metadata(&path).expect("chain written").len();
        let replay_time = best_of(runs, || verify_process(&component, &path, events));
        let rate = events as f64 / replay_time.as_secs_f64();
        let ratio = replay_time.as_secs_f64() / record_time.as_secs_f64();
        let verdict = format!(
            "{} / {}",
            if rate >= TARGET_EVENTS_PER_SEC { "rate met" } else { "rate MISSED" },
            if ratio <= TARGET_RATIO { "ratio met" } else { "ratio MISSED" }
        );
        println!(
            "| {name:<10} | {:>8.1} | {:>8.3} | {:>8.3} | {:>15} | {:>12.2}x | {verdict:<28} |",
            size as f64 / 1e6,
            record_time.as_secs_f64(),
            replay_time.as_secs_f64(),
            thousands(rate),
            ratio
        );
        if compress {
            if let Some(plain) = plain_rate {
                println!();
                println!(
                    "compressed (zstd): {:.1}x smaller than json-array (target >= 10x), verify at {:.0}% of its event rate (target >= 80%)",
                    plain_size as f64 / size as f64,
                    100.0 * rate / plain
                );
            }
        } else {
            if plain_rate.is_none() {
                (plain_rate, plain_size) = (Some(rate), size);
            }
            chains.push((name, path));
        }
    }
    agent(runs, dir.path());

    if env_or("BENCH_BREAKDOWN", 1) != 0 {
        breakdown(&runtime, &loaded, &chains, &answers_json, calls, runs);
    }
    if only != "component" {
        pack(calls, runs, dir.path());
    }
}

/// theater's Pack chains: spinner.wat's `chatty(N)` (one export call making N host calls),
/// written as theater 0.3.8 writes it (nested CGRF: pretty JSON array, EVENT run log) and as
/// theater 0.3.29 writes it (Value payloads: a JSON array, compact and pretty, what a chain
/// subscriber saves with serde_json), each replayed by `verify` as a whole process.
/// Targets: 500k events/s for 0.3.8's forms (issue 12); 1M/s compact and 800k/s pretty for
/// 0.3.29's (issue 21).
fn pack(calls: u64, runs: usize, dir: &Path) {
    use packr_abi::Value as V;
    use theater_replay::chain::Layout;
    use theater_replay::dialect::pack::{Carried, PackPayload, PayloadForm};
    let actor = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/pack/wat/spinner.wat");
    let function = "test:spin/api.chatty".to_string();
    let unit = V::Tuple(vec![]);
    // Each call answered differently, as a real host would (no two events alike).
    let tick = |i: u64| {
        PackPayload::HostFunction {
            interface: "test:spin/host".into(),
            function: "call".into(),
            input: V::String("tick".into()),
            output: V::U64(tick_answer(i)),
        }
        .encode()
    };
    let events = calls + 5;
    println!();
    println!("pack: spinner.wat echo(), chatty({calls}) = {events} events ({calls} host calls), whole processes");
    println!();
    println!("| release | container         | chain MB | replay s | replay events/s | target         |");
    println!("| ------- | ----------------- | -------: | -------: | --------------: | -------------- |");
    let cases = [
        ("0.3.8", PayloadForm::NestedCgrf, Layout::PrettyArray, "json-array-pretty", 500_000.0),
        ("0.3.8", PayloadForm::NestedCgrf, Layout::EventLog, "event-log", 500_000.0),
        ("0.3.29", PayloadForm::Values, Layout::CompactArray, "json-array", 1_000_000.0),
        ("0.3.29", PayloadForm::Values, Layout::PrettyArray, "json-array-pretty", 800_000.0),
    ];
    for (release, form, layout, name, target) in cases {
        let path = dir.join(format!("pack-{release}.{name}"));
        // As each form is written where it comes from: a JSON array in one write of the
        // whole text (`fs::write` of `to_string_pretty`, as the capture program in
        // fixtures/theater-0.3.29 saves a chain), the run log a little at a time (theater
        // appends it as it runs). How a file was written sets the sizes of its folios in
        // the page cache, which the replay's memory map pays for (docs/performance.md).
        let mut writer = ChainWriter::with_layout(Vec::new(), layout);
        let mut head: Option<Vec<u8>> = None;
        let mut push = |event_type: &str, data: Vec<u8>| {
            let event = Event::new_linked(HashAlg::Sha1, head.as_deref(), event_type.to_string(), data);
            writer.write(&event).expect("write");
            head = Some(event.hash);
        };
        // First `echo`, whose whole output (its host call's answer, `()`) theater takes as
        // the new state: chatty reads its n where a state of `()` puts it, and theater
        // 0.3.29 starts an actor with `none`.
        let echo = "test:spin/api.echo".to_string();
        let start = if form == PayloadForm::Values { V::Option { inner_type: packr_abi::ValueType::Bool, value: None } } else { unit.clone() };
        push("wasm", PackPayload::WasmCall { function: echo.clone(), params: Carried::new(form, Some(V::Tuple(vec![]))) }.encode());
        let answer = PackPayload::HostFunction {
            interface: "test:spin/host".into(),
            function: "call".into(),
            input: V::Tuple(vec![start]),
            output: unit.clone(),
        };
        push("test:spin/host/call", answer.encode());
        push("wasm", PackPayload::WasmResult { function: echo, state: unit.clone(), result: Carried::new(form, None) }.encode());
        let params = Carried::new(form, Some(V::Tuple(vec![V::U32(calls as u32)])));
        push("wasm", PackPayload::WasmCall { function: function.clone(), params }.encode());
        for i in 0..calls {
            push("test:spin/host/call", tick(i));
        }
        // chatty answers no tuple: nothing (0.3.8), `tuple()` (0.3.29).
        let result = Carried::new(form, None);
        push("wasm", PackPayload::WasmResult { function: function.clone(), state: unit.clone(), result }.encode());
        let text = writer.finish().expect("finish");
        let mut file = File::create(&path).expect("create chain");
        if layout == Layout::EventLog {
            for piece in text.chunks(8 << 10) {
                file.write_all(piece).expect("write chain");
            }
        } else {
            file.write_all(&text).expect("write chain");
        }
        // On disk before it is timed: the kernel writing hundreds of megabytes back in the
        // background, half a minute later, took a core from the replays then running.
        file.sync_all().expect("sync chain");
        let size = text.len() as u64;
        let replay_time = best_of(runs, || verify_process(&actor, &path, events));
        let rate = events as f64 / replay_time.as_secs_f64();
        let verdict = if rate >= target { "met" } else { "MISSED" };
        println!(
            "| {release:<7} | {name:<17} | {:>8.1} | {:>8.3} | {:>15} | {:>5}k/s {verdict:<6} |",
            size as f64 / 1e6,
            replay_time.as_secs_f64(),
            thousands(rate),
            target as u64 / 1000
        );
    }
}

/// `{"demo:bench/host#tick": ["3", "10", ...]}` with one answer per call.
fn answers_json(calls: u64) -> String {
    let answers: Vec<String> = (0..calls).map(|i| tick_answer(i).to_string()).collect();
    serde_json::to_string(&serde_json::json!({ TICK_KEY: answers })).expect("answers JSON")
}

fn best_of(runs: usize, mut f: impl FnMut() -> Duration) -> Duration {
    (0..runs).map(|_| f()).min().unwrap_or_default()
}

/// Times `f` over all items, best of `runs`, in nanoseconds per item.
fn per_item<T>(runs: usize, items: &[T], mut f: impl FnMut(&T)) -> f64 {
    let best = best_of(runs, || {
        let t = Instant::now();
        for item in items {
            f(item);
        }
        t.elapsed()
    });
    best.as_nanos() as f64 / items.len().max(1) as f64
}

fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The parameter and result types of the `tick` import.
fn tick_types(loaded: &Loaded, engine: &Engine) -> (Vec<Type>, Vec<Type>) {
    let component = loaded.component().expect("chatty.wat is a component");
    for (_, import) in component.component_type().imports(engine) {
        if let ComponentItem::ComponentInstance(instance) = import.ty {
            for (name, item) in instance.exports(engine) {
                if let (ComponentItem::ComponentFunc(func), "tick") = (item.ty, name) {
                    return (func.params().map(|(_, t)| t).collect(), func.results().collect());
                }
            }
        }
    }
    panic!("chatty.wat imports no tick")
}

/// Runs `run(calls)` with `tick` defined by `define`, returning ns per host call.
fn raw_host_calls(engine: &Engine, loaded: &Loaded, calls: u64, runs: usize, define: impl Fn(&mut Linker<()>)) -> f64 {
    let mut linker = Linker::new(engine);
    define(&mut linker);
    let best = best_of(runs, || {
        let mut store = Store::new(engine, ());
        store.set_epoch_deadline(EpochTicker::ticks(Duration::from_secs(60)));
        let instance = linker.instantiate(&mut store, loaded.component().expect("a component")).expect("instantiate");
        let func = exports::find(&mut store, &instance, "run").expect("run");
        let mut results = vec![Val::U64(0)];
        let t = Instant::now();
        func.call(&mut store, &[Val::U32(calls as u32)], &mut results).expect("run");
        let elapsed = t.elapsed();
        assert_eq!(results[0], Val::U64((0..calls).sum()));
        elapsed
    });
    best.as_nanos() as f64 / calls as f64
}

/// Where one event's time goes: each stage the replay (and the recording) runs per host
/// call, timed alone over the same chain.
fn breakdown(
    runtime: &Runtime,
    loaded: &Loaded,
    chains: &[(&str, PathBuf)],
    answers_json: &str,
    calls: u64,
    runs: usize,
) {
    let engine = &runtime.engine;
    let (param_types, result_types) = tick_types(loaded, engine);
    println!();
    println!("per-event split of the work (ns per event, each stage timed alone, best of {runs}):");
    println!();

    // Reading: container scan + byte-array decoding into `Event`s.
    let mut read = Vec::new();
    for (name, path) in chains {
        let best = best_of(runs, || {
            let t = Instant::now();
            let mut n = 0u64;
            for event in ChainReader::open(path).expect("open") {
                black_box(event.expect("event"));
                n += 1;
            }
            assert_eq!(n, calls + 3);
            t.elapsed()
        });
        read.push((name, best.as_nanos() as f64 / (calls + 3) as f64));
    }
    let events: Vec<Event> = ChainReader::open(&chains[0].1).expect("open").map(|e| e.expect("event")).collect();
    // The host-call events only: what the per-call stages see.
    let host_events: Vec<&Event> = events.iter().filter(|e| e.event_type.ends_with("/tick")).collect();
    let payloads: Vec<Payload> = host_events.iter().map(|e| Payload::decode(&e.data).expect("payload")).collect();

    let integrity = per_item(runs, &[()], |_| {
        let mut checker = IntegrityChecker::new();
        for event in &events {
            checker.push(event).expect("intact");
        }
    }) / events.len() as f64;
    let json_value = per_item(runs, &host_events, |e| {
        black_box(serde_json::from_slice::<Value>(&e.data).expect("json"));
    });
    let decode = per_item(runs, &host_events, |e| {
        black_box(Payload::decode(&e.data).expect("payload"));
    });
    let decode_output = per_item(runs, &payloads, |p| {
        let Payload::HostFunction { output, .. } = p else { unreachable!() };
        black_box(decode_args(output, &result_types, &mut NoResources).expect("answer"));
    });
    let encode_input = per_item(runs, &[()], |_| {
        for i in 0..calls as u32 {
            black_box(encode_args(&[Val::U32(i)], &param_types, &mut NoResources).expect("input"));
        }
    }) / calls as f64;
    let types = per_item(runs, &[()], |_| {
        for _ in 0..calls {
            // What on_call does with its ComponentFunc: two Vec<Type> per call.
            let p: Vec<Type> = param_types.to_vec();
            let r: Vec<Type> = result_types.to_vec();
            black_box((p, r));
        }
    }) / calls as f64;
    let encode = per_item(runs, &payloads, |p| {
        black_box(p.encode());
    });
    // What the replay runs per host call instead of decode + re-encode: the guest's
    // input encoded, compared with the recorded text, and only the output parsed.
    let mut scratch = Vec::new();
    let pairs: Vec<(&Event, &Payload)> = host_events.iter().copied().zip(&payloads).collect();
    let host_output = per_item(runs, &pairs, |(e, p)| {
        let Payload::HostFunction { call, input, .. } = p else { unreachable!() };
        black_box(Payload::recorded_host_output(&e.data, call, input, &mut scratch).expect("canonical"));
    });
    let head = host_events[0].hash.clone();
    let rehash = per_item(runs, &host_events, |e| {
        black_box(canonical_hash(HashAlg::Sha256, Some(&head), &e.event_type, &e.data));
    });
    // Hash #2 split: building the canonical text alone, and SHA-256 alone over it.
    let canonical: Vec<Vec<u8>> = host_events
        .iter()
        .map(|e| {
            let mut text = Vec::new();
            write_canonical(&mut text, Some(&head), &e.event_type, &e.data).expect("canonical");
            text
        })
        .collect();
    let canonical_len = canonical.iter().map(Vec::len).sum::<usize>() as f64 / canonical.len() as f64;
    let mut scratch = Vec::with_capacity(4096);
    let canonical_text = per_item(runs, &host_events, |e| {
        scratch.clear();
        write_canonical(&mut scratch, Some(&head), &e.event_type, &e.data).expect("canonical");
        black_box(&scratch);
    });
    let sha_only = per_item(runs, &canonical, |text| {
        black_box(Sha256::digest(text));
    });
    let event_type = per_item(runs, &payloads, |p| {
        black_box(p.event_type());
    });
    let clones = per_item(runs, &payloads, |p| {
        // on_call clones the HostCall and the output into the `actual` payload; matched()
        // clones the event type and the hash.
        let Payload::HostFunction { call, output, .. } = p else { unreachable!() };
        black_box((call.clone(), output.clone(), host_events[0].event_type.clone(), head.clone()));
    });
    let summary = per_item(runs, &payloads, |p| {
        black_box(p.summary());
    });

    // The wasmtime side: the same guest loop with a host function that does nothing.
    let dynamic = raw_host_calls(engine, loaded, calls, runs, |linker| {
        linker
            .instance("demo:bench/host")
            .expect("instance")
            .func_new("tick", |_store, _ty, params, results| {
                results[0] = params[0].clone();
                Ok(())
            })
            .expect("func_new");
    });
    let typed = raw_host_calls(engine, loaded, calls, runs, |linker| {
        linker
            .instance("demo:bench/host")
            .expect("instance")
            .func_wrap("tick", |_store, (i,): (u32,)| Ok((i,)))
            .expect("func_wrap");
    });

    // Record-only stages.
    let answers_parse = per_item(runs, &[()], |_| {
        black_box(Answers::from_json(answers_json).expect("answers"));
    }) / calls as f64;
    let texts: Vec<String> = (0..calls).map(|i| tick_answer(i).to_string()).collect();
    let wave = per_item(runs, &texts, |text| {
        black_box(wasmtime::component::wasm_wave::from_str::<Val>(&result_types[0], text).expect("wave"));
    });
    let new_linked = per_item(runs, &payloads, |p| {
        black_box(Event::new_linked(HashAlg::Sha256, Some(&head), p.event_type(), p.encode()));
    });
    let write = per_item(runs, &[()], |_| {
        let mut writer = ChainWriter::new(Vec::with_capacity(64 << 20), OutputFormat::JsonLines);
        for event in &events {
            writer.write(event).expect("write");
        }
        black_box(writer.finish().expect("finish"));
    }) / events.len() as f64;

    let row = |stage: &str, ns: f64, note: &str| println!("| {stage:<46} | {ns:>8.0} | {note}");
    println!("| stage (replay, per host-call event)            | ns/event | note");
    println!("| ---------------------------------------------- | -------: | ----");
    for (name, ns) in &read {
        row(&format!("read chain ({name}): scan + byte arrays -> Event"), *ns, "ChainReader::next");
    }
    row("integrity check (hash #1)", integrity, "IntegrityChecker::push: canonical form + SHA-256");
    row(
        "  as the replay runs it (stored bytes)",
        sha_only,
        "compact chains: SHA-256 of the stored text (ChainReader::canonical_tail)",
    );
    row("answer from the recorded bytes", host_output, "Payload::recorded_host_output (replay's hot path)");
    row("payload decode", decode, "Payload::decode (all of it; full path only)");
    row("  of which bytes -> serde_json::Value", json_value, "serde_json::from_slice");
    row("encode guest args -> typed JSON", encode_input, "values::encode_args([U32])");
    row("decode recorded answer -> Val", decode_output, "values::decode_args([u32])");
    row("param/result type vectors", types, "ty.params()/results() collected per call");
    row("re-encode payload", encode, "Payload::encode (serde_json::to_vec; full path only)");
    row("re-hash (hash #2)", rehash, "canonical_hash SHA-256");
    row(
        &format!("  of which canonical text ({canonical_len:.0} B) -> Vec"),
        canonical_text,
        "write_canonical into a reused Vec",
    );
    row("  of which SHA-256 alone over that text", sha_only, "sha2::Sha256::digest");
    row("event_type string", event_type, "format!(iface/func), once per reproduces()");
    row("clones (HostCall, output, type, head)", clones, "on_call + matched");
    row("summary for the recent-events ring", summary, "Payload::summary in matched()");
    row("wasmtime host call, func_new (Val)", dynamic, "guest loop + dynamic host call, no-op host");
    row("wasmtime host call, func_wrap (typed)", typed, "same, typed host function (for comparison)");
    println!();
    println!("| stage (record only, per host-call event)       | ns/event | note");
    println!("| ---------------------------------------------- | -------: | ----");
    row("answers file parse", answers_parse, "Answers::from_json (outside the timed recording)");
    row("WAVE parse of the answer", wave, "wasm_wave::from_str::<Val>");
    row("payload encode + hash", new_linked, "Event::new_linked(event_type(), encode())");
    row("chain write (compact line, in memory)", write, "ChainWriter::write");
}
