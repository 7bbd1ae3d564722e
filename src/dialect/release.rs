//! theater's releases as data: one row per run of releases that write and replay Pack
//! chains alike (`docs/theater-releases.md` in the README's words; the facts come from the
//! published crates, release against release, and from chains their own runtimes wrote).
//!
//! Detection and the Pack replay consult this table instead of branching on versions: a
//! chain's payloads narrow it to a range of rows ([`Releases`]), a recorded `wasm-error`
//! narrows it further (its text differs between rows), and what no event can tell (the
//! host ABI of 0.3.29) is taken from the newest row left, which the report then names
//! with the flag that would settle it (`--theater VERSION`). A future release that keeps
//! the rules of the last row is a change of its `last` version, nothing more.

use crate::chain::Container;
use packr_abi::Value;
use serde::Serialize;

/// How an export call's params and result are held in a `wasm-event-data` payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PayloadForm {
    /// `params: list<u8>` holding the params' CGRF, `bytes: list<u8>` holding the result's
    /// (empty when the export returned no tuple); the closing `shutdown` has empty params.
    NestedCgrf,
    /// `params` is the params Value itself, `response` the result Value (`tuple()` when the
    /// export returned no tuple); the closing `shutdown` has params `tuple()`.
    Values,
}

impl PayloadForm {
    /// How the form holds params and results, in words for messages.
    pub fn words(self) -> &'static str {
        match self {
            PayloadForm::NestedCgrf => "nested CGRF",
            PayloadForm::Values => "Values",
        }
    }

    /// The releases that write this form, `0.3.11-0.3.29`.
    pub fn releases(self) -> String {
        Releases::with_form(self).versions()
    }
}

/// What a `wasm-error` of a failed call says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorText {
    /// `Failed to call function 'F'` (theater 0.3.8).
    Bare,
    /// The outermost context only: `Failed to call function 'F' with input: (...)`.
    WithInput,
    /// The whole anyhow chain (`{:#}`): `...with input: (...): WASM execution error: ...`.
    WholeChain,
}

/// Which packr-abi's `Display` writes the input inside an error text: the literal syntax
/// changed in packr-abi 0.5.3 (`1s32`, `none<bool>` where 0.5.0 wrote `1`, `none`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueText {
    /// packr-abi 0.5.0 (theater 0.3.8 to 0.3.10).
    Plain,
    /// packr-abi 0.5.3 and later, 0.11 included (theater 0.3.11 on).
    Suffixed,
}

/// How the host hands an import's answer to the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HostAbi {
    /// Every answer at the fixed address 16392, status 0 (packr 0.5 to 0.7).
    FixedAddress,
    /// Answers of host functions theater serves asynchronously in a buffer from the
    /// guest's `__pack_alloc`, status 1 (the guest frees it); synchronous ones as before
    /// (packr 0.8 on; theater 0.3.29 ships packr 0.11).
    GuestAllocated,
}

/// The state an actor starts with when the caller names none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultState {
    /// `tuple()`.
    Unit,
    /// `option<list<u8>> none`.
    NoBytes,
}

impl DefaultState {
    pub fn value(self) -> Value {
        match self {
            DefaultState::Unit => Value::Tuple(vec![]),
            DefaultState::NoBytes => Value::Option { inner_type: packr_abi::ValueType::Bool, value: None },
        }
    }
}

/// The params theater (its CLI, or from 0.3.17 its runtime) gives `init` when it starts an
/// actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitParams {
    /// `(none)`: one `option<list<u8>>`, the init bytes theater-cli 0.3.8 had none of.
    NoBytes,
    /// `()`.
    Empty,
}

impl InitParams {
    pub fn matches(self, params: &Value) -> bool {
        match (self, params) {
            (InitParams::Empty, Value::Tuple(items)) => items.is_empty(),
            (InitParams::NoBytes, Value::Tuple(items)) => matches!(items.as_slice(), [Value::Option { value: None, .. }]),
            _ => false,
        }
    }
}

/// The export theater starts an actor with.
pub const INIT: &str = "theater:simple/actor.init";

/// One run of releases with the same conventions.
#[derive(Debug, PartialEq, Eq)]
pub struct Release {
    /// The first and last release of the run, as published.
    pub first: (u16, u16, u16),
    pub last: (u16, u16, u16),
    pub payloads: PayloadForm,
    pub error_text: ErrorText,
    pub value_text: ValueText,
    pub default_state: DefaultState,
    pub host_abi: HostAbi,
    pub init_params: InitParams,
    /// The runtime calls `init` itself when it spawns the actor (from 0.3.17); before, the
    /// CLI did, as one call among others.
    pub spawn_calls_init: bool,
    /// A failed call ends the actor: its `wasm-error`, then the runtime's `shutdown`
    /// (0.3.8 paused it instead, and `theater resume` went on).
    pub failure_stops_actor: bool,
    /// Who calls `init` and with what, in words for reports.
    pub init: &'static str,
    /// The containers of theater's own persistence this release writes (a chain a
    /// subscriber saves, from 0.3.20, is whatever the subscriber writes: a JSON array for
    /// theater's own replay).
    pub persisted: &'static [Container],
}

/// Every release of theater that runs Pack actors, oldest first. 0.3.15, 0.3.16 and 0.3.19
/// were never published.
pub const RELEASES: &[Release] = &[
    Release {
        first: (0, 3, 8),
        last: (0, 3, 8),
        payloads: PayloadForm::NestedCgrf,
        error_text: ErrorText::Bare,
        value_text: ValueText::Plain,
        default_state: DefaultState::Unit,
        host_abi: HostAbi::FixedAddress,
        init_params: InitParams::NoBytes,
        spawn_calls_init: false,
        failure_stops_actor: false,
        init: "theater-cli calls init with params (none)",
        persisted: &[Container::EventLog, Container::JsonArray, Container::StateChain, Container::EventStore],
    },
    Release {
        first: (0, 3, 9),
        last: (0, 3, 10),
        payloads: PayloadForm::NestedCgrf,
        error_text: ErrorText::WithInput,
        value_text: ValueText::Plain,
        default_state: DefaultState::NoBytes,
        host_abi: HostAbi::FixedAddress,
        init_params: InitParams::Empty,
        spawn_calls_init: false,
        failure_stops_actor: true,
        init: "theater-cli calls init with params ()",
        persisted: &[Container::TheaterRunLog, Container::JsonArray, Container::StateChain, Container::EventStore],
    },
    Release {
        first: (0, 3, 11),
        last: (0, 3, 11),
        payloads: PayloadForm::Values,
        error_text: ErrorText::WithInput,
        value_text: ValueText::Suffixed,
        default_state: DefaultState::NoBytes,
        host_abi: HostAbi::FixedAddress,
        init_params: InitParams::Empty,
        spawn_calls_init: false,
        failure_stops_actor: true,
        init: "theater-cli calls init with params ()",
        persisted: &[Container::TheaterTextLog, Container::JsonArray, Container::StateChain, Container::EventStore],
    },
    Release {
        first: (0, 3, 12),
        last: (0, 3, 14),
        payloads: PayloadForm::Values,
        error_text: ErrorText::WholeChain,
        value_text: ValueText::Suffixed,
        default_state: DefaultState::NoBytes,
        host_abi: HostAbi::FixedAddress,
        init_params: InitParams::Empty,
        spawn_calls_init: false,
        failure_stops_actor: true,
        init: "theater-cli calls init with params ()",
        persisted: &[Container::TheaterTextLog, Container::JsonArray, Container::StateChain, Container::EventStore],
    },
    Release {
        first: (0, 3, 17),
        last: (0, 3, 18),
        payloads: PayloadForm::Values,
        error_text: ErrorText::WholeChain,
        value_text: ValueText::Suffixed,
        default_state: DefaultState::NoBytes,
        host_abi: HostAbi::FixedAddress,
        init_params: InitParams::Empty,
        spawn_calls_init: true,
        failure_stops_actor: true,
        init: "the runtime calls init with params () at spawn",
        persisted: &[Container::TheaterTextLog, Container::JsonArray, Container::StateChain, Container::EventStore],
    },
    Release {
        first: (0, 3, 20),
        last: (0, 3, 28),
        payloads: PayloadForm::Values,
        error_text: ErrorText::WholeChain,
        value_text: ValueText::Suffixed,
        default_state: DefaultState::NoBytes,
        host_abi: HostAbi::FixedAddress,
        init_params: InitParams::Empty,
        spawn_calls_init: true,
        failure_stops_actor: true,
        init: "the runtime calls init with params () at spawn",
        persisted: &[],
    },
    Release {
        first: (0, 3, 29),
        last: (0, 3, 29),
        payloads: PayloadForm::Values,
        error_text: ErrorText::WholeChain,
        value_text: ValueText::Suffixed,
        default_state: DefaultState::NoBytes,
        host_abi: HostAbi::GuestAllocated,
        init_params: InitParams::Empty,
        spawn_calls_init: true,
        failure_stops_actor: true,
        init: "the runtime calls init with params () at spawn",
        persisted: &[],
    },
];

/// `0.3.28`.
pub fn version_text((major, minor, patch): (u16, u16, u16)) -> String {
    format!("{major}.{minor}.{patch}")
}

impl Release {
    /// `0.3.20-0.3.28`, or the one version.
    pub fn versions(&self) -> String {
        if self.first == self.last {
            version_text(self.first)
        } else {
            format!("{}-{}", version_text(self.first), version_text(self.last))
        }
    }

    /// The row holding `version` (`0.3.29`, or `0.3` style prefixes are refused).
    pub fn find(version: &str) -> Result<&'static Release, String> {
        let parsed: Option<(u16, u16, u16)> = (|| {
            let mut parts = version.trim_start_matches('v').split('.');
            let v = (parts.next()?.parse().ok()?, parts.next()?.parse().ok()?, parts.next()?.parse().ok()?);
            parts.next().is_none().then_some(v)
        })();
        let known = || RELEASES.iter().map(Release::versions).collect::<Vec<_>>().join(", ");
        let Some(v) = parsed else {
            return Err(format!("{version:?} is not a theater version (MAJOR.MINOR.PATCH); known: {}", known()));
        };
        RELEASES
            .iter()
            .find(|r| r.first <= v && v <= r.last)
            .ok_or_else(|| format!("theater {version} is not a release this build knows (never published, or not a Pack-actor release); known: {}", known()))
    }

    /// Whether an import's answer goes through the guest's allocator under this release.
    pub fn answers_in_guest_memory(&self, interface: &str, function: &str, sync_imports: &[String]) -> bool {
        self.host_abi == HostAbi::GuestAllocated && !is_synchronous(interface, function, sync_imports)
    }
}

/// The host functions theater 0.3.29's own handlers register synchronously (packr's
/// `func_typed`); every other function of a theater handler is registered async
/// (`func_async_result`), which is why an unknown import is taken to be async too, unless
/// the user names it (`--sync-import INTERFACE.FUNCTION`, for a handler of their own).
pub const SYNCHRONOUS_HOST_FUNCTIONS: &[(&str, &str)] = &[
    ("theater:simple/runtime", "log"),
    ("theater:simple/runtime", "self"),
    ("theater:simple/message-server-host", "list-outstanding-requests"),
    ("theater:simple/store", "new"),
];

fn is_synchronous(interface: &str, function: &str, sync_imports: &[String]) -> bool {
    SYNCHRONOUS_HOST_FUNCTIONS.iter().any(|&(i, f)| i == interface && f == function)
        || sync_imports.iter().any(|s| s.split_once('.').is_some_and(|(i, f)| i == interface && f == function))
}

/// The releases a chain may come from: a contiguous run of [`RELEASES`], narrowed as the
/// chain's events tell more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Releases {
    lo: usize,
    hi: usize,
    /// The row followed where the rows left differ and no event tells (kept inside lo..=hi).
    preferred: usize,
    /// Given on the command line rather than detected.
    pub given: bool,
}

impl Releases {
    /// The releases whose payloads have this form. Where the events leave it open, the
    /// replay follows 0.3.8 among the nested-CGRF releases (0.3.9 and 0.3.10 kept their
    /// chains only in a JSON Lines run log of decoded values, never in the containers these
    /// payloads come in) and the newest among the Value releases (what users install).
    pub fn with_form(form: PayloadForm) -> Releases {
        let lo = RELEASES.iter().position(|r| r.payloads == form).unwrap_or(0);
        let hi = RELEASES.iter().rposition(|r| r.payloads == form).unwrap_or(RELEASES.len() - 1);
        let preferred = match form {
            PayloadForm::NestedCgrf => lo,
            PayloadForm::Values => hi,
        };
        Releases { lo, hi, preferred, given: false }
    }

    /// Exactly the release given (`--theater`).
    pub fn given(release: &'static Release) -> Releases {
        let at = RELEASES.iter().position(|r| std::ptr::eq(r, release)).unwrap_or(RELEASES.len() - 1);
        Releases { lo: at, hi: at, preferred: at, given: true }
    }

    /// The rows left, oldest first.
    pub fn rows(&self) -> &'static [Release] {
        &RELEASES[self.lo..=self.hi]
    }

    /// What the replay follows where the events cannot tell.
    pub fn assumed(&self) -> &'static Release {
        &RELEASES[self.preferred.clamp(self.lo, self.hi)]
    }

    /// Keeps the rows `keep` accepts; `false` (and no change) when it accepts none.
    pub fn narrow(&mut self, keep: impl Fn(&Release) -> bool) -> bool {
        let Some(lo) = (self.lo..=self.hi).find(|&i| keep(&RELEASES[i])) else { return false };
        let hi = (self.lo..=self.hi).rev().find(|&i| keep(&RELEASES[i])).unwrap_or(lo);
        // The rows an error text accepts are contiguous in practice; the gap, if any, is
        // kept (a range is what a report can name).
        (self.lo, self.hi) = (lo, hi);
        true
    }

    /// `0.3.20-0.3.29`, from the first row's first version to the last row's last.
    pub fn versions(&self) -> String {
        let (first, last) = (RELEASES[self.lo].first, RELEASES[self.hi].last);
        if first == last { version_text(first) } else { format!("{}-{}", version_text(first), version_text(last)) }
    }

    /// Keeps the releases that write `container` themselves, when it is one of theater's own
    /// persistence formats (a state chain or an event store is 0.3.18's at the latest);
    /// a JSON array or JSON Lines may come from any release's subscriber.
    pub fn narrow_to_container(&mut self, container: Container) {
        let theaters_own = RELEASES.iter().any(|r| r.persisted.contains(&container) && container != Container::JsonArray);
        if theaters_own {
            self.narrow(|r| r.persisted.contains(&container));
        }
    }

    /// Whether the rows left differ in something the replay had to assume.
    pub fn ambiguous(&self) -> bool {
        let assumed = self.assumed();
        self.rows().iter().any(|r| r.host_abi != assumed.host_abi || r.default_state != assumed.default_state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_ordered_and_without_overlaps() {
        for pair in RELEASES.windows(2) {
            assert!(pair[0].first <= pair[0].last && pair[0].last < pair[1].first, "{pair:?}");
        }
        assert_eq!(RELEASES.last().unwrap().last, (0, 3, 29), "the newest release is the last row");
    }

    #[test]
    fn versions_find_their_row() {
        assert_eq!(Release::find("0.3.29").unwrap().host_abi, HostAbi::GuestAllocated);
        assert_eq!(Release::find("0.3.24").unwrap().versions(), "0.3.20-0.3.28");
        assert_eq!(Release::find("v0.3.8").unwrap().payloads, PayloadForm::NestedCgrf);
        assert_eq!(Release::find("0.3.11").unwrap().error_text, ErrorText::WithInput);
        assert_eq!(Release::find("0.3.12").unwrap().error_text, ErrorText::WholeChain);
        let never = Release::find("0.3.15").unwrap_err();
        assert!(never.contains("never published") && never.contains("0.3.29"), "{never}");
        assert!(Release::find("0.3").unwrap_err().contains("MAJOR.MINOR.PATCH"));
        assert!(Release::find("0.3.30").is_err());
    }

    #[test]
    fn a_payload_form_gives_a_range_that_narrows() {
        let mut values = Releases::with_form(PayloadForm::Values);
        assert_eq!(values.versions(), "0.3.11-0.3.29");
        assert!(values.ambiguous(), "0.3.29's host ABI is not the others'");
        assert!(values.narrow(|r| r.error_text == ErrorText::WholeChain && r.value_text == ValueText::Suffixed));
        assert_eq!(values.assumed().versions(), "0.3.29");
        assert!(!values.narrow(|r| r.error_text == ErrorText::Bare), "nothing left: unchanged");
        assert_eq!(values.versions(), "0.3.12-0.3.29");
        let mut nested = Releases::with_form(PayloadForm::NestedCgrf);
        assert_eq!((nested.versions().as_str(), nested.assumed().versions().as_str()), ("0.3.8-0.3.10", "0.3.8"));
        let none = Value::Tuple(vec![DefaultState::NoBytes.value()]);
        assert!(nested.narrow(|r| r.init_params.matches(&none)));
        assert!(!nested.ambiguous() && nested.versions() == "0.3.8");
        let given = Releases::given(Release::find("0.3.29").unwrap());
        assert!(given.given && !given.ambiguous());
    }

    #[test]
    fn theaters_own_containers_tell_the_releases_that_wrote_them() {
        let mut saved = Releases::with_form(PayloadForm::Values);
        saved.narrow_to_container(Container::StateChain);
        assert_eq!((saved.versions().as_str(), saved.assumed().versions().as_str()), ("0.3.11-0.3.18", "0.3.17-0.3.18"));
        assert!(!saved.ambiguous(), "no release that writes a state chain answers in the guest's memory");
        let mut array = Releases::with_form(PayloadForm::Values);
        array.narrow_to_container(Container::JsonArray);
        assert_eq!(array.versions(), "0.3.11-0.3.29");
        let mut log = Releases::with_form(PayloadForm::NestedCgrf);
        log.narrow_to_container(Container::TheaterRunLog);
        assert_eq!(log.versions(), "0.3.9-0.3.10");
        let mut text = Releases::with_form(PayloadForm::Values);
        text.narrow_to_container(Container::TheaterTextLog);
        assert_eq!((text.versions().as_str(), text.assumed().versions().as_str()), ("0.3.11-0.3.18", "0.3.17-0.3.18"));
    }

    #[test]
    fn async_answers_follow_theaters_registrations() {
        let newest = Release::find("0.3.29").unwrap();
        assert!(!newest.answers_in_guest_memory("theater:simple/runtime", "log", &[]));
        assert!(newest.answers_in_guest_memory("theater:simple/runtime", "shutdown", &[]));
        assert!(newest.answers_in_guest_memory("theater:simple/store", "store", &[]));
        assert!(newest.answers_in_guest_memory("my:own/host", "f", &[]));
        assert!(!newest.answers_in_guest_memory("my:own/host", "f", &["my:own/host.f".into()]));
        assert!(!Release::find("0.3.28").unwrap().answers_in_guest_memory("theater:simple/store", "store", &[]));
    }
}
