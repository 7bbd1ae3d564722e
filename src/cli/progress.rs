//! Progress on stderr, for a person watching a terminal: never in a pipe or a file, never
//! with `--quiet`, and only once a run has lasted [`DELAY`] (a quick run draws nothing).
//!
//! The library only counts ([`crate::progress::Progress`]); a thread here polls the counts
//! ten times a second and draws them with indicatif. What a line says is computed by pure
//! functions ([`chain_line`] and friends), unit-tested below.

use crate::progress::{Progress, Snapshot};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a run goes before its progress is drawn: a bar that flashes for a few
/// milliseconds tells nobody anything.
const DELAY: Duration = Duration::from_millis(300);
const POLL: Duration = Duration::from_millis(100);

/// What a bar shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Reading chains (`verify` of one chain, `check`, `diff`): bytes read of `total`
    /// (the files' sizes, when known), events, events per second, time left.
    Read { total: Option<u64> },
    /// `record`: export calls done of `calls`, events written.
    Record { calls: u64 },
    /// A many-chain `verify`: chains finished of `total`.
    Chains { total: u64 },
    /// Loading an actor (compiling it, on a compile cache miss): its file's size.
    Compile { size: Option<u64> },
}

/// The bar drawn at the moment, for the signal handler (which clears it before the process
/// dies of Ctrl-C) and for lines written to stderr while it is drawn.
static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// A bar and the thread that keeps it up to date. Cleared when finished or dropped.
pub struct Bar {
    bar: ProgressBar,
    stop: Arc<AtomicBool>,
    poller: Option<JoinHandle<()>>,
}

impl Bar {
    /// A bar for `progress`, or `None` when no progress is to be shown.
    pub fn start(global: &super::Global, progress: Arc<Progress>, kind: Kind) -> Option<Bar> {
        Bar::named(global, progress, kind, "")
    }

    /// A spinner while the actor at `path` is loaded: compiling a large component takes a
    /// minute or more the first time (a cache hit is over before anything is drawn).
    pub fn compiling(global: &super::Global, path: &Path) -> Option<Bar> {
        let kind = Kind::Compile { size: file_size(path) };
        Bar::named(global, Arc::new(Progress::new()), kind, &path.display().to_string())
    }

    /// A bar of `kind`; `name` is what a [`Kind::Compile`] line names.
    fn named(global: &super::Global, progress: Arc<Progress>, kind: Kind, name: &str) -> Option<Bar> {
        use std::io::IsTerminal;
        if global.quiet || !std::io::stderr().is_terminal() {
            return None;
        }
        // Hidden until DELAY has passed; then drawn on stderr.
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        let template = match kind {
            // `wide_msg` is cut to the terminal's width: a line that wraps is redrawn as two.
            Kind::Read { total: Some(_) } | Kind::Chains { .. } => "{bar:20} {wide_msg}",
            Kind::Read { total: None } | Kind::Record { .. } | Kind::Compile { .. } => "{spinner} {wide_msg}",
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let poller = {
            let (bar, stop, name) = (bar.clone(), stop.clone(), crate::text::escape(name).into_owned());
            std::thread::Builder::new()
                .name("progress".into())
                .spawn(move || poll(&bar, &progress, kind, &name, &stop))
                .ok()?
        };
        Some(Bar { bar, stop, poller: Some(poller) })
    }

    /// Runs `f` (which writes to the terminal) with the bar taken off the screen.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    /// Stops the poller and clears the bar.
    pub fn finish(mut self) {
        self.clear();
    }

    fn clear(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(poller) = self.poller.take() {
            poller.thread().unpark();
            let _ = poller.join();
        }
        let mut active = ACTIVE.lock().unwrap_or_else(PoisonError::into_inner);
        self.bar.finish_and_clear();
        *active = None;
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.clear();
    }
}

fn poll(bar: &ProgressBar, progress: &Progress, kind: Kind, name: &str, stop: &AtomicBool) {
    let started = Instant::now();
    let mut shown = false;
    while !stop.load(Ordering::Relaxed) {
        std::thread::park_timeout(POLL);
        let elapsed = started.elapsed();
        if elapsed < DELAY || stop.load(Ordering::Relaxed) {
            continue;
        }
        let now = progress.snapshot();
        let (position, length, message) = match kind {
            Kind::Read { total } => (now.bytes, total, chain_line(&now, total, elapsed)),
            Kind::Record { calls } => (now.calls, None, record_line(&now, calls, elapsed)),
            Kind::Chains { total } => (now.chains, Some(total), chains_line(&now, total, elapsed)),
            Kind::Compile { size } => (0, None, compile_line(name, size, elapsed)),
        };
        if !shown {
            // Before the lock: installing the handler may log, and logs go around the bar.
            super::output::clear_progress_on_signals();
            let mut active = ACTIVE.lock().unwrap_or_else(PoisonError::into_inner);
            // Checked again under the lock that `clear` takes: never drawn after it.
            if stop.load(Ordering::Relaxed) {
                return;
            }
            // The first frame drawn has its message already.
            bar.set_message(message.clone());
            bar.set_draw_target(ProgressDrawTarget::term_like_with_hz(Box::new(Stderr::default()), 20));
            *active = Some(bar.clone());
            shown = true;
        }
        match length {
            Some(length) => {
                bar.set_length(length);
                bar.set_position(position);
            }
            // A spinner turns once per poll.
            None => bar.tick(),
        }
        // Drawn now, with the new message: the calls above draw at most at indicatif's rate.
        bar.set_message(message);
    }
}

/// Columns a bar leaves free at the end of its line: when Ctrl-C is pressed, the terminal
/// echoes `^C` after the cursor. On a bar as wide as the terminal the echo wrapped onto a
/// line of its own, and clearing "the bar's line" then cleared the echo's, leaving the bar.
const ROOM_FOR_ECHO: u16 = 3;

/// stderr as indicatif draws on it, [`ROOM_FOR_ECHO`] columns narrower than the terminal.
#[derive(Debug, Default)]
struct Stderr {
    /// One frame, written at `flush` in one write, so that a frame is never seen half drawn.
    pending: Mutex<Vec<u8>>,
}

impl Stderr {
    fn size() -> (u16, u16) {
        // SAFETY: TIOCGWINSZ writes one `winsize` into the struct it is given, which lives
        // through the call; on failure it writes nothing and the defaults below apply.
        let mut size: libc::winsize = unsafe { std::mem::zeroed() };
        let ok = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
        match ok && size.ws_col > 0 {
            true => (size.ws_row.max(1), size.ws_col),
            false => (24, 80),
        }
    }

    fn push(&self, bytes: &[u8]) -> std::io::Result<()> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(bytes);
        Ok(())
    }
}

impl indicatif::TermLike for Stderr {
    fn width(&self) -> u16 {
        Stderr::size().1.saturating_sub(ROOM_FOR_ECHO).max(10)
    }
    fn height(&self) -> u16 {
        Stderr::size().0
    }
    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        if n == 0 { Ok(()) } else { self.push(format!("\x1b[{n}A").as_bytes()) }
    }
    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        if n == 0 { Ok(()) } else { self.push(format!("\x1b[{n}B").as_bytes()) }
    }
    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        if n == 0 { Ok(()) } else { self.push(format!("\x1b[{n}C").as_bytes()) }
    }
    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        if n == 0 { Ok(()) } else { self.push(format!("\x1b[{n}D").as_bytes()) }
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.push(s.as_bytes())?;
        self.push(b"\n")
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.push(s.as_bytes())
    }
    fn clear_line(&self) -> std::io::Result<()> {
        self.push(b"\r\x1b[2K")
    }
    fn flush(&self) -> std::io::Result<()> {
        let frame = std::mem::take(&mut *self.pending.lock().unwrap_or_else(PoisonError::into_inner));
        let mut stderr = std::io::stderr().lock();
        stderr.write_all(&frame)?;
        stderr.flush()
    }
}

/// Clears the bar drawn, if one is (on a signal, before the process dies of it).
pub fn clear_active() {
    if let Some(bar) = ACTIVE.lock().unwrap_or_else(PoisonError::into_inner).take() {
        bar.finish_and_clear();
    }
}

/// Runs `f` (which writes to stderr) with the bar drawn at the moment, if any, taken off the
/// screen, so that a line and the bar do not garble each other.
pub fn suspended<R>(f: impl FnOnce() -> R) -> R {
    let bar = ACTIVE.lock().unwrap_or_else(PoisonError::into_inner).clone();
    match bar {
        Some(bar) => bar.suspend(f),
        None => f(),
    }
}

/// A bar's total for a chain file: its size, when it is a regular file (not stdin, not a pipe).
pub fn file_size(path: &Path) -> Option<u64> {
    if path.as_os_str() == "-" {
        return None;
    }
    std::fs::metadata(path).ok().filter(|m| m.is_file()).map(|m| m.len())
}

/// Stderr for log lines: each written with the bar, if one is drawn, taken off the screen
/// (the log subscriber writes a whole line per `write_all`).
pub struct AroundBar;

impl Write for AroundBar {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        suspended(|| std::io::stderr().lock().write_all(buf)).map(|()| buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Reading chains: `12.0 MiB/1.40 GiB  52,431 events  612k events/s  ETA 1m 47s`; without a
/// known size, the time so far instead of the time left.
pub fn chain_line(now: &Snapshot, total: Option<u64>, elapsed: Duration) -> String {
    let events = format!("{} events  {}", thousands(now.events), rate(now.events, elapsed, "events"));
    match total {
        Some(total) => {
            let eta =
                eta(now.bytes, total, elapsed).map_or_else(|| "ETA -".to_string(), |d| format!("ETA {}", duration(d)));
            format!("{}/{}  {events}  {eta}", bytes(now.bytes), bytes(total))
        }
        None => format!("{}  {events}  {}", bytes(now.bytes), duration(elapsed)),
    }
}

/// `record`: `call 1/2  1,204,332 events written  605k events/s  2s`.
pub fn record_line(now: &Snapshot, calls: u64, elapsed: Duration) -> String {
    // The call under way, counted from 1; all done once the last has returned.
    let call = (now.calls + 1).min(calls.max(1));
    format!(
        "call {call}/{calls}  {} events written  {}  {}",
        thousands(now.events),
        rate(now.events, elapsed, "events"),
        duration(elapsed)
    )
}

/// Many chains: `12/200 chains  3.4 chains/s  ETA 55s`.
pub fn chains_line(now: &Snapshot, total: u64, elapsed: Duration) -> String {
    let eta = eta(now.chains, total, elapsed).map_or_else(|| "ETA -".to_string(), |d| format!("ETA {}", duration(d)));
    format!("{}/{} chains  {}  {eta}", thousands(now.chains), thousands(total), rate(now.chains, elapsed, "chains"))
}

/// Loading an actor: `compiling agent.wasm (17.5 MiB)  42s`.
pub fn compile_line(name: &str, size: Option<u64>, elapsed: Duration) -> String {
    let size = size.map(|n| format!(" ({})", bytes(n))).unwrap_or_default();
    format!("compiling {name}{size}  {}", duration(elapsed))
}

/// Time left at the rate so far; `None` before there is a rate to go by.
pub fn eta(done: u64, total: u64, elapsed: Duration) -> Option<Duration> {
    if done == 0 || elapsed.is_zero() {
        return None;
    }
    let left = total.saturating_sub(done) as f64;
    Some(Duration::from_secs_f64((left * elapsed.as_secs_f64() / done as f64).min(1e9)))
}

/// A rate in three significant digits at most: `812 events/s`, `61.2k events/s`, `1.23M events/s`.
pub fn rate(count: u64, elapsed: Duration, what: &str) -> String {
    let secs = elapsed.as_secs_f64();
    let per_sec = if secs > 0.0 { count as f64 / secs } else { 0.0 };
    let (value, unit) = match per_sec {
        r if r >= 1e9 => (r / 1e9, "G"),
        r if r >= 1e6 => (r / 1e6, "M"),
        r if r >= 1e3 => (r / 1e3, "k"),
        r => (r, ""),
    };
    let digits = if unit.is_empty() && value < 10.0 && value.fract() != 0.0 {
        1
    } else if unit.is_empty() || value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    format!("{value:.digits$}{unit} {what}/s")
}

/// Bytes in binary units, three significant digits: `512 B`, `12.3 KiB`, `1.40 GiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    let digits = if value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    format!("{value:.digits$} {}", UNITS[unit])
}

/// A duration to the second: `42s`, `1m 05s`, `2h 03m`.
pub fn duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {:02}s", s / 60, s % 60),
        s => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(events: u64, bytes: u64, calls: u64, chains: u64) -> Snapshot {
        Snapshot { events, bytes, calls, chains }
    }

    #[test]
    fn rates_have_three_significant_digits_at_most() {
        let s = Duration::from_secs(1);
        assert_eq!(rate(812, s, "events"), "812 events/s");
        assert_eq!(rate(3, Duration::from_secs(2), "chains"), "1.5 chains/s");
        assert_eq!(rate(2, s, "chains"), "2 chains/s");
        assert_eq!(rate(61_234, s, "events"), "61.2k events/s");
        assert_eq!(rate(612_345, s, "events"), "612k events/s");
        assert_eq!(rate(1_234_567, s, "events"), "1.23M events/s");
        assert_eq!(rate(5, Duration::ZERO, "events"), "0 events/s");
    }

    #[test]
    fn sizes_durations_and_counts() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1024), "1.00 KiB");
        assert_eq!(bytes(12_900), "12.6 KiB");
        assert_eq!(bytes(1_503_238_553), "1.40 GiB");
        assert_eq!(duration(Duration::from_millis(42_900)), "42s");
        assert_eq!(duration(Duration::from_secs(65)), "1m 05s");
        assert_eq!(duration(Duration::from_secs(7380)), "2h 03m");
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn eta_is_the_rest_at_the_rate_so_far() {
        assert_eq!(eta(0, 100, Duration::from_secs(3)), None);
        assert_eq!(eta(25, 100, Duration::ZERO), None);
        assert_eq!(eta(25, 100, Duration::from_secs(10)), Some(Duration::from_secs(30)));
        assert_eq!(eta(100, 100, Duration::from_secs(10)), Some(Duration::ZERO));
        // More read than the size said (a file that grew): nothing left, not a negative time.
        assert_eq!(eta(150, 100, Duration::from_secs(10)), Some(Duration::ZERO));
    }

    #[test]
    fn lines() {
        let t = Duration::from_secs(10);
        let half = snapshot(5_000_000, 512 << 20, 0, 0);
        assert_eq!(chain_line(&half, Some(1 << 30), t), "512 MiB/1.00 GiB  5,000,000 events  500k events/s  ETA 10s");
        assert_eq!(chain_line(&half, None, t), "512 MiB  5,000,000 events  500k events/s  10s");
        assert_eq!(chain_line(&Snapshot::default(), Some(1 << 30), t), "0 B/1.00 GiB  0 events  0 events/s  ETA -");
        assert_eq!(
            record_line(&snapshot(6_000_000, 0, 0, 0), 2, t),
            "call 1/2  6,000,000 events written  600k events/s  10s"
        );
        assert_eq!(
            record_line(&snapshot(6_000_000, 0, 2, 0), 2, t),
            "call 2/2  6,000,000 events written  600k events/s  10s"
        );
        assert_eq!(chains_line(&snapshot(0, 0, 0, 20), 200, t), "20/200 chains  2 chains/s  ETA 1m 30s");
        assert_eq!(compile_line("agent.wasm", Some(18_335_031), t), "compiling agent.wasm (17.5 MiB)  10s");
        assert_eq!(compile_line("-", None, t), "compiling -  10s");
    }
}
