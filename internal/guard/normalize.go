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
			if ref, ok := keyIDAsRef(value); ok {
				r.Properties[name] = ref
			}
		}
	}
}

// keyIDAsRef rewrites, inside value, every Fn::GetAtt APIKeyId to a Ref to
// its key. When value itself is such a Fn::GetAtt, it returns the Ref and
// true for the caller to put in its place; containers are rewritten in
// place, writing only what changes (the guard reads every property of
// thousands of keys).
func keyIDAsRef(value any) (any, bool) {
	switch v := value.(type) {
	case []any:
		for i, item := range v {
			if ref, ok := keyIDAsRef(item); ok {
				v[i] = ref
			}
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
				return map[string]any{"Ref": id}, true
			}
			return value, false
		}
		for k, item := range v {
			if ref, ok := keyIDAsRef(item); ok {
				v[k] = ref
			}
		}
	}
	return value, false
}
