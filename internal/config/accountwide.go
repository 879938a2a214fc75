package config

import (
	"fmt"
	"slices"
	"strings"
)

// API Gateway quotas shared by every environment (and every other API) in one
// account and region, from "Amazon API Gateway quotas"
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html):
// 10,000 API keys (not adjustable) and 300 usage plans (adjustable; 300 is
// the default). Keys removed from the config stay in API Gateway
// (DeletionPolicy Retain) and still count, which no config can see, so these
// sums are a lower bound of what the account holds.
const (
	MaxAPIKeysPerAccountRegion    = 10000
	MaxUsagePlansPerAccountRegion = 300
)

// Quotas are the adjustable API Gateway quotas of an account and region, as
// raised through Service Quotas; unset means AWS's default.
type Quotas struct {
	// UsagePlansPerAccountRegion is the account+region's usage plan quota
	// ("Usage plans per account per Region: 300, can be increased",
	// Amazon API Gateway quotas). Environments of the same explicit account
	// and region must agree on it.
	UsagePlansPerAccountRegion *int `json:"usagePlansPerAccountRegion"`
}

// maxQuotaSetting bounds a quota setting to catch a typo (an extra digit);
// no API Gateway account quota is near it.
const maxQuotaSetting = 1_000_000

// UsagePlanQuota is the usage plan quota of the environment's account and
// region: its setting, else API Gateway's default.
func (e Environment) UsagePlanQuota() int {
	if q := e.Quotas.UsagePlansPerAccountRegion; q != nil {
		return *q
	}
	return MaxUsagePlansPerAccountRegion
}

// validateQuotas checks one environment's quota settings.
func validateQuotas(path string, env Environment) Errors {
	if q := env.Quotas.UsagePlansPerAccountRegion; q != nil && (*q < 1 || *q > maxQuotaSetting) {
		return Errors{{Path: path + ".quotas.usagePlansPerAccountRegion", Msg: fmt.Sprintf(
			"%d is not a usage plan quota; set the account+region's quota as Service Quotas shows it (API Gateway, \"Usage plans per account per Region\", default %d), between 1 and %d, or leave it out for the default",
			*q, MaxUsagePlansPerAccountRegion, maxQuotaSetting)}}
	}
	return nil
}

// accountRegion is an explicit AWS environment; environments without an
// account or a region could land anywhere and are left out of these checks.
type accountRegion struct{ account, region string }

func (ar accountRegion) String() string { return ar.account + "/" + ar.region }

// explicitAccountRegions groups the environments whose account and region
// are both set, in name order within each group.
func explicitAccountRegions(envs []Environment) (map[accountRegion][]Environment, []accountRegion) {
	groups := map[accountRegion][]Environment{}
	var order []accountRegion
	for _, env := range envs {
		if env.Account == "" || env.Region == "" {
			continue
		}
		ar := accountRegion{env.Account, env.Region}
		if _, seen := groups[ar]; !seen {
			order = append(order, ar)
		}
		groups[ar] = append(groups[ar], env)
	}
	slices.SortFunc(order, func(a, b accountRegion) int { return strings.Compare(a.String(), b.String()) })
	return groups, order
}

// validateAccountWide checks what environments sharing an explicit account
// and region share: the API Gateway CloudWatch role and the key and plan
// quotas.
func validateAccountWide(envs []Environment) Errors {
	var errs Errors
	groups, order := explicitAccountRegions(envs)
	for _, ar := range order {
		group := groups[ar]
		errs = append(errs, checkCloudWatchRoleOwner(ar, group, envs)...)

		keys, plans := 0, 0
		var keyParts, planParts []string
		for _, env := range group {
			keys += len(env.APIKeys)
			plans += len(env.UsagePlans)
			keyParts = append(keyParts, fmt.Sprintf("%s %d", env.Name, len(env.APIKeys)))
			planParts = append(planParts, fmt.Sprintf("%s %d", env.Name, len(env.UsagePlans)))
		}
		first := "environments." + group[0].Name
		planQuota := group[0].UsagePlanQuota()
		quotaAgreed := true
		for _, env := range group[1:] {
			if env.UsagePlanQuota() != planQuota {
				quotaAgreed = false
				errs = append(errs, FieldError{Path: "environments." + env.Name + ".quotas.usagePlansPerAccountRegion", Msg: fmt.Sprintf(
					"is %d here and %d in %s, which deploys to the same account/region %s: the quota is the account's, set the same value (or none, for the default %d) in every environment of %s",
					env.UsagePlanQuota(), planQuota, group[0].Name, ar, MaxUsagePlansPerAccountRegion, ar)})
			}
		}
		if keys > MaxAPIKeysPerAccountRegion {
			errs = append(errs, FieldError{Path: first + ".apiKeys", Msg: fmt.Sprintf(
				"the environments in account/region %s hold %d API keys together (%s); API Gateway allows %d per account and region, not adjustable, and keys removed from the config are retained and still count: remove keys, or move an environment to another account or region",
				ar, keys, strings.Join(keyParts, ", "), MaxAPIKeysPerAccountRegion)})
		}
		if quotaAgreed && plans > planQuota {
			quota := fmt.Sprintf("API Gateway allows %d per account and region by default: merge plans, move an environment to another account or region, or, once Service Quotas has raised the account's quota, set quotas.usagePlansPerAccountRegion to it", planQuota)
			if planQuota != MaxUsagePlansPerAccountRegion {
				quota = fmt.Sprintf("the account's quota is %d (quotas.usagePlansPerAccountRegion): merge plans, move an environment to another account or region, or raise the quota in Service Quotas and then the setting", planQuota)
			}
			errs = append(errs, FieldError{Path: first + ".usagePlans", Msg: fmt.Sprintf(
				"the environments in account/region %s hold %d usage plans together (%s); %s",
				ar, plans, strings.Join(planParts, ", "), quota)})
		}
	}
	return errs
}

// checkCloudWatchRoleOwner: every stage keygate deploys logs (access logs
// always, execution logs unless OFF), and API Gateway refuses to create such
// a stage where the account+region has no CloudWatch role ("CloudWatch Logs
// role ARN must be set in account settings to enable logging";
// https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html;
// the error as users meet it: Miserlou/Zappa#1946,
// aws-solutions/virtual-waiting-room-on-aws#74).
// So, where the account and region are explicit, one environment of that
// account+region must manage AWS::ApiGateway::Account, unless the config
// says the role is set outside keygate.
func checkCloudWatchRoleOwner(ar accountRegion, group, all []Environment) Errors {
	for _, env := range group {
		if env.ManageCloudWatchRole || env.CloudWatchRoleManagedOutside {
			return nil
		}
	}
	var errs Errors
	var agnosticOwners []string
	for _, env := range all {
		if env.ManageCloudWatchRole && (env.Account == "" || env.Region == "") {
			agnosticOwners = append(agnosticOwners, env.Name)
		}
	}
	hint, fix := "", fmt.Sprintf("set manageCloudWatchRole to true in exactly one environment of %s, or set cloudWatchRoleManagedOutside to true if the role is set outside keygate", ar)
	if len(agnosticOwners) > 0 {
		owners := strings.Join(agnosticOwners, ", ")
		hint = fmt.Sprintf(" (%s manages one but has no explicit account and region, so it cannot be known to be this one)", owners)
		// Setting manageCloudWatchRole here alone would meet the next
		// error: an owner without account and region overlaps every
		// account and region, so a second owner is refused.
		fix = fmt.Sprintf("if %s deploys to %s, set its account and region to %s; if not, set its account and region to where it does deploy (an owner without them overlaps every account and region, so a second owner would be refused) and set manageCloudWatchRole to true in exactly one environment of %s, or set cloudWatchRoleManagedOutside to true here if the role is set outside keygate", owners, ar, ar, ar)
	}
	for _, env := range group {
		errs = append(errs, FieldError{Path: "environments." + env.Name + ".manageCloudWatchRole", Msg: fmt.Sprintf(
			"no environment of account/region %s manages the API Gateway CloudWatch role%s, and its stage fails to create without one (\"CloudWatch Logs role ARN must be set in account settings\"); %s",
			ar, hint, fix)})
	}
	return errs
}
