package guard

import "strings"

// normalizeKeyIDs rewrites, in every resource's properties, Fn::GetAtt
// [K, APIKeyId] (or "K.APIKeyId") to {"Ref": K}, in place: only an
// AWS::ApiGateway::ApiKey has that attribute. Both give the key's id (the
// AWS::ApiGateway::ApiKey reference: "Ref returns the API key ID";
// attribute APIKeyId "The ID for the API key"), and keygate switched from
// the first to the second (issue 8 point 2, aws/serverless-application-model#2779),
// so a stack deployed before the switch must not read as every attachment
// replaced ("would be attached again"), which would refuse the upgrade.
//
// What CloudFormation does with a change of intrinsic form alone: its change
// set compares template text, so it may preview the property as modified,
// even "Replacement: True" with evaluation Static
// (aws-cloudformation/cloudformation-coverage-roadmap#290 for Fn::GetAtt
// long vs short form; #1045: the form change alone shows as a Modify). The
// resolved KeyId is the same, so the update reaches API Gateway with the
// same key and plan. The guard compares resolved meaning, not text.
func normalizeKeyIDs(resources []placed) {
	for _, r := range resources {
		for name, value := range r.Properties {
			r.Properties[name] = keyIDAsRef(value)
		}
	}
}

// keyIDAsRef is value with every Fn::GetAtt APIKeyId replaced by a Ref to
// its key.
func keyIDAsRef(value any) any {
	switch v := value.(type) {
	case []any:
		for i, item := range v {
			v[i] = keyIDAsRef(item)
		}
	case map[string]any:
		if target, ok := v["Fn::GetAtt"]; ok && len(v) == 1 {
			var id, attribute string
			switch t := target.(type) {
			case []any:
				if len(t) == 2 {
					id, _ = t[0].(string)
					attribute, _ = t[1].(string)
				}
			case string:
				id, attribute, _ = strings.Cut(t, ".")
			}
			if attribute == "APIKeyId" && id != "" {
				return map[string]any{"Ref": id}
			}
			return v
		}
		for k, item := range v {
			v[k] = keyIDAsRef(item)
		}
	}
	return value
}
