package synth

import (
	"math/big"
	"math/bits"
)

// Graph is the creation order CloudFormation must follow across a stack and
// its nested stacks: an edge from a node to each node that must be complete
// before it may start. Resources without a path between them can be created
// at the same time, nested stacks included (CloudFormation user guide,
// "DependsOn attribute").
type Graph struct {
	Nodes []GraphNode
	index map[string]int
	deps  [][]int
}

// GraphNode is one resource, named "<nested stack logical id>/…/<logical id>".
type GraphNode struct {
	Name string
	Type string
}

// NewGraph builds the creation-order graph of a template and its nested
// templates. A resource depends on what it names in DependsOn, Ref,
// Fn::GetAtt or Fn::Sub. A nested stack starts once its own dependencies are
// complete, and completes once every resource inside it is: so every
// resource inside waits for the stack's dependencies, and whatever depends on
// the stack waits for every resource inside.
func NewGraph(tpl *Template) *Graph {
	g := &Graph{index: map[string]int{}}
	g.add("", tpl, -1)
	return g
}

func (g *Graph) node(name, typ string) int {
	if i, ok := g.index[name]; ok {
		return i
	}
	g.index[name] = len(g.Nodes)
	g.Nodes = append(g.Nodes, GraphNode{Name: name, Type: typ})
	g.deps = append(g.deps, nil)
	return len(g.Nodes) - 1
}

func (g *Graph) edge(from, to int) { g.deps[from] = append(g.deps[from], to) }

// add adds the resources of tpl, named under prefix; start is the node every
// resource of a nested template waits for (-1 for the root).
func (g *Graph) add(prefix string, tpl *Template, start int) {
	for id, r := range tpl.Resources {
		n := g.node(prefix+id, r.Type)
		if start >= 0 {
			g.edge(n, start)
		}
	}
	for id, r := range tpl.Resources {
		n := g.index[prefix+id]
		// A nested stack's dependencies hold back its start node.
		from := n
		if nested, ok := tpl.Nested[id]; ok {
			from = g.node(prefix+id+"#start", "keygate::NestedStackStart")
			if start >= 0 {
				g.edge(from, start)
			}
			g.add(prefix+id+"/", nested, from)
			for nestedID := range nested.Resources {
				g.edge(n, g.index[prefix+id+"/"+nestedID])
			}
		}
		targets := append(r.DependsOnIDs(), RefsIn(r.Properties)...)
		for _, target := range targets {
			if _, ok := tpl.Resources[target]; ok {
				g.edge(from, g.index[prefix+target])
			}
		}
	}
}

// Ancestors returns, for every node, the set of nodes that must be complete
// before it starts, as a bit set indexed like Nodes.
func (g *Graph) Ancestors() []*big.Int {
	memo := make([]*big.Int, len(g.Nodes))
	var visit func(int) *big.Int
	visit = func(n int) *big.Int {
		if memo[n] != nil {
			return memo[n]
		}
		set := new(big.Int)
		memo[n] = set // a cycle would be a broken template; it ends here
		for _, d := range g.deps[n] {
			set.SetBit(set, d, 1)
			set.Or(set, visit(d))
		}
		return set
	}
	for n := range g.Nodes {
		visit(n)
	}
	return memo
}

// ResourcesOfType lists the nodes of a resource type.
func (g *Graph) ResourcesOfType(typ string) []int {
	var out []int
	for i, n := range g.Nodes {
		if n.Type == typ {
			out = append(out, i)
		}
	}
	return out
}

// TotallyOrdered reports whether the given nodes form one chain: for any two
// of them, one must be complete before the other starts. For nodes of a
// DAG that is so exactly when the numbers of their ancestors among
// themselves are 0, 1, …, n−1; if not, it returns two nodes with no path
// between them.
func (g *Graph) TotallyOrdered(nodes []int, ancestors []*big.Int) (ok bool, a, b string) {
	among := new(big.Int)
	for _, n := range nodes {
		among.SetBit(among, n, 1)
	}
	byCount := map[int]int{}
	for _, n := range nodes {
		count := 0
		for _, word := range new(big.Int).And(ancestors[n], among).Bits() {
			count += bits.OnesCount(uint(word))
		}
		if other, dup := byCount[count]; dup {
			return false, g.Nodes[other].Name, g.Nodes[n].Name
		}
		byCount[count] = n
	}
	return true, "", ""
}
