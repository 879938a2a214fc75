package keyctl

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"golang.org/x/sync/errgroup"

	"github.com/keygate/keygate/internal/keyplan"
)

// SyncOptions configure Sync.
type SyncOptions struct {
	Desired    []keyplan.Desired
	ConfigKeys []string // key names cdk.json gives the environment
	Prune      bool
	DryRun     bool
	// AllowEmpty lets -prune run with a file of no rows.
	AllowEmpty bool
	// MaxDelete is the most keys -prune deletes in one run (default
	// DefaultMaxDelete); a plan with more is refused before any change.
	// Negative: no limit.
	MaxDelete int
	// KeyQuota is the account's key quota (default AccountKeyQuota); a
	// plan that would pass it is refused before any change.
	KeyQuota int
	// NoImport creates every key with CreateApiKey (5 per second) instead of
	// ImportApiKeys.
	NoImport bool
	// ImportBatch is the number of keys per ImportApiKeys call (default
	// 1,000: a file of about 100 KB; a failed batch is rolled back whole).
	ImportBatch int
	// Workers is the number of calls in flight for calls that may overlap
	// (default 4); the pace still bounds the rate. Attachments are always
	// one at a time.
	Workers int
	// Out receives the plan and the summary; Progress the progress.
	Out      io.Writer
	Progress Progress
}

// DefaultMaxDelete is how many keys -prune deletes without -max-delete: a
// few rows removed is everyday churn; more is far more often a truncated
// export or the wrong file than the wish to revoke that many customers.
const DefaultMaxDelete = 10

// AccountKeyQuota is API Gateway's API keys per account and region:
// 10,000, not adjustable ("Amazon API Gateway quotas").
const AccountKeyQuota = 10_000

// SyncResult is what a Sync did.
type SyncResult struct {
	Plan    keyplan.Plan
	Elapsed time.Duration
	// MoveWindows are, per moved key, the time it was in no plan (clients
	// got 403 meanwhile).
	MoveWindows []time.Duration
}

// Sync makes the environment's keys equal to opts.Desired.
func (c *Client) Sync(ctx context.Context, opts SyncOptions) (SyncResult, error) {
	start := time.Now()
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Progress == nil {
		opts.Progress = quiet{}
	}
	if opts.ImportBatch <= 0 {
		opts.ImportBatch = 1000
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.Prune && len(opts.Desired) == 0 && !opts.AllowEmpty {
		// An empty file with -prune is far more often a mistake (a failed
		// export) than the wish to delete every customer's key.
		return SyncResult{}, errors.New("the keys file has no rows: with -prune that would delete every key keygate keys manages in the environment; add -allow-empty if that is what you want")
	}
	inv, err := c.Inventory(ctx)
	if err != nil {
		return SyncResult{}, err
	}
	var missing []string
	names := map[string]bool{}
	for _, d := range opts.Desired {
		names[d.Name] = true
		if _, ok := inv.PlanIDs[d.Plan]; !ok && !slices.Contains(missing, d.Plan) {
			missing = append(missing, d.Plan)
		}
	}
	if len(missing) > 0 {
		return SyncResult{}, fmt.Errorf("the keys file names usage plans environment %s does not have in API Gateway: %s (it has %s); fix the plan column or deploy the plan first",
			c.env, strings.Join(missing, ", "), strings.Join(inv.PlanNames(), ", "))
	}
	if err := c.markGeneratedValues(ctx, &inv, names); err != nil {
		return SyncResult{}, err
	}
	plan, err := keyplan.Decide(keyplan.Input{Env: c.env, Desired: opts.Desired, Actual: inv.Keys, ConfigKeys: opts.ConfigKeys, Prune: opts.Prune})
	if err != nil {
		return SyncResult{}, err
	}
	printPlan(opts.Out, c.env, plan)
	result := SyncResult{Plan: plan}
	quota := opts.KeyQuota
	if quota == 0 {
		quota = AccountKeyQuota
	}
	if after := len(inv.Keys) + plan.Count(keyplan.Create) - plan.Count(keyplan.Delete); plan.Count(keyplan.Create) > 0 && after > quota {
		return result, fmt.Errorf("the account would hold %d API keys in %s (%d now, %d to create, %d to delete); API Gateway allows %d per account and region: remove rows, or -prune keys no row names",
			after, c.region, len(inv.Keys), plan.Count(keyplan.Create), plan.Count(keyplan.Delete), quota)
	}
	maxDelete := opts.MaxDelete
	if maxDelete == 0 {
		maxDelete = DefaultMaxDelete
	}
	if n := plan.Count(keyplan.Delete); maxDelete >= 0 && n > maxDelete {
		msg := fmt.Sprintf("the plan deletes %s (of %d keygate keys manages in keygate-%s, all listed above), more than -max-delete %d allows; check the keys file is complete, then run again with -max-delete %d",
			plural(n, "key"), managedCount(inv, c.env), c.env, maxDelete, n)
		if opts.DryRun {
			fmt.Fprintln(opts.Out, "  note: "+msg)
		} else {
			return result, errors.New("refusing to sync: " + msg)
		}
	}
	if opts.DryRun || len(plan.Changes) == 0 {
		result.Elapsed = time.Since(start)
		return result, nil
	}
	a := &applier{c: c, inv: inv, opts: opts}
	err = a.apply(ctx, plan)
	result.MoveWindows = a.windows
	result.Elapsed = time.Since(start)
	return result, err
}

func printPlan(w io.Writer, env string, p keyplan.Plan) {
	var counts []string
	for _, k := range []keyplan.Kind{keyplan.Adopt, keyplan.Create, keyplan.Attach, keyplan.Move, keyplan.Enable, keyplan.Disable, keyplan.Describe, keyplan.Delete} {
		if n := p.Count(k); n > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", n, k))
		}
	}
	if len(counts) == 0 {
		counts = []string{"no changes"}
	}
	fmt.Fprintf(w, "plan for keygate-%s: %s; %d unchanged", env, strings.Join(counts, ", "), p.Unchanged)
	if len(p.Kept) > 0 {
		fmt.Fprintf(w, "; %s of ours %s in no row (kept; -prune deletes them)", plural(len(p.Kept), "key"), isAre(len(p.Kept)))
	}
	fmt.Fprintln(w)
	// Every change up to 50, then 10 per kind: a plan of 10,000 creates
	// says so in one line.
	// Deletes are listed in full: each revokes a customer's access.
	shown := map[keyplan.Kind]int{}
	for _, ch := range p.Changes {
		shown[ch.Kind]++
		if len(p.Changes) <= 50 || shown[ch.Kind] <= 10 || ch.Kind == keyplan.Delete {
			fmt.Fprintln(w, "  "+ch.String())
		} else if shown[ch.Kind] == 11 {
			fmt.Fprintf(w, "  … and %d more %s\n", p.Count(ch.Kind)-10, ch.Kind)
		}
	}
	for _, n := range p.Notes {
		fmt.Fprintln(w, "  note: "+n)
	}
}

type applier struct {
	c       *Client
	inv     Inventory
	opts    SyncOptions
	mu      sync.Mutex
	windows []time.Duration
}

func (a *applier) apply(ctx context.Context, plan keyplan.Plan) error {
	by := map[keyplan.Kind][]keyplan.Change{}
	for _, ch := range plan.Changes {
		by[ch.Kind] = append(by[ch.Kind], ch)
	}
	progress := a.opts.Progress
	progress.Start("sync", len(plan.Changes))
	defer progress.Done()

	// 1. Keys an interrupted import left untagged become ours.
	if err := a.parallel(ctx, by[keyplan.Adopt], func(ctx context.Context, ch keyplan.Change) error {
		return a.c.tagKey(ctx, ch.KeyID, keyplan.ManagedTags(a.c.env))
	}); err != nil {
		return err
	}
	// 2. Deletes (-prune) first, so that they free the account's quota
	// for the creates; paced at 5 per second like CreateApiKey.
	if err := a.parallel(ctx, by[keyplan.Delete], func(ctx context.Context, ch keyplan.Change) error {
		_, err := a.c.api.DeleteApiKey(ctx, &apigateway.DeleteApiKeyInput{ApiKey: aws.String(ch.KeyID)})
		if err != nil && !isNotFound(err) {
			return fmt.Errorf("deleting key %s (%s): %w", ch.Name, ch.KeyID, err)
		}
		return nil
	}); err != nil {
		return err
	}
	// 3. Attributes: one UpdateApiKey per key with every patch it needs.
	updates := map[string][]types.PatchOperation{}
	var order []keyplan.Change
	for _, k := range []keyplan.Kind{keyplan.Enable, keyplan.Disable, keyplan.Describe} {
		for _, ch := range by[k] {
			if _, seen := updates[ch.KeyID]; !seen {
				order = append(order, ch)
			}
			updates[ch.KeyID] = append(updates[ch.KeyID], patchFor(ch))
		}
	}
	if err := a.parallel(ctx, order, func(ctx context.Context, ch keyplan.Change) error {
		ops := updates[ch.KeyID]
		_, err := a.c.api.UpdateApiKey(ctx, &apigateway.UpdateApiKeyInput{ApiKey: aws.String(ch.KeyID), PatchOperations: ops})
		if err != nil {
			return fmt.Errorf("updating key %s (%s): %w", ch.Name, ch.KeyID, err)
		}
		progress.Add(len(ops) - 1) // parallel adds the last
		return nil
	}); err != nil {
		return err
	}
	// 4. New keys.
	if err := a.create(ctx, by[keyplan.Create]); err != nil {
		return err
	}
	// 5. Keys of ours in no plan.
	for _, ch := range by[keyplan.Attach] {
		if err := a.c.attach(ctx, a.inv.PlanIDs[ch.Plan], ch.KeyID); err != nil {
			return fmt.Errorf("attaching key %s (%s) to plan %s: %w", ch.Name, ch.KeyID, ch.Plan, err)
		}
		progress.Add(1)
	}
	// 6. Moves, one at a time: detach, then attach (a key may be in one
	// plan per stage, so attaching first is refused: aws/aws-cdk#11876).
	for _, ch := range by[keyplan.Move] {
		window, err := a.c.move(ctx, ch.KeyID, a.planIDs(ch.FromPlans), a.inv.PlanIDs[ch.Plan])
		if err != nil {
			return fmt.Errorf("moving key %s (%s) to plan %s: %w", ch.Name, ch.KeyID, ch.Plan, err)
		}
		a.windows = append(a.windows, window)
		progress.Add(1)
	}
	return nil
}

func (a *applier) planIDs(names []string) []string {
	ids := make([]string, len(names))
	for i, n := range names {
		ids[i] = a.inv.PlanIDs[n]
	}
	return ids
}

// parallel runs fn for every change with Workers in flight, adds one to the
// progress per change, and stops at the first error.
func (a *applier) parallel(ctx context.Context, changes []keyplan.Change, fn func(context.Context, keyplan.Change) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(a.opts.Workers)
	for _, ch := range changes {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if err := fn(gctx, ch); err != nil {
				return err
			}
			a.opts.Progress.Add(1)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

func patchFor(ch keyplan.Change) types.PatchOperation {
	switch ch.Kind {
	case keyplan.Enable:
		return types.PatchOperation{Op: types.OpReplace, Path: aws.String("/enabled"), Value: aws.String("true")}
	case keyplan.Disable:
		return types.PatchOperation{Op: types.OpReplace, Path: aws.String("/enabled"), Value: aws.String("false")}
	default:
		return types.PatchOperation{Op: types.OpReplace, Path: aws.String("/description"), Value: aws.String(ch.Description)}
	}
}

// create makes the new keys: through ImportApiKeys where the row fits its
// CSV file (one call per batch creates the keys and attaches them to their
// plans, no CreateApiKey limit, no CreateUsagePlanKey at all), then tags
// them; otherwise CreateApiKey with the tags at 5 per second, each attached
// once created.
func (a *applier) create(ctx context.Context, creates []keyplan.Change) error {
	var viaImport, viaCreate []keyplan.Change
	for _, ch := range creates {
		if !a.opts.NoImport && importable(ch) {
			viaImport = append(viaImport, ch)
		} else {
			viaCreate = append(viaCreate, ch)
		}
	}
	for batch := range slices.Chunk(viaImport, a.opts.ImportBatch) {
		ids, err := a.c.importKeys(ctx, batch, a.inv.PlanIDs)
		if err != nil {
			return err
		}
		tagged := make([]keyplan.Change, len(ids))
		for i, id := range ids {
			tagged[i] = keyplan.Change{KeyID: id}
		}
		if err := a.parallel(ctx, tagged, func(ctx context.Context, ch keyplan.Change) error {
			return a.c.tagKey(ctx, ch.KeyID, keyplan.ManagedTags(a.c.env))
		}); err != nil {
			return err
		}
	}
	return a.parallel(ctx, viaCreate, func(ctx context.Context, ch keyplan.Change) error {
		id, err := a.c.createKey(ctx, ch.Name, ch.Description, ch.Enabled, keyplan.ManagedTags(a.c.env))
		if err != nil {
			return err
		}
		if err := a.c.attach(ctx, a.inv.PlanIDs[ch.Plan], id); err != nil {
			return fmt.Errorf("attaching new key %s (%s) to plan %s: %w", ch.Name, id, ch.Plan, err)
		}
		return nil
	})
}

// createKey creates a key with a generated value and returns its id. The
// value is ours, not API Gateway's, so that a retried CreateApiKey whose
// first attempt succeeded unseen (a lost response) cannot make a second
// key: API Gateway refuses the same value twice ("Two API keys are
// identical if they have the same key value", api-key-file-format), and
// the key the first attempt made is found by its value.
func (c *Client) createKey(ctx context.Context, name, description string, enabled bool, tags map[string]string) (string, error) {
	value := GenerateValue()
	out, err := c.api.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{
		Name: aws.String(name), Description: aws.String(description), Enabled: enabled, Tags: tags, Value: aws.String(value),
	})
	if err == nil {
		return aws.ToString(out.Id), nil
	}
	var conflict *types.ConflictException
	if errors.As(err, &conflict) {
		if id, found := c.keyWithValue(ctx, name, value); found {
			return id, nil
		}
	}
	return "", fmt.Errorf("creating key %s: %w", name, err)
}

// keyWithValue finds the key named name whose value is value.
func (c *Client) keyWithValue(ctx context.Context, name, value string) (string, bool) {
	pages := apigateway.NewGetApiKeysPaginator(c.api, &apigateway.GetApiKeysInput{NameQuery: aws.String(name), IncludeValues: aws.Bool(true), Limit: aws.Int32(pageLimit)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return "", false
		}
		for _, k := range page.Items {
			if aws.ToString(k.Value) == value {
				return aws.ToString(k.Id), true
			}
		}
	}
	return "", false
}

// importable reports whether a row can go through ImportApiKeys' CSV:
// the file format lets double or single quotes enclose a value
// (api-key-file-format), so a name or description holding either is
// created one by one instead.
func importable(ch keyplan.Change) bool {
	return !strings.ContainsAny(ch.Name+ch.Description, `"'`+"\r\n")
}

// importKeys imports one batch with generated values and returns the new
// keys' ids. failonwarnings=true makes API Gateway roll the whole batch back
// on any bad row ("A query parameter to indicate whether to rollback ApiKey
// importation (true) or not (false) when error is encountered",
// API_ImportApiKeys.html), so a batch is all or nothing.
func (c *Client) importKeys(ctx context.Context, batch []keyplan.Change, planIDs map[string]string) ([]string, error) {
	var file bytes.Buffer
	w := csv.NewWriter(&file)
	w.Write([]string{"name", "key", "description", "enabled", "usageplanIds"})
	for _, ch := range batch {
		w.Write([]string{ch.Name, GenerateValue(), ch.Description, strconv.FormatBool(ch.Enabled), planIDs[ch.Plan]})
	}
	w.Flush()
	// A retried import (a lost response) is harmless: the same values
	// overwrite the keys the first attempt made ("The same API key can be
	// imported multiple times, with the most recent version overwriting the
	// previous one", api-key-file-format).
	out, err := c.api.ImportApiKeys(ctx, &apigateway.ImportApiKeysInput{
		Body: file.Bytes(), Format: types.ApiKeysFormatCsv, FailOnWarnings: true,
	})
	// The file holds the values: overwrite it before anything else can
	// see it (it is never logged; this keeps it out of a core dump).
	clear(file.Bytes()[:cap(file.Bytes())])
	if err != nil {
		return nil, fmt.Errorf("importing %s (%s … %s): %w", plural(len(batch), "key"), batch[0].Name, batch[len(batch)-1].Name, err)
	}
	if len(out.Warnings) > 0 {
		return nil, fmt.Errorf("importing %s: API Gateway warned: %s", plural(len(batch), "key"), strings.Join(out.Warnings, "; "))
	}
	if len(out.Ids) != len(batch) {
		return nil, fmt.Errorf("importing %s: API Gateway returned %d ids; run sync again to adopt what was imported", plural(len(batch), "key"), len(out.Ids))
	}
	return out.Ids, nil
}

// KeyARN is an API key's ARN (apigateway-resource-arns): the resource
// TagResource takes, in the region's partition (arn:aws-cn:… in China).
func (c *Client) KeyARN(id string) string {
	return "arn:" + Partition(c.region) + ":apigateway:" + c.region + "::/apikeys/" + id
}

func (c *Client) tagKey(ctx context.Context, id string, tags map[string]string) error {
	_, err := c.api.TagResource(ctx, &apigateway.TagResourceInput{ResourceArn: aws.String(c.KeyARN(id)), Tags: tags})
	if err != nil {
		return fmt.Errorf("tagging key %s: %w", id, err)
	}
	return nil
}

// attachMu makes usage-plan attachments strictly one at a time in this
// process: API Gateway refuses concurrent CreateUsagePlanKey calls with 409
// (serverless/serverless#12065).
var attachMu sync.Mutex

func (c *Client) attach(ctx context.Context, planID, keyID string) error {
	attachMu.Lock()
	defer attachMu.Unlock()
	_, err := c.api.CreateUsagePlanKey(ctx, &apigateway.CreateUsagePlanKeyInput{UsagePlanId: aws.String(planID), KeyId: aws.String(keyID), KeyType: aws.String("API_KEY")})
	var conflict *types.ConflictException
	if errors.As(err, &conflict) && !isConcurrentModification(conflict) {
		// A first attempt whose response was lost may have attached the
		// key: the retry's 409 then means done. Any other 409 (the key is
		// in another plan of the stage) stands.
		if _, gerr := c.api.GetUsagePlanKey(ctx, &apigateway.GetUsagePlanKeyInput{UsagePlanId: aws.String(planID), KeyId: aws.String(keyID)}); gerr == nil {
			return nil
		}
	}
	return err
}

func (c *Client) detach(ctx context.Context, planID, keyID string) error {
	attachMu.Lock()
	defer attachMu.Unlock()
	_, err := c.api.DeleteUsagePlanKey(ctx, &apigateway.DeleteUsagePlanKeyInput{UsagePlanId: aws.String(planID), KeyId: aws.String(keyID)})
	if isNotFound(err) {
		return nil // already detached: a resumed move
	}
	return err
}

// move detaches the key from every plan in from, then attaches it to to,
// and returns the time the key was in no plan.
func (c *Client) move(ctx context.Context, keyID string, from []string, to string) (time.Duration, error) {
	var detached time.Time
	for _, planID := range from {
		if planID == to {
			continue
		}
		if err := c.detach(ctx, planID, keyID); err != nil {
			return 0, err
		}
		detached = time.Now()
	}
	if slices.Contains(from, to) {
		return 0, nil
	}
	if err := c.attach(ctx, to, keyID); err != nil {
		return 0, err
	}
	if detached.IsZero() {
		return 0, nil
	}
	return time.Since(detached), nil
}

func isNotFound(err error) bool {
	var nf *types.NotFoundException
	return errors.As(err, &nf)
}

func managedCount(inv Inventory, env string) int {
	n := 0
	for _, k := range inv.Keys {
		if k.Managed(env) {
			n++
		}
	}
	return n
}

// plural is "1 key", "2 keys".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}
