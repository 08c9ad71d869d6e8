#!/bin/sh
# run.sh — build the text-format fuzzer with clang + libFuzzer and run it.
#
#   tests/fuzz/run.sh [SECONDS] [extra libFuzzer flags...]
#
# SECONDS defaults to 60.  Work files go to $KILN_FUZZ_DIR (default
# build-fuzz/ in the source root): the binary, the growing corpus (seeded
# from examples/graphs and the ```kiln blocks of docs/text-format.md) and
# crash artifacts.  Needs clang with libFuzzer (Debian: clang-14 and
# libclang-rt-14-dev).  Exit status is libFuzzer's: 0 when nothing was found.
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-60}
[ $# -gt 0 ] && shift
out=${KILN_FUZZ_DIR:-$root/build-fuzz}
cc=${CC_FUZZ:-clang}

mkdir -p "$out/corpus" "$out/seed" "$out/artifacts"

# The parser and printer live in src/ir, which depends on nothing else of
# kiln (DESIGN.md), so the fuzzer builds from that layer alone.
"$cc" -g -O1 -std=c11 -D_POSIX_C_SOURCE=200809L \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$root/include" -I"$root/src" \
    "$root"/src/ir/*.c "$root/tests/fuzz/fuzz_parse.c" -lm \
    -o "$out/fuzz_parse"

# Seeds: every example graph and every kiln block of the format's doc.
cp "$root"/examples/graphs/*.kiln "$out/seed/"
if [ -f "$root/docs/text-format.md" ]; then
    awk -v dir="$out/seed" '
        /^```kiln/ { n++; f = sprintf("%s/doc%03d.kiln", dir, n); on = 1; next }
        /^```/     { on = 0; next }
        on         { print > f }' "$root/docs/text-format.md"
fi

# A dictionary of the format's words helps libFuzzer reach deep lines.
dict="$out/kiln.dict"
cat "$root/tests/fuzz/kiln.dict" > "$dict"
sed -n 's/^OP([A-Z_0-9]*, *\("[a-z_0-9]*"\).*/\1/p' "$root/src/ir/ops.def" \
    >> "$dict"

export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
exec "$out/fuzz_parse" -max_total_time="$secs" -print_final_stats=1 \
    -artifact_prefix="$out/artifacts/" -dict="$dict" \
    "$@" "$out/corpus" "$out/seed"
