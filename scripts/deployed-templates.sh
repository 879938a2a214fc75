#!/usr/bin/env bash
# Writes the templates of a deployed keygate stack, nested key stacks
# included, into OUTDIR in the layout of cdk.out, so that cmd/guard can compare
# what is deployed with what is about to be: OUTDIR/<stack>.template.json and
# each nested template under the file name its aws:asset:path names.
# Needs AWS credentials (the workflows get them through OIDC). A stack that is
# not deployed yet yields an empty template: everything counts as added.
set -euo pipefail
stack=${1:?usage: deployed-templates.sh STACK OUTDIR}
out=${2:?usage: deployed-templates.sh STACK OUTDIR}
mkdir -p "$out"

# Only "does not exist" means not deployed: any other failure (permissions,
# throttling, a wrong region) must fail the run, or the guard would compare
# against nothing and pass.
if ! error=$(aws cloudformation describe-stacks --stack-name "$stack" 2>&1 >/dev/null); then
  if grep -q "does not exist" <<<"$error"; then
    echo "$stack is not deployed yet" >&2
    echo '{}' > "$out/$stack.template.json"
    exit 0
  fi
  echo "reading $stack failed: $error" >&2
  exit 1
fi

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
  template "$physical" > "$out/$file"
done
