package workflows

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWorkflowsKeepTheirTrustBoundaries reads every workflow of the
// repository and fails on each boundary one of them crosses.
func TestWorkflowsKeepTheirTrustBoundaries(t *testing.T) {
	paths, err := filepath.Glob("../../.github/workflows/*.y*ml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no workflows found (%v)", err)
	}
	files := map[string][]byte{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(p)] = data
	}
	for _, problem := range Check(files) {
		t.Error(problem)
	}
}

const sha = "3d3c42e5aac5ba805825da76410c181273ba90b1"

// TestCheckFindsEachViolation proves each rule fires on a workflow that
// breaks it, and stays quiet on one that does not.
func TestCheckFindsEachViolation(t *testing.T) {
	good := map[string]string{
		"pr.yml": `
name: pr
on: {pull_request: {types: [opened]}}
permissions: {contents: read}
jobs:
  synth:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@` + sha + ` # v7.0.1
        with: {persist-credentials: false}
      - run: make synth
`,
		"report.yml": `
name: report
on: {workflow_run: {workflows: [pr], types: [completed]}}
permissions: {contents: read}
jobs:
  diff:
    runs-on: ubuntu-latest
    environment: dev-diff
    permissions: {contents: read, id-token: write, pull-requests: write}
    steps:
      - uses: actions/checkout@` + sha + ` # v7.0.1
        with: {persist-credentials: false}
`,
		"deploy.yml": `
name: deploy
on: {push: {branches: [main]}}
permissions: {contents: read}
jobs:
  dev:
    uses: ./.github/workflows/env.yml
    permissions: {contents: read, id-token: write}
`,
		"env.yml": `
name: env
on: {workflow_call: {}}
permissions: {contents: read}
jobs:
  deploy:
    runs-on: ubuntu-latest
    environment: dev
    permissions: {contents: read, id-token: write}
    concurrency: {group: deploy-dev, cancel-in-progress: false}
    steps:
      - run: npm ci --ignore-scripts
      - shell: bash
        run: checkartifact dir | tee -a "$GITHUB_OUTPUT"
      - uses: actions/checkout@` + sha + ` # v7.0.1
        with: {persist-credentials: false, ref: "${{ github.sha }}"}
`,
	}
	if problems := Check(bytesOf(good)); len(problems) > 0 {
		t.Fatalf("a workflow set within its boundaries was refused:\n%s", strings.Join(problems, "\n"))
	}

	cases := []struct {
		name, file, old, new, want string
	}{
		{"id-token in a pull request job", "pr.yml", "permissions: {contents: read}", "permissions: {contents: read, id-token: write}", "holds id-token: write"},
		{"write scope in a pull request job", "pr.yml", "permissions: {contents: read}", "permissions: {contents: read, pull-requests: write}", "holds pull-requests: write"},
		{"write-all in a pull request job", "pr.yml", "permissions: {contents: read}", "permissions: write-all", "holds id-token: write"},
		{"environment in a pull request job", "pr.yml", "runs-on: ubuntu-latest", "runs-on: ubuntu-latest\n    environment: dev-diff", "in a GitHub environment"},
		{"secret in a pull request job", "pr.yml", "run: make synth", "run: echo ${{ secrets.TOKEN }}", "reads a secret"},
		{"pull_request_target", "pr.yml", "pull_request:", "pull_request_target:", "pull_request_target runs"},
		{"push to any branch is pull request code", "deploy.yml", "branches: [main]", "branches: ['**']", "env.yml: job deploy runs pull request code and holds id-token"},
		{"no top-level permissions", "pr.yml", "permissions: {contents: read}\n", "", "no top-level permissions"},
		{"tag instead of SHA", "pr.yml", "@" + sha + " # v7.0.1", "@v7", "is not pinned"},
		{"SHA without version comment", "pr.yml", "@" + sha + " # v7.0.1", "@" + sha, "is not pinned"},
		{"persisted credentials", "pr.yml", "persist-credentials: false", "persist-credentials: true", "persist-credentials: false leaves"},
		{"privileged job checks out the pull request head", "report.yml", "with: {persist-credentials: false}", "with: {persist-credentials: false, ref: \"${{ github.event.workflow_run.head_sha }}\"}", "checks out ref"},
		{"privileged job checks out another repository", "report.yml", "with: {persist-credentials: false}", "with: {persist-credentials: false, repository: evil/repo}", "another repository"},
		{"deploy cancels in progress", "env.yml", "cancel-in-progress: false", "cancel-in-progress: true", "without a concurrency group that queues"},
		{"npm install scripts next to the OIDC token", "env.yml", "npm ci --ignore-scripts", "npm ci --no-audit", "add --ignore-scripts"},
		{"a pipe into the step outputs without pipefail", "env.yml", "      - shell: bash\n", "      - ", "without pipefail"},
		{"the pull request's artifact next to the OIDC token", "report.yml", "        with: {persist-credentials: false}\n", "        with: {persist-credentials: false}\n      - uses: actions/download-artifact@" + sha + " # v8.0.1\n        with: {name: pr-diff, run-id: \"${{ github.event.workflow_run.id }}\"}\n", "downloads the triggering run's artifact"},
		{"deploy without concurrency", "env.yml", "    concurrency: {group: deploy-dev, cancel-in-progress: false}\n", "", "without a concurrency group that queues"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			files := map[string]string{}
			for k, v := range good {
				files[k] = v
			}
			if !strings.Contains(files[c.file], c.old) {
				t.Fatalf("%s has no %q to replace", c.file, c.old)
			}
			files[c.file] = strings.Replace(files[c.file], c.old, c.new, 1)
			problems := Check(bytesOf(files))
			for _, p := range problems {
				if strings.Contains(p, c.want) {
					return
				}
			}
			t.Errorf("want a problem containing %q, got:\n%s", c.want, strings.Join(problems, "\n"))
		})
	}
}

func bytesOf(m map[string]string) map[string][]byte {
	out := map[string][]byte{}
	for k, v := range m {
		out[k] = []byte(v)
	}
	return out
}
