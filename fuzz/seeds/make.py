#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets from the repository's fixtures:
fuzz/corpus/<target>/. Rerun from the repository root: python3 fuzz/seeds/make.py"""
import hashlib, json, os, random, re, struct, glob

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
MAX_SEED = 4096


def write(target, data, limit=MAX_SEED):
    if isinstance(data, str):
        data = data.encode()
    if len(data) > limit:
        return
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)


def chain_events(path):
    try:
        text = open(path).read()
        events = json.loads(text) if text.lstrip().startswith("[") else [json.loads(l) for l in text.splitlines() if l.strip()]
    except Exception:
        return []
    return [bytes(e["data"]) for e in events if isinstance(e, dict) and isinstance(e.get("data"), list)]


def cgrf_end(buf, at):
    """The end of the CGRF buffer starting at `at`, by walking its node headers."""
    if buf[at:at + 4] != b"CGRF":
        return None
    count = struct.unpack_from("<I", buf, at + 8)[0]
    pos = at + 16
    for _ in range(count):
        if pos + 8 > len(buf):
            return None
        pos += 8 + struct.unpack_from("<I", buf, pos + 4)[0]
    return pos if pos <= len(buf) else None


# Payloads: every event of the fixture chains, ours, theater's JSON and theater 0.3.8's CGRF.
payloads = []
for path in sorted(glob.glob(os.path.join(ROOT, "fixtures", "**", "*.json"), recursive=True)):
    payloads += chain_events(path)
seen = set()
unique = [p for p in payloads if not (p in seen or seen.add(p))]
# At most a few of each event type's shapes: the first bytes say which.
by_head = {}
for p in unique:
    by_head.setdefault(p[:40], []).append(p)
for group in by_head.values():
    for p in sorted(group, key=len)[:3]:
        write("payload_decode", p)
        if p.startswith(b"CGRF"):
            write("pack_value", p)

# Pack values: the actors' metadata (`__pack_types`, static CGRF in their data segments),
# and the call parameters theater recorded.
for wasm in sorted(glob.glob(os.path.join(ROOT, "fixtures", "pack", "*.wasm"))):
    if "-v2" in wasm:
        continue
    buf = open(wasm, "rb").read()
    for m in re.finditer(b"CGRF\x02\x00", buf):
        end = cgrf_end(buf, m.start())
        if end:
            write("pack_value", buf[m.start():end], limit=16384)  # metadata runs to a few KB
calls = json.load(open(os.path.join(ROOT, "fixtures", "theater-0.3.8", "chains", "calls.json")))
for actor in calls.values():
    for call in actor["calls"]:
        write("pack_value", bytes.fromhex(call["params_cgrf_hex"]))
        write("wave_args", f'{call["function"]}{call["params_wave"]}')

# WAVE arguments: the zoo's exports, and the fuzz targets' Pack metadata (common/mod.rs).
zoo_calls = [
    'prims(true, -128, 255, -32768, 65535, -2147483648, 4294967295, -9223372036854775808, 18446744073709551615, nan, -inf, \'\\u{1f600}\')',
    'floats(1.5, -0.0)', 'text("h\\u{e9}llo \\"w\\"\\n")', 'bytes([0, 1, 255])', 'nums([4294967295, 0])',
    'point-of({x: -3, y: 4, label: "p"})', 'pair((255, "two"))', 'shape-of(circle(1.5))', 'shape-of(square(9))',
    'shape-of(none)', 'color-of(blue)', 'maybe(some("yes"))', 'maybe(none)', 'outcome(ok(1))', 'outcome(err("bad"))',
    'perms-of({read, exec})', 'perms-of({})', 'counters(7)', 'run("hello")', 'demo:agent/api#greet("hi")', 'add(1)',
]
pack_calls = [
    'fuzz:actor/api.f0(())', 'fuzz:actor/api.f1(true)', 'fuzz:actor/api.f7(-1)', 'fuzz:actor/api.f12(\'x\')',
    'fuzz:actor/api.f13("s")', 'fuzz:actor/api.f14([1, 2])', 'fuzz:actor/api.f15([{x: 1.0, y: 2.0, label: \'l\'}])',
    'fuzz:actor/api.f16(some([0]))', 'fuzz:actor/api.f17(err("e"))', 'fuzz:actor/api.f18(ok)',
    'fuzz:actor/api.f20((false, several((-1, 2)), none))', 'fuzz:actor/api.f21({count: 5, items: ["a"]})',
    'fuzz:actor/api.f23(nothing)', 'fuzz:actor/api.f24(leaf(1))', 'fuzz:actor/api.two("a", square(3))',
    'theater:simple/actor.init(none)', 'theater:simple/actor.init(some([1, 2]))',
    'theater:simple/state-actor.add(5)',
]
for c in zoo_calls + pack_calls:
    write("wave_args", c)

# Answers files: the fixtures', and a Pack one with `cgrf:` answers.
for path in sorted(glob.glob(os.path.join(ROOT, "fixtures", "components", "*.answers.json"))):
    write("answers_file", open(path).read())
for path in sorted(glob.glob(os.path.join(ROOT, "tests", "**", "*answers*.json"), recursive=True)):
    write("answers_file", open(path).read())
write("answers_file", json.dumps({
    "fuzz:host/io#f": ["cgrf:434752460200000001000000000000000b0000000400000000000000", "{count: 1, items: []}",
                        "several((1, 2))", "[{x: 1.0, y: -2.5, label: 'z'}]", "node((leaf(1), leaf(2)))"],
    "theater:simple/runtime#log": ["()"],
}))

# record_verify: wasm-smith makes a module of any bytes; seeds of several lengths (a longer
# input gives a larger module), from a fixed seed so that a rerun writes the same files.
rng = random.Random(23)
for length in [16, 64, 256, 1024, 4096] * 30:
    write("record_verify", bytes(rng.getrandbits(8) for _ in range(length)))
