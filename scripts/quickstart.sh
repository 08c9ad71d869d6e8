#!/usr/bin/env bash
# quickstart.sh — from a fresh Debian 12 checkout to a running kiln.
#
#   scripts/quickstart.sh demo   install what is missing, build, run the demo
#   scripts/quickstart.sh test   install what is missing, build, run all tests
#
# Missing Debian packages are installed with apt-get (through sudo when
# not root).  The build goes to build/ in the source tree.
set -euo pipefail

# The demo: trains an MLP on Fashion-MNIST with the compiled, fused
# training step (3 epochs), then compares fused and unfused step time.
DEMO_CMD=(build/examples/demo 3)

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=scripts/deps.sh
source scripts/deps.sh

usage() {
    echo "usage: $0 demo|test" >&2
    exit 2
}

build() {
    kiln_install_deps
    if [ ! -f build/build.ninja ]; then
        local args
        mapfile -t args < <(kiln_meson_setup_args "$root")
        meson setup build "${args[@]}"
    fi
    ninja -C build
}

[ $# -eq 1 ] || usage
case "$1" in
demo)
    build
    echo "+ ${DEMO_CMD[*]}"
    "${DEMO_CMD[@]}"
    ;;
test)
    build
    meson test -C build --print-errorlogs
    ;;
*)
    usage
    ;;
esac
