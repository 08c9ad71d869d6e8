# shellcheck shell=bash
# deps.sh — the Debian 12 packages kiln needs to build and test, in one
# place; sourced by scripts/quickstart.sh and .ci/run.
#
#   gcc, libc6-dev           compiler and C headers (gcc only recommends
#                            libc6-dev; recommends are not installed)
#   pkg-config               finding cmocka; using the installed kiln.pc
#   meson, ninja-build       the build (meson pulls in python3 itself)
#   libcmocka-dev            the test framework
#   zlib1g-dev               reading gzipped MNIST IDX files (the demo)
#   g++, llvm-19-dev         the CPU backend: LLVM's C API (meson's llvm
#                            dependency wants a C++ compiler to link it)
#   dataset-fashion-mnist    the demo's data set
KILN_DEB_PACKAGES=(gcc g++ libc6-dev pkg-config meson ninja-build libcmocka-dev zlib1g-dev
                   llvm-19-dev dataset-fashion-mnist)
# CI also builds against Debian 12's default LLVM (14) to keep it working.
KILN_CI_EXTRA_PACKAGES=(llvm-14-dev)

# Print the packages of KILN_DEB_PACKAGES that are not installed.
kiln_missing_packages() {
    local p
    for p in "${KILN_DEB_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
            grep -q '^install ok installed$' || echo "$p"
    done
}

# Install whatever is missing (apt-get update first, only then); as root
# directly, otherwise through sudo.  Non-interactive.
kiln_install_deps() {
    local missing
    mapfile -t missing < <(kiln_missing_packages)
    if [ ${#missing[@]} -eq 0 ]; then
        echo "deps: all installed (${KILN_DEB_PACKAGES[*]})"
        return 0
    fi
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || {
            echo "deps: missing packages: ${missing[*]}" >&2
            echo "deps: not root and no sudo; install them and rerun" >&2
            return 1
        }
        sudo=(sudo)
    fi
    echo "deps: installing ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Extra `meson setup` arguments for this machine, one per line.  Debian
# 12's default llvm-config is LLVM 14; when LLVM 19 is installed
# (llvm-19-dev), point meson at it.  Without LLVM the CPU backend is
# compiled out and everything else still builds.
kiln_meson_setup_args() {
    local root=${1:-.}
    if [ -x /usr/lib/llvm-19/bin/llvm-config ] &&
        [ -f "$root/meson/llvm-19.ini" ]; then
        echo "--native-file"
        echo "$root/meson/llvm-19.ini"
    fi
}
