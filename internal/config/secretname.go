package config

import (
	"fmt"
	"regexp"
	"strings"
)

// A secretName is a Secrets Manager secret name or ARN, written into
// {{resolve:secretsmanager:NAME:SecretString:FIELD::}}, whose segments are
// separated by ':' ("Dynamic references", CloudFormation user guide:
// secret-id "The name or ARN of the secret"). A ':' in a plain name would
// end the name early, so it is only allowed as an ARN's separators.
// Secret names: letters, digits and /_+=.@- ("Secrets Manager quotas",
// CreateSecret Name), at most 512 characters.
var (
	plainSecretName = regexp.MustCompile(`^[A-Za-z0-9/_+=.@-]{1,512}$`)
	// A secret ARN: arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME,
	// where a full ARN's NAME ends in '-' and six random characters that
	// Secrets Manager appends ("Secret ARN": "Secrets Manager adds a hyphen
	// and six random characters at the end of the secret name").
	secretARN        = regexp.MustCompile(`^arn:aws(?:-[a-z]+)*:secretsmanager:([a-z0-9-]+):([0-9]{12}):secret:([A-Za-z0-9/_+=.@-]{1,512})$`)
	secretARNSuffix  = regexp.MustCompile(`-[A-Za-z0-9]{6}$`)
	maxSecretNameLen = 2048 // an ARN is longer than the name
)

// checkSecretName says what is wrong with a secretName, or "".
func checkSecretName(name string) string {
	if len(name) > maxSecretNameLen {
		return "is too long for a Secrets Manager secret name or ARN"
	}
	if strings.HasPrefix(name, "arn:") {
		if !secretARN.MatchString(name) {
			return "is not a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX); use the secret's name or its full ARN, never the key value itself"
		}
		return ""
	}
	if strings.Contains(name, ":") {
		return "contains ':', which is allowed only in a secret ARN: in a plain name it would end the name early inside {{resolve:secretsmanager:NAME:…}}; use the secret's name (letters, digits and /_+=.@-) or its full ARN"
	}
	if !plainSecretName.MatchString(name) {
		return "is not a Secrets Manager secret name; use the secret's name (letters, digits and /_+=.@-, at most 512) or its full ARN, never the key value itself"
	}
	return ""
}

// secretIdentity is what tells two secretNames apart: a plain name as it
// is, an ARN by its name part (without the six-character suffix), so that
// the same secret named once by name and once by ARN is seen as one. An
// ARN whose account or region is not the environment's (where the
// environment sets them) is another secret, and stays its full ARN.
func secretIdentity(name string, env Environment) string {
	m := secretARN.FindStringSubmatch(name)
	if m == nil {
		return name
	}
	region, account, arnName := m[1], m[2], m[3]
	if (env.Region != "" && env.Region != region) || (env.Account != "" && env.Account != account) {
		return name
	}
	return secretARNSuffix.ReplaceAllString(arnName, "")
}

// describeSecret is for messages that compare two keys' secrets.
func describeSecret(a, b string) string {
	if a == b {
		return ""
	}
	return fmt.Sprintf(" (%q and %q name the same secret)", a, b)
}
