// Package router matches request paths and methods against an API's
// resource tree the way API Gateway does: a literal path part before a
// {param} before a greedy {proxy+}, the method itself before ANY, and an
// undefined resource or method is no match (API Gateway's 403 "Missing
// Authentication Token").
package router

import (
	"strings"

	"github.com/keygate/keygate/internal/apimodel"
)

// Param is one path parameter of a match.
type Param struct{ Name, Value string }

// Match is a matched method with its path parameters.
type Match struct {
	Method *apimodel.Method
	Params []Param
}

// Param returns the value of a path parameter.
func (m *Match) Param(name string) (string, bool) {
	for _, p := range m.Params {
		if p.Name == name {
			return p.Value, true
		}
	}
	return "", false
}

// Router matches against one resource tree. It is read-only after New and
// safe for concurrent use.
type Router struct{ root *node }

type node struct {
	res      *apimodel.Resource
	literals map[string]*node
	param    *node // {name}
	greedy   *node // {name+}
}

// New compiles the tree under root.
func New(root *apimodel.Resource) *Router { return &Router{root: compile(root)} }

func compile(r *apimodel.Resource) *node {
	n := &node{res: r, literals: map[string]*node{}}
	for _, c := range r.Children {
		switch {
		case c.Greedy():
			n.greedy = compile(c)
		case c.Param() != "":
			n.param = compile(c)
		default:
			n.literals[c.PathPart] = compile(c)
		}
	}
	return n
}

// Find matches a path (below the stage, starting with "/") and an HTTP
// method. ok is false when no resource and method match.
func (r *Router) Find(method, path string) (Match, bool) {
	path = strings.TrimPrefix(path, "/")
	// API Gateway treats /a/ as /a.
	path = strings.TrimSuffix(path, "/")
	var params []Param
	res, ok := r.root.find(path, &params)
	if !ok {
		return Match{}, false
	}
	m := res.Methods[method]
	if m == nil {
		m = res.Methods["ANY"]
	}
	if m == nil {
		return Match{}, false
	}
	return Match{Method: m, Params: params}, true
}

// find walks the remaining path; it backtracks from a literal to a
// parameter to a greedy child when the deeper path does not match.
func (n *node) find(path string, params *[]Param) (*apimodel.Resource, bool) {
	if path == "" {
		return n.res, true
	}
	segment, rest, _ := strings.Cut(path, "/")
	if segment == "" {
		return nil, false // an empty segment ("//") matches nothing
	}
	mark := len(*params)
	if child := n.literals[segment]; child != nil {
		if res, ok := child.find(rest, params); ok && hasMethods(res) {
			return res, true
		}
		*params = (*params)[:mark]
	}
	if n.param != nil {
		*params = append(*params, Param{Name: n.param.res.Param(), Value: segment})
		if res, ok := n.param.find(rest, params); ok && hasMethods(res) {
			return res, true
		}
		*params = (*params)[:mark]
	}
	if n.greedy != nil {
		*params = append(*params, Param{Name: n.greedy.res.Param(), Value: path})
		return n.greedy.res, true
	}
	// A literal match without methods still names the resource: the
	// method check then fails as API Gateway's does.
	if child := n.literals[segment]; child != nil {
		return child.find(rest, params)
	}
	return nil, false
}

func hasMethods(r *apimodel.Resource) bool { return len(r.Methods) > 0 }
