package config

import (
	"fmt"
	"regexp"
)

// secretJSONKeyPattern is what may stand in the json-key segment of
// {{resolve:secretsmanager:secret-id:SecretString:json-key::}}: "This segment
// may not include the colon character" and a final backslash breaks the
// reference (https://docs.aws.amazon.com/secretsmanager/latest/userguide/cfn-example_reference-secret.html);
// braces and white space would end or split the reference itself.
var secretJSONKeyPattern = regexp.MustCompile(`^[^:{}\s\\]+$`)

// validateKeySources checks the fields that say where a key's value comes
// from and whether it is attached: secretJsonKey and detached.
func validateKeySources(path string, keys []APIKey) Errors {
	var errs Errors
	for i, key := range keys {
		keyPath := fmt.Sprintf("%s.apiKeys[%d]", path, i)
		switch {
		case key.SecretJSONKey == "":
		case key.SecretName == "":
			errs = append(errs, FieldError{Path: keyPath + ".secretJsonKey", Msg: "only applies with secretName (the JSON secret it is a field of); add secretName or remove secretJsonKey"})
		case !secretJSONKeyPattern.MatchString(key.SecretJSONKey):
			errs = append(errs, FieldError{Path: keyPath + ".secretJsonKey", Msg: fmt.Sprintf("%q cannot stand in a CloudFormation dynamic reference; use the top-level field name of the JSON secret, without ':', braces, spaces or backslashes", key.SecretJSONKey)})
		}
	}
	return errs
}
