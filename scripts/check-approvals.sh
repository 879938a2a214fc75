#!/usr/bin/env bash
# Before a deploy of STACK at GITHUB_SHA: decides which approvals of STACK in
# the approvals file may still be used, and writes only those to OUT for the
# guard (-allow OUT). An approval is single use per environment:
#
#   - its commit must have reached main: a commit in the history of
#     GITHUB_SHA (merge commits, fast-forwards), or the head of a pull request
#     merged into main, whose merge commit must then be in that history
#     (squash and rebase merges rewrite the reviewed commit);
#   - that commit (or merge commit) must not be in the history of the commit
#     STACK was last deployed from (DEPLOYED_COMMIT, scripts/deployed-commit.sh):
#     a deploy that went through after the approval landed has spent it.
#
# A spent approval is left out of OUT with a warning to remove it from the
# file; an approval whose commit never reached main fails the deploy.
#
#   check-approvals.sh STACK APPROVALS.json OUT.json
#
# Environment: GITHUB_SHA, GITHUB_REPOSITORY, GH_TOKEN (pull-requests: read),
# DEPLOYED_COMMIT (empty on a first deploy); a checkout with full history
# (fetch-depth: 0).
set -euo pipefail
usage="usage: check-approvals.sh STACK APPROVALS.json OUT.json"
stack=${1:?$usage}
approvals=${2:?$usage}
out=${3:?$usage}
: "${GITHUB_SHA:?}" "${GITHUB_REPOSITORY:?}"
deployed=${DEPLOYED_COMMIT:-}

fail() {
  echo "::error::$*" >&2
  exit 1
}

jq -e '.approvals | type == "array"' "$approvals" >/dev/null 2>&1 ||
  fail "$approvals is not an approvals file ({\"approvals\": [...]})"
if [ -n "$deployed" ] && ! [[ $deployed =~ ^[0-9a-f]{40}$ ]]; then
  fail "DEPLOYED_COMMIT '$deployed' is not a commit SHA"
fi

if [ -z "$deployed" ] && [ "$(jq --arg s "$stack" '[.approvals[] | select(.stack == $s)] | length' "$approvals")" -gt 0 ]; then
  # Nothing to measure spent against: a first deploy needs no approval (an
  # empty stack only gains resources), but a stack deployed before keygate
  # recorded its commit may have pending ones.
  echo "::warning::$stack has no recorded deployed commit: every approval of $stack in $approvals that reached main counts for this deploy. Make sure the file holds only approvals still pending for $stack" >&2
fi

live=()
while IFS=$'\t' read -r index commit; do
  [ -n "$index" ] || continue
  # Only a full SHA reaches git or the API (never an option or a range).
  [[ $commit =~ ^[0-9a-f]{40}$ ]] ||
    fail "$approvals: approvals[$index] of $stack names commit '$commit'; want the full 40-hex SHA the pull request comment offers"
  landed=""
  if git merge-base --is-ancestor "$commit" "$GITHUB_SHA" 2>/dev/null; then
    landed=$commit
  else
    # For a commit not on the default branch the endpoint lists the merged
    # and open pull requests it belongs to (GitHub REST, "List pull requests
    # associated with a commit").
    merge=$(gh api "repos/$GITHUB_REPOSITORY/commits/$commit/pulls" \
      --jq '[.[] | select(.merged_at != null and .base.ref == "main") | .merge_commit_sha] | first // empty' 2>/dev/null || true)
    if [[ $merge =~ ^[0-9a-f]{40}$ ]] && git merge-base --is-ancestor "$merge" "$GITHUB_SHA" 2>/dev/null; then
      landed=$merge
    fi
  fi
  [ -n "$landed" ] ||
    fail "$approvals: approvals[$index] approves a change of $stack reviewed at $commit, which is neither in the history of $GITHUB_SHA nor the head of a pull request merged into main whose merge commit is: an approval names the commit whose diff was reviewed (the pull request comment offers the entry)"
  if [ -n "$deployed" ] && git merge-base --is-ancestor "$landed" "$deployed"; then
    echo "::warning::$approvals: approvals[$index] of $stack (reviewed at $commit) is spent: $stack was deployed from $deployed after it reached main. It approves nothing any more; remove it from $approvals" >&2
    continue
  fi
  echo "approvals[$index] of $stack, reviewed at $commit, reached main at $landed${deployed:+ after the deployed $deployed}: usable once" >&2
  live+=("$index")
done < <(jq -r --arg s "$stack" '.approvals | to_entries[] | select(.value.stack == $s) | "\(.key)\t\(.value.commit)"' "$approvals")

keep=$(printf '%s\n' "${live[@]}" | jq -R 'select(. != "") | tonumber' | jq -s .)
jq --argjson keep "$keep" '{approvals: [.approvals | to_entries[] | select(.key as $k | $keep | index($k)) | .value]}' "$approvals" > "$out"
echo "$(jq '.approvals | length' "$out") usable approval(s) of $stack in $out" >&2
