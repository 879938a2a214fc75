package iampolicy

import "testing"

const boundaryARN = "arn:aws:iam::" + account + ":policy/keygate-permissions-boundary"

// The execution role may create and extend keygate's roles only with the
// keygate boundary on them, may never take the boundary off, and may add
// invoke permissions to Lambda functions only for API Gateway: without
// that, CreateRole + PutRolePolicy "*" + PassRole to Lambda, or an invoke
// permission for another account on any function, would reach beyond
// keygate (IAM User Guide, "Permissions boundaries for IAM entities":
// the effective permissions are the intersection of policy and boundary).
func TestExecutionPolicyKeepsKeygatesRolesInsideTheBoundary(t *testing.T) {
	policy := loadExecutionPolicy(t)
	bearer := role("BearerAuthorizerRole")
	withBoundary := map[string]string{"iam:PermissionsBoundary": boundaryARN}
	otherBoundary := map[string]string{"iam:PermissionsBoundary": "arn:aws:iam::" + account + ":policy/AdministratorAccess"}
	basic := map[string]string{"iam:PermissionsBoundary": boundaryARN, "iam:PolicyARN": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}
	admin := map[string]string{"iam:PermissionsBoundary": boundaryARN, "iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"}
	function := "arn:aws:lambda:" + region + ":" + account + ":function:payments"
	cases := []struct {
		name             string
		action, resource string
		ctx              map[string]string
		want             bool
	}{
		{"create a role with the boundary", "iam:CreateRole", bearer, withBoundary, true},
		{"create a role without a boundary", "iam:CreateRole", bearer, nil, false},
		{"create a role with another boundary", "iam:CreateRole", bearer, otherBoundary, false},
		{"put an inline policy on a bounded role", "iam:PutRolePolicy", bearer, withBoundary, true},
		{"put an inline policy on an unbounded role", "iam:PutRolePolicy", bearer, nil, false},
		{"attach the basic execution policy to a bounded role", "iam:AttachRolePolicy", role("LogRetentionServiceRole"), basic, true},
		{"attach AdministratorAccess", "iam:AttachRolePolicy", role("LogRetentionServiceRole"), admin, false},
		{"attach to an unbounded role", "iam:AttachRolePolicy", role("LogRetentionServiceRole"), map[string]string{"iam:PolicyARN": basic["iam:PolicyARN"]}, false},
		{"give an existing role the boundary", "iam:PutRolePermissionsBoundary", bearer, withBoundary, true},
		{"swap the boundary for another", "iam:PutRolePermissionsBoundary", bearer, otherBoundary, false},
		{"take the boundary off", "iam:DeleteRolePermissionsBoundary", bearer, withBoundary, false},
		{"edit the boundary policy", "iam:CreatePolicyVersion", boundaryARN, nil, false},
		{"an invoke permission for API Gateway", "lambda:AddPermission", function, map[string]string{"lambda:Principal": "apigateway.amazonaws.com"}, true},
		{"an invoke permission for another account", "lambda:AddPermission", function, map[string]string{"lambda:Principal": "210987654321"}, false},
		{"an invoke permission for everyone", "lambda:AddPermission", function, map[string]string{"lambda:Principal": "*"}, false},
	}
	for _, c := range cases {
		if got := policy.Decide(c.action, c.resource, c.ctx); got != c.want {
			t.Errorf("%s: %s on %s with %v: allowed = %v, want %v", c.name, c.action, c.resource, c.ctx, got, c.want)
		}
	}
}

// The boundary is what keygate's roles do at run time (the authorizer's
// logs and traces, API Gateway's CloudWatch role, CDK's log retention
// function) and nothing that could reach further.
func TestBoundaryAllowsOnlyWhatKeygatesRolesDo(t *testing.T) {
	boundary := load(t, "keygate-permissions-boundary.json")
	group := logGroup("keygate-dev-BearerAuthorizerLogGroup-7X6W")
	for _, g := range []grant{
		{"logs:CreateLogStream", group}, {"logs:PutLogEvents", group + ":log-stream:abc"},
		{"logs:CreateLogGroup", logGroup("API-Gateway-Execution-Logs_a1b2c3/dev")},
		{"logs:PutRetentionPolicy", logGroup("/aws/apigateway/welcome")},
		{"xray:PutTraceSegments", "*"}, {"xray:PutTelemetryRecords", "*"},
	} {
		if !boundary.Decide(g.action, g.resource, nil) {
			t.Errorf("the boundary does not allow %s on %s, which keygate's roles need", g.action, g.resource)
		}
	}
	for _, g := range []grant{
		{"iam:CreateRole", "arn:aws:iam::" + account + ":role/keygate-x"},
		{"iam:PassRole", "arn:aws:iam::" + account + ":role/admin"},
		{"sts:AssumeRole", "arn:aws:iam::" + account + ":role/admin"},
		{"apigateway:GET", apigw("/apikeys/k1")},
		{"secretsmanager:GetSecretValue", "arn:aws:secretsmanager:" + region + ":" + account + ":secret:keygate/x-AbCdEf"},
		{"lambda:InvokeFunction", "arn:aws:lambda:" + region + ":" + account + ":function:payments"},
		{"logs:DeleteLogGroup", group},
		{"s3:GetObject", assets("x.zip")},
	} {
		if boundary.Decide(g.action, g.resource, nil) {
			t.Errorf("the boundary allows %s on %s", g.action, g.resource)
		}
	}
}

// The deploy role reads and records its own environment's deployed commit
// (scripts/deployed-commit.sh), and no other environment's.
func TestDeployRoleRecordsOnlyItsOwnDeployedCommit(t *testing.T) {
	d := load(t, "deploy-role-policy.json")
	own := "arn:aws:ssm:" + region + ":" + account + ":parameter/keygate/dev/deployed-commit"
	for _, a := range []string{"ssm:GetParameter", "ssm:PutParameter"} {
		if !d.Decide(a, own, nil) {
			t.Errorf("the deploy role may not %s on %s", a, own)
		}
	}
	for _, r := range []string{
		"arn:aws:ssm:" + region + ":" + account + ":parameter/keygate/prod/deployed-commit",
		"arn:aws:ssm:" + region + ":" + account + ":parameter/keygate/dev-eu/deployed-commit",
		"arn:aws:ssm:" + region + ":" + account + ":parameter/cdk-bootstrap/hnb659fds/version",
	} {
		if d.Decide("ssm:PutParameter", r, nil) {
			t.Errorf("the deploy role may write %s", r)
		}
	}
	if loadExecutionPolicy(t).Decide("ssm:PutParameter", own, nil) {
		t.Error("CloudFormation's execution role may rewrite the deployed commit")
	}
}

func TestDecideFollowsIAMConditionOperators(t *testing.T) {
	d := Document{Statement: []Statement{
		{Effect: "Allow", Action: Strings{"s:Do"}, Resource: Strings{"r"}, Condition: map[string]map[string]Strings{"StringEquals": {"k": {"v"}}}},
		{Effect: "Deny", Action: Strings{"s:Do"}, Resource: Strings{"r"}, Condition: map[string]map[string]Strings{"StringNotEquals": {"k": {"v"}}}},
	}}
	for _, c := range []struct {
		ctx  map[string]string
		want bool
	}{{map[string]string{"k": "v"}, true}, {map[string]string{"k": "w"}, false}, {nil, false}} {
		if got := d.Decide("s:Do", "r", c.ctx); got != c.want {
			t.Errorf("Decide with %v = %v, want %v", c.ctx, got, c.want)
		}
	}
}
