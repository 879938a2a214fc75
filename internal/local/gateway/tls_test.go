package gateway

import (
	"crypto/tls"
	"testing"
)

// TestAccessLogNamesTheNegotiatedTLSAsAPIGatewayDoes: the access log's
// tlsVersion is API Gateway's spelling (TLSv1.3), so a filter written for
// the deployed log works on the local one.
func TestAccessLogNamesTheNegotiatedTLSAsAPIGatewayDoes(t *testing.T) {
	for _, tc := range []struct {
		state          tls.ConnectionState
		version, suite string
	}{
		{tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256}, "TLSv1.3", "TLS_AES_128_GCM_SHA256"},
		{tls.ConnectionState{Version: tls.VersionTLS12, CipherSuite: tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}, "TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
	} {
		if version, suite := tlsNames(&tc.state); version != tc.version || suite != tc.suite {
			t.Errorf("%x/%x: %q %q, want %q %q", tc.state.Version, tc.state.CipherSuite, version, suite, tc.version, tc.suite)
		}
	}
}
