#!/usr/bin/env bash
# make diff: an offline CloudFormation diff of every keygate stack between BASE
# (a git ref, default the merge base with main) and the working tree. No AWS
# credentials: both sides are synthesized here, BASE in a temporary worktree.
#
#   BASE=<ref>        what to compare against
#   FAIL_ON=replace   exit 1 when the guard finds a change that deletes or
#                     replaces an API key, usage plan, stage, API or log group
set -euo pipefail

root=$(git rev-parse --show-toplevel)
cd "$root"
cdk="$root/node_modules/.bin/cdk"

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

go build -o "$work/guard" ./cmd/guard
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
  "$work/guard" -summary "$work/base-out" "$work/head-out" "$stack"
  if "$work/guard" "$work/base-out" "$work/head-out" "$stack"; then :; else
    status=$?
    case "$status" in
      1) guarded=1 ;;
      3) refused=1 ;; # AWS would fail this deploy: reported, then exit 3 below
      *) exit "$status" ;;
    esac
  fi
  echo "$report"
done

if [ "$refused" -eq 1 ]; then
  echo "make diff: a change AWS would refuse (REFUSE above; no label allows it): make it the way its message says" >&2
  exit 3
fi
if [ "$guarded" -eq 1 ] && [ "${FAIL_ON:-}" = "replace" ]; then
  echo "make diff: guarded changes found (FAIL_ON=replace)" >&2
  exit 1
fi
