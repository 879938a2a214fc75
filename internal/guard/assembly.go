package guard

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// CompareAssemblies compares stack as synthesized into two cdk.out
// directories: its root template (<stack>.template.json) and every nested
// stack template, found through the aws:asset:path metadata the CDK puts on
// each AWS::CloudFormation::Stack resource and paired by that resource's
// logical ID. A key that moves between nested stacks is therefore a
// replacement, and a nested stack that goes takes its keys with it.
func CompareAssemblies(baseDir, headDir, stack string) ([]Finding, error) {
	r, err := ReviewAssemblies(baseDir, headDir, stack)
	return r.Findings, err
}

// ReviewAssemblies is [CompareAssemblies] with the count of the resource
// operations one deploy of the diff makes; its findings include the
// [Refuse] ones (above CloudFormation's operation quota, a key in two plans,
// a named resource replaced under its name).
func ReviewAssemblies(baseDir, headDir, stack string) (Review, error) {
	base, err := loadAssembly(baseDir, stack)
	if err != nil {
		return Review{}, fmt.Errorf("base: %w", err)
	}
	head, err := loadAssembly(headDir, stack)
	if err != nil {
		return Review{}, fmt.Errorf("head: %w", err)
	}
	return review(base, head), nil
}

// assetPathKey is the metadata key under which the CDK records the file, in
// cdk.out, of a nested stack's template.
const assetPathKey = "aws:asset:path"

// loadAssembly reads stack's root template from dir and, recursively, the
// templates of its nested stacks.
func loadAssembly(dir, stack string) ([]placed, error) {
	rootFile := stack + ".template.json"
	if info, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("%s is not a cdk.out directory: %w", dir, err)
	} else if !info.IsDir() {
		return nil, fmt.Errorf("%s is a file, not a cdk.out directory: with a STACK argument both BASE and HEAD are cdk.out directories; to compare two template files, pass just BASE.template.json HEAD.template.json (no STACK)", dir)
	}
	root, err := readTemplate(dir, rootFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no stack %q in %s (stacks there: %s)", stack, dir, stacksIn(dir))
	}
	if err != nil {
		return nil, err
	}
	var all []placed
	// seen guards against a template naming itself (or an ancestor) as a
	// nested stack, which would otherwise recurse forever.
	seen := map[string]bool{rootFile: true}
	var walk func(stack string, t *template) error
	walk = func(stack string, t *template) error {
		all = append(all, located(stack, t)...)
		for _, id := range sortedIDs(t) {
			r := t.Resources[id]
			if r.Type != "AWS::CloudFormation::Stack" {
				continue
			}
			file, _ := r.Metadata[assetPathKey].(string)
			if file == "" {
				return fmt.Errorf("nested stack %s has no %s metadata, so its template cannot be found; synthesize with asset metadata on (the CDK default)", id, assetPathKey)
			}
			// The file name comes from a template (a pull request's, in the
			// diff job): only a plain file name in dir, never a path that
			// could read a file of the runner's.
			if !isPlainFileName(file) {
				return fmt.Errorf("nested stack %s: %s %q is not a plain file name in the cloud assembly", id, assetPathKey, file)
			}
			if seen[file] {
				return fmt.Errorf("nested stack %s: %s is already part of this stack", id, file)
			}
			seen[file] = true
			nested, err := readTemplate(dir, file)
			if err != nil {
				return fmt.Errorf("nested stack %s: %w", id, err)
			}
			if err := walk(nestedPath(stack, id), nested); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(rootStack, root); err != nil {
		return nil, err
	}
	return all, nil
}

// isPlainFileName reports whether file names a file directly in a
// directory: local (no "..", not absolute; filepath.IsLocal) and without a
// separator.
func isPlainFileName(file string) bool {
	return filepath.IsLocal(file) && !strings.ContainsAny(file, `/\`) && file != "."
}

// nestedPath is the Stack of the resources of nested stack id inside stack.
func nestedPath(stack, id string) string {
	if stack == rootStack {
		return id
	}
	return stack + "/" + id
}

func readTemplate(dir, file string) (*template, error) {
	path := filepath.Join(dir, file)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t, err := parseTemplate(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// stacksIn lists the root stacks in a cdk.out directory, for the error
// message when the asked-for one is not there.
func stacksIn(dir string) string {
	paths, _ := filepath.Glob(filepath.Join(dir, "*.template.json"))
	var names []string
	for _, p := range paths {
		name := strings.TrimSuffix(filepath.Base(p), ".template.json")
		if !strings.HasSuffix(name, ".nested") {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func sortedIDs(t *template) []string {
	ids := make([]string, 0, len(t.Resources))
	for id := range t.Resources {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
