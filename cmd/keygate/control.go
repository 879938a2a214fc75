package main

import (
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/keygate/keygate/internal/apistore"
	"github.com/keygate/keygate/internal/controlplane"
)

// defaultControlAddr is where `make local` serves the control plane
// (CONTROL_ADDR): point the SDK at it with
// AWS_ENDPOINT_URL_API_GATEWAY=http://127.0.0.1:8788.
const defaultControlAddr = "127.0.0.1:8788"

// defaultAttachHold is how long the local control plane holds the
// account's attachment slot per CreateUsagePlanKey: on AWS an attachment
// takes long enough that parallel calls get 409 "concurrent modification"
// (serverless/serverless#12065); a local one would take microseconds and a
// client that attaches in parallel would pass locally and fail on AWS.
const defaultAttachHold = 100 * time.Millisecond

// attachHold is -attach-hold (KEYGATE_ATTACH_HOLD), set by `local`.
var attachHold = defaultAttachHold

// parseAttachHold reads -attach-hold: a Go duration, 0 or more.
func parseAttachHold(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("-attach-hold (KEYGATE_ATTACH_HOLD) %q: want a duration of 0 or more, e.g. 100ms", v)
	}
	return d, nil
}

// newControlPlane is the local control plane on the store the local data
// plane reads, with API Gateway's control-plane limits on. `local` mounts it
// on CONTROL_ADDR.
func newControlPlane(store *apistore.Store) http.Handler {
	return controlplane.New(store, controlplane.Options{Limits: controlplane.AWSLimits, AttachHold: attachHold})
}

// envOr is the environment variable name, or def where it is unset.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}
