package controlplane

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/keygate/keygate/internal/apistore"
)

// importAPIKeys is ImportApiKeys (POST /apikeys?mode=import&format=csv),
// reading the file format API Gateway documents
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-key-file-format.html):
// a header whose names are case-insensitive and in any order; Name and Key
// required; Description, Enabled and UsagePlanIds optional (UsagePlanIds a
// quoted, comma-separated list); unknown columns ignored; Enabled defaults
// to true. "The same API key can be imported multiple times, with the most
// recent version overwriting the previous one. Two API keys are identical if
// they have the same key value." A row that cannot be imported is a warning;
// with failonwarnings=true any warning fails the whole import.
func (s *Server) importAPIKeys(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if q.Get("format") != "csv" {
		return badRequestf("format: only csv is supported")
	}
	failOnWarnings := q.Get("failonwarnings") == "true"
	body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if err != nil {
		return badRequestf("reading the body: %v", err)
	}
	reader := csv.NewReader(bytes.NewReader(body))
	reader.FieldsPerRecord = -1
	records, err := reader.ReadAll()
	if err != nil {
		return badRequestf("Invalid API key file: %v", err)
	}
	if len(records) == 0 {
		return badRequestf("Invalid API key file: empty")
	}
	col := map[string]int{}
	for i, name := range records[0] {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(name, "\ufeff")))] = i
	}
	if _, ok := col["name"]; !ok {
		return badRequestf("Invalid API key file: the header has no Name column")
	}
	if _, ok := col["key"]; !ok {
		return badRequestf("Invalid API key file: the header has no Key column")
	}
	field := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return rec[i]
		}
		return ""
	}

	type row struct {
		line  int
		key   apistore.Key
		plans []string
	}
	var rows []row
	var warnings []string
	newKeys := 0
	for i, rec := range records[1:] {
		line := i + 2
		k := apistore.Key{Name: field(rec, "name"), Value: field(rec, "key"), Description: field(rec, "description"), Enabled: true}
		if e := field(rec, "enabled"); e != "" {
			b, err := strconv.ParseBool(strings.ToLower(e))
			if err != nil {
				warnings = append(warnings, fmt.Sprintf("Line %d: Invalid value for Enabled: %q", line, e))
				continue
			}
			k.Enabled = b
		}
		if n := len(k.Value); n < apistore.MinKeyValueLength || n > apistore.MaxKeyValueLength {
			warnings = append(warnings, fmt.Sprintf("Line %d: API Key value must be between %d and %d characters", line, apistore.MinKeyValueLength, apistore.MaxKeyValueLength))
			continue
		}
		var plans []string
		if ids := strings.Trim(field(rec, "usageplanids"), "'"); ids != "" {
			for _, id := range strings.Split(ids, ",") {
				id = strings.TrimSpace(id)
				if _, err := s.store.Plan(id); err != nil {
					warnings = append(warnings, fmt.Sprintf("Line %d: Invalid Usage Plan ID specified: %s", line, id))
					plans = nil
					break
				}
				plans = append(plans, id)
			}
			if plans == nil {
				continue
			}
		}
		if _, exists := s.store.KeyByValue(k.Value); !exists {
			newKeys++
		}
		rows = append(rows, row{line: line, key: k, plans: plans})
	}
	// Two rows of one value are one key to API Gateway (the later row
	// overwrites the earlier): say so rather than count it twice.
	seenValue := map[string]int{}
	for _, rw := range rows {
		if first, dup := seenValue[rw.key.Value]; dup {
			warnings = append(warnings, fmt.Sprintf("Line %d: same API key value as line %d", rw.line, first))
		} else {
			seenValue[rw.key.Value] = rw.line
		}
	}
	if failOnWarnings && len(warnings) > 0 {
		return importFailed(warnings)
	}
	if have, limit := len(s.store.Keys()), s.store.Limits().Keys; have+newKeys > limit {
		return &apistore.Error{Kind: apistore.LimitExceeded, Message: fmt.Sprintf("API keys: importing %d new keys would pass the account limit of %d (%d exist)", newKeys, limit, have)}
	}

	// failonwarnings=true: "rollback ApiKey importation (true) or not
	// (false) when error is encountered" (API_ImportApiKeys). A row can
	// still fail while it is applied (a plan of the same stage as one the
	// key is in, a key limit reached meanwhile): every change made so far
	// is then undone, in reverse, and nothing of the file stays.
	var undo []func()
	rollback := func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	ids := []string{}
	for _, rw := range rows {
		var id string
		var rowWarnings []string
		if existing, ok := s.store.KeyByValue(rw.key.Value); ok {
			updated, err := s.store.UpdateKey(existing.ID, func(k *apistore.Key) error {
				k.Name, k.Description, k.Enabled = rw.key.Name, rw.key.Description, rw.key.Enabled
				return nil
			})
			if err != nil {
				rowWarnings = append(rowWarnings, fmt.Sprintf("Line %d: %v", rw.line, err))
			} else {
				id = updated.ID
				undo = append(undo, func() {
					s.store.UpdateKey(existing.ID, func(k *apistore.Key) error {
						k.Name, k.Description, k.Enabled = existing.Name, existing.Description, existing.Enabled
						return nil
					})
				})
			}
		} else {
			created, err := s.store.CreateKey(rw.key)
			if err != nil {
				rowWarnings = append(rowWarnings, fmt.Sprintf("Line %d: %v", rw.line, err))
			} else {
				id = created.ID
				undo = append(undo, func() { s.store.DeleteKey(created.ID) })
			}
		}
		if id != "" {
			ids = append(ids, id)
			for _, planID := range rw.plans {
				err := s.store.AttachKey(planID, id)
				switch {
				case err == nil:
					undo = append(undo, func() { s.store.DetachKey(planID, id) })
				case apistore.KindOf(err) == apistore.Conflict && strings.Contains(err.Error(), "already in usage plan"):
					// attached before: the overwrite keeps it
				default:
					rowWarnings = append(rowWarnings, fmt.Sprintf("Line %d: %v", rw.line, err))
				}
			}
		}
		warnings = append(warnings, rowWarnings...)
		if failOnWarnings && len(rowWarnings) > 0 {
			rollback()
			return importFailed(warnings)
		}
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"ids": ids, "warnings": nonNil(warnings)})
}

// importFailed is the answer to an import that failonwarnings rolled back:
// 400 BadRequestException with the warnings in its message, as API Gateway
// returns them ("warnings are returned as a message in the exception",
// api-gateway-import-api-errors-warnings.html).
func importFailed(warnings []string) error {
	return badRequestf("Import failed, rolled back (failonwarnings): %s", strings.Join(warnings, "; "))
}
