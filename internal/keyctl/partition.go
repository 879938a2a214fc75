package keyctl

import "regexp"

// partitions are the AWS partitions that are not "aws", by the region
// names each holds: the regionRegex values of the SDK's endpoint rules
// (aws-sdk-go-v2 internal/endpoints/awsrulesfn/partitions.json, which
// Go code outside the SDK cannot import). Any other region is in "aws",
// as the SDK assumes too.
var partitions = []struct {
	id     string
	region *regexp.Regexp
}{
	{"aws-cn", regexp.MustCompile(`^cn\-\w+\-\d+$`)},
	{"aws-us-gov", regexp.MustCompile(`^us\-gov\-\w+\-\d+$`)},
	{"aws-iso", regexp.MustCompile(`^us\-iso\-\w+\-\d+$`)},
	{"aws-iso-b", regexp.MustCompile(`^us\-isob\-\w+\-\d+$`)},
	{"aws-iso-e", regexp.MustCompile(`^eu\-isoe\-\w+\-\d+$`)},
	{"aws-iso-f", regexp.MustCompile(`^us\-isof\-\w+\-\d+$`)},
	{"aws-eusc", regexp.MustCompile(`^eusc\-(de)\-\w+\-\d+$`)},
}

// Partition is the ARN partition of region: aws-cn for cn-north-1,
// aws-us-gov for us-gov-west-1, aws otherwise.
func Partition(region string) string {
	for _, p := range partitions {
		if p.region.MatchString(region) {
			return p.id
		}
	}
	return "aws"
}
