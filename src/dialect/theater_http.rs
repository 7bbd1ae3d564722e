//! theater's wasi:http 0.2.0 host as its component-era chains record it (theater 7fb25de8,
//! `crates/theater-handler-http/src/{host_impl,server}.rs`), modelled so that a replay
//! gives the guest the resource numbers theater gave it and writes the events theater wrote.
//!
//! Three things a plain "answer from the recording" cannot do are done here:
//!
//! - **The resource table.** A handle in these chains is the rep in theater's
//!   `ResourceTable`, shared by all handlers: a slab that counts up from 0 and reuses freed
//!   slots last in, first out. Some pushes and deletes are never recorded (the request and
//!   the outparam the server pushes before `handle`, a dropped `fields`), so the replay
//!   keeps the table and checks every recorded new rep against it: a guest that made or
//!   dropped a resource the recording does not show diverges there, not later.
//! - **Calls theater did not record** (`fields.has`, `entries`, `clone`, ...) are answered
//!   from the modelled host state, without an event.
//! - **theater's encodings**: the request description as `handle`'s params, outputs that are
//!   Rust `Debug` text (`"Method::Get"`), `Option<rep>` for a `result`, `true` recorded
//!   before the call ran, `blocking-read` recorded as `read`; and the response rebuilt into
//!   `handle`'s result from the status, the headers copied when the response was made and
//!   every byte written to its body.
//!
//! Values here are theater's untyped JSON (`theater_json`): arguments arrive as the JSON of
//! each guest argument (a resource as its rep), answers leave as the untyped JSON of the
//! import's result, which `theater_json::from_untyped` turns into component values.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// theater's `function_name` of the incoming-handler export.
pub const HANDLE: &str = "wasi:http/incoming-handler@0.2.0/handle";

/// The interfaces whose functions and drops this model decides.
pub const TYPES: &str = "wasi:http/types@0.2.0";
pub const STREAMS: &str = "wasi:io/streams@0.2.0";
pub const IO_ERROR: &str = "wasi:io/error@0.2.0";

/// Whether theater's http handler served `interface` (and this model decides its calls).
pub fn serves(interface: Option<&str>) -> bool {
    matches!(interface, Some(TYPES | STREAMS | IO_ERROR))
}

/// `HttpRequestData` (`events.rs`): the `handle` call's params, fields in declaration order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestData {
    pub method: String,
    pub scheme: Option<String>,
    pub authority: Option<String>,
    pub path_with_query: Option<String>,
    /// Header values as standard base64, in the order hyper gave them.
    pub headers: Vec<(String, String)>,
    /// The body as base64; `None` when empty.
    pub body: Option<String>,
}

/// `HttpResponseData`: the rebuilt response in `handle`'s result.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct ResponseData {
    status_code: u16,
    headers: Vec<(String, String)>,
    body: String,
}

/// wasmtime's `ResourceTable` as theater used it: one slab for every handler.
#[derive(Debug, Default, Clone)]
struct Slab {
    len: u32,
    /// Freed slots; the last freed is reused first.
    free: Vec<u32>,
}

impl Slab {
    fn next(&self) -> u32 {
        self.free.last().copied().unwrap_or(self.len)
    }

    fn push(&mut self) -> u32 {
        match self.free.pop() {
            Some(rep) => rep,
            None => {
                self.len += 1;
                self.len - 1
            }
        }
    }

    fn delete(&mut self, rep: u32) {
        if rep < self.len && !self.free.contains(&rep) {
            self.free.push(rep);
        }
    }
}

type Entries = Vec<(String, Vec<u8>)>;

#[derive(Debug, Clone, Default)]
struct Fields {
    entries: Entries,
    immutable: bool,
}

#[derive(Debug, Clone, Default)]
struct Response {
    status: u16,
    /// Copied from the fields when the response was made (later appends do not show).
    headers: Entries,
    /// The buffer its body writes to, once `body` was taken.
    body: Option<usize>,
}

/// How theater would handle one guest call.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Not recorded: the answer (untyped JSON of the result; `null` with none) from the model.
    Unrecorded(Value),
    /// Recorded as `function` (not always the guest's: `blocking-read` is recorded as
    /// `read`) with `input` as theater encoded it. After the event matched, [`HttpHost::answer`]
    /// reads the answer from its recorded output.
    Recorded { function: String, input: Value },
    /// Not modelled: the chain cannot say what theater answered.
    Unsupported(String),
}

/// The modelled state of theater's http host across a chain.
#[derive(Debug, Default)]
pub struct HttpHost {
    slab: Slab,
    fields: BTreeMap<u32, Fields>,
    responses: BTreeMap<u32, Response>,
    /// outgoing-body and output-stream reps, by the buffer they write to.
    bodies: BTreeMap<u32, usize>,
    streams: BTreeMap<u32, usize>,
    buffers: Vec<Vec<u8>>,
    /// The request being handled: its description (for the result) and its headers.
    request: Option<(RequestData, Entries)>,
    /// What `response-outparam.set` sent: the response's rep, or the error's `Debug` text.
    sent: Option<Result<u32, String>>,
}

/// theater's arguments rule: none is `null`, one is itself, several an array.
fn args_json(args: &[Value]) -> Value {
    match args {
        [] => Value::Null,
        [one] => one.clone(),
        several => Value::Array(several.to_vec()),
    }
}

fn rep(value: &Value) -> Result<u32, String> {
    value.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or_else(|| format!("{value} is not a resource number"))
}

fn bytes(value: &Value) -> Result<Vec<u8>, String> {
    crate::dialect::theater_json::json_bytes(value).ok_or_else(|| format!("{value} is not a byte list"))
}

fn text(value: &Value) -> Result<String, String> {
    value.as_str().map(String::from).ok_or_else(|| format!("{value} is not a string"))
}

const OK: fn() -> Value = || json!({"Ok": null});
const CLOSED: fn() -> Value = || json!({"Err": "Closed"});

impl HttpHost {
    pub fn new() -> HttpHost {
        HttpHost::default()
    }

    /// A new resource the recording names `recorded`: it must be where theater's table
    /// would have put it.
    fn pushed(&mut self, recorded: u32) -> Result<(), String> {
        let next = self.slab.next();
        if recorded != next {
            return Err(format!(
                "theater's resource table would hold this new resource at {next}, the recording has {recorded}: \
                 the guest made or dropped a resource that the recording does not show (unrecorded calls such as \
                 fields.clone or a fields drop)"
            ));
        }
        self.slab.push();
        Ok(())
    }

    /// A new immutable fields resource holding `entries` (the headers of a request or
    /// response, copied), at the rep the recording's `output` names.
    fn immutable_copy(&mut self, entries: Entries, output: &Value) -> Result<Value, String> {
        let rep = rep(output)?;
        self.pushed(rep)?;
        self.fields.insert(rep, Fields { entries, immutable: true });
        Ok(output.clone())
    }

    fn fields_of(&self, rep: u32) -> Result<&Fields, String> {
        self.fields.get(&rep).ok_or_else(|| format!("no fields resource {rep} in theater's table"))
    }

    /// theater's server before the `handle` export: reads the request description, pushes
    /// the incoming-request and the response-outparam. Returns their reps and the params as
    /// theater serializes them (to compare with the recorded bytes).
    pub fn begin(&mut self, params: &[u8]) -> Result<(u32, u32, Vec<u8>), String> {
        let request: RequestData =
            serde_json::from_slice(params).map_err(|e| format!("not theater's HttpRequestData: {e}"))?;
        let mut headers = Entries::new();
        for (name, value) in &request.headers {
            let value = BASE64.decode(value).map_err(|e| format!("header {name:?}: not base64: {e}"))?;
            headers.push((name.clone(), value));
        }
        let written = serde_json::to_vec(&request).expect("a request serializes");
        self.request = Some((request, headers));
        self.sent = None;
        let request_rep = self.slab.push();
        let outparam_rep = self.slab.push();
        Ok((request_rep, outparam_rep, written))
    }

    /// theater's server after `handle` returned: the WasmResult's state and result bytes
    /// (`Some(request)`, the response), or `None` when the guest set no response (theater
    /// then recorded nothing).
    pub fn end(&mut self) -> Option<(Vec<u8>, Vec<u8>)> {
        let (request, _) = self.request.take()?;
        let response = match self.sent.take()? {
            Ok(rep) => {
                let response = self.responses.get(&rep).cloned().unwrap_or_default();
                let body = response.body.map(|b| self.buffers[b].clone()).unwrap_or_default();
                ResponseData {
                    status_code: response.status,
                    headers: response.headers.iter().map(|(n, v)| (n.clone(), BASE64.encode(v))).collect(),
                    body: BASE64.encode(body),
                }
            }
            Err(debug) => {
                ResponseData { status_code: 500, headers: vec![], body: BASE64.encode(format!("Error: {debug}")) }
            }
        };
        let state = serde_json::to_vec(&request).expect("a request serializes");
        Some((state, serde_json::to_vec(&response).expect("a response serializes")))
    }

    /// How theater handles the guest's call of `function` (of [`TYPES`], [`STREAMS`] or
    /// [`IO_ERROR`]) with `args` (the untyped JSON of each argument).
    pub fn plan(&mut self, function: &str, args: &[Value], debug_args: &[Option<String>]) -> Plan {
        match self.unrecorded(function, args) {
            Ok(Some(answer)) => return Plan::Unrecorded(answer),
            Ok(None) => {}
            Err(e) => return Plan::Unsupported(format!("{function}: {e}")),
        }
        let recorded_as = match function {
            "[method]input-stream.blocking-read" => "[method]input-stream.read",
            "[method]output-stream.blocking-flush" => "[method]output-stream.flush",
            f if RECORDED.contains(&f) => f,
            f => {
                return Plan::Unsupported(format!(
                    "{f} is not modelled: theater's wasi:http host did not record it, so the chain cannot say what it answered"
                ));
            }
        };
        let mut input = args_json(args);
        // `set` records an error as its Debug text, not as a value.
        if function == "[static]response-outparam.set"
            && let (Some(Value::Object(outcome)), Some(Some(debug))) = (args.get(1), debug_args.get(1))
            && outcome.contains_key("Err")
        {
            input = json!([args[0], {"Err": debug}]);
        }
        Plan::Recorded { function: recorded_as.to_string(), input }
    }

    /// The answers and effects of the calls theater did not record; `None` for the others.
    fn unrecorded(&mut self, function: &str, args: &[Value]) -> Result<Option<Value>, String> {
        let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
        Ok(Some(match function {
            "[static]fields.from-list" => {
                let mut entries = Entries::new();
                for pair in arg(0).as_array().into_iter().flatten() {
                    let name = text(&pair[0])?;
                    if name.is_empty() {
                        return Ok(Some(json!({"Err": "InvalidSyntax"})));
                    }
                    entries.push((name, bytes(&pair[1])?));
                }
                let rep = self.slab.push();
                self.fields.insert(rep, Fields { entries, immutable: false });
                json!({"Ok": rep})
            }
            "[method]fields.has" => {
                let name = text(&arg(1))?;
                json!(self.fields_of(rep(&arg(0))?)?.entries.iter().any(|(n, _)| *n == name))
            }
            "[method]fields.set" | "[method]fields.delete" => {
                let (rep, name) = (rep(&arg(0))?, text(&arg(1))?);
                let fields = self.fields.get_mut(&rep).ok_or_else(|| format!("no fields resource {rep}"))?;
                if fields.immutable {
                    return Ok(Some(json!({"Err": "Immutable"})));
                }
                fields.entries.retain(|(n, _)| *n != name);
                if function == "[method]fields.set" {
                    for value in arg(2).as_array().into_iter().flatten() {
                        fields.entries.push((name.clone(), bytes(value)?));
                    }
                }
                OK()
            }
            "[method]fields.entries" => {
                let fields = self.fields_of(rep(&arg(0))?)?;
                Value::Array(
                    fields
                        .entries
                        .iter()
                        .map(|(n, v)| json!([n, crate::dialect::theater_json::bytes_json(v)]))
                        .collect(),
                )
            }
            "[method]fields.clone" => {
                let entries = self.fields_of(rep(&arg(0))?)?.entries.clone();
                let rep = self.slab.push();
                self.fields.insert(rep, Fields { entries, immutable: false });
                json!(rep)
            }
            // Recorded only when it succeeds; a second call fails unrecorded.
            "[method]outgoing-response.body" => {
                let rep = rep(&arg(0))?;
                if self.responses.get(&rep).is_some_and(|r| r.body.is_some()) {
                    json!({"Err": null})
                } else {
                    return Ok(None);
                }
            }
            "[method]input-stream.skip"
            | "[method]input-stream.blocking-skip"
            | "[method]output-stream.write-zeroes"
            | "[method]output-stream.blocking-write-zeroes-and-flush"
            | "[method]output-stream.splice"
            | "[method]output-stream.blocking-splice" => CLOSED(),
            "[method]error.to-debug-string" => json!("stream error"),
            _ => return Ok(None),
        }))
    }

    /// The answer to a matched recorded call, as the import's untyped JSON result, read
    /// from theater's recorded `output`; applies the call's effect on the host's state.
    /// An `Err` is a host state the recording contradicts (see [`HttpHost::pushed`]).
    pub fn answer(&mut self, function: &str, args: &[Value], output: &Value) -> Result<Value, String> {
        let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
        Ok(match function {
            "[constructor]fields" => {
                let rep = rep(output)?;
                self.pushed(rep)?;
                self.fields.insert(rep, Fields::default());
                output.clone()
            }
            // Recorded before it ran, always `true`: the answer is the model's.
            "[method]fields.append" => {
                let (rep, name, value) = (rep(&arg(0))?, text(&arg(1))?, bytes(&arg(2))?);
                let fields = self.fields.get_mut(&rep).ok_or_else(|| format!("no fields resource {rep}"))?;
                if fields.immutable {
                    json!({"Err": "Immutable"})
                } else {
                    fields.entries.push((name, value));
                    OK()
                }
            }
            "[method]incoming-request.headers" => {
                let entries = self.request.as_ref().map(|(_, h)| h.clone()).unwrap_or_default();
                self.immutable_copy(entries, output)?
            }
            "[method]outgoing-response.headers" => {
                let entries = self.responses.get(&rep(&arg(0))?).map(|r| r.headers.clone()).unwrap_or_default();
                self.immutable_copy(entries, output)?
            }
            "[constructor]outgoing-response" => {
                let headers = self.fields_of(rep(&arg(0))?)?.entries.clone();
                let rep = rep(output)?;
                self.pushed(rep)?;
                self.responses.insert(rep, Response { status: 200, headers, body: None });
                output.clone()
            }
            "[method]outgoing-response.set-status-code" => {
                let status = arg(1).as_u64().and_then(|s| u16::try_from(s).ok()).ok_or("not a status code")?;
                if let Some(response) = self.responses.get_mut(&rep(&arg(0))?) {
                    response.status = status;
                }
                OK()
            }
            "[method]outgoing-response.body" => {
                let (response, body) = (rep(&arg(0))?, rep(output)?);
                self.pushed(body)?;
                self.buffers.push(Vec::new());
                let buffer = self.buffers.len() - 1;
                if let Some(response) = self.responses.get_mut(&response) {
                    response.body = Some(buffer);
                }
                self.bodies.insert(body, buffer);
                json!({"Ok": body})
            }
            "[method]outgoing-body.write" => {
                let body = rep(&arg(0))?;
                match output {
                    Value::Null => json!({"Err": null}),
                    stream => {
                        let stream = rep(stream)?;
                        self.pushed(stream)?;
                        if let Some(&buffer) = self.bodies.get(&body) {
                            self.streams.insert(stream, buffer);
                        }
                        json!({"Ok": stream})
                    }
                }
            }
            "[static]outgoing-body.finish" => {
                self.slab.delete(rep(&arg(0))?);
                OK()
            }
            "[method]incoming-request.method" => debug_variant(output, "Method")?,
            "[method]incoming-request.scheme" => match output {
                Value::Null => Value::Null,
                debug => debug_variant(debug, "Scheme")?,
            },
            "[method]incoming-request.consume" | "[method]incoming-body.stream" => match output {
                Value::Null => json!({"Err": null}),
                new => {
                    self.pushed(rep(new)?)?;
                    json!({"Ok": new})
                }
            },
            "[static]incoming-body.finish" => {
                self.slab.delete(rep(&arg(0))?);
                self.pushed(rep(output)?)?;
                output.clone()
            }
            "[static]response-outparam.set" => {
                self.slab.delete(rep(&arg(0))?);
                self.sent = Some(match arg(1).get("Ok") {
                    Some(response) => Ok(rep(response)?),
                    None => Err(arg(1).get("Err").and_then(Value::as_str).unwrap_or_default().to_string()),
                });
                Value::Null
            }
            "[method]input-stream.read"
            | "[method]input-stream.blocking-read"
            | "[method]output-stream.check-write" => match output.get("Err") {
                Some(_) => CLOSED(),
                None => output.clone(),
            },
            "[method]output-stream.write" | "[method]output-stream.blocking-write-and-flush" => {
                if output.as_bool() != Some(true) {
                    CLOSED()
                } else {
                    if let Some(&buffer) = self.streams.get(&rep(&arg(0))?) {
                        self.buffers[buffer].extend(bytes(&arg(1))?);
                    }
                    OK()
                }
            }
            "[method]output-stream.flush" | "[method]output-stream.blocking-flush" => {
                if output.as_bool() == Some(true) { OK() } else { CLOSED() }
            }
            _ => output.clone(),
        })
    }

    /// The guest dropped its handle `rep` of `resource`: theater deletes the slot, and
    /// records the drop for these types only. Returns whether it was recorded.
    pub fn dropped(&mut self, resource: &str, rep: u32) -> bool {
        self.slab.delete(rep);
        self.fields.remove(&rep);
        RECORDED_DROPS.contains(&resource)
    }
}

/// Functions theater's http host recorded (under their own names).
const RECORDED: &[&str] = &[
    "[constructor]fields",
    "[method]fields.get",
    "[method]fields.append",
    "[constructor]outgoing-response",
    "[method]outgoing-response.status-code",
    "[method]outgoing-response.set-status-code",
    "[method]outgoing-response.headers",
    "[method]outgoing-response.body",
    "[method]outgoing-body.write",
    "[static]outgoing-body.finish",
    "[method]incoming-request.method",
    "[method]incoming-request.path-with-query",
    "[method]incoming-request.scheme",
    "[method]incoming-request.authority",
    "[method]incoming-request.headers",
    "[method]incoming-request.consume",
    "[method]incoming-body.stream",
    "[static]incoming-body.finish",
    "[static]response-outparam.set",
    "[method]input-stream.read",
    "[method]output-stream.check-write",
    "[method]output-stream.write",
    "[method]output-stream.blocking-write-and-flush",
    "[method]output-stream.flush",
];

/// Resource types whose drop theater recorded (`[resource-drop]<name>`, input the rep,
/// output `null`); the others (fields, io error, ...) only free their slot.
const RECORDED_DROPS: &[&str] = &[
    "incoming-request",
    "outgoing-response",
    "outgoing-body",
    "incoming-body",
    "response-outparam",
    "input-stream",
    "output-stream",
];

/// A variant from the Rust `Debug` text of a wit-bindgen enum, `"Method::Get"` or
/// `"Method::Other(\"x\")"`, as untyped JSON (`"Get"`, `{"Other":"x"}`).
fn debug_variant(output: &Value, type_name: &str) -> Result<Value, String> {
    let debug = output.as_str().ok_or_else(|| format!("{output} is not Debug text"))?;
    let case = debug
        .strip_prefix(type_name)
        .and_then(|c| c.strip_prefix("::"))
        .ok_or_else(|| format!("{debug:?} is not a {type_name}"))?;
    Ok(match case.split_once('(') {
        Some((name, payload)) => {
            let payload = payload.strip_suffix(')').ok_or_else(|| format!("{debug:?} is not a {type_name}"))?;
            let payload: Value =
                serde_json::from_str(payload).map_err(|_| format!("{debug:?}: payload is not a string"))?;
            json!({ name: payload })
        }
        None => json!(case),
    })
}

/// wit-bindgen's Rust name of a WIT case: `DNS-timeout` is `DnsTimeout`.
fn rust_case(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map_or(String::new(), |c| c.to_ascii_uppercase().to_string() + &chars.as_str().to_ascii_lowercase())
        })
        .collect()
}

/// The Rust `Debug` text wit-bindgen's bindings give an `error-code` value, as theater
/// recorded it in `response-outparam.set`. Record payloads are not rendered (their Rust
/// type names are not in the component), and give `None`.
pub fn error_code_debug(val: &wasmtime::component::Val) -> Option<String> {
    use wasmtime::component::Val;
    fn payload(val: &Val) -> Option<String> {
        Some(match val {
            Val::Option(None) => "None".into(),
            Val::Option(Some(v)) => format!("Some({})", payload(v)?),
            Val::String(s) => format!("{s:?}"),
            Val::U8(n) => n.to_string(),
            Val::U16(n) => n.to_string(),
            Val::U32(n) => n.to_string(),
            Val::U64(n) => n.to_string(),
            _ => return None,
        })
    }
    let Val::Variant(case, value) = val else {
        return None;
    };
    let name = format!("ErrorCode::{}", rust_case(case));
    Some(match value {
        None => name,
        Some(v) => format!("{name}({})", payload(v)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_reuses_the_last_freed_slot_first() {
        let mut slab = Slab::default();
        assert_eq!((slab.push(), slab.push(), slab.push()), (0, 1, 2));
        slab.delete(0);
        slab.delete(2);
        assert_eq!(slab.next(), 2);
        assert_eq!((slab.push(), slab.push(), slab.push()), (2, 0, 3));
    }

    #[test]
    fn debug_text_reads_as_variants() {
        assert_eq!(debug_variant(&json!("Method::Get"), "Method").unwrap(), json!("Get"));
        assert_eq!(debug_variant(&json!("Method::Other(\"PURGE\")"), "Method").unwrap(), json!({"Other": "PURGE"}));
        assert!(debug_variant(&json!("Scheme::Http"), "Method").is_err());
        use wasmtime::component::Val;
        let timeout = Val::Variant("DNS-timeout".into(), None);
        assert_eq!(error_code_debug(&timeout).as_deref(), Some("ErrorCode::DnsTimeout"));
        let internal =
            Val::Variant("internal-error".into(), Some(Box::new(Val::Option(Some(Box::new(Val::String("x".into())))))));
        assert_eq!(error_code_debug(&internal).as_deref(), Some("ErrorCode::InternalError(Some(\"x\"))"));
    }

    #[test]
    fn a_request_is_handled_as_theater_did() {
        let mut host = HttpHost::new();
        let params = br#"{"method":"GET","scheme":"http","authority":null,"path_with_query":"/","headers":[["host","MTI3LjAuMC4xOjgwODA="]],"body":null}"#;
        let (request, outparam, written) = host.begin(params).unwrap();
        assert_eq!((request, outparam, written.as_slice()), (0, 1, &params[..]));
        // The request's headers: an immutable copy at the next slot.
        assert_eq!(host.answer("[method]incoming-request.headers", &[json!(0)], &json!(2)).unwrap(), json!(2));
        assert_eq!(
            host.plan("[method]fields.entries", &[json!(2)], &[]),
            Plan::Unrecorded(json!([["host", crate::dialect::theater_json::bytes_json(b"127.0.0.1:8080")]]))
        );
        assert_eq!(
            host.plan("[method]fields.set", &[json!(2), json!("a"), json!([])], &[]),
            Plan::Unrecorded(json!({"Err": "Immutable"}))
        );
        // A recorded new rep that is not where the table would put it: the guest did something unrecorded.
        assert!(host.answer("[constructor]fields", &[], &json!(4)).is_err());
        assert!(host.answer("[constructor]fields", &[], &json!(3)).is_ok());
        assert!(
            host.answer("[method]fields.append", &[json!(3), json!("x-a"), json!([49])], &json!(true)).unwrap()
                == json!({"Ok": null})
        );
        host.answer("[constructor]outgoing-response", &[json!(3)], &json!(4)).unwrap();
        host.answer("[method]outgoing-response.set-status-code", &[json!(4), json!(201)], &json!(true)).unwrap();
        assert_eq!(host.answer("[method]outgoing-response.body", &[json!(4)], &json!(5)).unwrap(), json!({"Ok": 5}));
        assert_eq!(
            host.plan("[method]outgoing-response.body", &[json!(4)], &[]),
            Plan::Unrecorded(json!({"Err": null}))
        );
        host.answer("[method]outgoing-body.write", &[json!(5)], &json!(6)).unwrap();
        host.answer("[method]output-stream.blocking-write-and-flush", &[json!(6), json!([104, 105])], &json!(true))
            .unwrap();
        assert!(host.dropped("output-stream", 6));
        assert!(!host.dropped("fields", 2));
        assert_eq!(
            host.plan("[method]input-stream.blocking-read", &[json!(9), json!(10)], &[]),
            Plan::Recorded { function: "[method]input-stream.read".into(), input: json!([9, 10]) }
        );
        host.answer("[static]response-outparam.set", &[json!(1), json!({"Ok": 4})], &Value::Null).unwrap();
        let (state, result) = host.end().unwrap();
        assert_eq!(state, params.to_vec());
        assert_eq!(
            String::from_utf8(result).unwrap(),
            r#"{"status_code":201,"headers":[["x-a","MQ=="]],"body":"aGk="}"#
        );
    }
}
