package apimodel

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Placeholders for an environment-agnostic stack ("aws://unknown-account/
// unknown-region"): a region and account the authorizer's method ARN check
// accepts.
const (
	LocalRegion  = "us-east-1"
	LocalAccount = "000000000000"
)

type manifest struct {
	Artifacts map[string]struct {
		Type        string `json:"type"`
		Environment string `json:"environment"`
		DisplayName string `json:"displayName"`
		Properties  struct {
			TemplateFile string `json:"templateFile"`
		} `json:"properties"`
	} `json:"artifacts"`
}

type template struct {
	Parameters map[string]any      `json:"Parameters"`
	Resources  map[string]resource `json:"Resources"`
}

type resource struct {
	Type       string         `json:"Type"`
	Properties map[string]any `json:"Properties"`
	Metadata   map[string]any `json:"Metadata"`
}

// Stacks lists the CloudFormation stacks of the assembly in dir.
func Stacks(dir string) ([]string, error) {
	m, err := readManifest(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for id, a := range m.Artifacts {
		if a.Type == "aws:cloudformation:stack" {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out, nil
}

func readManifest(dir string) (*manifest, error) {
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s has no manifest.json: it is not a synthesized cloud assembly; run make synth", dir)
	}
	if err != nil {
		return nil, err
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s/manifest.json: %w", dir, err)
	}
	return &m, nil
}

// Load reads the stack named stack from the cloud assembly in dir.
func Load(dir, stack string) (*API, error) {
	m, err := readManifest(dir)
	if err != nil {
		return nil, err
	}
	art, ok := m.Artifacts[stack]
	if !ok || art.Type != "aws:cloudformation:stack" {
		stacks, _ := Stacks(dir)
		return nil, fmt.Errorf("no stack %q in %s (stacks there: %s)", stack, dir, strings.Join(stacks, ", "))
	}
	file := art.Properties.TemplateFile
	if file == "" {
		file = stack + ".template.json"
	}
	root, err := readTemplate(dir, file)
	if err != nil {
		return nil, err
	}
	l := &loader{dir: dir, api: &API{
		Stack:            stack,
		Region:           LocalRegion,
		Account:          LocalAccount,
		Authorizers:      map[string]*Authorizer{},
		GatewayResponses: map[string]*GatewayResponse{},
	}}
	if account, region, ok := parseEnvironment(art.Environment); ok {
		if account != "unknown-account" {
			l.api.Account = account
		}
		if region != "unknown-region" {
			l.api.Region = region
		}
	}
	l.api.ID = localAPIID(stack)
	rootScope := &scope{name: file, tpl: root}
	if err := l.loadRoot(rootScope); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if err := l.loadKeys(rootScope, ""); err != nil {
		return nil, err
	}
	return l.api, nil
}

func parseEnvironment(env string) (account, region string, ok bool) {
	rest, ok := strings.CutPrefix(env, "aws://")
	if !ok {
		return "", "", false
	}
	return strings.Cut(rest, "/")
}

// localAPIID derives a stable ten-character id from the stack name.
func localAPIID(stack string) string {
	sum := sha256.Sum256([]byte("keygate-local/" + stack))
	s := new(big.Int).SetBytes(sum[:]).Text(36)
	return s[:10]
}

func readTemplate(dir, file string) (*template, error) {
	data, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return nil, err
	}
	var t template
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &t, nil
}

// scope is one template with, for a nested stack, the parameters its parent
// passes in (unresolved, in the parent's scope).
type scope struct {
	name     string
	tpl      *template
	parent   *scope
	params   map[string]any
	prefix   string // logical id path of the nested stack, "" for the root
	nestedID string
}

// ref resolves {"Ref": id} or {"Fn::GetAtt": [id, attr]} to a resource's
// logical id and the scope that holds it, following nested-stack parameters
// to the parent.
func (s *scope) ref(v any) (id, attr string, in *scope, ok bool) {
	m, isMap := v.(map[string]any)
	if !isMap {
		return "", "", nil, false
	}
	if name, isRef := m["Ref"].(string); isRef {
		if _, isParam := s.tpl.Parameters[name]; isParam && s.parent != nil {
			passed, given := s.params[name]
			if !given {
				return "", "", nil, false
			}
			return s.parent.ref(passed)
		}
		if _, isRes := s.tpl.Resources[name]; isRes {
			return name, "", s, true
		}
		return "", "", nil, false
	}
	if getAtt, isGetAtt := m["Fn::GetAtt"].([]any); isGetAtt && len(getAtt) == 2 {
		name, _ := getAtt[0].(string)
		attr, _ := getAtt[1].(string)
		if _, isRes := s.tpl.Resources[name]; isRes {
			return name, attr, s, true
		}
	}
	return "", "", nil, false
}

// str renders a value as a string: literals as they are, Fn::Join and
// Fn::Sub of literals and pseudo parameters with local values; ok false for
// anything that only AWS could resolve.
func (l *loader) str(s *scope, v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(v), true
	case map[string]any:
		if name, ok := v["Ref"].(string); ok {
			switch name {
			case "AWS::Region":
				return l.api.Region, true
			case "AWS::AccountId":
				return l.api.Account, true
			case "AWS::Partition":
				return "aws", true
			case "AWS::URLSuffix":
				return "amazonaws.com", true
			}
			return "", false
		}
		if join, ok := v["Fn::Join"].([]any); ok && len(join) == 2 {
			sep, _ := join[0].(string)
			parts, _ := join[1].([]any)
			var out []string
			for _, p := range parts {
				ps, ok := l.str(s, p)
				if !ok {
					return "", false
				}
				out = append(out, ps)
			}
			return strings.Join(out, sep), true
		}
	}
	return "", false
}

type loader struct {
	dir string
	api *API
}

func (l *loader) ofType(s *scope, typ string) []string {
	var ids []string
	for id, r := range s.tpl.Resources {
		if r.Type == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

func (l *loader) loadRoot(s *scope) error {
	apis := l.ofType(s, "AWS::ApiGateway::RestApi")
	if len(apis) != 1 {
		return fmt.Errorf("want exactly one AWS::ApiGateway::RestApi, found %d (%s)", len(apis), strings.Join(apis, ", "))
	}
	apiID := apis[0]
	apiProps := s.tpl.Resources[apiID].Properties
	l.api.Name, _ = l.str(s, apiProps["Name"])
	l.api.APIKeySource, _ = apiProps["ApiKeySourceType"].(string)
	l.api.Policy = apiProps["Policy"]
	if l.api.APIKeySource == "" {
		l.api.APIKeySource = "HEADER"
	}
	if body := apiProps["Body"]; body != nil {
		return fmt.Errorf("RestApi %s is defined by an OpenAPI Body, which the local gateway does not read", apiID)
	}

	stages := l.ofType(s, "AWS::ApiGateway::Stage")
	if len(stages) != 1 {
		return fmt.Errorf("want exactly one AWS::ApiGateway::Stage, found %d", len(stages))
	}
	if err := l.loadStage(s, stages[0]); err != nil {
		return err
	}
	for _, id := range l.ofType(s, "AWS::ApiGateway::Authorizer") {
		if err := l.loadAuthorizer(s, id); err != nil {
			return err
		}
	}
	if err := l.loadResources(s, apiID); err != nil {
		return err
	}
	for _, id := range l.ofType(s, "AWS::ApiGateway::GatewayResponse") {
		p := s.tpl.Resources[id].Properties
		typ, _ := p["ResponseType"].(string)
		gr := &GatewayResponse{Type: typ, ResponseParameters: stringMap(p["ResponseParameters"]), ResponseTemplates: stringMap(p["ResponseTemplates"])}
		gr.StatusCode, _ = p["StatusCode"].(string)
		l.api.GatewayResponses[typ] = gr
	}
	for _, id := range l.ofType(s, "AWS::ApiGateway::UsagePlan") {
		if err := l.loadPlan(s, id, stages[0]); err != nil {
			return err
		}
	}
	return nil
}

func (l *loader) loadStage(s *scope, id string) error {
	p := s.tpl.Resources[id].Properties
	name, _ := p["StageName"].(string)
	if name == "" {
		return fmt.Errorf("stage %s has no literal StageName", id)
	}
	st := Stage{LogicalID: id, Name: name}
	if als, ok := p["AccessLogSetting"].(map[string]any); ok {
		st.AccessLogFormat, _ = als["Format"].(string)
	}
	settings, _ := p["MethodSettings"].([]any)
	for i, raw := range settings {
		ms, _ := raw.(map[string]any)
		path, _ := ms["ResourcePath"].(string)
		method, _ := ms["HttpMethod"].(string)
		if path == "" || method == "" {
			return fmt.Errorf("stage %s: MethodSettings[%d] needs ResourcePath and HttpMethod", id, i)
		}
		setting := MethodSetting{ResourcePath: decodeSettingPath(path), HTTPMethod: method}
		rate, hasRate := ms["ThrottlingRateLimit"].(float64)
		burst, hasBurst := ms["ThrottlingBurstLimit"].(float64)
		if hasRate || hasBurst {
			setting.Throttle = &Throttle{RateLimit: rate, BurstLimit: int(burst)}
		}
		st.MethodSettings = append(st.MethodSettings, setting)
	}
	l.api.Stage = st
	return nil
}

// decodeSettingPath undoes the method-setting path encoding: "Forward
// slashes (/) are encoded as ~1" (AWS::ApiGateway::Stage MethodSetting,
// ResourcePath).
func decodeSettingPath(p string) string {
	// "/~1orders~1{id}": the first "/" separates, each "~1" is a "/".
	if !strings.HasPrefix(p, "/~1") {
		return p // "/", "/*"
	}
	return strings.ReplaceAll(strings.TrimPrefix(p, "/"), "~1", "/")
}

var assetHashInKey = regexp.MustCompile(`^([0-9a-f]{64})\.zip$`)

func (l *loader) loadAuthorizer(s *scope, id string) error {
	p := s.tpl.Resources[id].Properties
	a := &Authorizer{LogicalID: id}
	a.Name, _ = p["Name"].(string)
	a.Type, _ = p["Type"].(string)
	source, _ := p["IdentitySource"].(string)
	if h, ok := strings.CutPrefix(source, "method.request.header."); ok {
		a.IdentityHeader = h
	} else if a.Type == "TOKEN" {
		return fmt.Errorf("authorizer %s: IdentitySource %q is not a request header (method.request.header.<name>)", id, source)
	}
	a.ValidationExpression, _ = p["IdentityValidationExpression"].(string)
	ttl := 300.0 // API Gateway's default when AuthorizerResultTtlInSeconds is unset
	if v, ok := p["AuthorizerResultTtlInSeconds"].(float64); ok {
		ttl = v
	}
	a.TTL = time.Duration(ttl) * time.Second
	// The function: the one resource AuthorizerUri references.
	for _, refID := range refsIn(p["AuthorizerUri"]) {
		r, ok := s.tpl.Resources[refID]
		if !ok || r.Type != "AWS::Lambda::Function" {
			continue
		}
		a.FunctionLogicalID = refID
		assetPath, _ := r.Metadata["aws:asset:path"].(string)
		if assetPath != "" {
			a.AssetDir = filepath.Join(l.dir, assetPath)
			a.AssetHash = strings.TrimPrefix(assetPath, "asset.")
		}
		if key, ok := at(r.Properties, "Code", "S3Key").(string); ok {
			if m := assetHashInKey.FindStringSubmatch(key); m != nil && a.AssetHash == "" {
				a.AssetHash = m[1]
			}
		}
	}
	l.api.Authorizers[id] = a
	return nil
}

func (l *loader) loadResources(s *scope, apiID string) error {
	root := &Resource{LogicalID: apiID + ".RootResourceId", Path: "/", Methods: map[string]*Method{}}
	l.api.Root = root
	byID := map[string]*Resource{}
	ids := l.ofType(s, "AWS::ApiGateway::Resource")
	for _, id := range ids {
		part, _ := s.tpl.Resources[id].Properties["PathPart"].(string)
		if part == "" {
			return fmt.Errorf("resource %s has no literal PathPart", id)
		}
		byID[id] = &Resource{LogicalID: id, PathPart: part, Methods: map[string]*Method{}}
	}
	parentOf := func(v any) (*Resource, bool) {
		refID, attr, _, ok := s.ref(v)
		if !ok {
			return nil, false
		}
		if refID == apiID && attr == "RootResourceId" {
			return root, true
		}
		r, ok := byID[refID]
		return r, ok && attr == ""
	}
	for _, id := range ids {
		parent, ok := parentOf(s.tpl.Resources[id].Properties["ParentId"])
		if !ok {
			return fmt.Errorf("resource %s: ParentId is neither the API's root nor another resource", id)
		}
		r := byID[id]
		r.Parent = parent
		parent.Children = append(parent.Children, r)
	}
	var setPaths func(*Resource) error
	setPaths = func(r *Resource) error {
		slices.SortFunc(r.Children, func(a, b *Resource) int { return strings.Compare(a.PathPart, b.PathPart) })
		for _, c := range r.Children {
			c.Path = strings.TrimSuffix(r.Path, "/") + "/" + c.PathPart
			if r.Greedy() {
				return fmt.Errorf("resource %s (%s) is below a greedy {proxy+} resource, which API Gateway does not allow", c.LogicalID, c.Path)
			}
			if err := setPaths(c); err != nil {
				return err
			}
		}
		return nil
	}
	if err := setPaths(root); err != nil {
		return err
	}

	for _, id := range l.ofType(s, "AWS::ApiGateway::Method") {
		p := s.tpl.Resources[id].Properties
		r, ok := parentOf(p["ResourceId"])
		if !ok {
			return fmt.Errorf("method %s: ResourceId names no resource of the API", id)
		}
		m := &Method{LogicalID: id, Resource: r, RequestParameters: map[string]bool{}}
		m.HTTPMethod, _ = p["HttpMethod"].(string)
		m.AuthorizationType, _ = p["AuthorizationType"].(string)
		if m.AuthorizationType == "" {
			m.AuthorizationType = "NONE"
		}
		m.APIKeyRequired, _ = p["ApiKeyRequired"].(bool)
		if rp, ok := p["RequestParameters"].(map[string]any); ok {
			for k, v := range rp {
				b, _ := v.(bool)
				m.RequestParameters[k] = b
			}
		}
		if m.AuthorizationType == "CUSTOM" {
			authID, _, _, ok := s.ref(p["AuthorizerId"])
			if !ok || l.api.Authorizers[authID] == nil {
				return fmt.Errorf("method %s %s: AuthorizerId names no authorizer of the stack", m.HTTPMethod, r.Path)
			}
			m.Authorizer = l.api.Authorizers[authID]
		}
		for _, mr := range anyList(p["MethodResponses"]) {
			if code, ok := at(mr, "StatusCode").(string); ok {
				m.MethodResponses = append(m.MethodResponses, code)
			}
		}
		integration, err := l.integration(s, p["Integration"])
		if err != nil {
			return fmt.Errorf("method %s %s: %w", m.HTTPMethod, r.Path, err)
		}
		m.Integration = integration
		if r.Methods[m.HTTPMethod] != nil {
			return fmt.Errorf("resource %s has two %s methods", r.Path, m.HTTPMethod)
		}
		r.Methods[m.HTTPMethod] = m
	}
	return nil
}

var functionInURI = regexp.MustCompile(`:lambda:path/2015-03-31/functions/(arn:[^/]+)/invocations$`)

func (l *loader) integration(s *scope, v any) (Integration, error) {
	p, ok := v.(map[string]any)
	if !ok {
		return Integration{}, errors.New("no Integration")
	}
	in := Integration{
		RequestParameters: stringMap(p["RequestParameters"]),
		RequestTemplates:  stringMap(p["RequestTemplates"]),
	}
	in.Type, _ = p["Type"].(string)
	in.HTTPMethod, _ = p["IntegrationHttpMethod"].(string)
	in.PassthroughBehavior, _ = p["PassthroughBehavior"].(string)
	if ms, ok := p["TimeoutInMillis"].(float64); ok {
		in.Timeout = time.Duration(ms) * time.Millisecond
	}
	if p["Uri"] != nil {
		uri, ok := l.str(s, p["Uri"])
		if !ok && in.Type != "AWS_PROXY" && in.Type != "AWS" {
			return in, fmt.Errorf("integration Uri %s cannot be resolved locally", compact(p["Uri"]))
		}
		in.URI = uri
		if m := functionInURI.FindStringSubmatch(uri); m != nil {
			in.FunctionARN = m[1]
		}
	}
	for _, raw := range anyList(p["IntegrationResponses"]) {
		r, _ := raw.(map[string]any)
		ir := IntegrationResponse{ResponseParameters: stringMap(r["ResponseParameters"]), ResponseTemplates: stringMap(r["ResponseTemplates"])}
		ir.StatusCode, _ = r["StatusCode"].(string)
		ir.SelectionPattern, _ = r["SelectionPattern"].(string)
		in.Responses = append(in.Responses, ir)
	}
	return in, nil
}

func (l *loader) loadPlan(s *scope, id, stageID string) error {
	p := s.tpl.Resources[id].Properties
	plan := &UsagePlan{LogicalID: id, Tags: tags(p["Tags"]), MethodThrottle: map[string]Throttle{}}
	plan.Name, _ = l.str(s, p["UsagePlanName"])
	plan.Description, _ = p["Description"].(string)
	if plan.Name == "" {
		plan.Name = id
	}
	if t, ok := p["Throttle"].(map[string]any); ok {
		plan.Throttle = throttle(t)
	}
	if q, ok := p["Quota"].(map[string]any); ok {
		quota := &Quota{}
		limit, _ := q["Limit"].(float64)
		offset, _ := q["Offset"].(float64)
		quota.Limit, quota.Offset = int64(limit), int64(offset)
		quota.Period, _ = q["Period"].(string)
		plan.Quota = quota
	}
	onStage := false
	for _, raw := range anyList(p["ApiStages"]) {
		st, _ := raw.(map[string]any)
		refID, _, _, ok := s.ref(st["Stage"])
		stageName, literal := st["Stage"].(string)
		if !(ok && refID == stageID) && !(literal && stageName == l.api.Stage.Name) {
			continue
		}
		onStage = true
		if th, ok := st["Throttle"].(map[string]any); ok {
			for key, raw := range th {
				t, _ := raw.(map[string]any)
				if t != nil {
					plan.MethodThrottle[key] = *throttle(t)
				}
			}
		}
	}
	if !onStage {
		return fmt.Errorf("usage plan %s is not bound to stage %s", id, l.api.Stage.Name)
	}
	l.api.UsagePlans = append(l.api.UsagePlans, plan)
	return nil
}

func throttle(t map[string]any) *Throttle {
	rate, _ := t["RateLimit"].(float64)
	burst, _ := t["BurstLimit"].(float64)
	return &Throttle{RateLimit: rate, BurstLimit: int(burst)}
}

var secretReference = regexp.MustCompile(`^\{\{resolve:secretsmanager:([^:}]+)(?::SecretString)?(?::[^:}]*){0,3}\}\}$`)

// loadKeys reads the API keys and plan attachments of a template and,
// recursively, of its nested stacks.
func (l *loader) loadKeys(s *scope, prefix string) error {
	keys := map[string]*APIKey{}
	for _, id := range l.ofType(s, "AWS::ApiGateway::ApiKey") {
		p := s.tpl.Resources[id].Properties
		k := &APIKey{LogicalID: prefix + id, Enabled: false, Tags: tags(p["Tags"])}
		k.Name, _ = l.str(s, p["Name"])
		k.Description, _ = p["Description"].(string)
		// Enabled defaults to false (AWS::ApiGateway::ApiKey).
		k.Enabled, _ = p["Enabled"].(bool)
		if v, ok := p["Value"].(string); ok {
			if m := secretReference.FindStringSubmatch(v); m != nil {
				k.SecretName = m[1]
			} else if strings.HasPrefix(v, "{{resolve:") {
				return fmt.Errorf("%s: API key %s: the value is a dynamic reference the local gateway cannot resolve; give it in the KEYS file", s.name, k.Name)
			} else {
				k.Value = v
			}
		} else if p["Value"] != nil {
			return fmt.Errorf("%s: API key %s: Value %s cannot be resolved locally", s.name, k.Name, compact(p["Value"]))
		}
		if k.Name == "" {
			k.Name = id
		}
		keys[id] = k
		l.api.Keys = append(l.api.Keys, k)
	}
	planIDs := map[string]bool{}
	for _, p := range l.api.UsagePlans {
		planIDs[p.LogicalID] = true
	}
	for _, id := range l.ofType(s, "AWS::ApiGateway::UsagePlanKey") {
		p := s.tpl.Resources[id].Properties
		keyID, _, _, ok := s.ref(p["KeyId"])
		k := keys[keyID]
		if !ok || k == nil {
			return fmt.Errorf("%s: usage plan key %s: KeyId names no API key of this template", s.name, id)
		}
		planID, _, planScope, ok := s.ref(p["UsagePlanId"])
		if !ok || planScope.parent != nil || !planIDs[planID] {
			return fmt.Errorf("%s: usage plan key %s: UsagePlanId does not resolve to a usage plan of the root stack (through the nested stack's parameters)", s.name, id)
		}
		k.Plans = append(k.Plans, planID)
	}
	for _, id := range l.ofType(s, "AWS::CloudFormation::Stack") {
		r := s.tpl.Resources[id]
		file, _ := r.Metadata["aws:asset:path"].(string)
		if file == "" {
			return fmt.Errorf("%s: nested stack %s has no aws:asset:path metadata, so its template cannot be found", s.name, id)
		}
		nested, err := readTemplate(l.dir, file)
		if err != nil {
			return fmt.Errorf("nested stack %s: %w", id, err)
		}
		params, _ := r.Properties["Parameters"].(map[string]any)
		child := &scope{name: file, tpl: nested, parent: s, params: params, prefix: prefix + id + "/", nestedID: id}
		if err := l.loadKeys(child, child.prefix); err != nil {
			return err
		}
	}
	return nil
}

// ---- JSON helpers

func stringMap(v any) map[string]string {
	m, _ := v.(map[string]any)
	out := make(map[string]string, len(m))
	for k, e := range m {
		if s, ok := e.(string); ok {
			out[k] = s
		}
	}
	return out
}

func anyList(v any) []any { l, _ := v.([]any); return l }

func tags(v any) map[string]string {
	out := map[string]string{}
	for _, raw := range anyList(v) {
		k, _ := at(raw, "Key").(string)
		val, _ := at(raw, "Value").(string)
		if k != "" {
			out[k] = val
		}
	}
	return out
}

func at(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func refsIn(v any) []string {
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if id, ok := v["Ref"].(string); ok {
				out = append(out, id)
				return
			}
			if g, ok := v["Fn::GetAtt"].([]any); ok && len(g) == 2 {
				if id, ok := g[0].(string); ok {
					out = append(out, id)
				}
				return
			}
			for _, k := range slices.Sorted(maps.Keys(v)) {
				walk(v[k])
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

func compact(v any) string {
	data, _ := json.Marshal(v)
	return string(data)
}

func sortedMethods(r *Resource) []*Method {
	out := make([]*Method, 0, len(r.Methods))
	for _, k := range slices.Sorted(maps.Keys(r.Methods)) {
		out = append(out, r.Methods[k])
	}
	return out
}
