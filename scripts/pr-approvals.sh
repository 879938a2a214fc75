#!/usr/bin/env bash
# The approvals a pull request's diff report may apply, written to OUT.
#
# The pull request's artifact is not asked: the approvals file is read at
# the pull request's head through the contents API, and an approval counts
# only if its commit is one of the pull request's own commits (the commits
# between its base and its head, GitHub's "List commits on a pull request",
# at most 250). An approval that names any other commit is reported and left
# out: it cannot have been reviewed in this pull request (an earlier pull
# request's approval is the deploy's to judge, scripts/check-approvals.sh).
#
#   pr-approvals.sh OUT.json
#
# Environment: GH_TOKEN (contents and pull-requests: read), GITHUB_REPOSITORY,
# PR, HEAD_SHA (verified against the pull request before this runs).
set -euo pipefail
out=${1:?usage: pr-approvals.sh OUT.json}
: "${GH_TOKEN:?}" "${GITHUB_REPOSITORY:?}" "${PR:?}" "${HEAD_SHA:?}"
[[ $HEAD_SHA =~ ^[0-9a-f]{40}$ ]] || { echo "::error::HEAD_SHA '$HEAD_SHA' is not a commit SHA" >&2; exit 1; }

file=$(mktemp)
errfile=$(mktemp)
trap 'rm -f "$file" "$errfile"' EXIT
if ! gh api -H "Accept: application/vnd.github.raw+json" \
  "repos/$GITHUB_REPOSITORY/contents/deploy/approved-changes.json?ref=$HEAD_SHA" > "$file" 2>"$errfile"; then
  if grep -q "No commit found" "$errfile"; then
    echo "::error::GitHub knows no commit $HEAD_SHA in $GITHUB_REPOSITORY, so the approvals at the pull request's head cannot be read" >&2
    exit 1
  fi
  if grep -q "HTTP 404" "$errfile"; then
    echo '{"approvals": []}' > "$out"
    echo "pull request #$PR has no deploy/approved-changes.json at $HEAD_SHA" >&2
    exit 0
  fi
  echo "::error::reading deploy/approved-changes.json at $HEAD_SHA failed: $(cat "$errfile")" >&2
  exit 1
fi
if ! jq -e '.approvals | type == "array"' "$file" >/dev/null 2>&1; then
  # Passed on as it is: the guard names what is wrong with it.
  cp "$file" "$out"
  exit 0
fi

commits=$(gh api --paginate "repos/$GITHUB_REPOSITORY/pulls/$PR/commits" --jq '.[].sha' | jq -R . | jq -s .)
jq -r --argjson commits "$commits" '.approvals | to_entries[]
  | select((.value.commit as $c | $commits | index($c)) | not)
  | "approvals[\(.key)] (\(.value.stack // "?") \(.value.action // "?") \(.value.logicalId // "?")) names commit \(.value.commit // "none"), not a commit of this pull request: not applied here"' "$file" >&2
jq --argjson commits "$commits" '{approvals: [.approvals[] | select(.commit as $c | $commits | index($c))]}' "$file" > "$out"
echo "$(jq '.approvals | length' "$out") approval(s) at commits of pull request #$PR" >&2
