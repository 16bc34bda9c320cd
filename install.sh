#!/bin/sh
# Builds and installs the cio-hook binary, and with --hooks its git hooks into a repository.
#
#   ./install.sh                      build and install cio-hook with cargo install, where cargo
#                                     installs: $CARGO_INSTALL_ROOT/bin, cargo's install.root,
#                                     else ~/.cargo/bin ($CARGO_HOME/bin)
#   ./install.sh --hooks [REPO]       ... and install the hooks (pre-commit, pre-merge-commit,
#                                     commit-msg, pre-push) into REPO
#   ./install.sh --hooks REPO --force keep REPO's existing hooks, chained after cio-hook's check
#   ./install.sh --root DIR           install the binary into DIR/bin instead
#   ./install.sh --no-build --hooks   only install the hooks, with cio-hook already installed
#
# Arguments are checked before the build. A cio-hook that cargo installed there before is
# replaced (and the script says so); any other file of that name is left alone and the install
# fails. The hooks call the installed binary by the absolute path cargo reports, so they find it
# even when its directory is not on PATH.
# Exit codes: 0 done, 1 the build or the hook installation failed, 2 usage error.
set -eu

usage() {
    sed -n '2,17s/^# \{0,1\}//p' "$0"
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
    # cargo alone knows where it installs (--root, CARGO_INSTALL_ROOT, install.root in any
    # config file, CARGO_HOME): its "Installing PATH" or "Replacing PATH" line says it.
    log=$(mktemp) && status=$(mktemp) || exit 1
    trap 'rm -f "$log" "$status"' EXIT
    set -- install --locked --color never --path "$here"
    [ -z "$root" ] || set -- "$@" --root "$root"
    {
        cargo "$@" 2>&1
        echo $? >"$status"
    } | tee "$log" >&2
    if [ "$(cat "$status")" != 0 ]; then
        if grep -q 'already exists in destination' "$log"; then
            echo "install.sh: a cio-hook that cargo did not install is in the way (see above);" \
                "remove it, or install elsewhere with --root DIR" >&2
        fi
        exit 1
    fi
    bin=$(sed -n -e 's/^ *Installing \(\/.*cio-hook\)$/\1/p' -e 's/^ *Replacing \(\/.*cio-hook\)$/\1/p' \
        "$log" | tail -n 1)
    [ -n "$bin" ] && [ -x "$bin" ] || {
        echo "install.sh: cargo install finished but did not say where it put cio-hook" >&2
        exit 1
    }
    if grep -q '^ *Replacing ' "$log"; then
        echo "installed $bin (replacing the cio-hook cargo had installed there)"
    else
        echo "installed $bin"
    fi
elif [ -n "$root" ]; then
    bin="$root/bin/cio-hook"
    [ -x "$bin" ] || {
        echo "install.sh: --no-build: $bin is not installed" >&2
        exit 1
    }
elif [ -n "${CARGO_INSTALL_ROOT:-}" ]; then
    bin="$CARGO_INSTALL_ROOT/bin/cio-hook"
    [ -x "$bin" ] || {
        echo "install.sh: --no-build: $bin (from CARGO_INSTALL_ROOT) is not installed" >&2
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
