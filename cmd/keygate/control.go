package main

import (
	"net/http"
	"os"

	"github.com/keygate/keygate/internal/apistore"
	"github.com/keygate/keygate/internal/controlplane"
)

func init() { controlPlane = newControlPlane }

// defaultControlAddr is where `make local` serves the control plane
// (CONTROL_ADDR): point the SDK at it with
// AWS_ENDPOINT_URL_API_GATEWAY=http://127.0.0.1:8788.
const defaultControlAddr = "127.0.0.1:8788"

// newControlPlane is the local control plane on the store the local data
// plane reads, with API Gateway's control-plane limits on. `local` mounts it
// on CONTROL_ADDR.
func newControlPlane(store *apistore.Store) http.Handler {
	return controlplane.New(store, controlplane.Options{Limits: controlplane.AWSLimits})
}

// envOr is the environment variable name, or def where it is unset.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}
