#!/usr/bin/env bash
# Prints where the config pins ENVIRONMENT's stack, aws://ACCOUNT/REGION
# (unknown-account or unknown-region for what it leaves out), from a
# cdk.json: defaults merged under the environment, as internal/config
# merges them. The pull request diff uses the default branch's cdk.json for
# this, never the pull request's cloud assembly.
#
#   pinned-environment.sh ENVIRONMENT [CDK_JSON]
set -euo pipefail
environment=${1:?usage: pinned-environment.sh ENVIRONMENT [CDK_JSON]}
cdk_json=${2:-cdk.json}
jq -er --arg e "$environment" '
  (.context.keygate.environments[$e] // error("cdk.json has no environment \($e)")) as $env
  | ((.context.keygate.defaults // {}) * $env)
  | "aws://\(.account // "unknown-account")/\(.region // "unknown-region")"' "$cdk_json"
