// Package workflows checks the trust boundaries of keygate's GitHub
// workflows, so that a later edit cannot quietly undo them:
//
//   - code a pull request controls (any workflow a pull_request or a push to
//     a branch other than main starts, and the reusable workflows they call)
//     never runs in a job that holds an OIDC token (id-token: write), a
//     write permission, a secret or a GitHub environment (whose secrets and
//     AWS role variables it would get);
//   - pull_request_target is not used at all: it runs with the base
//     repository's token and secrets next to the pull request's refs;
//   - a job that holds an OIDC token or an environment checks out only the
//     commit its trusted event names (no ref, or github.sha), never a
//     pull request's head, and never another repository;
//   - every action is pinned to a 40-hex commit with its version in a
//     comment, and every checkout sets persist-credentials: false (the token
//     would otherwise sit in .git/config for every later step to read);
//   - a workflow that deploys on push queues its runs: a concurrency group
//     with cancel-in-progress false;
//   - a job that downloads the artifact of the run that triggered it
//     (workflow_run: the pull request's upload) holds no OIDC token and no
//     environment: whatever parses data a pull request controls must have
//     no AWS role to lose;
//   - a privileged job installs npm packages with --ignore-scripts (an
//     install script would run next to the OIDC token);
//   - a run step that pipes into $GITHUB_OUTPUT or $GITHUB_ENV sets
//     pipefail (shell: bash, or set -o pipefail): GitHub's default shell for
//     run is bash -e {0}, without pipefail, so a failing command before the
//     pipe would not fail the step (GitHub docs, "Workflow syntax":
//     jobs.<job_id>.steps[*].shell; github/docs#18933).
//
// Why: GitHub's "Security hardening for GitHub Actions" and "Keeping your
// GitHub Actions and workflows secure: Preventing pwn requests"
// (https://securitylab.github.com/resources/github-actions-preventing-pwn-requests/):
// a pull_request workflow runs the pull request's own copy of the workflow
// file, so only permissions and AWS trust policies, not the file's text,
// can bound what it does.
package workflows

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Workflow is the part of a workflow file the boundaries are about.
type Workflow struct {
	Name        string         `yaml:"name"`
	On          yaml.Node      `yaml:"on"`
	Permissions yaml.Node      `yaml:"permissions"`
	Concurrency yaml.Node      `yaml:"concurrency"`
	Env         map[string]any `yaml:"env"`
	Jobs        map[string]Job `yaml:"jobs"`
}

// Job is one job of a workflow: steps, or a call to a reusable workflow.
type Job struct {
	Uses        string         `yaml:"uses"`
	With        map[string]any `yaml:"with"`
	Secrets     any            `yaml:"secrets"`
	Permissions yaml.Node      `yaml:"permissions"`
	Environment any            `yaml:"environment"`
	Concurrency yaml.Node      `yaml:"concurrency"`
	Env         map[string]any `yaml:"env"`
	Steps       []Step         `yaml:"steps"`
}

// Step is one step of a job.
type Step struct {
	Name  string         `yaml:"name"`
	Uses  string         `yaml:"uses"`
	With  map[string]any `yaml:"with"`
	Run   string         `yaml:"run"`
	Shell string         `yaml:"shell"`
	Env   map[string]any `yaml:"env"`
}

// npmInstall is an npm command that installs packages (and runs their
// install scripts unless told not to).
var npmInstall = regexp.MustCompile(`\bnpm\s+(ci|install|i)\b[^\n]*`)

// pipedOutput is a pipeline whose last command writes a step output or
// environment file.
var pipedOutput = regexp.MustCompile(`\|[^\n|]*\$\{?(GITHUB_OUTPUT|GITHUB_ENV)\b`)

// trustedBranches says which pushes run only reviewed code: those to main.
var trustedBranches = []string{"main"}

// pinned is owner/repo[/path]@<40 hex> followed by a "# v…" comment.
var pinned = regexp.MustCompile(`^\s*(-\s+)?uses:\s*[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}\s+#\s*v\d+(\.\d+)*\s*$`)

// trustedRefs are the checkout refs a privileged job may use: the commit of
// its own (trusted) event.
var trustedRefs = []string{"", "${{ github.sha }}"}

// Check returns every trust-boundary violation in a set of workflow files
// (file name → contents), one message each, naming the file and job.
func Check(files map[string][]byte) []string {
	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	parsed := map[string]Workflow{}
	for _, name := range sortedKeys(files) {
		var w Workflow
		if err := yaml.Unmarshal(files[name], &w); err != nil {
			report("%s: not YAML: %v", name, err)
			continue
		}
		parsed[name] = w
		for i, line := range strings.Split(string(files[name]), "\n") {
			trimmed := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "-"))
			if !strings.HasPrefix(trimmed, "uses:") {
				continue
			}
			target := strings.TrimSpace(strings.TrimPrefix(trimmed, "uses:"))
			if strings.HasPrefix(target, "./") {
				continue // a workflow of this repository, at this commit
			}
			if !pinned.MatchString(line) {
				report("%s:%d: %q is not pinned to a commit SHA with its version in a comment (uses: owner/name@<40 hex> # vX.Y.Z)", name, i+1, target)
			}
		}
	}

	// A reusable workflow runs in its callers' context: it inherits their
	// triggers.
	triggers := map[string][]trigger{}
	for name, w := range parsed {
		triggers[name] = triggersOf(w.On)
	}
	for changed := true; changed; {
		changed = false
		for caller, w := range parsed {
			for _, job := range w.Jobs {
				callee := strings.TrimPrefix(job.Uses, "./.github/workflows/")
				if callee == job.Uses {
					continue
				}
				for _, t := range triggers[caller] {
					if !slices.Contains(triggers[callee], t) {
						triggers[callee] = append(triggers[callee], t)
						changed = true
					}
				}
			}
		}
	}

	for _, name := range sortedKeys(parsed) {
		w := parsed[name]
		untrusted := runsPullRequestCode(triggers[name])
		for _, t := range triggers[name] {
			if t.event == "pull_request_target" {
				report("%s: pull_request_target runs with the base repository's token and secrets; use pull_request for the pull request's code and workflow_run for what needs privileges", name)
			}
		}
		if w.Permissions.Kind == 0 {
			report("%s: no top-level permissions: the token would get the repository's default, which may be write-all", name)
		}
		for _, jobName := range sortedKeys(w.Jobs) {
			job := w.Jobs[jobName]
			where := name + ": job " + jobName
			perms := job.Permissions
			if perms.Kind == 0 {
				perms = w.Permissions
			}
			granted := permissions(perms)
			privileged := granted["id-token"] == "write" || job.Environment != nil
			if untrusted {
				if granted["id-token"] == "write" {
					report("%s runs pull request code and holds id-token: write (an OIDC token for an AWS role)", where)
				}
				for scope, level := range granted {
					if level == "write" && scope != "id-token" {
						report("%s runs pull request code and holds %s: write", where, scope)
					}
				}
				if job.Environment != nil {
					report("%s runs pull request code in a GitHub environment (its secrets and variables)", where)
				}
				if job.Secrets != nil {
					report("%s runs pull request code and passes secrets to %s", where, job.Uses)
				}
				if text := jobText(job) + fmt.Sprint(w.Env); strings.Contains(text, "secrets.") {
					report("%s runs pull request code and reads a secret", where)
				}
			}
			if job.Uses != "" {
				continue // its steps are checked in the called workflow
			}
			for i, step := range job.Steps {
				if strings.HasPrefix(step.Uses, "actions/download-artifact@") && strings.Contains(fmt.Sprint(step.With["run-id"]), "workflow_run") &&
					(granted["id-token"] == "write" || job.Environment != nil) {
					report("%s step %d (%s): downloads the triggering run's artifact (pull request data) in a job that holds an OIDC token or an environment; fetch with the role in another job and pass the result on", where, i+1, stepName(step))
				}
			}
			for i, step := range job.Steps {
				at := fmt.Sprintf("%s step %d (%s)", where, i+1, stepName(step))
				if privileged {
					for _, install := range npmInstall.FindAllString(step.Run, -1) {
						if !strings.Contains(install, "--ignore-scripts") {
							report("%s: %q in a privileged job runs the packages' install scripts next to its token; add --ignore-scripts", at, strings.TrimSpace(install))
						}
					}
				}
				if pipedOutput.MatchString(step.Run) && step.Shell != "bash" && !strings.Contains(step.Run, "set -o pipefail") && !strings.Contains(step.Run, "set -euo pipefail") {
					report("%s: pipes into $GITHUB_OUTPUT or $GITHUB_ENV without pipefail (the default run shell has none, so a failed command before the pipe passes); add shell: bash", at)
				}
				if !strings.HasPrefix(step.Uses, "actions/checkout@") {
					continue
				}
				if v := fmt.Sprint(step.With["persist-credentials"]); v != "false" {
					report("%s: checkout without persist-credentials: false leaves the token in .git/config for every later step", at)
				}
				if !privileged {
					continue
				}
				if repo, ok := step.With["repository"]; ok {
					report("%s: a privileged job checks out another repository (%v)", at, repo)
				}
				ref := ""
				if r, ok := step.With["ref"]; ok {
					ref = fmt.Sprint(r)
				}
				if !slices.Contains(trustedRefs, ref) {
					report("%s: a privileged job checks out ref %q; it may check out only its own event's commit (no ref, or ${{ github.sha }})", at, ref)
				}
				if _, ok := step.With["allow-unsafe-pr-checkout"]; ok {
					report("%s: allow-unsafe-pr-checkout in a privileged job", at)
				}
			}
			if privileged && deploysOnPush(triggers[name]) {
				c := job.Concurrency
				if c.Kind == 0 {
					c = w.Concurrency
				}
				if group, cancel := concurrency(c); group == "" || cancel {
					report("%s deploys on push without a concurrency group that queues (cancel-in-progress: false)", where)
				}
			}
		}
	}
	return problems
}

// trigger is one event a workflow runs on, with the branches of a push.
type trigger struct {
	event    string
	branches string // sorted, comma-joined; "" for every branch
}

func triggersOf(on yaml.Node) []trigger {
	var out []trigger
	switch on.Kind {
	case yaml.ScalarNode:
		out = append(out, trigger{event: on.Value})
	case yaml.SequenceNode:
		for _, n := range on.Content {
			out = append(out, trigger{event: n.Value})
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(on.Content); i += 2 {
			event, body := on.Content[i].Value, on.Content[i+1]
			var spec struct {
				Branches []string `yaml:"branches"`
			}
			_ = body.Decode(&spec)
			sort.Strings(spec.Branches)
			out = append(out, trigger{event: event, branches: strings.Join(spec.Branches, ",")})
		}
	}
	return out
}

// runsPullRequestCode: pull_request (and pull_request_target) run code the
// pull request controls; so does a push to any branch but main, which
// nobody has reviewed.
func runsPullRequestCode(triggers []trigger) bool {
	for _, t := range triggers {
		switch t.event {
		case "pull_request", "pull_request_target":
			return true
		case "push":
			if t.branches == "" || !slices.Contains(trustedBranches, t.branches) {
				return true
			}
		}
	}
	return false
}

func deploysOnPush(triggers []trigger) bool {
	for _, t := range triggers {
		if t.event == "push" {
			return true
		}
	}
	return false
}

// permissions reads a permissions block: read-all and write-all expand to
// every scope GitHub knows.
func permissions(n yaml.Node) map[string]string {
	out := map[string]string{}
	switch n.Kind {
	case yaml.ScalarNode:
		level := strings.TrimSuffix(n.Value, "-all")
		for _, scope := range []string{"actions", "attestations", "checks", "contents", "deployments", "discussions", "id-token", "issues", "packages", "pages", "pull-requests", "repository-projects", "security-events", "statuses"} {
			out[scope] = level
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			out[n.Content[i].Value] = n.Content[i+1].Value
		}
	}
	return out
}

func concurrency(n yaml.Node) (group string, cancelInProgress bool) {
	switch n.Kind {
	case yaml.ScalarNode:
		return n.Value, false
	case yaml.MappingNode:
		var c struct {
			Group            string `yaml:"group"`
			CancelInProgress any    `yaml:"cancel-in-progress"`
		}
		_ = n.Decode(&c)
		return c.Group, fmt.Sprint(c.CancelInProgress) != "false" && c.CancelInProgress != nil
	}
	return "", false
}

// jobText is everything a job evaluates, for a search for secrets.
func jobText(job Job) string {
	var b strings.Builder
	fmt.Fprint(&b, job.With, job.Secrets, job.Env)
	for _, s := range job.Steps {
		fmt.Fprint(&b, s.Run, s.With, s.Env)
	}
	return b.String()
}

func stepName(s Step) string {
	if s.Name != "" {
		return s.Name
	}
	if s.Uses != "" {
		return s.Uses
	}
	return strings.SplitN(s.Run, "\n", 2)[0]
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
