//! Colour for the human reports: a choice made once by the caller (the CLI's `--color`),
//! passed to the renderers, which stay pure functions of an outcome and a style. Plain
//! style adds nothing: its output is byte for byte the uncoloured report.

use anstyle::{AnsiColor, Effects};

/// How a human report marks its verdict words and the two sides of a divergence.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Style {
    color: bool,
}

impl Style {
    /// No colour: the text exactly as it reads without.
    pub const PLAIN: Style = Style { color: false };
    /// ANSI colours.
    pub const COLOR: Style = Style { color: true };

    pub fn new(color: bool) -> Style {
        Style { color }
    }

    pub fn is_color(self) -> bool {
        self.color
    }

    fn paint(self, style: anstyle::Style, text: &str) -> String {
        if self.color { format!("{style}{text}{style:#}") } else { text.to_string() }
    }

    /// A verdict that all is well (`verified`, `intact`, `same`).
    pub fn good(self, text: &str) -> String {
        self.paint(AnsiColor::Green.on_default().effects(Effects::BOLD), text)
    }

    /// The replay or the chains parted (`DIVERGED`, `different`), or an error.
    pub fn bad(self, text: &str) -> String {
        self.paint(AnsiColor::Red.on_default().effects(Effects::BOLD), text)
    }

    /// A chain fails its integrity check (`BROKEN`): told apart from a divergence at a glance.
    pub fn broken(self, text: &str) -> String {
        self.paint(AnsiColor::Yellow.on_default().effects(Effects::BOLD), text)
    }

    /// What the recording says (the expected side of a divergence).
    pub fn expected(self, text: &str) -> String {
        self.paint(AnsiColor::Green.on_default(), text)
    }

    /// What the replay did (the actual side of a divergence).
    pub fn actual(self, text: &str) -> String {
        self.paint(AnsiColor::Red.on_default(), text)
    }

    /// What a pending chain no longer has (`review`), as a diff paints a removed line.
    pub fn removed(self, text: &str) -> String {
        self.paint(AnsiColor::Red.on_default(), text)
    }

    /// What a pending chain has that its chain had not (`review`).
    pub fn added(self, text: &str) -> String {
        self.paint(AnsiColor::Green.on_default(), text)
    }

    /// Headings a person looks for (`what to do:`).
    pub fn heading(self, text: &str) -> String {
        self.paint(anstyle::Style::new().effects(Effects::BOLD), text)
    }

    /// Details that matter less (event hashes).
    pub fn dim(self, text: &str) -> String {
        self.paint(anstyle::Style::new().effects(Effects::DIMMED), text)
    }
}

#[cfg(test)]
mod tests {
    use super::Style;

    #[test]
    fn plain_adds_nothing_and_colour_wraps_in_sgr() {
        assert_eq!(Style::PLAIN.bad("DIVERGED"), "DIVERGED");
        assert_eq!(Style::COLOR.bad("DIVERGED"), "\x1b[1m\x1b[31mDIVERGED\x1b[0m");
        assert_eq!(Style::COLOR.good("verified"), "\x1b[1m\x1b[32mverified\x1b[0m");
    }
}
