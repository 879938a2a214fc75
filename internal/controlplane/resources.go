package controlplane

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keygate/keygate/internal/apistore"
)

// The JSON shapes below are API Gateway's resources as the AWS SDK for Go
// v2 (service/apigateway) reads them: lists under "item", dates as epoch
// seconds, usage under "values"
// (https://docs.aws.amazon.com/apigateway/latest/api/API_ApiKey.html,
// API_UsagePlan.html, API_UsagePlanKey.html, API_GetUsage.html).

type apiKeyJSON struct {
	ID              string            `json:"id"`
	Value           string            `json:"value,omitempty"`
	Name            string            `json:"name,omitempty"`
	CustomerID      string            `json:"customerId,omitempty"`
	Description     string            `json:"description,omitempty"`
	Enabled         bool              `json:"enabled"`
	CreatedDate     float64           `json:"createdDate"`
	LastUpdatedDate float64           `json:"lastUpdatedDate"`
	StageKeys       []string          `json:"stageKeys"`
	Tags            map[string]string `json:"tags,omitempty"`
}

func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func (s *Server) keyJSON(k apistore.Key, withValue bool) apiKeyJSON {
	out := apiKeyJSON{ID: k.ID, Name: k.Name, CustomerID: k.CustomerID, Description: k.Description, Enabled: k.Enabled,
		CreatedDate: epoch(k.CreatedDate), LastUpdatedDate: epoch(k.LastUpdatedDate), StageKeys: []string{}, Tags: k.Tags}
	if withValue {
		out.Value = k.Value
	}
	return out
}

// page cuts items by the position and limit query parameters: position is
// the index to start at (API Gateway's are opaque; ours need not be
// anything else), limit at most 500 (the API reference's maximum).
func page[T any](r *http.Request, items []T) ([]T, string, error) {
	q := r.URL.Query()
	limit := 25 // API Gateway's default page size
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			return nil, "", badRequestf("limit: must be 1 to 500")
		}
		limit = n
	}
	start := 0
	if p := q.Get("position"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return nil, "", badRequestf("position: invalid")
		}
		start = min(n, len(items))
	}
	end := min(start+limit, len(items))
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	return items[start:end], next, nil
}

type listJSON[T any] struct {
	Item     []T    `json:"item"`
	Position string `json:"position,omitempty"`
}

// writePage answers a list call with the requested page of items, as
// {"item": [...], "position": next}; item is [] rather than null when empty.
func writePage[T any](w http.ResponseWriter, r *http.Request, items []T) error {
	pageItems, next, err := page(r, items)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listJSON[T]{Item: nonNil(pageItems), Position: next})
}

// ---- API keys

type createAPIKeyJSON struct {
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Enabled     bool              `json:"enabled"`
	Value       string            `json:"value"`
	CustomerID  string            `json:"customerId"`
	Tags        map[string]string `json:"tags"`
	StageKeys   []json.RawMessage `json:"stageKeys"`
}

func (s *Server) createOrImportAPIKeys(w http.ResponseWriter, r *http.Request) error {
	if r.URL.Query().Get("mode") == "import" {
		return s.importAPIKeys(w, r)
	}
	var in createAPIKeyJSON
	if err := decode(r, &in); err != nil {
		return err
	}
	if len(in.StageKeys) > 0 {
		return badRequestf("stageKeys: not supported by the local control plane; attach keys to usage plans")
	}
	k, err := s.store.CreateKey(apistore.Key{Name: in.Name, Description: in.Description, Enabled: in.Enabled, Value: in.Value, CustomerID: in.CustomerID, Tags: in.Tags})
	if err != nil {
		return err
	}
	// CreateApiKey answers with the value ("value: The value of the API Key").
	return writeJSON(w, http.StatusCreated, s.keyJSON(k, true))
}

func (s *Server) getAPIKeys(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	name, customer := q.Get("name"), q.Get("customerId")
	withValues := q.Get("includeValues") == "true"
	var items []apiKeyJSON
	for _, k := range s.store.Keys() {
		// The name query is a prefix match ("The name of queried API keys"
		// behaves as begins-with on AWS).
		if name != "" && !strings.HasPrefix(k.Name, name) || customer != "" && k.CustomerID != customer {
			continue
		}
		items = append(items, s.keyJSON(k, withValues))
	}
	return writePage(w, r, items)
}

func (s *Server) getAPIKey(w http.ResponseWriter, r *http.Request) error {
	k, err := s.store.Key(r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.keyJSON(k, r.URL.Query().Get("includeValue") == "true"))
}

type patchJSON struct {
	PatchOperations []struct {
		Op    string `json:"op"`
		Path  string `json:"path"`
		Value string `json:"value"`
	} `json:"patchOperations"`
}

// updateAPIKey applies UpdateApiKey's patch operations: replace /name,
// /description, /enabled, /customerId (API_UpdateApiKey.html, "PatchOperation").
func (s *Server) updateAPIKey(w http.ResponseWriter, r *http.Request) error {
	var in patchJSON
	if err := decode(r, &in); err != nil {
		return err
	}
	k, err := s.store.UpdateKey(r.PathValue("id"), func(k *apistore.Key) error {
		for _, op := range in.PatchOperations {
			if op.Op != "replace" {
				return badRequestf("Invalid patch operation specified. Must be 'replace' for path %s", op.Path)
			}
			switch op.Path {
			case "/name":
				k.Name = op.Value
			case "/description":
				k.Description = op.Value
			case "/customerId":
				k.CustomerID = op.Value
			case "/enabled":
				b, err := strconv.ParseBool(op.Value)
				if err != nil {
					return badRequestf("Invalid value for path /enabled: %q", op.Value)
				}
				k.Enabled = b
			default:
				return badRequestf("Invalid patch path %s", op.Path)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.keyJSON(k, false))
}

func (s *Server) deleteAPIKey(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.DeleteKey(r.PathValue("id")); err != nil {
		return err
	}
	w.Header().Set("X-Amzn-RequestId", requestID())
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// ---- usage plans

type throttleJSON struct {
	BurstLimit int     `json:"burstLimit"`
	RateLimit  float64 `json:"rateLimit"`
}

type usagePlanJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	APIStages   []struct {
		APIID    string                  `json:"apiId"`
		Stage    string                  `json:"stage"`
		Throttle map[string]throttleJSON `json:"throttle,omitempty"`
	} `json:"apiStages"`
	Throttle *throttleJSON `json:"throttle,omitempty"`
	Quota    *struct {
		Limit  int64  `json:"limit"`
		Offset int64  `json:"offset"`
		Period string `json:"period"`
	} `json:"quota,omitempty"`
	ProductCode string            `json:"productCode,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
}

func planJSON(p apistore.Plan) usagePlanJSON {
	out := usagePlanJSON{ID: p.ID, Name: p.Name, Description: p.Description, ProductCode: p.ProductCode, Tags: p.Tags}
	out.APIStages = make([]struct {
		APIID    string                  `json:"apiId"`
		Stage    string                  `json:"stage"`
		Throttle map[string]throttleJSON `json:"throttle,omitempty"`
	}, len(p.APIStages))
	for i, st := range p.APIStages {
		out.APIStages[i].APIID, out.APIStages[i].Stage = st.APIID, st.Stage
		for m, t := range st.Throttle {
			if out.APIStages[i].Throttle == nil {
				out.APIStages[i].Throttle = map[string]throttleJSON{}
			}
			out.APIStages[i].Throttle[m] = throttleJSON{BurstLimit: t.BurstLimit, RateLimit: t.RateLimit}
		}
	}
	if t := p.Throttle; t != nil {
		out.Throttle = &throttleJSON{BurstLimit: t.BurstLimit, RateLimit: t.RateLimit}
	}
	if q := p.Quota; q != nil {
		out.Quota = &struct {
			Limit  int64  `json:"limit"`
			Offset int64  `json:"offset"`
			Period string `json:"period"`
		}{q.Limit, q.Offset, string(q.Period)}
	}
	return out
}

func (s *Server) getUsagePlans(w http.ResponseWriter, r *http.Request) error {
	keyID := r.URL.Query().Get("keyId")
	var items []usagePlanJSON
	for _, p := range s.store.Plans() {
		if keyID != "" {
			keys, _ := s.store.PlanKeys(p.ID)
			if !slices.ContainsFunc(keys, func(k apistore.Key) bool { return k.ID == keyID }) {
				continue
			}
		}
		items = append(items, planJSON(p))
	}
	return writePage(w, r, items)
}

func (s *Server) getUsagePlan(w http.ResponseWriter, r *http.Request) error {
	p, err := s.store.Plan(r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, planJSON(p))
}

type usagePlanKeyJSON struct {
	ID    string `json:"id"`
	Type  string `json:"type"`
	Value string `json:"value,omitempty"`
	Name  string `json:"name,omitempty"`
}

func planKeyJSON(k apistore.Key) usagePlanKeyJSON {
	// UsagePlanKey carries the key's value (API_UsagePlanKey.html).
	return usagePlanKeyJSON{ID: k.ID, Type: "API_KEY", Value: k.Value, Name: k.Name}
}

func (s *Server) getUsagePlanKeys(w http.ResponseWriter, r *http.Request) error {
	keys, err := s.store.PlanKeys(r.PathValue("id"))
	if err != nil {
		return err
	}
	nameQuery := r.URL.Query().Get("name")
	var items []usagePlanKeyJSON
	for _, k := range keys {
		if nameQuery == "" || strings.HasPrefix(k.Name, nameQuery) {
			items = append(items, planKeyJSON(k))
		}
	}
	return writePage(w, r, items)
}

func (s *Server) getUsagePlanKey(w http.ResponseWriter, r *http.Request) error {
	keys, err := s.store.PlanKeys(r.PathValue("id"))
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.ID == r.PathValue("keyId") {
			return writeJSON(w, http.StatusOK, planKeyJSON(k))
		}
	}
	return &apistore.Error{Kind: apistore.NotFound, Message: "Invalid API Key identifier specified"}
}

// ConcurrentModification is API Gateway's message for a CreateUsagePlanKey
// that overlaps another (serverless/serverless#12065).
const ConcurrentModification = "Unable to complete operation due to concurrent modification. Please try again later."

func (s *Server) createUsagePlanKey(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		KeyID   string `json:"keyId"`
		KeyType string `json:"keyType"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.KeyType != "API_KEY" {
		return badRequestf("keyType: must be API_KEY")
	}
	// Count the calls that overlap, refused ones included: how many a
	// client had in flight at once.
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for {
		m := s.Stats.MaxAttachInFlight.Load()
		if n <= m || s.Stats.MaxAttachInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	if s.opts.Limits.SerializeUsagePlanKeys {
		if !s.attach.TryLock() {
			s.Stats.AttachConflicts.Add(1)
			writeError(w, http.StatusConflict, "ConflictException", ConcurrentModification)
			return nil
		}
		defer s.attach.Unlock()
	}
	if s.opts.AttachHook != nil {
		s.opts.AttachHook()
	}
	if hold := s.opts.AttachHold; hold > 0 {
		timer := time.NewTimer(hold)
		select {
		case <-timer.C:
		case <-r.Context().Done():
			timer.Stop()
			return r.Context().Err()
		}
	}
	planID := r.PathValue("id")
	if err := s.store.AttachKey(planID, in.KeyID); err != nil {
		return err
	}
	k, err := s.store.Key(in.KeyID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, planKeyJSON(k))
}

func (s *Server) deleteUsagePlanKey(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.DetachKey(r.PathValue("id"), r.PathValue("keyId")); err != nil {
		return err
	}
	w.Header().Set("X-Amzn-RequestId", requestID())
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (s *Server) getUsage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	start, err1 := time.Parse(time.DateOnly, q.Get("startDate"))
	end, err2 := time.Parse(time.DateOnly, q.Get("endDate"))
	if err1 != nil || err2 != nil {
		return badRequestf("startDate and endDate: required, as yyyy-MM-dd")
	}
	u, err := s.store.GetUsage(r.PathValue("id"), q.Get("keyId"), start, end)
	if err != nil {
		return err
	}
	values := map[string][][]int64{}
	for id, days := range u.Items {
		rows := make([][]int64, len(days))
		for i, d := range days {
			rows[i] = []int64{d[0], d[1]}
		}
		values[id] = rows
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"usagePlanId": u.PlanID, "startDate": u.Start.Format(time.DateOnly), "endDate": u.End.Format(time.DateOnly), "values": values,
	})
}

// ---- tags

// keyIDFromARN reads an API key's id from its ARN,
// arn:aws:apigateway:<region>::/apikeys/<id> (apigateway-resource-arns).
func keyIDFromARN(arn string) (string, error) {
	arn, err := url.PathUnescape(arn)
	if err != nil {
		return "", badRequestf("resource ARN: %v", err)
	}
	_, id, ok := strings.Cut(arn, "::/apikeys/")
	if !ok || !strings.HasPrefix(arn, "arn:") || id == "" || strings.Contains(id, "/") {
		return "", badRequestf("resource ARN %q: the local control plane tags API keys only (arn:aws:apigateway:<region>::/apikeys/<id>)", arn)
	}
	return id, nil
}

func (s *Server) getTags(w http.ResponseWriter, r *http.Request) error {
	id, err := keyIDFromARN(r.PathValue("arn"))
	if err != nil {
		return err
	}
	k, err := s.store.Key(id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"tags": nonNilMap(k.Tags)})
}

func (s *Server) tagResource(w http.ResponseWriter, r *http.Request) error {
	id, err := keyIDFromARN(r.PathValue("arn"))
	if err != nil {
		return err
	}
	var in struct {
		Tags map[string]string `json:"tags"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if _, err := s.store.UpdateKey(id, func(k *apistore.Key) error {
		if k.Tags == nil {
			k.Tags = map[string]string{}
		}
		for name, v := range in.Tags {
			k.Tags[name] = v
		}
		// 50 tags per resource (apigateway-tagging, "Tag restrictions").
		if len(k.Tags) > 50 {
			return badRequestf("tags: at most 50 per resource")
		}
		return nil
	}); err != nil {
		return err
	}
	w.Header().Set("X-Amzn-RequestId", requestID())
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) untagResource(w http.ResponseWriter, r *http.Request) error {
	id, err := keyIDFromARN(r.PathValue("arn"))
	if err != nil {
		return err
	}
	names := r.URL.Query()["tagKeys"]
	if _, err := s.store.UpdateKey(id, func(k *apistore.Key) error {
		for _, name := range names {
			delete(k.Tags, name)
		}
		return nil
	}); err != nil {
		return err
	}
	w.Header().Set("X-Amzn-RequestId", requestID())
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ---- helpers

func decode(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if err != nil {
		return badRequestf("reading the body: %v", err)
	}
	if len(body) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return badRequestf("Invalid JSON body: %v", err)
	}
	return nil
}

func nonNil[T any](items []T) []T {
	if items == nil {
		return []T{}
	}
	return items
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
