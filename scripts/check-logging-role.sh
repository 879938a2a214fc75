#!/usr/bin/env bash
# Before deploying STACK from the cloud assembly in CDK_OUT: a stage with
# access or execution logging fails to create ("CloudWatch Logs role ARN must
# be set in account settings to enable logging") unless the account's API
# Gateway settings name a CloudWatch role in this region. One keygate
# environment per account and region owns that setting
# (manageCloudWatchRole: true, an AWS::ApiGateway::Account resource); every
# other environment there needs it to be set already.
# https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html
#
#   check-logging-role.sh CDK_OUT STACK
#
# Needs AWS credentials allowed apigateway:GET on /account.
set -euo pipefail
assembly=${1:?usage: check-logging-role.sh CDK_OUT STACK}
stack=${2:?usage: check-logging-role.sh CDK_OUT STACK}

if jq -e '[.Resources // {} | .[] | select(.Type == "AWS::ApiGateway::Account")] | length > 0' \
  "$assembly/$stack.template.json" >/dev/null; then
  echo "$stack manages the API Gateway CloudWatch role of its account and region"
  exit 0
fi
role=$(aws apigateway get-account --query cloudwatchRoleArn --output text)
if [ -z "$role" ] || [ "$role" = None ]; then
  region=${AWS_REGION:-${AWS_DEFAULT_REGION:-}}
  echo "::error::$stack does not manage the API Gateway CloudWatch role, and account settings in $region name none, so its stage would fail to create (\"CloudWatch Logs role ARN must be set in account settings\"). Fix: set manageCloudWatchRole: true on exactly one environment of this account and region in cdk.json and deploy that one first, or set a role by hand: aws apigateway update-account --region $region --patch-operations op=replace,path=/cloudwatchRoleArn,value=<arn of a role trusting apigateway.amazonaws.com with AmazonAPIGatewayPushToCloudWatchLogs>" >&2
  exit 1
fi
echo "API Gateway in ${AWS_REGION:-this region} logs with $role"
