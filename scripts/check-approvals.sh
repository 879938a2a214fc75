#!/usr/bin/env bash
# Before a deploy of STACK at GITHUB_SHA: every approval of STACK in the
# approvals file must name a commit that was reviewed on its way to main,
# i.e. one in the history of what is deployed (merge commits, rebases) or
# the head of a pull request merged into main (squash merges rewrite the
# commit, and GitHub keeps the pull request's commits).
#
#   check-approvals.sh STACK APPROVALS.json
#
# Environment: GITHUB_SHA, GITHUB_REPOSITORY, GH_TOKEN (pull-requests: read);
# a checkout with full history (fetch-depth: 0).
set -euo pipefail
stack=${1:?usage: check-approvals.sh STACK APPROVALS.json}
approvals=${2:?usage: check-approvals.sh STACK APPROVALS.json}
: "${GITHUB_SHA:?}" "${GITHUB_REPOSITORY:?}"

jq -r --arg s "$stack" '.approvals[] | select(.stack == $s) | .commit' "$approvals" |
while read -r commit; do
  if git merge-base --is-ancestor "$commit" "$GITHUB_SHA" 2>/dev/null; then
    echo "approval reviewed at $commit: in the history of $GITHUB_SHA"
    continue
  fi
  merged=$(gh api "repos/$GITHUB_REPOSITORY/commits/$commit/pulls" \
    --jq '[.[] | select(.merged_at != null and .base.ref == "main")] | length' 2>/dev/null || echo 0)
  if [ "$merged" -gt 0 ]; then
    echo "approval reviewed at $commit: a commit of a pull request merged into main"
    continue
  fi
  echo "::error::$approvals approves a change of $stack reviewed at $commit, which is neither in the history of $GITHUB_SHA nor a commit of a pull request merged into main: an approval names the commit whose diff was reviewed (the pull request comment offers the entry)" >&2
  exit 1
done
