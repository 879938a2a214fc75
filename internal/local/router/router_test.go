package router

import (
	"fmt"
	"testing"

	"github.com/keygate/keygate/internal/apimodel"
)

// tree builds a resource tree from "METHOD /path" lines.
func tree(routes ...string) *apimodel.Resource {
	root := &apimodel.Resource{Path: "/", Methods: map[string]*apimodel.Method{}}
	for _, route := range routes {
		var method, path string
		fmt.Sscan(route, &method, &path)
		r := root
		for _, part := range splitPath(path) {
			var next *apimodel.Resource
			for _, c := range r.Children {
				if c.PathPart == part {
					next = c
				}
			}
			if next == nil {
				next = &apimodel.Resource{PathPart: part, Path: r.Path + part + "/", Parent: r, Methods: map[string]*apimodel.Method{}}
				r.Children = append(r.Children, next)
			}
			r = next
		}
		r.Methods[method] = &apimodel.Method{HTTPMethod: method, Resource: r}
	}
	return root
}

func splitPath(p string) []string {
	var out []string
	start := 1
	for i := 1; i <= len(p); i++ {
		if i == len(p) || p[i] == '/' {
			if i > start {
				out = append(out, p[start:i])
			}
			start = i + 1
		}
	}
	return out
}

func TestFind(t *testing.T) {
	r := New(tree("GET /health", "ANY /echo/{proxy+}", "GET /orders/{id}", "DELETE /orders/{id}",
		"GET /orders/recent", "POST /orders", "GET /files/{name}/meta", "OPTIONS /health"))
	for _, tc := range []struct {
		method, path string
		want         string // "METHOD resource path" or "" for no match
		params       string
	}{
		{"GET", "/health", "GET /health", ""},
		{"GET", "/health/", "GET /health", ""},
		{"OPTIONS", "/health", "OPTIONS /health", ""},
		{"POST", "/health", "", ""},
		{"GET", "/nope", "", ""},
		{"GET", "/", "", ""},
		{"PATCH", "/echo/a/b/c", "ANY /echo/{proxy+}", "proxy=a/b/c"},
		{"GET", "/echo", "", ""},
		{"GET", "/orders/42", "GET /orders/{id}", "id=42"},
		{"DELETE", "/orders/42", "DELETE /orders/{id}", "id=42"},
		{"GET", "/orders/recent", "GET /orders/recent", ""},
		{"DELETE", "/orders/recent", "", ""}, // the literal resource wins; it has no DELETE
		{"POST", "/orders", "POST /orders", ""},
		{"GET", "/orders/42/extra", "", ""},
		{"GET", "/files/a.txt/meta", "GET /files/{name}/meta", "name=a.txt"},
		{"GET", "/orders//42", "", ""},
	} {
		m, ok := r.Find(tc.method, tc.path)
		got, params := "", ""
		if ok {
			got = m.Method.HTTPMethod + " " + m.Method.Resource.Path
			got = got[:len(got)-1] // the test tree's paths end in "/"
			for _, p := range m.Params {
				params += p.Name + "=" + p.Value
			}
		}
		if got != tc.want || params != tc.params {
			t.Errorf("%s %s matched %q (%s), want %q (%s)", tc.method, tc.path, got, params, tc.want, tc.params)
		}
	}
}
