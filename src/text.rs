//! Making input-controlled text safe and short enough to show a person.
//!
//! A chain, a component or a flag can carry any text: an event type holding
//! `\u{1b}[2K\r` would erase a line of a terminal and print a forged one in its place, and
//! a 10,000-digit number quoted whole would bury the message around it. Every human
//! rendering passes such strings through [`escape`]; every error that quotes input passes
//! the quoted part through [`clip`]. JSON output needs neither: serde_json escapes control
//! characters and keeps every value whole on purpose.

use std::borrow::Cow;
use std::fmt::Write;

/// Characters of echoed input shown before [`clip`] cuts it.
pub const ECHO_CHARS: usize = 40;

/// `text` with every character that could steer a terminal written as a visible escape,
/// as `git` and `ls` do: `\n`, `\r`, `\t`, `\x1b` for other C0 controls and DEL,
/// `\u{9b}` for C1 controls, and the bidirectional overrides and isolates (which reorder
/// what is shown). Text without any is returned as it is, unallocated.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && needs_escape(c) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Echoed input cut to its first [`ECHO_CHARS`] characters, then `… (N bytes)` with its
/// whole length, so a message quoting it stays one short line. Control characters are
/// escaped too (an echo is always shown to a person).
pub fn clip(text: &str) -> Cow<'_, str> {
    clip_to(text, ECHO_CHARS)
}

/// [`clip`] with another limit.
pub fn clip_to(text: &str, chars: usize) -> Cow<'_, str> {
    match text.char_indices().nth(chars) {
        // A few characters over are not worth the note about the length.
        Some((cut, _)) if text.len() > cut + 16 => {
            Cow::Owned(format!("{}… ({} bytes)", escape(&text[..cut]), text.len()))
        }
        _ => escape(text),
    }
}

/// [`clip`] for bytes that may not be UTF-8 (invalid sequences shown as U+FFFD).
pub fn clip_bytes(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(ECHO_CHARS * 4)];
    let text = String::from_utf8_lossy(shown);
    let clipped = clip(&text);
    if shown.len() < bytes.len() && !clipped.ends_with(" bytes)") {
        format!("{clipped}… ({} bytes)", bytes.len())
    } else if shown.len() < bytes.len() {
        // The length in the note is the whole input's, not the part looked at.
        let cut = clipped.rfind("… (").unwrap_or(clipped.len());
        format!("{}… ({} bytes)", &clipped[..cut], bytes.len())
    } else {
        clipped.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_visible_escapes() {
        assert_eq!(escape("theater:simple/runtime/log"), "theater:simple/runtime/log");
        assert!(matches!(escape("plain é ✓"), Cow::Borrowed(_)));
        assert_eq!(escape("\u{1b}[2K\rintact"), "\\x1b[2K\\rintact");
        assert_eq!(escape("a\nb\tc\u{7f}\u{0}"), "a\\nb\\tc\\x7f\\x00");
        assert_eq!(escape("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(escape("abc\u{202e}fed"), "abc\\u{202e}fed");
    }

    #[test]
    fn long_echoes_are_clipped_with_their_length() {
        assert_eq!(clip("add(1)"), "add(1)");
        let digits = "9".repeat(10_000);
        let shown = clip(&digits);
        assert_eq!(shown, format!("{}… (10000 bytes)", "9".repeat(ECHO_CHARS)));
        // Cut on a character boundary, and escaped.
        let wide = format!("\u{1b}{}", "é".repeat(100));
        let shown = clip(&wide);
        assert!(shown.starts_with("\\x1bé"), "{shown}");
        assert!(shown.ends_with("… (201 bytes)"), "{shown}");
        assert_eq!(clip(&"x".repeat(ECHO_CHARS + 3)), "x".repeat(ECHO_CHARS + 3), "barely over: kept");
    }

    #[test]
    fn byte_echoes_are_clipped_by_the_whole_length() {
        assert_eq!(clip_bytes(b"ok"), "ok");
        let big = vec![b'7'; 100_000];
        assert_eq!(clip_bytes(&big), format!("{}… (100000 bytes)", "7".repeat(ECHO_CHARS)));
        assert_eq!(clip_bytes(&[0xff, b'a']), "\u{fffd}a");
    }
}
