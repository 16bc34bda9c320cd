#!/bin/sh
# Scans the commits of a pull request (GitHub) or merge request (GitLab) with `cio-hook
# scan-range`, prints the text report, writes a SARIF report, and exits as cio-hook does:
# 0 nothing blocks, 1 a token was found, 2 error (such as a base commit missing from a shallow
# clone). Used by action.yml and ci/gitlab-cio-hook.yml; runs anywhere with the variables below.
#
# The range BASE..HEAD comes from, in order:
#   CIO_HOOK_BASE, CIO_HOOK_HEAD          set by hand (HEAD defaults to HEAD)
#   GitLab merge request pipelines        CI_MERGE_REQUEST_DIFF_BASE_SHA..CI_COMMIT_SHA
#   GitLab branch pipelines               CI_COMMIT_BEFORE_SHA..CI_COMMIT_SHA
#   GitHub pull_request(_target) events   pull_request.base.sha (GITHUB_EVENT_PATH)..GITHUB_SHA,
#                                         else origin/GITHUB_BASE_REF..GITHUB_SHA
#   GitHub push events                    before..after (GITHUB_EVENT_PATH)
# Without a base (a new branch), all of HEAD's history is scanned.
#
#   CIO_HOOK_SARIF   where the SARIF report goes (default cio-hook.sarif)
#   CIO_HOOK         the cio-hook binary (default: cio-hook on PATH)
set -u

cio_hook=${CIO_HOOK:-cio-hook}
sarif=${CIO_HOOK_SARIF:-cio-hook.sarif}
zero=0000000000000000000000000000000000000000

say() { printf 'cio-hook CI: %s\n' "$*" >&2; }

# A string field of the GitHub event payload ("" when absent): jq, else python3.
event_field() {
    [ -n "${GITHUB_EVENT_PATH:-}" ] && [ -r "$GITHUB_EVENT_PATH" ] || return 0
    if command -v jq >/dev/null 2>&1; then
        jq -r "$1 // empty" "$GITHUB_EVENT_PATH"
    else
        python3 -c '
import json, sys
value = json.load(open(sys.argv[1]))
for key in sys.argv[2].lstrip(".").split("."):
    value = value.get(key) if isinstance(value, dict) else None
print(value if isinstance(value, str) else "")' "$GITHUB_EVENT_PATH" "$1"
    fi
}

base=${CIO_HOOK_BASE:-}
head=${CIO_HOOK_HEAD:-}
if [ -n "$base$head" ]; then
    source="CIO_HOOK_BASE/CIO_HOOK_HEAD"
elif [ -n "${CI_MERGE_REQUEST_DIFF_BASE_SHA:-}" ]; then
    source="GitLab merge request"
    base=$CI_MERGE_REQUEST_DIFF_BASE_SHA
    head=${CI_COMMIT_SHA:-}
elif [ -n "${GITLAB_CI:-}" ]; then
    source="GitLab pipeline"
    base=${CI_COMMIT_BEFORE_SHA:-}
    head=${CI_COMMIT_SHA:-}
elif [ -n "${GITHUB_ACTIONS:-}" ]; then
    case ${GITHUB_EVENT_NAME:-} in
        pull_request | pull_request_target)
            source="GitHub pull request"
            base=$(event_field .pull_request.base.sha)
            if [ -z "$base" ] && [ -n "${GITHUB_BASE_REF:-}" ]; then
                base=origin/$GITHUB_BASE_REF
            fi
            head=${GITHUB_SHA:-}
            ;;
        *)
            source="GitHub ${GITHUB_EVENT_NAME:-event}"
            base=$(event_field .before)
            head=$(event_field .after)
            [ -n "$head" ] || head=${GITHUB_SHA:-}
            ;;
    esac
else
    say "no range: set CIO_HOOK_BASE (and CIO_HOOK_HEAD), or run in GitHub Actions or GitLab CI"
    exit 2
fi
[ -n "$head" ] || head=HEAD
[ "$base" = "$zero" ] && base=""

for commit in $base $head; do
    if ! git rev-parse -q --verify "$commit^{commit}" >/dev/null 2>&1; then
        say "commit $commit is not in this clone; fetch the whole history (actions/checkout:"
        say "fetch-depth: 0; GitLab: GIT_DEPTH: 0)"
        exit 2
    fi
done

if [ -n "$base" ]; then
    range=$base..$head
else
    range=$head
    say "no base commit ($source): scanning all of $head's history"
fi
say "scanning $range ($source)"

"$cio_hook" scan-range "$range"
status=$?
"$cio_hook" --format sarif scan-range "$range" >"$sarif"
sarif_status=$?
if [ $sarif_status -ne 0 ] && [ $sarif_status -ne 1 ]; then
    say "could not write the SARIF report $sarif"
    exit 2
fi
say "SARIF report: $sarif"
if [ -n "${GITHUB_OUTPUT:-}" ]; then
    printf 'sarif=%s\n' "$sarif" >>"$GITHUB_OUTPUT"
fi
exit $status
