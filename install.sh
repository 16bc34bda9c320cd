#!/bin/sh
# Builds and installs the cio-hook binary, and with --hooks its git hooks into a repository.
#
#   ./install.sh                      build and install cio-hook (cargo install, into ~/.cargo/bin)
#   ./install.sh --hooks [REPO]       ... and install the pre-commit and pre-push hooks in REPO
#   ./install.sh --hooks REPO --force keep REPO's existing hooks, chained after cio-hook's check
#   ./install.sh --root DIR           install the binary into DIR/bin instead
#   ./install.sh --no-build --hooks   only install the hooks, with the cio-hook already on PATH
#
# Exit codes: 0 done, 1 the build or the hook installation failed, 2 usage error.
set -eu

usage() {
    sed -n '2,9s/^# \{0,1\}//p' "$0"
}

hooks=0
repo=.
force=
root=
build=1
while [ $# -gt 0 ]; do
    case "$1" in
        --hooks)
            hooks=1
            if [ $# -gt 1 ] && [ "${2#-}" = "$2" ]; then
                repo=$2
                shift
            fi
            ;;
        --force) force=--force ;;
        --no-build) build=0 ;;
        --root)
            [ $# -gt 1 ] || { echo "install.sh: --root needs a directory" >&2; exit 2; }
            root=$2
            shift
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            echo "install.sh: unknown argument: $1" >&2
            usage >&2
            exit 2
            ;;
    esac
    shift
done

here=$(cd "$(dirname "$0")" && pwd)

if [ "$build" = 1 ]; then
    command -v cargo >/dev/null 2>&1 || {
        echo "install.sh: cargo is not on PATH; install Rust from https://rustup.rs first" >&2
        exit 1
    }
    if [ -n "$root" ]; then
        cargo install --locked --quiet --force --path "$here" --root "$root" || exit 1
        bin="$root/bin/cio-hook"
    else
        cargo install --locked --quiet --force --path "$here" || exit 1
        bin="${CARGO_HOME:-$HOME/.cargo}/bin/cio-hook"
    fi
    echo "installed $bin"
    command -v cio-hook >/dev/null 2>&1 || echo "note: $(dirname "$bin") is not on PATH; add it so the hooks can find cio-hook"
else
    bin=$(command -v cio-hook) || {
        echo "install.sh: --no-build needs cio-hook on PATH" >&2
        exit 1
    }
fi

if [ "$hooks" = 1 ]; then
    "$bin" -C "$repo" install --pre-push $force || exit 1
fi
