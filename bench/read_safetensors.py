#!/usr/bin/env python3
"""An independent safetensors reader: Python's json and struct only, no kiln
code.  Checks the layout and prints, per tensor in name order, one line:

    NAME DTYPE [d0,d1,...] fnv1a=0xXXXXXXXX v0 v1 ...

fnv1a is the 32-bit FNV-1a hash of the tensor's raw little-endian bytes;
the values (Python repr, which round-trips exactly) follow when the tensor
has at most --max-values elements (default 64).  A first line
"metadata KEY=VALUE ..." shows __metadata__.  Exits 1 with a message on a
malformed file.

    python3 bench/read_safetensors.py model.safetensors
"""
import json
import struct
import sys

DTYPES = {"F32": ("<f", 4), "F64": ("<d", 8), "I32": ("<i", 4),
          "BOOL": ("<?", 1), "F16": ("<e", 2), "I64": ("<q", 8),
          "U8": ("<B", 1), "I8": ("<b", 1), "I16": ("<h", 2)}


def fnv1a(data):
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def fail(msg):
    print("read_safetensors: " + msg, file=sys.stderr)
    sys.exit(1)


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--max-values=")]
    limit = 64
    for a in argv[1:]:
        if a.startswith("--max-values="):
            limit = int(a.split("=", 1)[1])
    if len(args) != 1:
        fail("usage: read_safetensors.py [--max-values=N] FILE")
    with open(args[0], "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        fail("file shorter than 8 bytes")
    (hlen,) = struct.unpack("<Q", blob[:8])
    if 8 + hlen > len(blob):
        fail("header length %d past the end of the file" % hlen)
    header = json.loads(blob[8:8 + hlen].decode("utf-8"))
    data = blob[8 + hlen:]
    meta = header.pop("__metadata__", {})
    print("metadata " + " ".join("%s=%s" % kv for kv in sorted(meta.items())))
    spans = []
    for name in sorted(header):
        t = header[name]
        fmt, size = DTYPES[t["dtype"]]
        shape = t["shape"]
        begin, end = t["data_offsets"]
        numel = 1
        for d in shape:
            numel *= d
        if end - begin != numel * size or end > len(data):
            fail("%s: offsets [%d, %d] do not fit shape %s of %s"
                 % (name, begin, end, shape, t["dtype"]))
        spans.append((begin, end))
        raw = data[begin:end]
        line = "%s %s [%s] fnv1a=0x%08x" % (
            name, t["dtype"], ",".join(str(d) for d in shape), fnv1a(raw))
        if numel <= limit:
            vals = struct.unpack("<%d%s" % (numel, fmt[1]), raw)
            line += " " + " ".join(repr(int(v) if t["dtype"] == "BOOL" else v)
                                   for v in vals)
        print(line)
    at = 0
    for begin, end in sorted(spans):
        if begin != at:
            fail("tensors do not tile the data (gap or overlap at %d)" % at)
        at = end
    if at != len(data):
        fail("%d data bytes, tensors end at %d" % (len(data), at))


if __name__ == "__main__":
    main(sys.argv)
