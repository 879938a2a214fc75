#!/usr/bin/env bash
# The commit an environment's stack was last deployed from, kept in the SSM
# parameter /keygate/<environment>/deployed-commit of its account and region.
# The deploy job writes it after `cdk deploy` succeeded and reads it before
# the next deploy, for two checks:
#
#   - order: a deploy goes ahead only if the deployed commit is in the
#     history of GITHUB_SHA, so an older commit (a slow run, a re-run of an
#     old run) never overwrites a newer one;
#   - approvals are single use: scripts/check-approvals.sh accepts an approval
#     only if its commit came after the deployed one.
#
# Why SSM and not a stack tag: a stack-level tag propagates to every taggable
# resource, so a tag that changes with each commit would update every API key
# on every deploy (aws/aws-cdk-cli#1960: a changed stack tag is a Modify of
# every supported resource). The parameter is written by the deploy role
# only (deploy/iam/deploy-role-policy.json), not by CloudFormation's
# execution role, and read by the same role.
#
#   deployed-commit.sh read ENVIRONMENT     prints the deployed commit (or
#                                           nothing on a first deploy)
#   deployed-commit.sh record ENVIRONMENT   records GITHUB_SHA
#
# Environment: GITHUB_SHA; AWS credentials; for read, a checkout with full
# history and FIRST_DEPLOY=true when the deploy was started with first-deploy
# naming this environment (a stack deployed before the record existed needs
# such a run once).
set -euo pipefail
usage="usage: deployed-commit.sh read|record ENVIRONMENT"
action=${1:?$usage}
environment=${2:?$usage}
: "${GITHUB_SHA:?}"
name="/keygate/$environment/deployed-commit"

fail() {
  echo "::error::$*" >&2
  exit 1
}

case $action in
  record)
    aws ssm put-parameter --name "$name" --type String --overwrite --value "$GITHUB_SHA" >/dev/null ||
      fail "keygate-$environment is deployed at $GITHUB_SHA, but recording that in SSM parameter $name failed: until it is recorded, approvals spent by this deploy stay usable and an older commit may be deployed over this one. Record it by hand: aws ssm put-parameter --name $name --type String --overwrite --value $GITHUB_SHA"
    echo "recorded: keygate-$environment runs $GITHUB_SHA ($name)"
    ;;
  read)
    errfile=$(mktemp)
    trap 'rm -f "$errfile"' EXIT
    if ! deployed=$(aws ssm get-parameter --name "$name" --query Parameter.Value --output text 2>"$errfile"); then
      error=$(cat "$errfile")
      grep -q ParameterNotFound <<<"$error" || fail "reading SSM parameter $name failed: $error"
      if [ "${FIRST_DEPLOY:-false}" = true ]; then
        echo "keygate-$environment has no recorded deployed commit: a first deploy, every approval in the history of $GITHUB_SHA counts" >&2
        exit 0
      fi
      fail "keygate-$environment has no recorded deployed commit ($name), so neither the order of deploys nor which approvals are spent can be checked. If this is its first deploy, or its first since keygate began recording it, run the deploy workflow by hand (Actions → deploy → Run workflow) with first-deploy set to $environment"
    fi
    [[ $deployed =~ ^[0-9a-f]{40}$ ]] || fail "SSM parameter $name holds '$deployed', not a commit SHA; the deploy job writes only full commit SHAs there"
    git cat-file -e "$deployed^{commit}" 2>/dev/null ||
      fail "keygate-$environment was deployed from $deployed, which is not in this repository's history (was main force-pushed?): a deploy must follow what is deployed; see the README (Deploy discipline)"
    if ! git merge-base --is-ancestor "$deployed" "$GITHUB_SHA"; then
      fail "keygate-$environment runs $deployed, which is newer than (or not in the history of) $GITHUB_SHA: refusing to deploy an older commit over a newer one. A re-run of an old run, or a run that overtook this one, lands here; deploy main's head instead (Actions → deploy → Run workflow)"
    fi
    echo "keygate-$environment runs $deployed, in the history of $GITHUB_SHA" >&2
    echo "$deployed"
    ;;
  *) fail "$usage" ;;
esac
