package guard

import "fmt"

// SwitchOff is a guarded update that keeps the resource but switches off
// what clients call: the REST API's default execute-api endpoint.
const SwitchOff Action = "SWITCH-OFF"

// CauseEndpointDisabled: a REST API that stays in the stack gets
// DisableExecuteApiEndpoint true, where it was false or unset.
const CauseEndpointDisabled Cause = "endpoint-disabled"

// switchedOffEndpoints finds the REST APIs that exist in base and head and
// whose default endpoint head switches off. Nothing is deleted, but every
// client still calling https://<api-id>.execute-api.<region>.amazonaws.com
// gets 403 Forbidden from the deploy on ("Disable the default endpoint for
// REST APIs": https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-disable-default-endpoint.html).
// keygate does that by default in the same deploy that adds a custom
// domain, before clients can have moved to it. A new API (not in base) is
// not a finding: it has no clients yet.
func switchedOffEndpoints(base []placed, headAt map[place]placed) []Finding {
	var findings []Finding
	for _, b := range base {
		if b.Type != "AWS::ApiGateway::RestApi" {
			continue
		}
		h, ok := headAt[b.place]
		if !ok || h.Type != b.Type || !endpointDisabled(h.Properties) || endpointDisabled(b.Properties) {
			continue
		}
		findings = append(findings, Finding{
			Action: SwitchOff, Cause: CauseEndpointDisabled, Properties: []string{"DisableExecuteApiEndpoint"},
			Reason: fmt.Sprintf("DisableExecuteApiEndpoint turns %v → true: every client of the default https://<api-id>.execute-api.<region>.amazonaws.com URL gets 403 Forbidden from this deploy on; "+
				"deploy the custom domain first with \"disableExecuteApiEndpoint\": false, move the clients to it, and switch the endpoint off once the access log shows no more requests to the default URL (then approve this change)",
				describeEndpointSetting(b.Properties)),
		}.at(b))
	}
	return findings
}

// endpointDisabled reads DisableExecuteApiEndpoint as CloudFormation does:
// a boolean, or the string "true".
func endpointDisabled(properties map[string]any) bool {
	switch v := properties["DisableExecuteApiEndpoint"].(type) {
	case bool:
		return v
	case string:
		return v == "true"
	}
	return false
}

func describeEndpointSetting(properties map[string]any) string {
	if v, ok := properties["DisableExecuteApiEndpoint"]; ok {
		return fmt.Sprint(v)
	}
	return "unset (false)"
}
