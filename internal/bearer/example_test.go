package bearer_test

import (
	"fmt"

	"github.com/keygate/keygate/internal/bearer"
)

func ExampleParse() {
	key, err := bearer.Parse("bearer  TESTKEYnotarealkey0123==")
	fmt.Println(key, err)

	for _, header := range []string{"", "Basic dXNlcjpwYXNzd29yZA==", "Bearer tooshort", "Bearer TESTKEYnotarealkey0123 second"} {
		_, err := bearer.Parse(header)
		fmt.Println(err)
	}
	// Output:
	// TESTKEYnotarealkey0123== <nil>
	// missing
	// scheme
	// length
	// extra-token
}
