#!/usr/bin/env bash
# Writes the templates of a deployed keygate stack, nested key stacks
# included, into OUTDIR in the layout of cdk.out, so that cmd/guard can compare
# what is deployed with what is about to be: OUTDIR/<stack>.template.json and
# each nested template under the file name its aws:asset:path names.
#
#   deployed-templates.sh STACK OUTDIR
#
# Needs AWS credentials (the workflows get them through OIDC) and, in the
# environment:
#   EXPECTED_ACCOUNT   the 12-digit account the GitHub environment deploys to
#   EXPECTED_REGION    its region (default: AWS_REGION)
#   STACK_ENVIRONMENT  the stack's environment from the cloud assembly's
#                      manifest.json: aws://ACCOUNT/REGION. An environment
#                      the config does not pin (aws://unknown-account/
#                      unknown-region, or none) is refused: such a stack
#                      deploys wherever the credentials point, so the only
#                      check left would be the GitHub environment's variables
#                      agreeing with the credentials they produced.
#   MISSING            what a stack that does not exist means: "fail" (the
#                      default: a deploy creates a stack only when asked to
#                      with the first-deploy input) or "empty" (pull request
#                      diffs: an empty template, everything counts as added)
#
# "Stack does not exist" is trusted only after the credentials are shown to
# be for the expected account and region: with a wrong AWS_REGION every
# stack "does not exist", and the guard would compare against nothing and
# pass.
set -euo pipefail
stack=${1:?usage: deployed-templates.sh STACK OUTDIR}
out=${2:?usage: deployed-templates.sh STACK OUTDIR}
expected_account=${EXPECTED_ACCOUNT:?set EXPECTED_ACCOUNT (the GitHub environment variable AWS_ACCOUNT_ID) to the account STACK lives in}
region=${AWS_REGION:-${AWS_DEFAULT_REGION:-}}
expected_region=${EXPECTED_REGION:-$region}
missing=${MISSING:-fail}
mkdir -p "$out"

fail() {
  echo "::error::$*" >&2
  exit 1
}

account=$(aws sts get-caller-identity --query Account --output text)
[ "$account" = "$expected_account" ] ||
  fail "the AWS credentials are for account $account, but $stack lives in $expected_account: check AWS_ROLE_ARN and AWS_ACCOUNT_ID of the GitHub environment"
[[ -n $region && $region == "$expected_region" ]] ||
  fail "the AWS region is '$region', but $stack lives in '$expected_region': check AWS_REGION of the GitHub environment"
case ${STACK_ENVIRONMENT:-} in
  "" | aws://unknown-account/* | aws://*/unknown-region)
    fail "the config does not pin $stack to an account and region (its cloud assembly says '${STACK_ENVIRONMENT:-nothing}'): the workflows deploy and diff only environments whose account and region cdk.json names, so that a wrong AWS_ROLE_ARN, AWS_ACCOUNT_ID or AWS_REGION cannot agree with itself. Set \"account\": \"$account\" and \"region\": \"$region\" (if those are right) on the environment in cdk.json" ;;
  "aws://$account/$region") ;;
  *) fail "the config pins $stack to ${STACK_ENVIRONMENT#aws://}, but the credentials are for $account/$region: the GitHub environment's AWS_ROLE_ARN, AWS_ACCOUNT_ID and AWS_REGION must name the account and region of the environment's config" ;;
esac

# Only "does not exist" means not deployed: any other failure (permissions,
# throttling) must fail the run.
if ! stack_id=$(aws cloudformation describe-stacks --stack-name "$stack" --query 'Stacks[0].StackId' --output text 2>"$out/.error"); then
  error=$(cat "$out/.error")
  rm -f "$out/.error"
  if grep -q "does not exist" <<<"$error"; then
    if [ "$missing" = empty ]; then
      echo "$stack is not deployed in $account/$region yet: everything counts as added" >&2
      echo '{}' > "$out/$stack.template.json"
      exit 0
    fi
    fail "$stack does not exist in account $account, region $region. If this is its first deploy, run the deploy workflow by hand (Actions → deploy → Run workflow) with first-deploy set to its environment; if it is deployed, the GitHub environment points at the wrong account or region"
  fi
  fail "reading $stack failed: $error"
fi
rm -f "$out/.error"
# A stack ARN is arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<id>.
IFS=: read -r _ _ _ stack_region stack_account _ <<<"$stack_id"
[[ $stack_region == "$region" && $stack_account == "$account" ]] ||
  fail "$stack is $stack_id, not in $account/$region"

template() {
  aws cloudformation get-template --stack-name "$1" --template-stage Original \
    --query TemplateBody --output json
}
template "$stack" > "$out/$stack.template.json"

# Nested stacks: logical id → physical id from CloudFormation, logical id →
# file name from the deployed template's own metadata.
aws cloudformation list-stack-resources --stack-name "$stack" \
  --query "StackResourceSummaries[?ResourceType=='AWS::CloudFormation::Stack'].[LogicalResourceId,PhysicalResourceId]" \
  --output text |
while read -r logical physical; do
  [ -n "$logical" ] || continue
  file=$(jq -r --arg id "$logical" '.Resources[$id].Metadata["aws:asset:path"] // empty' "$out/$stack.template.json")
  [ -n "$file" ] || file="$logical.nested.template.json"
  # The file name comes from a template: keep it a plain name in OUTDIR.
  [[ $file =~ ^[A-Za-z0-9.-]+$ && $file != .* ]] || fail "nested stack $logical names the template file '$file'"
  template "$physical" > "$out/$file"
done
