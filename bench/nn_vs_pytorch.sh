#!/bin/sh
# nn_vs_pytorch.sh — kiln against PyTorch on the course's networks, in one
# run on one machine (issue 7, acceptance 5):
#   Fashion-MNIST 784-256-128-10, Adam 1e-3, batch 128, EPOCHS epochs:
#     training wall time (data loading excluded), kiln/PyTorch time ratio,
#     test accuracy, peak RSS of each process;
#   the Iris 4-16-3 training step at batch 120: median microseconds.
# Both sides use the same network, Glorot-uniform init, optimizer, batch,
# per-epoch shuffling and thread count T (kiln threads = torch threads).
# kiln runs twice: the low-level API (bench/nn_train.c --api low, a plain
# loop over one compiled step) and kiln_fit (--api fit).
#
#   bench/nn_vs_pytorch.sh [BUILD_DIR]      (default: build)
#   env: EPOCHS (10), THREADS ("1 2"), APIS ("low fit"), IRIS_STEPS (5000)
#
# The numbers depend on what else the machine runs: the load average is
# printed before and after; compare only numbers from the same run.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
bench="$build/bench/bench_nn_train"
EPOCHS=${EPOCHS:-10}
THREADS=${THREADS:-"1 2"}
APIS=${APIS:-"low fit"}
IRIS_STEPS=${IRIS_STEPS:-5000}
[ -x "$bench" ] || { echo "nn_vs_pytorch: no $bench (build kiln with LLVM first)" >&2; exit 1; }
python3 -c 'import torch' 2>/dev/null || { echo "nn_vs_pytorch: python3 cannot import torch" >&2; exit 1; }

out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "load before: $(cat /proc/loadavg) on $(nproc) cores"
for t in $THREADS; do
    for api in $APIS; do
        echo "  kiln ($api), $t thread(s)..."
        "$bench" --threads "$t" --epochs "$EPOCHS" --api "$api" --iris-steps "$IRIS_STEPS" >> "$out"
    done
    echo "  PyTorch, $t thread(s)..."
    python3 "$here/pytorch_fashion.py" --threads "$t" --epochs "$EPOCHS" 2>/dev/null >> "$out"
    python3 "$here/pytorch_iris.py" --threads "$t" --steps "$IRIS_STEPS" 2>/dev/null >> "$out"
done
echo "load after:  $(cat /proc/loadavg)"

awk -v epochs="$EPOCHS" '
function get(line, key,   n, i, kv) {
    n = split(line, kv, " ")
    for (i = 1; i <= n; i++)
        if (index(kv[i], key "=") == 1)
            return substr(kv[i], length(key) + 2)
    return ""
}
{
    impl = get($0, "impl"); t = get($0, "threads")
    if (get($0, "train_s") != "") {
        key = impl SUBSEP t
        if (!(key in train)) order[++n] = key
        train[key] = get($0, "train_s"); acc[key] = get($0, "test_acc")
        rss[key] = get($0, "peak_rss_mb"); cpu[key] = get($0, "cpu_s")
    }
    if (get($0, "iris_step_us") != "") {
        if (!((impl SUBSEP t) in train) && !((impl SUBSEP t) in iris)) order[++n] = impl SUBSEP t
        iris[impl SUBSEP t] = get($0, "iris_step_us")
    }
}
END {
    printf "\nFashion-MNIST 784-256-128-10, Adam 1e-3, batch 128, %d epochs; Iris 4-16-3 step, batch 120\n", epochs
    printf "%-10s %7s %9s %11s %7s %9s %12s %13s\n", "impl", "threads", "train s", "vs PyTorch", "CPU s", "test acc", "peak RSS MB", "iris step us"
    for (i = 1; i <= n; i++) {
        split(order[i], k, SUBSEP)
        p = "pytorch" SUBSEP k[2]
        ratio = (k[1] != "pytorch" && train[p] > 0 && train[order[i]] != "") ? sprintf("%.2fx", train[order[i]] / train[p]) : "-"
        printf "%-10s %7s %9s %11s %7s %9s %12s %13s\n", k[1], k[2], train[order[i]], ratio, cpu[order[i]], acc[order[i]], rss[order[i]], iris[order[i]]
    }
    printf "(train s: wall time of training, kiln compile included; CPU s: whole process up to\n"
    printf " the test accuracy, data loading included; kiln-fit pads the last partial batch:\n"
    printf " 469 steps/epoch vs 468)\n"
}' "$out"
