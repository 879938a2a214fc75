package config

import (
	"fmt"
	"strings"
)

// validateEnvironmentNamePrefixes refuses an environment named like another
// environment's name plus '-' (dev and dev-eu). Stack keygate-dev's nested
// stacks are named keygate-dev-<logical id>-<suffix> by CloudFormation, so
// the IAM resource patterns of deploy/iam (stack/keygate-ENVIRONMENT-*/*,
// one pair of roles per environment) would let dev's roles read and deploy
// dev-eu's stacks, and a name-prefix match anywhere else would confuse the
// two. Every such pair is reported, naming both environments.
func validateEnvironmentNamePrefixes(envs []Environment) Errors {
	var errs Errors
	for _, env := range envs {
		for _, other := range envs {
			if other.Name != env.Name && strings.HasPrefix(env.Name, other.Name+"-") {
				errs = append(errs, FieldError{
					Path: "environments." + env.Name,
					Msg: fmt.Sprintf("the name starts with environment %q and '-': the stacks keygate-%s-* would fall under %q's IAM patterns (stack/keygate-%s-*, its roles could read and deploy them); rename %q (e.g. %q)",
						other.Name, env.Name, other.Name, other.Name, env.Name, strings.ReplaceAll(env.Name, "-", "")),
				})
			}
		}
	}
	return errs
}
