package guard

import (
	"fmt"
	"strings"
)

// CauseReusedIdentity: a resource only in head carries the API key value,
// or the literal name, of one of its type in base that goes away.
const CauseReusedIdentity Cause = "reused-identity"

// identityProperties are, by guarded type, the property whose literal value
// no two resources of the type may share in one account and region: an API
// key's Value, a log group's LogGroupName (the named types of [namedTypes]
// besides the key, whose Name API Gateway does not require unique).
var identityProperties = map[string]string{
	"AWS::ApiGateway::ApiKey": "Value",
	"AWS::Logs::LogGroup":     "LogGroupName",
}

// reusedIdentities refuses a resource only in head whose key value or
// literal name is that of a base resource of the same type that goes (its
// logical ID leaves its stack: a rename, a move to another nested stack, a
// removal). CloudFormation creates the new resource before it deletes the
// old one, in the cleanup phase, so the create meets the old one still
// there: API Gateway answers 409 "API Key already exists" for a key
// imported again under a new logical ID (serverless/serverless#6458), and
// CloudWatch Logs ResourceAlreadyExistsException for a log group. keygate
// retains removed keys (DeletionPolicy Retain), so the old key, and its
// value, stay in API Gateway after the deploy too: a value cannot be
// imported again until that key is deleted.
func reusedIdentities(base, head []placed, baseAt, headAt map[place]placed) []Finding {
	type identity struct{ typ, value string }
	goes := map[identity]placed{}
	for _, b := range base {
		property, ok := identityProperties[b.Type]
		if !ok {
			continue
		}
		if h, stays := headAt[b.place]; stays && h.Type == b.Type {
			continue
		}
		if value, literal := b.Properties[property].(string); literal && value != "" {
			goes[identity{b.Type, value}] = b
		}
	}
	if len(goes) == 0 {
		return nil
	}
	var out []Finding
	for _, h := range head {
		property, ok := identityProperties[h.Type]
		if !ok {
			continue
		}
		if b, inBase := baseAt[h.place]; inBase && b.Type == h.Type {
			continue
		}
		value, literal := h.Properties[property].(string)
		if !literal {
			continue
		}
		old, reused := goes[identity{h.Type, value}]
		if !reused {
			continue
		}
		var reason string
		if h.Type == "AWS::ApiGateway::ApiKey" {
			reason = fmt.Sprintf("new key %q takes the value of key %q (%s), which goes from %s: CloudFormation creates the new key before it deletes the old one, and API Gateway refuses a second key with the same value (409 \"API Key already exists\", serverless/serverless#6458), so the deploy fails. keygate retains a removed key, so its value stays taken in API Gateway after the deploy too, until that key is deleted. Renaming an imported key (same secretName and secretJsonKey) is therefore not possible: add a new key under the new name with a new secret, deploy, move its clients to the new value, then retire %q (remove it, and delete the retained key: aws apigateway delete-api-key --api-key ID)",
				nameOf(h, "Name"), nameOf(old, "Name"), secretOf(value), stackName(old.stack), nameOf(old, "Name"))
		} else {
			reason = fmt.Sprintf("new log group %s takes the name %q of log group %s, which goes from %s: CloudFormation creates the new one before it deletes the old one, and CloudWatch Logs refuses a second log group of the same name (ResourceAlreadyExistsException), so the deploy fails. Keep the log group's logical ID (revert the rename or move), or give the new one another name",
				h.id, value, old.id, stackName(old.stack))
		}
		out = append(out, Finding{Action: Refuse, Cause: CauseReusedIdentity, Type: h.Type, LogicalID: h.id, Stack: h.stack, Properties: []string{property}, Reason: reason})
	}
	return out
}

// secretOf describes a key's Value for a message without printing a
// literal value: a dynamic reference names only its secret.
func secretOf(value string) string {
	if strings.HasPrefix(value, "{{resolve:") {
		return "same secret: " + value
	}
	return "same literal value"
}
