//! What a person at a terminal sees, and what a pipe never gets: colour (`--color`,
//! NO_COLOR, CLICOLOR_FORCE), the `-v` levels, and progress bars (drawn on a pseudo-terminal
//! made by util-linux `script`; those tests say so and pass when it is missing).

use assert_cmd::Command;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;

const COUNTER: &str = "fixtures/components/counter.wat";
const CHAIN: &str = "fixtures/chains/counter.json";
const ESC: &str = "\x1b[";

/// The binary with no colour or log settings inherited from whoever runs the tests.
fn bin(cache: &Path) -> Command {
    let mut cmd = Command::cargo_bin("theater-replay").unwrap();
    for var in ["RUST_LOG", "NO_COLOR", "CLICOLOR_FORCE"] {
        cmd.env_remove(var);
    }
    cmd.env("XDG_CACHE_HOME", cache);
    cmd
}

fn stdout(cmd: &mut Command) -> String {
    String::from_utf8(cmd.output().unwrap().stdout).unwrap()
}

#[test]
fn color_always_paints_the_verdicts() {
    let cache = tempfile::tempdir().unwrap();
    let verified = stdout(bin(cache.path()).args(["--color", "always", "verify", COUNTER, CHAIN]));
    assert!(verified.starts_with("\x1b[1m\x1b[32mverified\x1b[0m: "), "{verified:?}");
    let checked = stdout(bin(cache.path()).args(["check", "--color=always", CHAIN]));
    assert!(checked.contains("\x1b[32mintact\x1b[0m"), "{checked:?}");
    let same = stdout(bin(cache.path()).args(["diff", CHAIN, CHAIN, "--color", "always"]));
    assert!(same.starts_with("\x1b[1m\x1b[32msame\x1b[0m: "), "{same:?}");
}

#[test]
fn a_divergence_paints_its_verdict_and_its_two_sides() {
    let dir = tempfile::tempdir().unwrap();
    let modified = dir.path().join("modified.wat");
    let wat = std::fs::read_to_string(COUNTER).unwrap();
    let changed = wat.replace("(i32.const 16) (i32.const 5)", "(i32.const 16) (i32.const 4)");
    assert_ne!(wat, changed, "the fixture changed: update this test's edit");
    std::fs::write(&modified, changed).unwrap();
    let mut cmd = bin(dir.path());
    cmd.args(["verify", "--color", "always"]).arg(&modified).arg(CHAIN);
    let out = stdout(&mut cmd);
    assert!(out.starts_with("\x1b[1m\x1b[31mDIVERGED\x1b[0m: "), "{out:?}");
    assert!(out.contains("\x1b[32mexpected:\x1b[0m \x1b[32mdemo:agent/host#log(\"added\")\x1b[0m"), "{out:?}");
    assert!(out.contains("\x1b[31mactual:  \x1b[0m \x1b[31mdemo:agent/host#log(\"adde\")\x1b[0m"), "{out:?}");
    // Without colour, the same report byte for byte once the codes are taken out.
    let mut plain = bin(dir.path());
    plain.args(["verify", "--color", "never"]).arg(&modified).arg(CHAIN);
    assert_eq!(strip_ansi(&out), stdout(&mut plain));
}

#[test]
fn never_no_color_and_pipes_get_plain_text() {
    let cache = tempfile::tempdir().unwrap();
    let plain = stdout(bin(cache.path()).args(["verify", COUNTER, CHAIN]));
    assert!(plain.starts_with("verified: "), "{plain:?}");
    type Run<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);
    let runs: [Run; 4] = [
        (&["--color", "never", "verify", COUNTER, CHAIN], &[]),
        (&["verify", COUNTER, CHAIN], &[("NO_COLOR", "1")]),
        // NO_COLOR wins over CLICOLOR_FORCE.
        (&["verify", COUNTER, CHAIN], &[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")]),
        (&["--color", "auto", "verify", COUNTER, CHAIN], &[]),
    ];
    for (args, env) in runs {
        let mut cmd = bin(cache.path());
        cmd.args(args).envs(env.iter().copied());
        assert_eq!(stdout(&mut cmd), plain, "{args:?} {env:?}");
    }
    // CLICOLOR_FORCE colours a pipe; an explicit --color always wins over NO_COLOR.
    let forced = stdout(bin(cache.path()).args(["verify", COUNTER, CHAIN]).env("CLICOLOR_FORCE", "1"));
    assert!(forced.contains(ESC), "{forced:?}");
    let always = stdout(bin(cache.path()).args(["--color", "always", "verify", COUNTER, CHAIN]).env("NO_COLOR", "1"));
    assert!(always.contains(ESC), "{always:?}");
    // JSON is never coloured.
    let json = stdout(bin(cache.path()).args(["--color", "always", "verify", "--format", "json", COUNTER, CHAIN]));
    assert!(!json.contains(ESC), "{json:?}");
}

#[test]
fn dash_v_tells_what_was_loaded_and_the_cache_without_touching_stdout() {
    let cache = tempfile::tempdir().unwrap();
    let quiet = bin(cache.path()).args(["verify", COUNTER, CHAIN]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&quiet.stderr), "", "no -v: nothing on stderr");
    // The run above filled the cache: a hit now; a fresh cache directory misses.
    let fresh = tempfile::tempdir().unwrap();
    for (dir, how) in [(cache.path(), "compile cache hit"), (fresh.path(), "compile cache miss, compiled")] {
        let out = bin(dir).args(["-v", "verify", COUNTER, CHAIN]).output().unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.stdout, quiet.stdout, "-v changes stdout");
        assert!(stderr.contains(&format!("INFO loaded component {COUNTER} (")), "{stderr}");
        assert!(stderr.contains(how), "{how}: {stderr}");
        assert!(stderr.contains(&format!("{CHAIN}: dialect theater-replay-v1 (detected from event 0)")), "{stderr}");
        assert!(stderr.contains(&format!("{CHAIN}: verified after 14 events in ")), "{stderr}");
        assert!(!stderr.contains("DEBUG"), "{stderr}");
    }
}

#[test]
fn dash_vv_is_our_debug_detail_and_nobody_else_s() {
    let cache = tempfile::tempdir().unwrap();
    let out = bin(cache.path()).args(["-vv", "verify", COUNTER, CHAIN]).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("DEBUG theater_replay::runtime::cache: compile cache: miss "), "{stderr}");
    assert!(stderr.contains("DEBUG theater_replay::replay: "), "{stderr}");
    for line in stderr.lines() {
        let target = line.split_whitespace().nth(1).unwrap_or_default();
        assert!(target.starts_with("theater_replay"), "a line of another crate: {line}");
    }
    // RUST_LOG opens the rest (wasmtime's and cranelift's own logs).
    let out =
        bin(cache.path()).args(["verify", "--no-cache", COUNTER, CHAIN]).env("RUST_LOG", "debug").output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.lines().any(|l| l.contains(" wasmtime") || l.contains(" cranelift")), "{stderr}");
}

/// A chain large enough that checking it outlasts the progress bar's delay (0.3 s).
fn big_chain(dir: &Path) -> PathBuf {
    chain_of(dir, 8000)
}

/// A generated chain of `events` events of 400 payload bytes (about 4.7 KB each).
fn chain_of(dir: &Path, events: u64) -> PathBuf {
    let path = dir.join("big.json");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_gen-chain"))
        .args(["--events", &events.to_string(), "--data-bytes", "400", "-o"])
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    path
}

#[test]
fn no_progress_when_stderr_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let chain = big_chain(dir.path());
    let out = bin(dir.path()).arg("check").arg(&chain).output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    let out = bin(dir.path()).arg("diff").arg(&chain).arg(&chain).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

/// util-linux `script`, which runs a command on a new pseudo-terminal; `None` (and a note)
/// where it is missing.
fn script() -> Option<&'static str> {
    let found = std::process::Command::new("script").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("note: no util-linux `script` here; terminal progress not tested");
    }
    found.then_some("script")
}

/// `command` run by `script` on a pseudo-terminal: the child, its stdin (the terminal's
/// keyboard) and its stdout (everything the terminal shows).
fn on_terminal(command: &str) -> Option<std::process::Child> {
    let script = script()?;
    let child = std::process::Command::new(script)
        .args(["-qefc", command, "/dev/null"])
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    Some(child)
}

fn shell_quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

#[test]
fn a_terminal_gets_a_bar_of_bytes_events_and_time_left_then_a_clean_line() {
    let dir = tempfile::tempdir().unwrap();
    // Long enough to outlast the bar's delay (300 ms) even in a debug build: `check` reads
    // this 190 MB in about 0.6 s there (8,000 events took 0.12 s once files were mapped).
    let chain = chain_of(dir.path(), 40_000);
    let bin = assert_cmd::cargo::cargo_bin("theater-replay");
    let command = format!("{} check {}", shell_quote(&bin), shell_quote(&chain));
    let Some(child) = on_terminal(&command) else { return };
    let out = child.wait_with_output().unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{screen}");
    let size = std::fs::metadata(&chain).unwrap().len();
    // Three significant digits, as the bar writes sizes.
    let mib = size as f64 / (1 << 20) as f64;
    let total = if mib >= 100.0 { format!("/{mib:.0} MiB") } else { format!("/{mib:.1} MiB") };
    assert!(screen.contains(&total) && screen.contains(" events  ") && screen.contains("ETA "), "{screen:?}");
    // The bar's line is cleared before the verdict is printed on it.
    let verdict = screen.find(&format!("{}: ", chain.display())).expect("the verdict");
    assert!(screen[..verdict].ends_with("\r\x1b[2K"), "{screen:?}");
}

#[test]
fn a_long_compile_shows_a_spinner_naming_the_component_and_its_size() {
    // Many functions: a few seconds of Cranelift, the first run of a large actor in small.
    let dir = tempfile::tempdir().unwrap();
    let component = dir.path().join("big.wat");
    let functions: String = (0..15_000)
        .map(|i| format!("(func (param i32) (result i32) local.get 0 i32.const {i} i32.mul local.get 0 i32.xor)\n"))
        .collect();
    std::fs::write(&component, format!("(component (core module $m {functions}))")).unwrap();
    let size = std::fs::metadata(&component).unwrap().len() as f64 / (1 << 20) as f64;
    let bin = assert_cmd::cargo::cargo_bin("theater-replay");
    let command = format!("{} verify --no-cache {} {CHAIN}", shell_quote(&bin), shell_quote(&component));
    let Some(child) = on_terminal(&command) else { return };
    let out = child.wait_with_output().unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    let spinner = format!("compiling {} ({size:.2} MiB)", component.display());
    let at = screen.find(&spinner).unwrap_or_else(|| panic!("no `{spinner}`: {screen:?}"));
    // Cleared before the report is printed, and drawn with its message from the first frame.
    let cleared = screen.rfind("\r\x1b[2K").unwrap();
    assert!(at < cleared && screen[cleared..].contains("DIVERGED"), "{screen:?}");
    assert!(!screen[cleared..].contains("compiling"), "{screen:?}");
    assert!(screen.trim_start().chars().nth(2) == Some('c'), "{screen:?}");
    // Never in a pipe.
    let piped =
        std::process::Command::new(&bin).args(["verify", "--no-cache"]).arg(&component).arg(CHAIN).output().unwrap();
    assert!(!String::from_utf8_lossy(&piped.stderr).contains("compiling"));
}

#[test]
fn ctrl_c_clears_the_bar() {
    let dir = tempfile::tempdir().unwrap();
    let chain = big_chain(dir.path());
    let bin = assert_cmd::cargo::cargo_bin("theater-replay");
    // A named pipe that gives half of the chain and then nothing more: `check` waits on it
    // (drawing its bar) until interrupted, however fast it reads.
    let fifo = dir.path().join("slow.json");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo reads the NUL-terminated path, which outlives the call.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0, "mkfifo");
    let text = std::fs::read(&chain).unwrap();
    let feeder_path = fifo.clone();
    std::thread::spawn(move || {
        let mut pipe = std::fs::OpenOptions::new().write(true).open(feeder_path).unwrap();
        // Fails once `check` has exited (a broken pipe): that ends this thread.
        if pipe.write_all(&text[..text.len() / 2]).is_ok() {
            std::thread::sleep(std::time::Duration::from_secs(60));
        }
    });
    // A known width, so that what the terminal shows can be worked out from what it got.
    let command = format!("stty cols {COLS} rows 24; exec {} check {}", shell_quote(&bin), shell_quote(&fifo));
    let Some(mut child) = on_terminal(&command) else { return };
    let mut stdout = child.stdout.take().unwrap();
    // Read until the bar is drawn, then press Ctrl-C.
    let mut screen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&screen).contains(" events  ") {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "ended before a bar was drawn: {}", String::from_utf8_lossy(&screen));
        screen.extend_from_slice(&buf[..n]);
    }
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"\x03").unwrap();
    stdin.flush().unwrap();
    stdout.read_to_end(&mut screen).unwrap();
    let status = child.wait().unwrap();
    let screen = String::from_utf8_lossy(&screen);
    assert_eq!(status.code(), Some(130), "{screen:?}");
    // Whatever the terminal shows last, after the last bar drawn, is a cleared line.
    let last_bar = screen.rfind(" events  ").unwrap();
    assert!(screen[last_bar..].contains("\r\x1b[2K"), "{:?}", &screen[last_bar..]);
    // And on the screen itself: no bar left, the `^C` echo included (it wrapped onto a line
    // of its own after a bar as wide as the terminal, and that line was the one cleared).
    let shown = render(&screen, COLS);
    assert!(shown.iter().all(|line| !line.contains(" events ")), "the bar is still on screen: {shown:#?}");
    assert!(shown.iter().all(|line| line.len() < COLS), "{shown:#?}");
}

const COLS: usize = 80;

/// The lines a terminal `cols` wide shows after `output` (what `script` recorded): text
/// with autowrap at the last column (xterm's: the wrap happens at the next character),
/// `\r`, `\n`, and the CSI sequences progress bars use (cursor up and down, erase line,
/// erase below); colours and modes are skipped. Trailing blanks are trimmed.
fn render(output: &str, cols: usize) -> Vec<String> {
    let mut lines: Vec<Vec<char>> = vec![Vec::new()];
    let (mut row, mut col, mut wrap) = (0usize, 0usize, false);
    let mut chars = output.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => (col, wrap) = (0, false),
            '\n' => {
                row += 1;
                wrap = false;
            }
            '\x1b' if chars.peek() == Some(&'[') => {
                chars.next();
                let mut params = String::new();
                let mut last = ' ';
                for p in chars.by_ref() {
                    if p.is_ascii_alphabetic() || p == '@' || p == '~' {
                        last = p;
                        break;
                    }
                    params.push(p);
                }
                let n = params.trim_start_matches('?').parse::<usize>().unwrap_or(1).max(1);
                wrap = false;
                match last {
                    'A' => row = row.saturating_sub(n),
                    'B' => row += n,
                    'K' if params.is_empty() || params == "0" => {
                        if let Some(line) = lines.get_mut(row) {
                            line.truncate(col);
                        }
                    }
                    'K' => lines.get_mut(row).map(Vec::clear).unwrap_or_default(),
                    'J' => lines.truncate(row + 1),
                    _ => {}
                }
            }
            c if c.is_control() => {}
            c => {
                if wrap {
                    (row, col, wrap) = (row + 1, 0, false);
                }
                while lines.len() <= row {
                    lines.push(Vec::new());
                }
                let line = &mut lines[row];
                while line.len() < col {
                    line.push(' ');
                }
                if col < line.len() {
                    line[col] = c;
                } else {
                    line.push(c);
                }
                col += 1;
                if col == cols {
                    (col, wrap) = (cols - 1, true);
                }
            }
        }
        while lines.len() <= row {
            lines.push(Vec::new());
        }
    }
    lines.into_iter().map(|l| l.into_iter().collect::<String>().trim_end().to_string()).collect()
}

#[test]
fn the_screen_renderer_wraps_and_erases_as_a_terminal_does() {
    assert_eq!(render("abcd^C\r\x1b[2K", 4), ["abcd", ""]);
    assert_eq!(render("abc^C\r\x1b[2K", 6), [""]);
    assert_eq!(render("ab\r\nc\x1b[1Ax", 4), ["ax", "c"]);
}

#[test]
fn a_chain_error_is_said_once_on_a_terminal() {
    // stdout and stderr are one screen there: the error line is on stderr, and the same
    // verdict on stdout would say it twice.
    let dir = tempfile::tempdir().unwrap();
    let chain = dir.path().join("bad.json");
    std::fs::write(&chain, "[1,2]").unwrap();
    let bin = assert_cmd::cargo::cargo_bin("theater-replay");
    let command = format!("{} verify {COUNTER} {}", shell_quote(&bin), shell_quote(&chain));
    let Some(child) = on_terminal(&command) else { return };
    let out = child.wait_with_output().unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{screen}");
    assert_eq!(screen.matches("expected an event object").count(), 1, "{screen:?}");
    let command = format!("{} check {}", shell_quote(&bin), shell_quote(&chain));
    let Some(child) = on_terminal(&command) else { return };
    let screen = String::from_utf8_lossy(&child.wait_with_output().unwrap().stdout).into_owned();
    assert_eq!(screen.matches("expected an event object").count(), 1, "{screen:?}");
    // Piped, stdout still has the verdict as a result (and stderr the error line).
    let piped = std::process::Command::new(&bin).arg("verify").arg(COUNTER).arg(&chain).output().unwrap();
    assert!(String::from_utf8_lossy(&piped.stdout).contains("expected an event object"));
    assert!(String::from_utf8_lossy(&piped.stderr).contains("expected an event object"));
}

/// `text` without its SGR escape sequences.
fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(ESC) {
        out.push_str(&rest[..at]);
        let after = &rest[at + ESC.len()..];
        let end = after.find('m').map_or(after.len(), |m| m + 1);
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}
