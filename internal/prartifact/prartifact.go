// Package prartifact checks the artifact a pull request's unprivileged job
// hands to the privileged diff job before that job reads a byte of it.
//
// The pull request controls that artifact completely: pull_request runs the
// pull request's own copy of pr-diff.yml, so whatever it uploads under the
// expected name arrives in the workflow_run job that holds an AWS role and
// a token that may comment. The privileged job treats it as data only (it
// runs no code from it) and, before anything else, Check makes sure it is
// small, holds only the files a cloud assembly and the pull request's
// metadata consist of, names only keygate stacks, spells logical IDs,
// resource types and environments in CloudFormation's alphabet (they reach
// logs and comments), names only nested templates inside it, and
// asks the CDK CLI to do nothing but read templates (no asset that builds
// with a command of its own, no Docker image).
// See GitHub Security Lab, "Preventing pwn requests"
// (https://securitylab.github.com/resources/github-actions-preventing-pwn-requests/):
// "the artifact content should be treated as untrusted".
package prartifact

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Limits bound the artifact. CloudFormation reads templates of at most 1 MB
// from S3 (CloudFormation quotas page), so a cloud assembly of keygate's
// largest environment (10,000 keys in 100 nested stacks) stays far below
// them; tree.json, the construct tree, is the largest file.
type Limits struct {
	MaxFiles     int
	MaxFileBytes int64
	MaxBytes     int64
}

// DefaultLimits are the limits the workflow uses.
var DefaultLimits = Limits{MaxFiles: 1000, MaxFileBytes: 64 << 20, MaxBytes: 256 << 20}

// PR is pr.json: which pull request and commits the artifact claims to come
// from. The privileged job verifies the claim against GitHub's API (the
// pull request's head must be the commit the triggering run ran at).
type PR struct {
	Number  int    `json:"number"`
	HeadSHA string `json:"headSha"`
	BaseSHA string `json:"baseSha"`
}

// The artifact's top level (approved-changes.json only as older base
// branches' pr-diff.yml uploaded it: it is checked to be JSON and never
// read; the report reads the approvals at the pull request's head through
// the API), and the file names a keygate cloud assembly holds (asset directories, the Lambda bundle, and cdk-nag reports are left
// out on upload: a diff needs none of them).
var (
	topLevel      = []string{"pr.json", "approved-changes.json", "cdk.out"}
	assemblyFile  = regexp.MustCompile(`^(manifest\.json|tree\.json|cdk\.out|[A-Za-z0-9-]+\.(template|assets|metadata)\.json|[A-Za-z0-9]+\.nested\.template\.json)$`)
	sha           = regexp.MustCompile(`^[0-9a-f]{40}$`)
	allowedKinds  = []string{"aws:cloudformation:stack", "cdk:asset-manifest", "cdk:tree", "cdk:feature-flag-report"}
	errNotChecked = errors.New("artifact refused")
)

// What the privileged job prints or posts from the templates must be plain:
// CloudFormation's own rules for logical IDs ("alphanumeric (A-Za-z0-9)
// and unique within the template", at most 255 characters: Resources
// section of the template reference, and CloudFormation quotas) and for
// resource type names (Organization::Service::Resource), and the CDK's
// spelling of an environment. Anything else (a newline that starts a
// workflow command, backticks that close a code block) is refused before
// any of it is read.
var (
	logicalID    = regexp.MustCompile(`^[A-Za-z0-9]{1,255}$`)
	resourceType = regexp.MustCompile(`^[A-Za-z0-9:]{1,256}$`)
	environment  = regexp.MustCompile(`^aws://([0-9]{12}|unknown-account)/([a-z]{2}(-[a-z]+)+-[0-9]+|unknown-region)$`)
)

// StackName is a keygate root stack: keygate- and an environment name as
// the config allows it (internal/config: a lowercase letter, then up to 30
// lowercase letters, digits or '-').
var StackName = regexp.MustCompile(`^keygate-[a-z][a-z0-9-]{0,30}$`)

// Artifact is what a checked artifact holds.
type Artifact struct {
	PR PR
	// Stacks are the root stacks of its cloud assembly, sorted. A pull
	// request may add or remove an environment, so any keygate stack name
	// is accepted; each diff job looks for its own.
	Stacks []string
}

// Check checks the artifact unpacked in dir. Every problem is listed.
func Check(dir string, limits Limits) (Artifact, error) {
	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	entries, err := os.ReadDir(dir)
	if err != nil {
		return Artifact{}, err
	}
	for _, e := range entries {
		if !slices.Contains(topLevel, e.Name()) {
			report("%s: not part of a keygate diff artifact (want only %s)", e.Name(), strings.Join(topLevel, ", "))
		}
	}

	files, total := 0, int64(0)
	assembly := filepath.Join(dir, "cdk.out")
	walkErr := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			if path != dir && path != assembly {
				report("%s: a directory; the artifact holds files only at its top level and in cdk.out", rel)
				return fs.SkipDir
			}
			return nil
		}
		info, err := os.Lstat(path)
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			// A symlink could make a later step read (and post) a file
			// of the runner's.
			report("%s: not a regular file (%s)", rel, info.Mode().Type())
			return nil
		}
		files++
		total += info.Size()
		if info.Size() > limits.MaxFileBytes {
			report("%s: %d bytes, more than %d", rel, info.Size(), limits.MaxFileBytes)
		}
		if filepath.Dir(path) == assembly && !assemblyFile.MatchString(d.Name()) {
			report("%s: not a file of a keygate cloud assembly", rel)
		}
		return nil
	})
	if walkErr != nil {
		return Artifact{}, walkErr
	}
	if files > limits.MaxFiles {
		report("%d files, more than %d", files, limits.MaxFiles)
	}
	if total > limits.MaxBytes {
		report("%d bytes in all, more than %d", total, limits.MaxBytes)
	}
	if len(problems) > 0 {
		// Nothing is parsed from an artifact of the wrong shape.
		return Artifact{}, fmt.Errorf("%w:\n  %s", errNotChecked, strings.Join(problems, "\n  "))
	}

	var pr PR
	if err := readJSON(filepath.Join(dir, "pr.json"), &pr); err != nil {
		report("pr.json: %v", err)
	} else {
		if pr.Number <= 0 {
			report("pr.json: number %d is not a pull request number", pr.Number)
		}
		if !sha.MatchString(pr.HeadSHA) || !sha.MatchString(pr.BaseSHA) {
			report("pr.json: headSha and baseSha must be full 40-hex commits, got %q and %q", pr.HeadSHA, pr.BaseSHA)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "approved-changes.json")); err == nil {
		var v map[string]any
		if err := readJSON(filepath.Join(dir, "approved-changes.json"), &v); err != nil {
			report("approved-changes.json: %v", err)
		}
	}
	stacks, assemblyProblems := checkAssembly(assembly)
	problems = append(problems, assemblyProblems...)
	problems = append(problems, checkTemplates(assembly)...)
	if len(problems) > 0 {
		return Artifact{}, fmt.Errorf("%w:\n  %s", errNotChecked, strings.Join(problems, "\n  "))
	}
	return Artifact{PR: pr, Stacks: stacks}, nil
}

// manifest is the part of a cloud assembly's manifest.json checked here.
type manifest struct {
	Artifacts map[string]struct {
		Type        string `json:"type"`
		Environment string `json:"environment"`
		Properties  struct {
			TemplateFile string `json:"templateFile"`
			File         string `json:"file"`
		} `json:"properties"`
		Dependencies []string `json:"dependencies"`
	} `json:"artifacts"`
}

// assetManifest is the part of an asset manifest checked here.
type assetManifest struct {
	Files map[string]struct {
		Source map[string]any `json:"source"`
	} `json:"files"`
	DockerImages map[string]any `json:"dockerImages"`
}

func checkAssembly(dir string) (stacks, problems []string) {
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, []string{"cdk.out: " + err.Error()}
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		var v map[string]any
		if err := readJSON(filepath.Join(dir, e.Name()), &v); err != nil {
			report("cdk.out/%s: %v", e.Name(), err)
		}
	}
	var m manifest
	if err := readJSON(filepath.Join(dir, "manifest.json"), &m); err != nil {
		return nil, append(problems, "cdk.out/manifest.json: "+err.Error())
	}
	for id, a := range m.Artifacts {
		if !slices.Contains(allowedKinds, a.Type) {
			report("cdk.out/manifest.json: artifact %s of type %q; a keygate assembly has only %s", id, a.Type, strings.Join(allowedKinds, ", "))
			continue
		}
		switch a.Type {
		case "aws:cloudformation:stack":
			if !StackName.MatchString(id) {
				report("cdk.out/manifest.json: stack %q is not a keygate stack (keygate-<environment>)", id)
				continue
			}
			if !environment.MatchString(a.Environment) {
				report("cdk.out/manifest.json: stack %s has environment %q; want aws://<12-digit account or unknown-account>/<region or unknown-region>", id, a.Environment)
				continue
			}
			if a.Properties.TemplateFile != id+".template.json" {
				report("cdk.out/manifest.json: stack %s has template file %q, want %s.template.json", id, a.Properties.TemplateFile, id)
				continue
			}
			if _, err := os.Stat(filepath.Join(dir, id+".template.json")); err != nil {
				report("cdk.out/%s.template.json: %v", id, err)
				continue
			}
			stacks = append(stacks, id)
		case "cdk:asset-manifest":
			if !assemblyFile.MatchString(a.Properties.File) {
				report("cdk.out/manifest.json: asset manifest %s is file %q", id, a.Properties.File)
				continue
			}
			var assets assetManifest
			if err := readJSON(filepath.Join(dir, a.Properties.File), &assets); err != nil {
				report("cdk.out/%s: %v", a.Properties.File, err)
				continue
			}
			if len(assets.DockerImages) > 0 {
				report("cdk.out/%s: Docker image assets; keygate builds none", a.Properties.File)
			}
			for hash, f := range assets.Files {
				if _, ok := f.Source["executable"]; ok {
					report("cdk.out/%s: file asset %s is built by a command (source.executable)", a.Properties.File, hash)
				}
			}
		}
	}
	if len(stacks) == 0 && len(problems) == 0 {
		report("cdk.out/manifest.json: no keygate stack")
	}
	slices.Sort(stacks)
	slices.Sort(problems)
	return stacks, problems
}

// template is the part of a template checked here.
type template struct {
	Resources map[string]struct {
		Type     string         `json:"Type"`
		Metadata map[string]any `json:"Metadata"`
	} `json:"Resources"`
}

// checkTemplates checks every template in dir: logical IDs and resource
// types in CloudFormation's alphabet, and every nested stack naming, in
// aws:asset:path, a template file that is in dir (a plain name: the guard
// reads it from dir).
func checkTemplates(dir string) (problems []string) {
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	files, _ := filepath.Glob(filepath.Join(dir, "*.template.json"))
	for _, path := range files {
		name := filepath.Base(path)
		var t template
		if err := readJSON(path, &t); err != nil {
			report("cdk.out/%s: %v", name, err)
			continue
		}
		for _, id := range slices.Sorted(maps.Keys(t.Resources)) {
			r := t.Resources[id]
			if !logicalID.MatchString(id) {
				// %q: the ID itself may hold what must not reach a log raw.
				report("cdk.out/%s: logical ID %q is not 1 to 255 letters and digits, as CloudFormation requires", name, id)
				continue
			}
			if !resourceType.MatchString(r.Type) {
				report("cdk.out/%s: resource %s has type %q, not a CloudFormation resource type", name, id, r.Type)
				continue
			}
			if r.Type != "AWS::CloudFormation::Stack" {
				continue
			}
			file, _ := r.Metadata["aws:asset:path"].(string)
			if !assemblyFile.MatchString(file) || !strings.HasSuffix(file, ".template.json") {
				report("cdk.out/%s: nested stack %s names the template file %q; want the plain name of a template in cdk.out", name, id, file)
				continue
			}
			if info, err := os.Lstat(filepath.Join(dir, file)); err != nil || !info.Mode().IsRegular() {
				report("cdk.out/%s: nested stack %s names the template file %q, which is not in cdk.out", name, id, file)
			}
		}
	}
	return problems
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("not JSON of the expected shape: %w", err)
	}
	return nil
}
