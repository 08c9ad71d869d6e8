#!/usr/bin/env bash
# gpu-check.sh — on a machine with an NVIDIA GPU: build kiln with the CUDA
# backend, run the whole test suite (the CUDA tests then run on the GPU
# instead of skipping), and print a short benchmark table: fused against
# unfused workloads (device time), device-to-device copy bandwidth as the
# roof, and an MLP training step against the reference for 10 steps.
#
#   scripts/gpu-check.sh [BUILD_DIR]        (default: build-gpu)
#
# Environment: KILN_GPU_CHECK_APT=1 lets it `apt-get install` missing
# Debian packages (off by default: GPU machines often have no network);
# CUDA_HOME (default /usr/local/cuda); KILN_GPU_CHECK_SKIP_TESTS=1 skips the
# suite (to try the script's other stages quickly); KILN_CUDA_DRIVER, if
# set, is passed on (a fake driver: the stages run, the numbers are not).  Meant to finish in under 8 minutes
# on 16 cores; each stage has its own time limit.  Exit code 0 when the
# suite passes, the fused chain reaches 80% of the copy roof and the MLP
# matches the reference; 1 otherwise; 2 when something needed is missing.
set -u

cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
BUILD=${1:-build-gpu}
CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
JOBS=$(nproc 2>/dev/null || echo 4)
START=$(date +%s)
LOG=$BUILD-logs
mkdir -p "$LOG"

say() { printf '[gpu-check %3ds] %s\n' "$(($(date +%s) - START))" "$*"; }

# ---- 1. what is there --------------------------------------------------
LLVM_CONFIG=""
for c in /usr/lib/llvm-19/bin/llvm-config llvm-config-19; do
    if command -v "$c" >/dev/null 2>&1; then LLVM_CONFIG=$(command -v "$c"); break; fi
done

missing=()
command -v cc >/dev/null || missing+=("a C compiler (gcc)")
command -v meson >/dev/null || missing+=("meson")
command -v ninja >/dev/null || missing+=("ninja (ninja-build)")
command -v pkg-config >/dev/null || missing+=("pkg-config")
pkg-config --exists cmocka 2>/dev/null || missing+=("cmocka (libcmocka-dev)")
[ -x "$CUDA_HOME/bin/nvcc" ] || [ -f "$CUDA_HOME/include/nvrtc.h" ] ||
    missing+=("the CUDA toolkit with NVRTC at $CUDA_HOME")

if [ ${#missing[@]} -gt 0 ] && [ "${KILN_GPU_CHECK_APT:-0}" = 1 ]; then
    say "missing: ${missing[*]}; trying apt-get (KILN_GPU_CHECK_APT=1)"
    # shellcheck source=scripts/deps.sh
    . "$ROOT/scripts/deps.sh"
    kiln_install_deps || say "apt-get failed"
    exec env KILN_GPU_CHECK_APT=0 "$0" "$@"
fi
if [ ${#missing[@]} -gt 0 ]; then
    say "cannot build; missing:"
    printf '  - %s\n' "${missing[@]}"
    say "(install them, or rerun with KILN_GPU_CHECK_APT=1 where apt-get may run)"
    exit 2
fi
[ -n "$LLVM_CONFIG" ] || say "note: no LLVM 19 (llvm-19-dev): building without the CPU backend"

GPU="none found"
if command -v nvidia-smi >/dev/null; then
    GPU=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
fi
if ! ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1'; then
    say "warning: no libcuda.so.1 in the loader cache: the CUDA tests will skip"
fi
say "GPU: $GPU; CUDA toolkit: $CUDA_HOME; $JOBS cores"

# ---- 2. build ------------------------------------------------------------
setup=(-Dcuda=enabled -Dbuildtype=debugoptimized)
[ -n "$LLVM_CONFIG" ] && setup+=(--native-file "$ROOT/meson/llvm-19.ini")
if [ ! -f "$BUILD/build.ninja" ]; then
    say "meson setup $BUILD"
    if ! timeout 120 meson setup "$BUILD" "${setup[@]}" >"$LOG/setup.log" 2>&1; then
        tail -20 "$LOG/setup.log"; say "meson setup failed ($LOG/setup.log)"; exit 1
    fi
fi
say "building with $JOBS jobs"
if ! timeout 240 ninja -C "$BUILD" -j "$JOBS" >"$LOG/build.log" 2>&1; then
    grep -E 'error|FAILED' "$LOG/build.log" | head -20; say "build failed ($LOG/build.log)"; exit 1
fi

# ---- 3. the whole suite -------------------------------------------------
# NVRTC output is shared by every test through the disk cache.
export KILN_CUDA_CACHE_DIR=${KILN_CUDA_CACHE_DIR:-$ROOT/$BUILD/cuda-cache}
[ -n "${KILN_CUDA_DRIVER:-}" ] && say "note: KILN_CUDA_DRIVER=$KILN_CUDA_DRIVER (not the real driver)"
if [ "${KILN_GPU_CHECK_SKIP_TESTS:-0}" = 1 ]; then
    say "skipping the test suite (KILN_GPU_CHECK_SKIP_TESTS=1)"
    echo "Skipped: all" >"$LOG/test.log"
    suite_rc=1
else
    say "running the whole test suite"
    timeout 300 meson test -C "$BUILD" --num-processes "$JOBS" --print-errorlogs \
        >"$LOG/test.log" 2>&1
    suite_rc=$?
fi
summary=$(grep -E '^(Ok|Expected Fail|Fail|Unexpected Pass|Skipped|Timeout):' "$LOG/test.log" | tr -s ' ' | paste -sd ' ')
say "suite: ${summary:-no summary (see $LOG/test.log)} (exit $suite_rc)"
grep -E '^ *[0-9]+/[0-9]+ .*(FAIL|TIMEOUT)' "$LOG/test.log" | head -20
grep -E 'cuda_device' "$LOG/test.log" | head -3

# ---- 4. the benchmark table ---------------------------------------------
BENCH=$BUILD/bench/bench_cuda
if [ ! -x "$BENCH" ]; then
    # Not (yet) in bench/meson.build: link it against the static library.
    BENCH=$BUILD/bench_cuda
    libs=(-L"$CUDA_HOME/lib64" -lnvrtc -lm -lpthread -ldl)
    if [ -n "$LLVM_CONFIG" ]; then
        read -r -a llvm_libs <<<"$("$LLVM_CONFIG" --ldflags --libs core native orcjit passes target | tr "\n" " ")"
        libs+=("${llvm_libs[@]}" -lstdc++)
    fi
    pkg-config --exists zlib 2>/dev/null && libs+=(-lz)
    if ! cc -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -DKILN_HAVE_CUDA=1 -I include -I src \
        -I "$CUDA_HOME/include" bench/cuda_fusion.c "$BUILD/src/libkiln.a" "${libs[@]}" \
        -o "$BENCH" >"$LOG/bench-build.log" 2>&1; then
        head -20 "$LOG/bench-build.log"; say "cannot build the benchmark"; exit 1
    fi
fi
say "benchmark (device times)"
timeout 150 "$BENCH" 20 | tee "$LOG/bench.txt"
bench_rc=${PIPESTATUS[0]}

# ---- 5. verdict ----------------------------------------------------------
roof_pct=$(awk '/^\(a\) 8-op chain/ {gsub("%", "", $NF); print $NF}' "$LOG/bench.txt")
chain_ok=0
[ -n "$roof_pct" ] && awk -v p="$roof_pct" 'BEGIN {exit !(p >= 80)}' && chain_ok=1
echo
echo "gpu-check summary ($GPU), $(($(date +%s) - START)) s"
echo "  test suite:               $([ $suite_rc = 0 ] && echo PASS || echo FAIL) (${summary:-?})"
echo "  fused chain vs copy roof: ${roof_pct:-?}% (target >= 80%): $([ $chain_ok = 1 ] && echo PASS || echo FAIL)"
mlp=$(grep -Eo '(PASS|FAIL)$' "$LOG/bench.txt" | tail -1)
echo "  MLP 10 steps vs reference: ${mlp:-FAIL}"
echo "  logs: $LOG/"
[ "$suite_rc" = 0 ] && [ "$bench_rc" = 0 ] && [ "$chain_ok" = 1 ] && exit 0
exit 1
