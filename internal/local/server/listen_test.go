package server

import (
	"net"
	"strings"
	"testing"
)

func TestListenErrorsHintAnotherKeygateOnlyWhenTheAddressIsInUse(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	s := &Server{serveErr: make(chan error, 1)}
	_, err = s.listen(taken.Addr().String(), nil)
	if err == nil || !strings.Contains(err.Error(), "is another keygate local running?") {
		t.Errorf("address in use: %v", err)
	}
	for _, addr := range []string{"127.0.0.1:99999", "192.0.2.1:0"} {
		_, err := s.listen(addr, nil)
		if err == nil || strings.Contains(err.Error(), "another keygate local") || !strings.Contains(err.Error(), "ADDR=host:port") {
			t.Errorf("%s: %v", addr, err)
		}
	}
}
