//! What the Pack chain tests (tests/pack.rs, theater_0329.rs, keep_going.rs) share: the
//! repository's root, the command with a compile cache of the tests' own, `verify
//! --format json`, and writing a chain of Pack payloads.

#![allow(dead_code)] // each test file uses its own part

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;
use theater_replay::chain::{ChainWriter, Event, HashAlg, Layout};
use theater_replay::dialect::pack::PackPayload;

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `theater-replay` with a compile cache named `cache`, apart from the user's.
pub fn cli(cache: &str) -> Command {
    let mut cmd = Command::cargo_bin("theater-replay").unwrap();
    cmd.env("XDG_CACHE_HOME", Path::new(env!("CARGO_TARGET_TMPDIR")).join(cache));
    cmd
}

/// `verify --format json ACTOR CHAIN EXTRA...` run by `cmd`: the exit code and the report.
pub fn verify_json_with(mut cmd: Command, actor: &Path, chain: &Path, extra: &[&str]) -> (i32, Value) {
    let out = cmd.arg("verify").arg(actor).arg(chain).args(["--format", "json"]).args(extra).output().unwrap();
    let code = out.status.code().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {}", chain.display(), String::from_utf8_lossy(&out.stderr)));
    (code, report)
}

/// Writes `events` as a chain (SHA-1, each linked to the one before) in `layout`.
pub fn write_pack_chain(path: &Path, layout: Layout, events: impl IntoIterator<Item = (String, PackPayload)>) {
    let file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut writer = ChainWriter::with_layout(file, layout);
    let mut head: Option<Vec<u8>> = None;
    for (event_type, payload) in events {
        let event = Event::new_linked(HashAlg::Sha1, head.as_deref(), event_type, payload.encode());
        writer.write(&event).unwrap();
        head = Some(event.hash);
    }
    writer.finish().unwrap();
}
