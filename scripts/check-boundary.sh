#!/usr/bin/env bash
# Before deploying STACK from the cloud assembly CDK_OUT: every IAM role in
# it (nested stacks included) must carry the permissions boundary
# keygate-permissions-boundary, because the execution policy
# (deploy/iam/cloudformation-execution-*.json) refuses to create or
# extend a role without it. Failing here says how to fix it; failing in
# CloudFormation would say AccessDenied halfway through a deploy.
#
#   check-boundary.sh CDK_OUT STACK
set -euo pipefail
assembly=${1:?usage: check-boundary.sh CDK_OUT STACK}
stack=${2:?usage: check-boundary.sh CDK_OUT STACK}

files=("$stack.template.json")
# Nested stack templates, by the file names the CDK records on them (plain
# names: the guard refuses any other).
while read -r file; do
  [[ $file =~ ^[A-Za-z0-9.-]+$ && $file != .* ]] || { echo "::error::$stack names the nested template file '$file'" >&2; exit 1; }
  files+=("$file")
done < <(jq -r '.Resources // {} | .[] | select(.Type == "AWS::CloudFormation::Stack") | .Metadata["aws:asset:path"] // empty' "$assembly/$stack.template.json")

missing=()
for file in "${files[@]}"; do
  while read -r id; do
    [ -n "$id" ] && missing+=("$id")
  done < <(jq -r '.Resources // {} | to_entries[]
    | select(.value.Type == "AWS::IAM::Role")
    | select((.value.Properties.PermissionsBoundary // "" | tostring | test("policy/keygate-permissions-boundary")) | not)
    | .key' "$assembly/$file")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "::error::$stack: the IAM roles ${missing[*]} carry no keygate-permissions-boundary, and the execution policy lets CloudFormation create or change a role only with it. Create the policy from deploy/iam/keygate-permissions-boundary.json in the account and set the context \"@aws-cdk/core:permissionsBoundary\": {\"name\": \"keygate-permissions-boundary\"} in cdk.json (README: First deploy, step 3)" >&2
  exit 1
fi
echo "$stack: every IAM role carries keygate-permissions-boundary"
