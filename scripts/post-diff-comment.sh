#!/usr/bin/env bash
# Posts (or updates) the pull request comment of one environment's diff and
# sets the commit status "keygate guard (<environment>)" on the pull
# request's head. Run by the privileged job of pr-diff-report.yml, from the
# base branch's checkout; everything it reads from REPORT_DIR is data.
#
# Environment: GH_TOKEN, GITHUB_REPOSITORY, PR (number), HEAD_SHA,
# ENVIRONMENT, REPORT_DIR (guard.txt, guarded.json, summary.txt, diff.txt,
# status: the guard's exit status; optional approvals.txt: what
# scripts/pr-approvals.sh left out), REPORT_URL (the full report artifact),
# RUN_URL.
#
# Everything in REPORT_DIR comes from templates the pull request supplied,
# so it goes into the comment only inside code blocks whose fence is longer
# than any run of backticks in it (CommonMark: a code block ends only at a
# fence at least as long as the one that opened it), and the comment says
# the report is advisory: the deploy's own guard is the gate.
set -euo pipefail
: "${GH_TOKEN:?}" "${GITHUB_REPOSITORY:?}" "${PR:?}" "${HEAD_SHA:?}" "${ENVIRONMENT:?}" "${REPORT_DIR:?}" "${RUN_URL:?}"
report_url=${REPORT_URL:-$RUN_URL}
status=$(cat "$REPORT_DIR/status")

# GitHub refuses a comment body over 65,536 characters; each part is cut to a
# share of that (bytes, so never more characters) and ends on whole UTF-8
# characters.
clip() { # FILE LIMIT
  if [ "$(wc -c < "$1")" -le "$2" ]; then
    cat "$1"
  else
    head -c "$2" "$1" | iconv -f utf-8 -t utf-8 -c
    printf '\n… cut here: the whole output is in the report artifact (%s)\n' "$report_url"
  fi
}

# fence FILE LIMIT [INFO]: FILE's first LIMIT bytes in a fenced code block
# that nothing in them can close.
fence() {
  local body longest marker
  body=$(clip "$1" "$2")
  longest=$({ grep -o '`\+' <<<"$body" || true; } | awk '{ if (length($0) > n) n = length($0) } END { print n + 0 }')
  [ "$longest" -ge 3 ] || longest=2
  marker=$(printf '%*s' $((longest + 1)) '' | tr ' ' '`')
  printf '%s%s\n%s\n%s\n' "$marker" "${3:-}" "$body" "$marker"
}

# How many findings an approval of this pull request let through (the
# guard prints one APPROVED line each).
approved=$(grep -c '^APPROVED ' "$REPORT_DIR/guard.txt" || true)

case $status in
  0) verdict="no guarded change"; [ "$approved" -gt 0 ] && verdict="no guarded change left, $approved approved"; state=success ;;
  1) verdict="guarded changes that no approval in deploy/approved-changes.json names: the deploy would stop here"; state=failure ;;
  3) verdict="a change AWS would refuse (REFUSE below): no approval can allow it; make it the way its message says"; state=failure ;;
  *) verdict="the guard could not compare the templates (exit status $status)"; state=error ;;
esac
if [ "$status" != 0 ] && [ "$approved" -gt 0 ]; then
  verdict="$verdict ($approved approved)"
fi

marker="<!-- keygate-diff:$ENVIRONMENT -->"
{
  echo "$marker"
  echo "### keygate diff: \`$ENVIRONMENT\` at ${HEAD_SHA:0:12}"
  echo
  echo "**Guard:** $verdict."
  echo
  # shellcheck disable=SC2016 # backticks are Markdown here
  echo '_Advisory: this report is built from the templates this pull request synthesized, so it shows what the pull request says it changes. The gate is the guard the deploy runs on what `main` synthesizes. Only approvals in `deploy/approved-changes.json` at this pull request'"'"'s head that name one of its commits are applied here._'
  echo
  fence "$REPORT_DIR/guard.txt" 12000
  if [ -s "$REPORT_DIR/approvals.txt" ]; then
    echo
    echo "Approvals not applied in this report:"
    echo
    fence "$REPORT_DIR/approvals.txt" 4000
  fi
  # REFUSE findings cannot be approved: only DELETE and REPLACE are offered.
  if { [ "$status" = 1 ] || [ "$status" = 3 ]; } && [ "$(jq '[.[] | select(.action != "REFUSE")] | length' "$REPORT_DIR/guarded.json" 2>/dev/null || echo 0)" != 0 ]; then
    echo
    echo "If a change is intended, approve exactly it: add these entries to \`deploy/approved-changes.json\` in this pull request, each with the \`reason\` filled in. \`commit\` is the commit this diff was reviewed at; each environment's deploy uses an approval once: only if that commit reached \`main\` after that environment's last deploy."
    echo
    jq --arg stack "keygate-$ENVIRONMENT" --arg commit "$HEAD_SHA" \
      '[.[] | select(.action != "REFUSE") | {stack: $stack, nestedStack: (.stack // ""), logicalId, type, action, commit: $commit, reason: ""} | if .nestedStack == "" then del(.nestedStack) else . end]' \
      "$REPORT_DIR/guarded.json" > "$REPORT_DIR/approvals.json"
    fence "$REPORT_DIR/approvals.json" 12000 json
  fi
  echo
  echo '<details><summary>Every resource change, nested key stacks included</summary>'
  echo
  fence "$REPORT_DIR/summary.txt" 12000
  echo '</details>'
  echo
  echo '<details><summary>cdk diff of the root template</summary>'
  echo
  fence "$REPORT_DIR/diff.txt" 20000
  echo '</details>'
  echo
  echo "Full output: $report_url"
} > "$REPORT_DIR/comment.md"

# Only a comment of this workflow's bot with this environment's marker is
# ours to update: anyone can write the marker into a comment of their own.
comment_id=$(gh api --paginate "repos/$GITHUB_REPOSITORY/issues/$PR/comments" \
  --jq ".[] | select(.user.login == \"github-actions[bot]\" and (.body | startswith(\"$marker\"))) | .id" | head -n 1)
if [ -n "$comment_id" ]; then
  gh api --method PATCH "repos/$GITHUB_REPOSITORY/issues/comments/$comment_id" -F body=@"$REPORT_DIR/comment.md" >/dev/null
else
  gh api --method POST "repos/$GITHUB_REPOSITORY/issues/$PR/comments" -F body=@"$REPORT_DIR/comment.md" >/dev/null
fi

gh api --method POST "repos/$GITHUB_REPOSITORY/statuses/$HEAD_SHA" \
  -f state="$state" -f context="keygate guard ($ENVIRONMENT)" \
  -f description="${verdict:0:140}" -f target_url="$RUN_URL" >/dev/null
