package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/keyctl"
	"github.com/keygate/keygate/internal/keyplan"
)

func init() {
	commands = append(commands, command{"keys", "create, attach, rotate, disable and report API keys in bulk (keygate keys -h)", runKeysCommand})
}

// runKeysCommand is the subcommand's entry: exit status 0, 1 on failure,
// 2 on a mistake on the command line.
func runKeysCommand(args []string, stdout, stderr io.Writer) int {
	err := runKeys(args, stdout, stderr)
	if err == nil {
		return 0
	}
	var usage usageError
	if errors.Is(err, flag.ErrHelp) {
		return 2
	}
	fmt.Fprintln(stderr, "keygate keys:", err)
	if errors.As(err, &usage) {
		return 2
	}
	return 1
}

// usageError is a mistake on the command line (exit status 2).
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

const keysUsage = `usage: keygate keys <command> -env ENV [flags]

  sync    -file keys.csv [-dry-run] [-prune [-allow-empty] [-max-delete N]] [-no-import]
                                                             make the environment's keys equal to the file
  list    [-csv]                                             the environment's keys
  show    NAME [-reveal]                                     a key and its rotations (-reveal: the value, alone, on stdout)
  rotate  NAME                                               a new key NAME~rN in the same plan; the old one stays enabled
  disable NAME / enable NAME                                 one key (sync sets keys back to what the file says)
  move    NAME -plan PLAN                                    detach, then attach; prints the time the key was in no plan
  usage   NAME [-from YYYY-MM-DD] [-to YYYY-MM-DD]           requests per day (default: the last 7 days)

Common flags: -env ENV (required), -config cdk.json (plan and CloudFormation key names; a warning if
the default ./cdk.json is absent, an error if a -config given is).
AWS credentials, region and endpoint come from the standard chain (AWS_PROFILE, AWS_REGION,
AWS_ENDPOINT_URL_API_GATEWAY for a local control plane, …).`

// runKeys is `keygate keys …`.
func runKeys(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "help" {
		fmt.Fprintln(stderr, keysUsage)
		return flag.ErrHelp
	}
	cmd, rest := args[0], args[1:]
	fset := flag.NewFlagSet("keygate keys "+cmd, flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() { fmt.Fprintln(stderr, keysUsage) }
	env := fset.String("env", "", "environment (dev, staging, prod, …)")
	configPath := fset.String("config", "cdk.json", "cdk.json with keygate's configuration")
	file := fset.String("file", "", "keys CSV (sync)")
	dryRun := fset.Bool("dry-run", false, "print the plan, change nothing (sync)")
	prune := fset.Bool("prune", false, "delete keygate's keys that no row names (sync)")
	allowEmpty := fset.Bool("allow-empty", false, "let -prune run with a file of no rows (deletes every key keygate manages) (sync)")
	maxDelete := fset.Int("max-delete", keyctl.DefaultMaxDelete, "the most keys -prune may delete in one run (sync)")
	noImport := fset.Bool("no-import", false, "create keys one by one with CreateApiKey instead of ImportApiKeys (sync)")
	asCSV := fset.Bool("csv", false, "print the list as a keys file (list)")
	reveal := fset.Bool("reveal", false, "print the key's value, and nothing else, on stdout (show)")
	plan := fset.String("plan", "", "usage plan to move to (move)")
	from := fset.String("from", "", "first day, YYYY-MM-DD (usage)")
	to := fset.String("to", "", "last day, YYYY-MM-DD (usage)")

	// NAME may come before or after the flags.
	if err := fset.Parse(rest); err != nil {
		return err
	}
	var name string
	if fset.NArg() > 0 {
		name = fset.Arg(0)
		if err := fset.Parse(fset.Args()[1:]); err != nil {
			return err
		}
		if fset.NArg() > 0 {
			return usageError{fmt.Sprintf("unexpected arguments after %s: %s (one NAME at most; flags go before or after it)", name, strings.Join(fset.Args(), " "))}
		}
	}
	if *env == "" {
		return usageError{"-env is required (the environment whose keys to manage, e.g. -env dev)"}
	}
	needsName := map[string]bool{"show": true, "rotate": true, "disable": true, "enable": true, "move": true, "usage": true}
	switch {
	case cmd != "sync" && cmd != "list" && !needsName[cmd]:
		return usageError{fmt.Sprintf("unknown keys command %q\n%s", cmd, keysUsage)}
	case needsName[cmd] && name == "":
		return usageError{fmt.Sprintf("keys %s needs a key NAME", cmd)}
	case cmd == "sync" && *file == "":
		return usageError{"keys sync needs -file keys.csv"}
	case *maxDelete < 1:
		return usageError{fmt.Sprintf("-max-delete %d: give the number of keys -prune may delete, 1 or more (without -prune nothing is deleted)", *maxDelete)}
	case cmd == "move" && *plan == "":
		return usageError{"keys move needs -plan PLAN"}
	}

	explicitConfig := false
	fset.Visit(func(f *flag.Flag) { explicitConfig = explicitConfig || f.Name == "config" })
	cfg, err := loadEnvironment(*configPath, *env)
	switch {
	case errors.Is(err, fs.ErrNotExist) && explicitConfig:
		return usageError{fmt.Sprintf("-config %s: no such file; give the path of keygate's cdk.json (it names the plans and the keys CloudFormation manages)", *configPath)}
	case errors.Is(err, fs.ErrNotExist):
		// Outside the repository the tool still works from what API
		// Gateway holds, but it must say what it cannot check.
		fmt.Fprintf(stderr, "keygate keys: warning: no %s here, so the names of cdk.json's keys (CloudFormation's, maybe not deployed yet) are not checked and plan names are checked against API Gateway only; run from the repository or pass -config path/to/cdk.json\n", *configPath)
		cfg = nil
	case err != nil:
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	client, err := keyctl.NewClient(ctx, keyctl.ClientOptions{Env: *env, Pace: keyctl.AWSPace})
	if err != nil {
		return err
	}
	out := stdout
	switch cmd {
	case "sync":
		return runSync(ctx, client, cfg, *file, stdout, stderr, syncFlags{dryRun: *dryRun, prune: *prune, noImport: *noImport, allowEmpty: *allowEmpty, maxDelete: *maxDelete})
	case "list":
		keys, err := client.List(ctx)
		if err != nil {
			return err
		}
		if *asCSV {
			// One row per family: a rotated key's row is enabled while the
			// key in use is, so the file fed back to sync changes nothing.
			actual := make([]keyplan.Actual, len(keys))
			for i, k := range keys {
				actual[i] = k.Actual
			}
			return keyplan.FormatCSV(out, keyplan.FamilyRows(*env, actual))
		}
		printKeys(out, keys)
		fmt.Fprintln(stderr, plural(len(keys), "key"))
		return nil
	case "show":
		family, _, err := client.Family(ctx, keyplan.RootName(name))
		if err != nil {
			return err
		}
		if *reveal {
			for _, k := range family {
				if k.Name == name {
					value, err := client.Value(ctx, k.ID)
					if err != nil {
						return err
					}
					// The value alone, so that it goes straight into a pipe
					// (a secrets manager) and into nothing else.
					if isTerminal(stdout) {
						fmt.Fprintln(stderr, "keygate: printing a key value to a terminal; pipe it to where it belongs instead, e.g. | aws secretsmanager put-secret-value --secret-id … --secret-string file:///dev/stdin")
					}
					fmt.Fprintln(out, value)
					return nil
				}
			}
			return fmt.Errorf("no key named exactly %q; -reveal takes one key: one of %s", name, strings.Join(names(family), ", "))
		}
		printKeys(out, family)
		return nil
	case "rotate":
		r, err := client.Rotate(ctx, name)
		if err != nil {
			return err
		}
		k := r.Key
		fmt.Fprintf(out, "created %s (%s) in plan %s, enabled.\n", k.Name, k.ID, k.Plan())
		fmt.Fprintf(out, "Hand it over with `keygate keys show %s -env %s -reveal | <your secret store>`; once the owner uses it, retire the key in use until now: keygate keys disable %s -env %s\n", k.Name, *env, r.Replaces.Name, *env)
		return nil
	case "disable", "enable":
		t, err := client.SetEnabled(ctx, name, cmd == "enable")
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%sd %s (%s).\n", cmd, t.Key.Name, t.Key.ID)
		switch inUse, ok := t.InUse(); {
		case !ok && len(t.Family) > 1:
			fmt.Fprintf(out, "No key of %s is enabled now (%s): its owner has no access. sync enables %s again while the keys file says enabled=true for %s; set it to false there too.\n",
				keyplan.RootName(name), strings.Join(names(t.Family), ", "), t.Family[len(t.Family)-1].Name, keyplan.RootName(name))
		case !ok:
			fmt.Fprintf(out, "sync enables it again while the keys file says enabled=true for %s; set it to false there too.\n", name)
		case cmd == "disable":
			fmt.Fprintf(out, "%s is the key in use for %s (enabled); sync leaves this one disabled.\n", inUse.Name, keyplan.RootName(name))
		case len(t.Family) == 1:
			fmt.Fprintf(out, "sync disables it again while the keys file says enabled=false for %s; set it to true there too.\n", name)
		default:
			fmt.Fprintf(out, "%s is now the key in use for %s; sync disables every key of %s while the keys file says enabled=false.\n", inUse.Name, keyplan.RootName(name), keyplan.RootName(name))
		}
		return nil
	case "move":
		results, err := client.Move(ctx, name, *plan)
		for _, r := range results {
			fmt.Fprintf(out, "moved %s (%s) from %s to %s; in no plan for %s (requests got 403 meanwhile)\n", r.Key.Name, r.Key.ID, orNone(r.From), *plan, r.Window.Round(time.Millisecond))
		}
		if err == nil {
			fmt.Fprintln(out, "Note: sync moves it back unless the keys file says the new plan; change the file too.")
		}
		return err
	case "usage":
		start, end, err := usageWindow(*from, *to, time.Now())
		if err != nil {
			return err
		}
		usage, err := client.Usage(ctx, name, start, end)
		if err != nil {
			return err
		}
		return printUsage(out, usage)
	}
	return nil
}

type syncFlags struct {
	dryRun, prune, noImport, allowEmpty bool
	maxDelete                           int
}

func runSync(ctx context.Context, client *keyctl.Client, env *config.Environment, file string, stdout, stderr io.Writer, flags syncFlags) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	var plans, configKeys []string
	if env != nil {
		for _, p := range env.UsagePlans {
			plans = append(plans, p.Name)
		}
		for _, k := range env.APIKeys {
			configKeys = append(configKeys, k.Name)
		}
	}
	desired, err := keyplan.ParseCSV(f, plans)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	terminal := isTerminal(stderr)
	res, err := client.Sync(ctx, keyctl.SyncOptions{
		Desired: desired, ConfigKeys: configKeys, Prune: flags.prune, DryRun: flags.dryRun, NoImport: flags.noImport, AllowEmpty: flags.allowEmpty,
		MaxDelete: flags.maxDelete, Out: stdout, Progress: keyctl.NewProgress(stderr, terminal),
	})
	if err == nil || client.Metrics.WriteCalls() > 0 {
		printSummary(stdout, client.Metrics, res, flags.dryRun)
	}
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("interrupted: %w; run the same sync again to finish (it resumes where this one stopped)", err)
	}
	return err
}

func printSummary(w io.Writer, m *keyctl.Metrics, res keyctl.SyncResult, dryRun bool) {
	calls := m.Calls()
	var parts []string
	for _, op := range slices.Sorted(maps.Keys(calls)) {
		parts = append(parts, fmt.Sprintf("%s %d", op, calls[op]))
	}
	verb := "applied"
	if dryRun {
		verb = "dry run, nothing applied"
	}
	fmt.Fprintf(w, "%s in %s: %s (%s; %s), %s", verb, res.Elapsed.Round(time.Millisecond), plural(m.TotalCalls(), "call"), plural(m.WriteCalls(), "write"), strings.Join(parts, ", "), plural(m.TotalRetries(), "retry"))
	if r := m.Retries(); len(r) > 0 {
		var codes []string
		for _, code := range slices.Sorted(maps.Keys(r)) {
			codes = append(codes, fmt.Sprintf("%s %d", code, r[code]))
		}
		fmt.Fprintf(w, " (%s)", strings.Join(codes, ", "))
	}
	fmt.Fprintln(w)
	if len(res.MoveWindows) > 0 {
		longest := slices.Max(res.MoveWindows)
		fmt.Fprintf(w, "%s moved; the longest was in no plan for %s\n", plural(len(res.MoveWindows), "key"), longest.Round(time.Millisecond))
	}
}

func printKeys(w io.Writer, keys []keyctl.Key) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tID\tPLAN\tENABLED\tSOURCE\tCREATED")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\t%s\n", k.Name, k.ID, orNone(k.Plan()), k.Enabled, k.Source, k.CreatedDate.UTC().Format(time.RFC3339))
	}
	tw.Flush()
}

// loadEnvironment reads the environment from cdk.json; the error wraps
// fs.ErrNotExist when there is no such file.
func loadEnvironment(path, name string) (*config.Environment, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cdk struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(data, &cdk); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	cfg, err := config.FromContext(cdk.Context)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	env, ok := cfg.Environment(name)
	if !ok {
		var known []string
		for _, e := range cfg.Environments {
			known = append(known, e.Name)
		}
		return nil, usageError{fmt.Sprintf("-env %s: not an environment of %s; use one of %s", name, path, strings.Join(known, ", "))}
	}
	return &env, nil
}

func usageWindow(from, to string, now time.Time) (time.Time, time.Time, error) {
	end := now.UTC()
	start := end.AddDate(0, 0, -6)
	var err error
	if to != "" {
		if end, err = time.Parse(time.DateOnly, to); err != nil {
			return time.Time{}, time.Time{}, usageError{fmt.Sprintf("-to %q: write YYYY-MM-DD", to)}
		}
		if from == "" {
			start = end.AddDate(0, 0, -6)
		}
	}
	if from != "" {
		if start, err = time.Parse(time.DateOnly, from); err != nil {
			return time.Time{}, time.Time{}, usageError{fmt.Sprintf("-from %q: write YYYY-MM-DD", from)}
		}
	}
	if end.Before(start) {
		return time.Time{}, time.Time{}, usageError{"-to is before -from"}
	}
	return start, end, nil
}

func names(keys []keyctl.Key) []string {
	var out []string
	for _, k := range keys {
		out = append(out, k.Name)
	}
	return out
}

// isTerminal reports whether w is a terminal (a progress bar, not lines).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// printUsage prints a row per key and day; REMAINING is "-" for a plan
// without a quota, where API Gateway's remaining count means nothing.
func printUsage(w io.Writer, usage []keyctl.KeyUsage) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tPLAN\tDAY\tUSED\tREMAINING")
	for _, u := range usage {
		for _, d := range u.Days {
			remaining := "-"
			if u.Quota {
				remaining = strconv.FormatInt(d.Remaining, 10)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", u.Key.Name, u.Key.Plan(), d.Day.Format(time.DateOnly), d.Used, remaining)
		}
	}
	return tw.Flush()
}

// plural is "1 key", "2 keys", "3 retries".
func plural(n int, noun string) string {
	switch {
	case n == 1:
		return "1 " + noun
	case strings.HasSuffix(noun, "y"):
		return strconv.Itoa(n) + " " + strings.TrimSuffix(noun, "y") + "ies"
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
