//! gen-chain: writes large, well-formed, deterministic chains for benchmarks and stress
//! tests.
//!
//!     gen-chain --events 100000 --data-bytes 420 --container pretty --hash sha1 -o big.json
//!
//! Payloads look like theater's: host calls (UTF-8 JSON, mostly 2- and 3-digit bytes once
//! encoded), with an export call every 50 events. The same arguments give the same bytes.

use clap::{Parser, ValueEnum};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use theater_replay::chain::{ChainWriter, Event, HashAlg, Layout};

#[derive(Parser)]
#[command(name = "gen-chain", about = "Write a large well-formed event chain")]
struct Args {
    /// Number of events.
    #[arg(long, default_value_t = 1000)]
    events: u64,
    /// Payload size of each event in bytes (at least the ~100 bytes of the JSON envelope).
    #[arg(long, default_value_t = 400)]
    data_bytes: usize,
    #[arg(long, value_enum, default_value_t = Container::Pretty)]
    container: Container,
    #[arg(long, value_enum, default_value_t = Alg::Sha1)]
    hash: Alg,
    /// Output file.
    #[arg(short = 'o', long)]
    output: PathBuf,
}

#[derive(Clone, Copy, ValueEnum)]
enum Container {
    /// A pretty-printed JSON array, as theater saves chains.
    Pretty,
    /// A JSON array, one compact event a line.
    Compact,
    /// JSON Lines.
    Jsonl,
    /// Theater's EVENT run log.
    Eventlog,
    /// A saved state chain object.
    State,
}

#[derive(Clone, Copy, ValueEnum)]
enum Alg {
    Sha1,
    Sha256,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match generate(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}: {e}", args.output.display());
            ExitCode::from(2)
        }
    }
}

fn generate(args: &Args) -> std::io::Result<()> {
    let layout = match args.container {
        Container::Pretty => Layout::PrettyArray,
        Container::Compact => Layout::CompactArray,
        Container::Jsonl => Layout::JsonLines,
        Container::Eventlog => Layout::EventLog,
        Container::State => Layout::StateChain,
    };
    let alg = match args.hash {
        Alg::Sha1 => HashAlg::Sha1,
        Alg::Sha256 => HashAlg::Sha256,
    };
    let out = BufWriter::with_capacity(1 << 20, File::create(&args.output)?);
    let mut writer = ChainWriter::with_layout(out, layout);
    let mut parent: Option<Vec<u8>> = None;
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    for i in 0..args.events {
        let (event_type, data) = payload(i, args.data_bytes, &mut rng);
        let event = Event::new_linked(alg, parent.as_deref(), event_type, data);
        writer.write(&event)?;
        parent = Some(event.hash);
    }
    writer.finish()?.flush()
}

/// A deterministic payload of `size` bytes (or the envelope's size, if larger).
fn payload(i: u64, size: usize, rng: &mut u64) -> (String, Vec<u8>) {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 -_.:/";
    let (event_type, head, tail) = if i.is_multiple_of(50) {
        ("wasm".to_owned(), "{\"category\":\"Wasm\",\"WasmCall\":{\"function_name\":\"bench:gen/actor.handle\",\"params\":\"".to_owned(), format!("\"}},\"seq\":{i}}}"))
    } else {
        (
            "bench:gen/store/put".to_owned(),
            "{\"category\":\"HostFunction\",\"interface\":\"bench:gen/store\",\"function\":\"put\",\"input\":\"".to_owned(),
            format!("\",\"output\":{i}}}"),
        )
    };
    let fill = size.saturating_sub(head.len() + tail.len());
    let mut data = Vec::with_capacity(head.len() + fill + tail.len());
    data.extend_from_slice(head.as_bytes());
    for _ in 0..fill {
        // xorshift64: cheap, deterministic, and varied enough to exercise 1-3 digit bytes.
        *rng ^= *rng << 13;
        *rng ^= *rng >> 7;
        *rng ^= *rng << 17;
        data.push(ALPHABET[(*rng % ALPHABET.len() as u64) as usize]);
    }
    data.extend_from_slice(tail.as_bytes());
    (event_type, data)
}
