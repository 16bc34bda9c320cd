#!/bin/sh
# Builds and installs the cio-hook binary, and with --hooks its git hooks into a repository.
#
#   ./install.sh                      build and install cio-hook (cargo install, into ~/.cargo/bin)
#   ./install.sh --hooks [REPO]       ... and install the hooks (pre-commit, pre-merge-commit,
#                                     commit-msg, pre-push) into REPO
#   ./install.sh --hooks REPO --force keep REPO's existing hooks, chained after cio-hook's check
#   ./install.sh --root DIR           install the binary into DIR/bin instead
#   ./install.sh --no-build --hooks   only install the hooks, with cio-hook already installed
#
# Arguments are checked before the build. The hooks call the installed binary by its absolute
# path, so they find it even when its directory is not on PATH.
# Exit codes: 0 done, 1 the build or the hook installation failed, 2 usage error.
set -eu

usage() {
    sed -n '2,13s/^# \{0,1\}//p' "$0"
}

usage_error() {
    echo "install.sh: $1" >&2
    exit 2
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
            [ $# -gt 1 ] || usage_error "--root needs a directory"
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

# Everything that can be checked is checked before a build of several minutes.
if [ "$hooks" = 1 ]; then
    [ -d "$repo" ] || usage_error "--hooks $repo: no such directory"
    command -v git >/dev/null 2>&1 || usage_error "git is not on PATH; it is needed for --hooks"
    git -C "$repo" rev-parse --git-dir >/dev/null 2>&1 ||
        usage_error "--hooks $repo: not a git repository"
fi
if [ -n "$root" ]; then
    case "$root" in
        /*) ;;
        *) root="$(pwd)/$root" ;;
    esac
fi

here=$(cd "$(dirname "$0")" && pwd)

if [ "$build" = 1 ]; then
    command -v cargo >/dev/null 2>&1 || {
        echo "install.sh: cargo is not on PATH; install Rust from https://rustup.rs first" >&2
        exit 1
    }
    echo "install.sh: building cio-hook with cargo (a few minutes the first time)" >&2
    if [ -n "$root" ]; then
        cargo install --locked --force --path "$here" --root "$root" || exit 1
        bin="$root/bin/cio-hook"
    else
        cargo install --locked --force --path "$here" || exit 1
        bin="${CARGO_HOME:-$HOME/.cargo}/bin/cio-hook"
    fi
    echo "installed $bin"
elif [ -n "$root" ]; then
    bin="$root/bin/cio-hook"
    [ -x "$bin" ] || {
        echo "install.sh: --no-build: $bin is not installed" >&2
        exit 1
    }
else
    bin=$(command -v cio-hook) || {
        echo "install.sh: --no-build needs cio-hook on PATH (or --root DIR)" >&2
        exit 1
    }
fi
on_path=$(command -v cio-hook 2>/dev/null) || on_path=
if [ -z "$on_path" ]; then
    echo "note: $(dirname "$bin") is not on PATH; the hooks call $bin by its full path," \
        "add the directory to PATH to run cio-hook yourself"
elif [ "$on_path" != "$bin" ]; then
    echo "note: cio-hook on PATH is $on_path; the hooks call $bin"
fi

if [ "$hooks" = 1 ]; then
    "$bin" -C "$repo" install --pre-push $force || exit 1
fi
