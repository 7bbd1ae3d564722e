//! Dialects: how the `data` of a chain's events encodes values, by who wrote the chain.
//!
//! The envelope, hash rule and containers are the same for all of them ([`crate::chain`]);
//! what differs is the payload. A dialect is detected from a chain's first event (or forced
//! with `--dialect`) and decides which replay drives the actor. What differs between
//! theater's Pack releases beyond the payload form is data: [`release`]'s table.

pub mod cgrf_check;
pub mod pack;
pub mod pack_wave;
pub mod packr011;
pub mod release;
pub mod theater_http;
pub mod theater_json;
pub mod theater_types;

use crate::chain::Event;
use crate::payload::{self, Payload};
use serde::Serialize;

/// Who wrote a chain, as far as its payloads tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Dialect {
    /// theater-replay's own recordings (`docs/chain-format.md`): typed JSON values.
    #[serde(rename = "theater-replay-v1")]
    TheaterReplay,
    /// theater 0.3.8 to 0.3.10: Pack actors, CGRF v2 payloads with an export call's params
    /// and result nested as CGRF bytes (`packr-abi` 0.5).
    #[serde(rename = "theater-0.3.8-pack")]
    Pack038,
    /// theater 0.3.11 to 0.3.29: Pack actors, CGRF v2 payloads holding an export call's
    /// params and result as Values (`packr-abi` 0.11 for 0.3.29). Which release within the
    /// range is told by [`release::Releases`].
    #[serde(rename = "theater-pack-values")]
    PackValues,
    /// theater's component-era chains: JSON payloads with host values as untyped JSON text
    /// (stored as byte arrays), replayed by [`theater_json`] with the component's types.
    /// Detected from the first event; a replay names the typed variant instead when the
    /// chain's host values turn out to be theater's typed values.
    #[serde(rename = "theater-component-json")]
    TheaterComponentJson,
    /// theater's component-era chains with host values as theater's typed values
    /// (`{"U64":1}`; the timing chain). Its first event is the untyped one's, so it is told
    /// apart at the first host call, or forced with `--dialect`.
    #[serde(rename = "theater-component-typed")]
    TheaterComponentTyped,
}

impl Dialect {
    /// Every dialect, in the order `--dialect` lists them.
    pub const ALL: [Dialect; 5] = [
        Dialect::TheaterReplay,
        Dialect::Pack038,
        Dialect::PackValues,
        Dialect::TheaterComponentJson,
        Dialect::TheaterComponentTyped,
    ];

    /// The name in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::TheaterReplay => "theater-replay-v1",
            Dialect::Pack038 => "theater-0.3.8-pack",
            Dialect::PackValues => "theater-pack-values",
            Dialect::TheaterComponentJson => "theater-component-json",
            Dialect::TheaterComponentTyped => "theater-component-typed",
        }
    }

    /// Which dialect wrote `first`, the first event of a chain; `None` when its payload is
    /// none of them.
    pub fn detect(first: &Event) -> Option<Dialect> {
        Dialect::detect_with(first, None)
    }

    /// [`Dialect::detect`], where a Pack chain's first event does not show its payload
    /// form (a host call made before any export, by a start function, or an error)
    /// taking the form of the release the user gave (`--theater`).
    pub fn detect_with(first: &Event, given_form: Option<release::PayloadForm>) -> Option<Dialect> {
        if first.data.starts_with(pack::CGRF_MAGIC) {
            // Pack chains start with an export call (or its error) unless a start function
            // called the host; a call's params or result tell the forms apart. Anything
            // else CGRF is read as the given release's form, else the older form, whose
            // replay then says what the payload is not.
            return Some(match pack::PackPayload::decode(&first.data) {
                Ok(pack::PackPayload::WasmCall { params: pack::Carried::Value(_), .. })
                | Ok(pack::PackPayload::WasmResult { result: pack::Carried::Value(_), .. }) => Dialect::PackValues,
                Ok(pack::PackPayload::WasmCall { .. } | pack::PackPayload::WasmResult { .. }) => Dialect::Pack038,
                _ if given_form == Some(release::PayloadForm::Values) => Dialect::PackValues,
                _ => Dialect::Pack038,
            });
        }
        if first.event_type == payload::RECORDING_EVENT_TYPE {
            return Some(Dialect::TheaterReplay);
        }
        match Payload::decode(&first.data) {
            // Our payloads without the recording event: chains written before it existed,
            // or edited; the replay's own checks say more.
            Ok(_) => Some(Dialect::TheaterReplay),
            Err(payload::PayloadError::Untyped) => Some(Dialect::TheaterComponentJson),
            Err(_) => serde_json::from_slice::<serde_json::Value>(&first.data)
                .ok()
                .filter(|v| v.get("category").is_some())
                .map(|_| Dialect::TheaterComponentJson),
        }
    }
}

impl Dialect {
    /// How a Pack dialect holds an export call's params and result; `None` for the others.
    pub fn pack_form(self) -> Option<release::PayloadForm> {
        match self {
            Dialect::Pack038 => Some(release::PayloadForm::NestedCgrf),
            Dialect::PackValues => Some(release::PayloadForm::Values),
            _ => None,
        }
    }
}

impl std::fmt::Display for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Dialect {
    type Err = String;

    fn from_str(s: &str) -> Result<Dialect, String> {
        Dialect::ALL.into_iter().find(|d| d.name() == s).ok_or_else(|| {
            let names: Vec<_> = Dialect::ALL.iter().map(|d| d.name()).collect();
            format!("unknown dialect {s:?}; one of: {}", names.join(", "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::HashAlg;

    fn event(event_type: &str, data: &[u8]) -> Event {
        Event::new_linked(HashAlg::Sha1, None, event_type.into(), data.to_vec())
    }

    #[test]
    fn detected_from_the_first_event() {
        let cgrf = pack::PackPayload::WasmCall { function: "f".into(), params: pack::Carried::Cgrf(vec![]) }.encode();
        assert_eq!(Dialect::detect(&event("wasm", &cgrf)), Some(Dialect::Pack038));
        let values = pack::PackPayload::WasmCall {
            function: "theater:simple/actor.init".into(),
            params: pack::Carried::Value(packr_abi::Value::Tuple(vec![])),
        };
        assert_eq!(Dialect::detect(&event("wasm", &values.encode())), Some(Dialect::PackValues));
        let ours = Payload::Recording { format: "theater-replay".into(), version: 1, component_sha256: "00".into() };
        assert_eq!(Dialect::detect(&event(payload::RECORDING_EVENT_TYPE, &ours.encode())), Some(Dialect::TheaterReplay));
        let theirs = br#"{"category":"Wasm","WasmCall":{"function_name":"init","params":[110,117,108,108]}}"#;
        assert_eq!(Dialect::detect(&event("wasm", theirs)), Some(Dialect::TheaterComponentJson));
        assert_eq!(Dialect::detect(&event("x", b"hello")), None);
        for d in Dialect::ALL {
            assert_eq!(d.name().parse::<Dialect>(), Ok(d));
            assert_eq!(serde_json::to_value(d).unwrap(), d.name());
        }
        assert!("pack".parse::<Dialect>().is_err());
    }

    /// A Pack chain that starts with a host call (made by a start function) shows no
    /// payload form: the release the user gave decides; a call shows its own, whatever
    /// was given (its replay then says the two disagree).
    #[test]
    fn a_first_event_that_shows_no_form_takes_the_given_releases() {
        use release::PayloadForm;
        let host_call = pack::PackPayload::HostFunction {
            interface: "test:kg/host".into(),
            function: "ping".into(),
            input: packr_abi::Value::Tuple(vec![]),
            output: packr_abi::Value::Tuple(vec![]),
        };
        let first = event("test:kg/host/ping", &host_call.encode());
        assert_eq!(Dialect::detect(&first), Some(Dialect::Pack038));
        assert_eq!(Dialect::detect_with(&first, Some(PayloadForm::Values)), Some(Dialect::PackValues));
        assert_eq!(Dialect::detect_with(&first, Some(PayloadForm::NestedCgrf)), Some(Dialect::Pack038));
        let nested = pack::PackPayload::WasmCall { function: "f".into(), params: pack::Carried::Cgrf(vec![]) }.encode();
        assert_eq!(Dialect::detect_with(&event("wasm", &nested), Some(PayloadForm::Values)), Some(Dialect::Pack038));
    }
}
