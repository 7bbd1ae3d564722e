//! Two fast checks of CGRF v2 bytes, beside packr-abi 0.5 (the codec):
//!
//! - [`scan`]: are the bytes exactly what packr-abi encodes for the Value they decode to,
//!   and where does each subtree lie? packr-abi's decoder copies every node's payload into a
//!   Vec of its own and caches every decoded subtree in a hash map by cloning it, so one
//!   small host-call event costs about ten microseconds of allocation, the whole of a Pack
//!   replay's time (issue 9's profile). The replay does not need the Values of a host call
//!   it reproduces, only proof that the recorded bytes are canonical and the bytes of the
//!   recorded input and answer on their own. `scan` decodes nothing: it checks the layout
//!   packr-abi's `encode` writes (children before parents, each subtree contiguous, the
//!   root last, every field exactly as `encode_graph` writes it) and slices subtrees out.
//!   It accepts bytes exactly when packr-abi's decode followed by its encode gives them back
//!   unchanged (a property test holds it to that); anything else takes packr-abi's path.
//! - [`preflight`]: may packr-abi decode these bytes at all? Its decoder sizes vectors by
//!   counts read from the input before checking them against the bytes (a list claiming
//!   four billion items aborts the process on allocation), recurses once per level of
//!   nesting (a deep chain of nodes overflows the stack), and clones a shared node once per
//!   reference (a few hundred bytes can expand without bound). A chain is untrusted input,
//!   so those shapes are refused first, with a message; theater writes none of them.

use std::ops::Range;

const MAGIC: &[u8; 4] = b"CGRF";
const VERSION: u16 = 2;
const HEADER: usize = 16;
const NODE_HEADER: usize = 8;
/// packr-abi 0.5's default decode limits: bytes beyond them are not decodable at all.
const MAX_BUFFER: usize = 16 * 1024 * 1024;
const MAX_NODES: usize = 1_000_000;
const MAX_PAYLOAD: usize = 8 * 1024 * 1024;
const MAX_SEQUENCE: usize = 1_000_000;
/// Deeper type descriptors are left to packr-abi (conservative, and no deep recursion here).
const MAX_TYPE_DEPTH: u32 = 64;
/// Deeper values are refused before packr-abi recurses into them (far beyond any actor's).
pub const MAX_VALUE_DEPTH: u32 = 128;

const KIND_BOOL: u8 = 0x01;
const KIND_STRING: u8 = 0x06;
const KIND_LIST: u8 = 0x07;
const KIND_VARIANT: u8 = 0x08;
const KIND_RECORD: u8 = 0x09;
const KIND_OPTION: u8 = 0x0A;
const KIND_TUPLE: u8 = 0x0B;
const KIND_CHAR: u8 = 0x12;
const KIND_RESULT: u8 = 0x14;
const KIND_ARRAY: u8 = 0x15;

/// One node of a canonical tree.
#[derive(Debug, Clone, Copy)]
struct NodeAt {
    /// Offset of the node's 8-byte header in the buffer.
    offset: u32,
    kind: u8,
    payload_len: u32,
    /// Child indices, the last `4 * children` bytes of the payload in every kind.
    children: u32,
    /// The first node of the subtree this node is the root of.
    first: u32,
}

/// Canonical CGRF bytes, with the place of every node.
#[derive(Debug)]
pub struct Tree<'a> {
    bytes: &'a [u8],
    nodes: &'a [NodeAt],
}

/// The working memory of [`scan`], kept by a caller that scans many buffers so that a scan
/// allocates nothing.
#[derive(Debug, Default)]
pub struct Scratch {
    nodes: Vec<NodeAt>,
    /// Subtrees whose parent is still to come, as (first node, root), tiling [0, i).
    pending: Vec<(u32, u32)>,
}

/// A node of a [`Tree`], borrowed.
#[derive(Debug, Clone, Copy)]
pub struct Node<'a> {
    kind: u8,
    payload: &'a [u8],
    children: u32,
    /// Where the payload starts in the whole buffer.
    payload_offset: usize,
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let slice = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(slice)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn name(&mut self) -> Option<&'a str> {
        let bytes = self.name_bytes()?;
        // Names are short and nearly always ASCII: checked inline (the call of `from_utf8`
        // for each was a twentieth of the reading thread's time on a chain of host calls).
        if bytes.is_ascii() {
            // SAFETY: ASCII is valid UTF-8.
            return Some(unsafe { std::str::from_utf8_unchecked(bytes) });
        }
        std::str::from_utf8(bytes).ok()
    }
    /// A name's bytes unchecked: for nodes [`scan`] has already validated.
    fn name_bytes(&mut self) -> Option<&'a [u8]> {
        let len = self.u32()? as usize;
        self.take(len)
    }
    fn rest(&self) -> usize {
        self.bytes.len() - self.pos
    }
}

/// What a type descriptor says about an element stored in an array node.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Element {
    /// Not fixed-width: only lists of it exist.
    Compound,
    /// A byte that must be 0 or 1 to survive decode and encode.
    Bool,
    /// A u32 that must be a Unicode scalar value.
    Char,
    Fixed(usize),
}

/// Reads one type descriptor as packr-abi's `decode_value_type` does (and its encoder writes
/// back unchanged): `None` where it would fail, or the descriptor is too deep.
fn value_type(cursor: &mut Cursor<'_>, depth: u32) -> Option<Element> {
    if depth > MAX_TYPE_DEPTH {
        return None;
    }
    Some(match cursor.u8()? {
        0x01 => Element::Bool,
        0x0C | 0x10 => Element::Fixed(1),
        0x0D | 0x11 => Element::Fixed(2),
        0x02 | 0x04 | 0x0E => Element::Fixed(4),
        0x12 => Element::Char,
        0x03 | 0x05 | 0x0F | 0x13 => Element::Fixed(8),
        0x06 => Element::Compound,
        0x07 | 0x0A => {
            value_type(cursor, depth + 1)?;
            Element::Compound
        }
        0x14 => {
            value_type(cursor, depth + 1)?;
            value_type(cursor, depth + 1)?;
            Element::Compound
        }
        0x08 | 0x09 => {
            cursor.name()?;
            Element::Compound
        }
        0x0B => {
            let count = cursor.u32()?;
            for _ in 0..count {
                value_type(cursor, depth + 1)?;
            }
            Element::Compound
        }
        _ => return None,
    })
}

/// Checks one node's payload as canonical for its kind; returns its number of children.
fn payload_children(kind: u8, payload: &[u8]) -> Option<u32> {
    let mut c = Cursor { bytes: payload, pos: 0 };
    let fixed = |n: usize| (payload.len() == n).then_some(0);
    match kind {
        KIND_BOOL => (payload == [0] || payload == [1]).then_some(0),
        0x0C | 0x10 => fixed(1),
        0x0D | 0x11 => fixed(2),
        0x02 | 0x04 | 0x0E => fixed(4),
        0x03 | 0x05 | 0x0F | 0x13 => fixed(8),
        KIND_CHAR => {
            let scalar = c.u32()?;
            (c.rest() == 0 && char::from_u32(scalar).is_some()).then_some(0)
        }
        KIND_STRING => {
            c.name()?;
            (c.rest() == 0).then_some(0)
        }
        KIND_ARRAY => {
            let element = value_type(&mut c, 0)?;
            let count = c.u32()? as usize;
            if count > MAX_SEQUENCE {
                return None;
            }
            // Elements decode as `!= 0` (bools) and must be scalars (chars).
            let elements_canonical = match element {
                Element::Compound => false,
                Element::Bool => c.take(count)?.iter().all(|&b| b <= 1),
                Element::Char => c
                    .take(count.checked_mul(4)?)?
                    .chunks_exact(4)
                    .all(|b| char::from_u32(u32::from_le_bytes([b[0], b[1], b[2], b[3]])).is_some()),
                Element::Fixed(width) => c.take(count.checked_mul(width)?).is_some(),
            };
            (elements_canonical && c.rest() == 0).then_some(0)
        }
        KIND_LIST => {
            // packr-abi writes a list of a fixed-width type as an array, and refuses this.
            if value_type(&mut c, 0)? != Element::Compound {
                return None;
            }
            let count = c.u32()?;
            children_at_end(&mut c, count)
        }
        KIND_TUPLE => {
            let count = c.u32()?;
            if count as usize > MAX_SEQUENCE {
                return None;
            }
            children_at_end(&mut c, count)
        }
        KIND_OPTION => {
            value_type(&mut c, 0)?;
            // Any presence byte but 1 decodes as none, which encodes as 0.
            match c.u8()? {
                0 => children_at_end(&mut c, 0),
                1 => children_at_end(&mut c, 1),
                _ => None,
            }
        }
        KIND_RESULT => {
            value_type(&mut c, 0)?;
            value_type(&mut c, 0)?;
            // Any tag but 0 decodes as err, which encodes as 1; the payload flag must be 1.
            let tag = c.u32()?;
            (tag <= 1 && c.u8()? == 1).then_some(())?;
            children_at_end(&mut c, 1)
        }
        KIND_RECORD => {
            c.name()?;
            let count = c.u32()?;
            for _ in 0..count {
                c.name()?;
            }
            children_at_end(&mut c, count)
        }
        KIND_VARIANT => {
            c.name()?;
            c.name()?;
            c.u32()?;
            let count = c.u32()?;
            children_at_end(&mut c, count)
        }
        _ => None,
    }
}

/// The rest of the payload is exactly `count` child indices.
fn children_at_end(c: &mut Cursor<'_>, count: u32) -> Option<u32> {
    (c.rest() == (count as usize).checked_mul(4)?).then_some(count)
}

fn index_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// `bytes` as a canonical tree, or `None` when they are not exactly packr-abi 0.5's
/// encoding of what they decode to (or not decodable at all).
pub fn scan<'a>(bytes: &'a [u8], scratch: &'a mut Scratch) -> Option<Tree<'a>> {
    if bytes.len() > MAX_BUFFER || bytes.len() < HEADER || &bytes[..4] != MAGIC {
        return None;
    }
    let mut c = Cursor { bytes, pos: 4 };
    // The header's flags and each node's flags are ignored by the decoder and written as 0.
    if c.u16()? != VERSION || c.u16()? != 0 {
        return None;
    }
    let count = c.u32()? as usize;
    let root = c.u32()? as usize;
    if count == 0 || count > MAX_NODES || root != count - 1 {
        return None;
    }
    // Every node takes at least its header: a count the bytes cannot hold is refused before
    // anything is sized by it.
    if count > (bytes.len() - HEADER) / NODE_HEADER {
        return None;
    }
    let Scratch { nodes, pending } = scratch;
    nodes.clear();
    pending.clear();
    for i in 0..count as u32 {
        let offset = c.pos as u32;
        let kind = c.u8()?;
        if c.u8()? != 0 || c.u16()? != 0 {
            return None;
        }
        let payload_len = c.u32()? as usize;
        if payload_len > MAX_PAYLOAD {
            return None;
        }
        let payload_offset = c.pos;
        let payload = c.take(payload_len)?;
        let children = payload_children(kind, payload)?;
        // Canonical order: a node's children are the subtrees just before it, in order.
        let n = children as usize;
        if n > pending.len() {
            return None;
        }
        let base = pending.len() - n;
        let indices = payload_offset + payload_len - 4 * n;
        for (j, &(_, subtree_root)) in pending[base..].iter().enumerate() {
            if index_at(bytes, indices + 4 * j) != subtree_root {
                return None;
            }
        }
        let first = if n == 0 { i } else { pending[base].0 };
        pending.truncate(base);
        pending.push((first, i));
        nodes.push(NodeAt { offset, kind, payload_len: payload_len as u32, children, first });
    }
    // No trailing bytes, and one tree over every node (nothing unreachable, nothing shared).
    (c.rest() == 0 && pending[..] == [(0, root as u32)]).then_some(Tree { bytes, nodes })
}

/// Refuses bytes that packr-abi 0.5's decoder cannot survive (see the module's doc); `Ok`
/// for everything else, which packr-abi then decodes or rejects with its own error.
pub fn preflight(bytes: &[u8]) -> Result<(), String> {
    let mut c = Cursor { bytes, pos: 0 };
    let header = (c.take(4), c.u16(), c.u16(), c.u32(), c.u32());
    let (Some(_), Some(_), Some(_), Some(count), Some(_)) = header else { return Ok(()) };
    // packr-abi refuses a count beyond its limit, or one the bytes cannot hold, itself.
    let count = count as usize;
    if count > MAX_NODES || count > bytes.len().saturating_sub(HEADER) / NODE_HEADER {
        return Ok(());
    }
    let mut depth = vec![0u32; count];
    let mut referenced = vec![false; count];
    for i in 0..count {
        let (Some(kind), Some(_), Some(_), Some(len)) = (c.u8(), c.u8(), c.u16(), c.u32()) else { return Ok(()) };
        let Some(payload) = c.take(len as usize) else { return Ok(()) };
        let mut p = Cursor { bytes: payload, pos: 0 };
        let children = match node_children(kind, &mut p)? {
            Some(n) => n,
            None => continue,
        };
        let mut deepest = 0;
        for _ in 0..children {
            let Some(child) = p.u32() else { break };
            let child = child as usize;
            if child >= count {
                continue; // packr-abi reports the index itself.
            }
            if child >= i {
                return Err(format!("node {i} refers to node {child}, not an earlier one (packr-abi writes children first)"));
            }
            if std::mem::replace(&mut referenced[child], true) {
                return Err(format!("node {child} is shared by two parents (packr-abi writes a tree)"));
            }
            deepest = deepest.max(depth[child]);
        }
        depth[i] = deepest + 1;
        if depth[i] > MAX_VALUE_DEPTH {
            return Err(format!("values nested deeper than {MAX_VALUE_DEPTH} levels"));
        }
    }
    Ok(())
}

/// The number of children a node declares, read up to its child indices, with every count
/// checked against the bytes left before packr-abi would size a vector by it. `Ok(None)`
/// for a leaf or a payload too short to read (packr-abi reports that).
fn node_children(kind: u8, p: &mut Cursor<'_>) -> Result<Option<u32>, String> {
    let too_many = |what: &str, count: u32| format!("a {what} claims {count} items, more than its bytes hold");
    let bounded_type = |p: &mut Cursor<'_>| preflight_type(p, 0);
    Ok(match kind {
        KIND_LIST | KIND_OPTION | KIND_RESULT | KIND_ARRAY => {
            if !bounded_type(p)? {
                return Ok(None);
            }
            if kind == KIND_RESULT && !bounded_type(p)? {
                return Ok(None);
            }
            match kind {
                KIND_LIST => {
                    let Some(count) = p.u32() else { return Ok(None) };
                    if count as usize > p.rest() / 4 {
                        return Err(too_many("list", count));
                    }
                    Some(count)
                }
                KIND_OPTION => p.u8().map(|present| u32::from(present == 1)),
                KIND_RESULT => {
                    let (Some(_), Some(_)) = (p.u32(), p.u8()) else { return Ok(None) };
                    Some(1)
                }
                _ => None, // Arrays: packr-abi checks their count against the bytes first.
            }
        }
        KIND_TUPLE => {
            let Some(count) = p.u32() else { return Ok(None) };
            if count as usize > p.rest() / 4 {
                return Err(too_many("tuple", count));
            }
            Some(count)
        }
        KIND_RECORD => {
            if p.name().is_none() {
                return Ok(None);
            }
            let Some(count) = p.u32() else { return Ok(None) };
            // Each field has at least a name length and a child index.
            if count as usize > p.rest() / 8 {
                return Err(too_many("record", count));
            }
            for _ in 0..count {
                if p.name().is_none() {
                    return Ok(None);
                }
            }
            Some(count)
        }
        KIND_VARIANT => {
            let (Some(_), Some(_), Some(_), Some(count)) = (p.name(), p.name(), p.u32(), p.u32()) else { return Ok(None) };
            if count as usize > p.rest() / 4 {
                return Err(too_many("variant", count));
            }
            Some(count)
        }
        _ => None,
    })
}

/// Reads a type descriptor with its nesting and tuple counts bounded; `Ok(false)` when it
/// is too short or malformed (packr-abi reports that).
fn preflight_type(p: &mut Cursor<'_>, depth: u32) -> Result<bool, String> {
    if depth > MAX_TYPE_DEPTH {
        return Err(format!("a type nested deeper than {MAX_TYPE_DEPTH} levels"));
    }
    Ok(match p.u8() {
        Some(0x07 | 0x0A) => preflight_type(p, depth + 1)?,
        Some(0x14) => preflight_type(p, depth + 1)? && preflight_type(p, depth + 1)?,
        Some(0x08 | 0x09) => p.name().is_some(),
        Some(0x0B) => {
            let Some(count) = p.u32() else { return Ok(false) };
            // Each element type takes at least one byte.
            if count as usize > p.rest() {
                return Err(format!("a tuple type claims {count} elements, more than its bytes hold"));
            }
            for _ in 0..count {
                if !preflight_type(p, depth + 1)? {
                    return Ok(false);
                }
            }
            true
        }
        Some(_) => true,
        None => false,
    })
}

impl<'a> Tree<'a> {
    /// The root's index (the last node).
    pub fn root(&self) -> u32 {
        self.nodes.len() as u32 - 1
    }

    /// The node at `index`.
    pub fn node(&self, index: u32) -> Option<Node<'a>> {
        let at = self.nodes.get(index as usize)?;
        let payload_offset = at.offset as usize + NODE_HEADER;
        Some(Node {
            kind: at.kind,
            payload: &self.bytes[payload_offset..payload_offset + at.payload_len as usize],
            children: at.children,
            payload_offset,
        })
    }

    /// The CGRF of the subtree rooted at `index` on its own: exactly what packr-abi encodes
    /// for that Value (the same nodes, indices counted from the subtree's first node).
    pub fn subtree_bytes(&self, index: u32) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        self.subtree_bytes_into(index, &mut out).map(|()| out)
    }

    /// [`Tree::subtree_bytes`], appended to `out`.
    pub fn subtree_bytes_into(&self, index: u32, out: &mut Vec<u8>) -> Option<()> {
        let root = self.nodes.get(index as usize)?;
        let first = root.first;
        let count = index - first + 1;
        let start = self.nodes[first as usize].offset as usize;
        let end = root.offset as usize + NODE_HEADER + root.payload_len as usize;
        let base = out.len();
        out.reserve(HEADER + end - start);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&(count - 1).to_le_bytes());
        out.extend_from_slice(&self.bytes[start..end]);
        if first > 0 {
            for node in &self.nodes[first as usize..=index as usize] {
                let end = base + HEADER + node.offset as usize + NODE_HEADER + node.payload_len as usize - start;
                for j in 0..node.children as usize {
                    let at = end - 4 * (node.children as usize - j);
                    let rebased = index_at(out, at) - first;
                    out[at..at + 4].copy_from_slice(&rebased.to_le_bytes());
                }
            }
        }
        Some(())
    }
}

impl<'a> Node<'a> {
    /// The `j`th child's index.
    pub fn child(&self, j: u32) -> Option<u32> {
        (j < self.children).then(|| {
            let at = self.payload.len() - 4 * (self.children - j) as usize;
            index_at(self.payload, at)
        })
    }

    /// A string node's text.
    pub fn string(&self) -> Option<&'a str> {
        (self.kind == KIND_STRING).then(|| Cursor { bytes: self.payload, pos: 0 }.name()).flatten()
    }

    /// Where a string node's text lies in the whole buffer.
    pub fn string_range(&self) -> Option<Range<usize>> {
        let len = Cursor { bytes: self.payload, pos: 0 }.name_bytes().filter(|_| self.kind == KIND_STRING)?.len();
        let start = self.payload_offset + 4;
        Some(start..start + len)
    }

    /// Whether this is the variant `type_name`.`case` with this tag and one payload.
    pub fn is_variant(&self, type_name: &str, case: &str, tag: u32) -> bool {
        // Names are compared as bytes: `scan` checked they are UTF-8.
        let mut c = Cursor { bytes: self.payload, pos: 0 };
        self.kind == KIND_VARIANT
            && self.children == 1
            && c.name_bytes() == Some(type_name.as_bytes())
            && c.name_bytes() == Some(case.as_bytes())
            && c.u32() == Some(tag)
    }

    /// Whether this is the record `type_name` with exactly these fields, in this order.
    pub fn is_record(&self, type_name: &str, fields: &[&str]) -> bool {
        let mut c = Cursor { bytes: self.payload, pos: 0 };
        self.kind == KIND_RECORD
            && c.name_bytes() == Some(type_name.as_bytes())
            && c.u32() == Some(fields.len() as u32)
            && fields.iter().all(|f| c.name_bytes() == Some(f.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use packr_abi::{Value, ValueType};
    use proptest::prelude::*;

    fn encode(value: &Value) -> Vec<u8> {
        packr_abi::encode(value).expect("encodable")
    }

    /// packr-abi's own verdict: bytes are canonical when decoding then encoding gives them back.
    fn canonical_by_packr(bytes: &[u8]) -> bool {
        packr_abi::decode(bytes).ok().and_then(|v| packr_abi::encode(&v).ok()).is_some_and(|b| b == bytes)
    }

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<bool>().prop_map(Value::Bool),
            any::<u8>().prop_map(Value::U8),
            any::<i16>().prop_map(Value::S16),
            any::<u32>().prop_map(Value::U32),
            any::<i64>().prop_map(Value::S64),
            any::<u32>().prop_map(|b| Value::F32(f32::from_bits(b))),
            any::<u64>().prop_map(|b| Value::F64(f64::from_bits(b))),
            any::<char>().prop_map(Value::Char),
            any::<u64>().prop_map(Value::Flags),
            ".{0,12}".prop_map(Value::String),
            proptest::collection::vec(any::<u8>(), 0..20)
                .prop_map(|b| Value::List { elem_type: ValueType::U8, items: b.into_iter().map(Value::U8).collect() }),
            proptest::collection::vec(any::<bool>(), 0..5)
                .prop_map(|b| Value::List { elem_type: ValueType::Bool, items: b.into_iter().map(Value::Bool).collect() }),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        leaf().prop_recursive(4, 40, 5, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Tuple),
                proptest::collection::vec(inner.clone(), 0..4)
                    .prop_map(|items| Value::List { elem_type: ValueType::String, items }),
                proptest::option::of(inner.clone()).prop_map(|v| Value::Option {
                    inner_type: ValueType::Tuple(vec![ValueType::U8, ValueType::Record("r".into())]),
                    value: v.map(Box::new),
                }),
                (any::<bool>(), inner.clone()).prop_map(|(ok, v)| Value::Result {
                    ok_type: ValueType::List(Box::new(ValueType::Variant("v".into()))),
                    err_type: ValueType::String,
                    value: if ok { Ok(Box::new(v)) } else { Err(Box::new(v)) },
                }),
                proptest::collection::vec(("[a-z]{0,4}", inner.clone()), 0..4)
                    .prop_map(|fields| Value::Record { type_name: "rec".into(), fields }),
                ("[a-z]{1,4}", any::<u32>(), proptest::collection::vec(inner, 0..3)).prop_map(|(case, tag, payload)| {
                    Value::Variant { type_name: "var".into(), case_name: case, tag: tag as usize, payload }
                }),
            ]
        })
    }

    /// Every subtree's Value, in encoding order (children first), with its own encoding.
    fn subtrees(value: &Value, out: &mut Vec<Vec<u8>>) {
        let children: Vec<&Value> = match value {
            Value::Tuple(items) => items.iter().collect(),
            Value::List { elem_type, items } if !matches!(elem_type, ValueType::U8 | ValueType::Bool) => items.iter().collect(),
            Value::Option { value: Some(v), .. } => vec![v],
            Value::Result { value: Ok(v) | Err(v), .. } => vec![v],
            Value::Record { fields, .. } => fields.iter().map(|(_, v)| v).collect(),
            Value::Variant { payload, .. } => payload.iter().collect(),
            _ => vec![],
        };
        for child in children {
            subtrees(child, out);
        }
        out.push(encode(value));
    }

    proptest! {
        // PROPTEST_CASES=100000 for a longer hunt (256 by default).
        #![proptest_config(ProptestConfig::default())]

        /// What packr-abi encodes is accepted, and each subtree slices out as packr-abi
        /// encodes that subtree's Value alone.
        #[test]
        fn accepts_every_encoding_and_slices_subtrees_as_packr_encodes_them(v in value()) {
            let bytes = encode(&v);
            let mut scratch = Scratch::default();
            let tree = scan(&bytes, &mut scratch).expect("packr-abi's encoding is canonical");
            let mut expected = Vec::new();
            subtrees(&v, &mut expected);
            prop_assert_eq!(expected.len(), tree.root() as usize + 1);
            for (index, sub) in expected.iter().enumerate() {
                prop_assert_eq!(&tree.subtree_bytes(index as u32).unwrap(), sub);
            }
        }

        /// Sound and complete: with bytes changed, inserted or removed, accepted exactly
        /// when packr-abi's decode and encode give the bytes back unchanged.
        #[test]
        fn accepts_only_what_packr_gives_back(v in value(), edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0..3u8), 1..3)) {
            let mut bytes = encode(&v);
            for (at, byte, op) in edits {
                let at = at % (bytes.len() + 1);
                match op {
                    0 if at < bytes.len() => bytes[at] = byte,
                    1 => bytes.insert(at, byte),
                    _ if at < bytes.len() => { bytes.remove(at); }
                    _ => {}
                }
            }
            // packr-abi sees only what preflight lets through (as in the tool).
            let canonical = preflight(&bytes).is_ok() && canonical_by_packr(&bytes);
            prop_assert_eq!(scan(&bytes, &mut Scratch::default()).is_some(), canonical, "bytes {:?}", bytes);
        }
    }

    #[test]
    fn shapes_that_would_abort_packr_are_refused_before_it_decodes() {
        let with_count = |kind: u8, prefix: &[u8]| {
            let mut payload = prefix.to_vec();
            payload.extend_from_slice(&u32::MAX.to_le_bytes());
            let mut b = b"CGRF".to_vec();
            b.extend_from_slice(&[2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, kind, 0, 0, 0]);
            b.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            b.extend_from_slice(&payload);
            b
        };
        let huge = [
            with_count(KIND_LIST, &[0x06]),
            with_count(KIND_TUPLE, &[]),
            with_count(KIND_RECORD, &[1, 0, 0, 0, b'r']),
            with_count(KIND_VARIANT, &[1, 0, 0, 0, b'v', 1, 0, 0, 0, b'c', 0, 0, 0, 0]),
            with_count(KIND_OPTION, &[0x0B]),
        ];
        for bytes in &huge {
            let err = preflight(bytes).expect_err("refused");
            assert!(err.contains("more than its bytes hold"), "{err}");
        }
        // A chain of options 200 deep: packr-abi would recurse 200 times.
        let mut deep = Value::U8(0);
        for _ in 0..200 {
            deep = Value::Option { inner_type: ValueType::U8, value: Some(Box::new(deep)) };
        }
        let err = preflight(&encode(&deep)).expect_err("too deep");
        assert!(err.contains("deeper than"), "{err}");
        // What theater writes passes.
        let mut ok = Value::U8(0);
        for _ in 0..100 {
            ok = Value::Tuple(vec![ok, Value::String("x".into())]);
        }
        preflight(&encode(&ok)).expect("100 levels pass");
    }

    #[test]
    fn non_canonical_forms_that_decode_are_refused() {
        let base = encode(&Value::Tuple(vec![Value::Bool(true), Value::Option { inner_type: ValueType::U8, value: None }]));
        type Edit = fn(&mut Vec<u8>);
        let cases: [(&str, Edit); 5] = [
            ("header flags", |b| b[6] = 1),
            ("bool byte 2", |b| b[16 + 8] = 2),
            ("node flags", |b| b[16 + 1] = 1),
            // Node 1 (the option) has its header at 25; type byte 33, presence 34.
            ("option presence 2", |b| b[34] = 2),
            ("trailing byte", |b| b.push(0)),
        ];
        for (what, edit) in cases {
            let mut bytes = base.clone();
            edit(&mut bytes);
            assert!(!canonical_by_packr(&bytes), "{what}: packr-abi gives these bytes back");
            assert!(scan(&bytes, &mut Scratch::default()).is_none(), "{what} accepted");
        }
        assert!(scan(&base, &mut Scratch::default()).is_some());
    }

    #[test]
    fn shared_and_unreachable_nodes_are_refused() {
        // A tuple whose two children are the same node decodes (packr-abi caches it) but
        // encodes as two nodes.
        let mut shared = encode(&Value::Tuple(vec![Value::U8(1)]));
        // tuple payload: count 1, child 0 -> count 2, children 0, 0
        let tuple_at = 16 + 8 + 1;
        shared.truncate(tuple_at);
        shared.extend_from_slice(&[KIND_TUPLE, 0, 0, 0, 12, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert!(packr_abi::decode(&shared).is_ok(), "the shared form decodes");
        assert!(!canonical_by_packr(&shared));
        assert!(scan(&shared, &mut Scratch::default()).is_none());
        assert!(preflight(&shared).unwrap_err().contains("shared"));

        // An extra node nobody refers to.
        let mut extra = encode(&Value::U8(1));
        extra[8] = 2;
        extra[12] = 1;
        extra.extend_from_slice(&[0x0C, 0, 0, 0, 1, 0, 0, 0, 7]);
        assert!(packr_abi::decode(&extra).is_ok());
        assert!(scan(&extra, &mut Scratch::default()).is_none());
    }
}
