#!/usr/bin/env bash
# make diff: an offline CloudFormation diff of every keygate stack between BASE
# (a git ref, default the merge base with main) and the working tree. No AWS
# credentials: both sides are synthesized here, BASE in a temporary worktree.
#
#   BASE=<ref>        what to compare against
#   FAIL_ON=replace   exit 1 when the guard finds a change that deletes or
#                     replaces an API key, usage plan, stage, API or log group
#
# Exit status: 0, 1 (guarded changes with FAIL_ON=replace), 2 (could not
# compare), 3 (a change AWS would refuse). `make diff` runs this script, and
# GNU make turns any failing recipe into its own status 2: run
# scripts/diff.sh directly when the status matters.
#
# KEYGATE_CDK and KEYGATE_GUARD replace the CDK CLI and the guard binary
# (tests run the script with fakes); by default the pinned CLI and a guard
# built from the working tree.
set -euo pipefail

root=$(git rev-parse --show-toplevel)
cd "$root"
cdk=${KEYGATE_CDK:-"$root/node_modules/.bin/cdk"}

base=${BASE:-}
if [ -z "$base" ]; then
  for candidate in origin/main main; do
    if git rev-parse --verify --quiet "$candidate^{commit}" >/dev/null; then
      base=$(git merge-base HEAD "$candidate")
      break
    fi
  done
fi
if [ -z "$base" ]; then
  echo "make diff: no BASE given and no main branch to take the merge base with; use make diff BASE=<ref>" >&2
  exit 2
fi
base_commit=$(git rev-parse --verify "$base^{commit}") || { echo "make diff: BASE=$base is not a commit" >&2; exit 2; }

work=$(mktemp -d)
cleanup() {
  git worktree remove --force "$work/base" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "synthesizing BASE $base ($(git log -1 --format='%h %s' "$base_commit"))" >&2
git worktree add --detach --quiet "$work/base" "$base_commit"
mkdir -p "$work/base-out"
if [ -f "$work/base/cdk.json" ]; then
  (cd "$work/base" && "$cdk" synth --quiet --output "$work/base-out" >/dev/null)
else
  echo "BASE has no cdk.json: every resource counts as added" >&2
fi

echo "synthesizing the working tree" >&2
"$cdk" synth --quiet --output "$work/head-out" >/dev/null

guard=${KEYGATE_GUARD:-}
if [ -z "$guard" ]; then
  go build -o "$work/guard" ./cmd/guard
  guard="$work/guard"
fi
guarded=0
refused=0
for head_template in "$work"/head-out/keygate-*.template.json; do
  stack=$(basename "$head_template" .template.json)
  base_template="$work/base-out/$stack.template.json"
  [ -f "$base_template" ] || echo '{"Resources": {}}' > "$base_template"

  # cdk diff writes its report to stderr; --app points at the synthesized
  # assembly so nothing is synthesized twice. It compares root templates
  # only, so the summary (and the keys, which live in nested stacks) comes
  # from the guard.
  report=$("$cdk" diff --app "$work/head-out" --template "$base_template" "$stack" 2>&1 || true)

  echo
  echo -n "=== "
  "$guard" -summary "$work/base-out" "$work/head-out" "$stack"
  if "$guard" "$work/base-out" "$work/head-out" "$stack"; then :; else
    status=$?
    case "$status" in
      1) guarded=1 ;;
      3) refused=1 ;; # AWS would fail this deploy: reported, then exit 3 below
      *) exit "$status" ;;
    esac
  fi
  echo "$report"
done

# A stack BASE synthesizes and the working tree does not: an environment
# removed from cdk.json. A deploy never deletes a stack (cdk deploy only
# creates and updates), so nothing goes from AWS, but say so rather than
# stay silent.
for base_template in "$work"/base-out/keygate-*.template.json; do
  [ -f "$base_template" ] || continue
  stack=$(basename "$base_template" .template.json)
  [ -f "$work/head-out/$stack.template.json" ] && continue
  echo
  echo "=== $stack: removed (BASE synthesizes it, the working tree does not). Removing an environment from cdk.json does not delete its deployed stack, its API keys or its logs: the deploy workflow no longer updates it. Delete it by hand (cdk destroy $stack, or aws cloudformation delete-stack) if that is intended; its keys are retained in API Gateway"
done

if [ "$refused" -eq 1 ]; then
  echo "make diff: a change AWS would refuse (REFUSE above; no label allows it): make it the way its message says" >&2
  exit 3
fi
if [ "$guarded" -eq 1 ] && [ "${FAIL_ON:-}" = "replace" ]; then
  echo "make diff: guarded changes found (FAIL_ON=replace)" >&2
  exit 1
fi
