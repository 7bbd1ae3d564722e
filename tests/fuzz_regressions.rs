//! Regression tests for what the fuzz targets (`fuzz/`) found, data-driven: every input
//! under `tests/data/fuzz/<target>/` is one the target failed on, run through the same
//! library calls. A message quoting input must be one line with no control characters and
//! of bounded length (input echoed through `text::clip`: 40 characters, each escaped to at
//! most 8, and lists clipped to 200), and nothing may panic.

use packr_abi::Value;
use std::path::Path;
use theater_replay::dialect::pack_wave;
use theater_replay::record;
use theater_replay::runtime::pack::types::{self, FunctionSig, Metadata, Type, TypeDef};

const MAX_LINE: usize = 600;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz").join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no inputs in {}", dir.display());
    files.into_iter().map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap())).collect()
}

fn assert_one_line(case: &str, message: &str) {
    assert!(!message.chars().any(char::is_control), "{case}: control characters in {message:?}");
    assert!(message.chars().count() <= MAX_LINE, "{case}: {} characters: {message:.400}", message.chars().count());
}

fn defs() -> Vec<TypeDef> {
    vec![TypeDef::Record {
        name: "actor-state".into(),
        fields: vec![("count".into(), Type::S32), ("items".into(), Type::List(Box::new(Type::String)))],
    }]
}

/// A Pack actor with many exports (so that the list of them is long) taking every kind of
/// argument.
fn metadata() -> Metadata {
    let state = ("state".to_string(), Type::Named("actor-state".into()));
    let types = [Type::S32, Type::String, Type::List(Box::new(Type::U8)), Type::Named("actor-state".into())];
    let exports = (0..40)
        .map(|i| FunctionSig {
            interface: "theater:test/a-rather-long-interface-name".into(),
            name: format!("function-{i}"),
            params: vec![state.clone(), ("a".into(), types[i % types.len()].clone())],
            results: vec![],
            type_defs: defs(),
        })
        .collect();
    Metadata { imports: vec![], exports }
}

/// `record --invoke` and `--initial-state` for Pack actors: the export name and the state
/// text were echoed whole and unescaped.
#[test]
fn pack_invocations_and_states_echo_input_clipped() {
    let metadata = metadata();
    for (case, data) in inputs("wave_args") {
        let text = String::from_utf8_lossy(&data);
        match record::pack::invocation(&text, &metadata) {
            Ok((name, args)) => {
                let sig = metadata.export(&name).unwrap();
                for (value, (_, ty)) in args.iter().zip(&sig.params[1..]) {
                    types::check(value, ty, &sig.type_defs).unwrap();
                }
            }
            Err(e) => assert_one_line(&case, &e),
        }
        if let Err(e) = record::parse_invocation(&text) {
            assert_one_line(&case, &e);
        }
        for ty in [Type::Named("actor-state".into()), Type::S32, Type::String] {
            if let Err(e) = pack_wave::parse(&text, &ty, &defs()) {
                assert_one_line(&case, &e);
            }
            if let Err(e) = record::pack::parse_answer("theater:simple/runtime#log", &text, &ty, &defs()) {
                assert_one_line(&case, &e);
            }
        }
    }
    // What the clipped names still say.
    let err = record::pack::invocation("theater:test/nope\u{0}x(1)", &metadata).unwrap_err();
    assert!(err.starts_with("the actor has no export `theater:test/nope\\x00x`; it exports: theater:test/"), "{err}");
    let err = pack_wave::parse("{count: x}", &Type::Named("actor-state".into()), &defs()).unwrap_err();
    assert!(err.starts_with("`{count: x}` is not a `actor-state`: "), "{err}");
    let _: Value = pack_wave::parse("{count: 1, items: []}", &Type::Named("actor-state".into()), &defs()).unwrap();
}
