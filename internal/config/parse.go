package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// ContextKey is the cdk.json context key that holds keygate's configuration.
// A context key "keygate.<path>" (for example
// `cdk synth -c keygate.environments.prod.logging.retentionDays=30`) overrides
// one value; the value is read as JSON when it parses as JSON, else as a string.
const ContextKey = "keygate"

// FromContext reads keygate's configuration out of the whole CDK context
// (what node.GetAllContext returns), applies "keygate.<path>" overrides,
// and parses and validates the result. Every problem is reported at once.
func FromContext(context map[string]any) (Config, error) {
	root, ok := context[ContextKey]
	if !ok {
		return Config{}, Errors{{Path: ContextKey, Msg: "is missing from the CDK context; add a \"keygate\" object under \"context\" in cdk.json"}}
	}
	// `-c keygate=<json>` arrives as a string.
	if s, isString := root.(string); isString {
		if err := json.Unmarshal([]byte(s), &root); err != nil {
			return Config{}, Errors{{Path: ContextKey, Msg: fmt.Sprintf("is not valid JSON (%v); pass an object, e.g. -c 'keygate={\"environments\":{…}}'", err)}}
		}
	}
	// A JSON round trip copies the value (overrides must not touch the
	// caller's context) and turns any Go number type into float64, the
	// form the checks expect.
	data, err := json.Marshal(root)
	if err != nil {
		return Config{}, Errors{{Path: ContextKey, Msg: fmt.Sprintf("cannot be read as JSON: %v", err)}}
	}
	if err := json.Unmarshal(data, &root); err != nil {
		return Config{}, Errors{{Path: ContextKey, Msg: fmt.Sprintf("cannot be read as JSON: %v", err)}}
	}

	var errs Errors
	var overrides []string
	for key := range context {
		if strings.HasPrefix(key, ContextKey+".") {
			overrides = append(overrides, key)
		}
	}
	sort.Strings(overrides)
	for _, key := range overrides {
		var err *FieldError
		path := strings.TrimPrefix(key, ContextKey+".")
		root, err = setPath(root, path, overrideValue(path, context[key]))
		if err != nil {
			err.Path = key
			errs = append(errs, *err)
		}
	}
	if len(errs) > 0 {
		return Config{}, errs
	}
	return Parse(root)
}

// ParseJSON parses the value of the "keygate" context key given as JSON text.
func ParseJSON(data []byte) (Config, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return Config{}, Errors{{Path: ContextKey, Msg: fmt.Sprintf("is not valid JSON: %v", err)}}
	}
	return Parse(normalizeNumbers(root))
}

// Parse checks the shape of the "keygate" context value (unknown keys, wrong
// types, missing required keys), merges "defaults" into each environment,
// decodes the environments into typed structs and validates them. It returns
// every error it finds, each with its key path, or a Config that is safe to
// build stacks from.
func Parse(root any) (Config, error) {
	top, ok := root.(map[string]any)
	if !ok {
		return Config{}, Errors{{Path: ContextKey, Msg: fmt.Sprintf("must be an object with \"environments\", not %s", jsonKind(root))}}
	}
	var errs Errors
	for _, key := range sortedKeys(top) {
		if key != "defaults" && key != "environments" {
			errs = append(errs, unknownKey(ContextKey+"."+key, key, []string{"defaults", "environments"}))
		}
	}
	var defaults map[string]any
	if d, present := top["defaults"]; present {
		if defaults, ok = d.(map[string]any); !ok {
			errs = append(errs, FieldError{Path: ContextKey + ".defaults", Msg: fmt.Sprintf("must be an object of environment settings, not %s", jsonKind(d))})
		}
	}
	envs, ok := top["environments"].(map[string]any)
	switch {
	case top["environments"] == nil:
		errs = append(errs, FieldError{Path: ContextKey + ".environments", Msg: "is required; add at least one environment, e.g. \"dev\": {…}"})
	case !ok:
		errs = append(errs, FieldError{Path: ContextKey + ".environments", Msg: fmt.Sprintf("must be an object keyed by environment name, not %s", jsonKind(top["environments"]))})
	case len(envs) == 0:
		errs = append(errs, FieldError{Path: ContextKey + ".environments", Msg: "is empty; add at least one environment, e.g. \"dev\": {…}"})
	}

	var cfg Config
	envType := reflect.TypeFor[Environment]()
	for _, name := range sortedKeys(envs) {
		path := "environments." + name
		if !envNamePattern.MatchString(name) {
			errs = append(errs, FieldError{Path: path, Msg: fmt.Sprintf("%q is not a usable environment name; use lowercase letters, digits and '-', starting with a letter (it becomes the stack name keygate-<name>)", name)})
		}
		merged := mergeObjects(defaults, envs[name])
		if shapeErrs := checkShape(path, merged, envType); len(shapeErrs) > 0 {
			errs = append(errs, shapeErrs...)
			continue
		}
		env := Defaults()
		// checkShape has proven the types match, so decoding cannot fail.
		data, _ := json.Marshal(merged)
		if err := json.Unmarshal(data, &env); err != nil {
			errs = append(errs, FieldError{Path: path, Msg: err.Error()})
			continue
		}
		env.Name = name
		errs = append(errs, validateEnvironment(path, env)...)
		cfg.Environments = append(cfg.Environments, env)
	}
	errs = append(errs, validateAcrossEnvironments(cfg.Environments)...)
	if len(errs) > 0 {
		return Config{}, errs
	}
	return cfg, nil
}

// Environment returns the environment with the given name.
func (c Config) Environment(name string) (Environment, bool) {
	for _, env := range c.Environments {
		if env.Name == name {
			return env, true
		}
	}
	return Environment{}, false
}

// mergeObjects lays an environment over the shared defaults: objects merge key
// by key, anything else (lists included) in the environment replaces the
// default, so an environment's routes never silently mix with the defaults'.
func mergeObjects(base, over any) any {
	baseMap, baseIsMap := base.(map[string]any)
	overMap, overIsMap := over.(map[string]any)
	if !baseIsMap || !overIsMap {
		if over == nil && baseIsMap {
			return deepCopy(base)
		}
		return deepCopy(over)
	}
	merged := make(map[string]any, len(baseMap)+len(overMap))
	for k, v := range baseMap {
		merged[k] = deepCopy(v)
	}
	for k, v := range overMap {
		if existing, present := merged[k]; present {
			merged[k] = mergeObjects(existing, v)
		} else {
			merged[k] = deepCopy(v)
		}
	}
	return merged
}

func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = deepCopy(e)
		}
		return out
	default:
		return v
	}
}

// normalizeNumbers turns json.Number into float64, the form the CDK context
// (decoded by jsii) has, so both sources go through the same checks.
func normalizeNumbers(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = normalizeNumbers(e)
		}
	case []any:
		for i, e := range v {
			v[i] = normalizeNumbers(e)
		}
	case json.Number:
		f, _ := v.Float64()
		return f
	}
	return v
}

// overrideValue reads a -c value for the key at path: kept as the string it
// is where the schema expects a string (an account id such as 123456789012, a
// tag value "true"), else read as JSON when it parses (numbers, booleans,
// objects, lists), else a string.
func overrideValue(path string, v any) any {
	s, ok := v.(string)
	if !ok || kindAt(path) == reflect.String {
		return v
	}
	var parsed any
	if err := json.Unmarshal([]byte(s), &parsed); err == nil {
		return parsed
	}
	return s
}

// kindAt is the kind of value the schema expects at a dotted path below
// "keygate", or reflect.Invalid where the path leaves the schema (the shape
// check then reports it).
func kindAt(path string) reflect.Kind {
	parts := strings.Split(path, ".")
	switch {
	case parts[0] == "defaults":
		parts = parts[1:]
	case parts[0] == "environments" && len(parts) >= 2:
		parts = parts[2:]
	default:
		return reflect.Invalid
	}
	t := reflect.TypeFor[Environment]()
	for _, part := range parts {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.Struct:
			field, ok := fieldByName(jsonFields(t), part)
			if !ok {
				return reflect.Invalid
			}
			t = field.typ
		case reflect.Slice, reflect.Map:
			t = t.Elem()
		default:
			return reflect.Invalid
		}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind()
}

// setPath sets a dotted path ("environments.prod.logging.level",
// "environments.dev.apiKeys.0.enabled") inside a JSON tree, creating objects
// on the way.
func setPath(root any, path string, value any) (any, *FieldError) {
	if path == "" {
		return value, nil
	}
	head, rest, _ := strings.Cut(path, ".")
	switch node := root.(type) {
	case nil:
		child, err := setPath(nil, rest, value)
		return map[string]any{head: child}, err
	case map[string]any:
		child, err := setPath(node[head], rest, value)
		node[head] = child
		return node, err
	case []any:
		i, err := strconv.Atoi(head)
		if err != nil || i < 0 || i >= len(node) {
			return root, &FieldError{Msg: fmt.Sprintf("%q is not an index of a list of %d; use 0 to %d", head, len(node), len(node)-1)}
		}
		child, ferr := setPath(node[i], rest, value)
		node[i] = child
		return node, ferr
	default:
		return root, &FieldError{Msg: fmt.Sprintf("goes through %q, which is %s, not an object; override the enclosing key instead", head, jsonKind(root))}
	}
}

// checkShape compares a decoded JSON value with the Go type it must become and
// reports, with key paths, unknown keys, missing required keys and wrong types.
// Doing this ourselves (instead of json.Decoder.DisallowUnknownFields) is what
// lets us report every problem at once rather than the first.
func checkShape(path string, v any, t reflect.Type) Errors {
	if t.Kind() == reflect.Pointer {
		if v == nil {
			return nil
		}
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return Errors{{Path: path, Msg: fmt.Sprintf("must be an object, not %s", jsonKind(v))}}
		}
		fields := jsonFields(t)
		var known []string
		for _, f := range fields {
			known = append(known, f.name)
		}
		var errs Errors
		for _, key := range sortedKeys(obj) {
			if _, ok := fieldByName(fields, key); !ok {
				errs = append(errs, unknownKey(path+"."+key, key, known))
			}
		}
		for _, f := range fields {
			value, present := obj[f.name]
			if !present || value == nil {
				if f.required {
					errs = append(errs, FieldError{Path: path + "." + f.name, Msg: "is required"})
				}
				continue
			}
			errs = append(errs, checkShape(path+"."+f.name, value, f.typ)...)
		}
		return errs
	case reflect.Slice:
		list, ok := v.([]any)
		if !ok {
			return Errors{{Path: path, Msg: fmt.Sprintf("must be a list, not %s", jsonKind(v))}}
		}
		var errs Errors
		for i, e := range list {
			errs = append(errs, checkShape(fmt.Sprintf("%s[%d]", path, i), e, t.Elem())...)
		}
		return errs
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			return Errors{{Path: path, Msg: fmt.Sprintf("must be an object, not %s", jsonKind(v))}}
		}
		var errs Errors
		for _, key := range sortedKeys(obj) {
			errs = append(errs, checkShape(path+"."+key, obj[key], t.Elem())...)
		}
		return errs
	case reflect.String:
		if _, ok := v.(string); !ok {
			return Errors{{Path: path, Msg: fmt.Sprintf("must be a string, not %s", jsonKind(v))}}
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return Errors{{Path: path, Msg: fmt.Sprintf("must be true or false, not %s", jsonKind(v))}}
		}
	case reflect.Int:
		f, ok := v.(float64)
		if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return Errors{{Path: path, Msg: fmt.Sprintf("must be a whole number, not %s", jsonKind(v))}}
		}
	case reflect.Float64:
		if _, ok := v.(float64); !ok {
			return Errors{{Path: path, Msg: fmt.Sprintf("must be a number, not %s", jsonKind(v))}}
		}
	}
	return nil
}

type jsonField struct {
	name     string
	typ      reflect.Type
	required bool
}

func jsonFields(t reflect.Type) []jsonField {
	var fields []jsonField
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || name == "" {
			continue
		}
		fields = append(fields, jsonField{name: name, typ: f.Type, required: f.Tag.Get("required") == "true"})
	}
	return fields
}

func fieldByName(fields []jsonField, name string) (jsonField, bool) {
	for _, f := range fields {
		if f.name == name {
			return f, true
		}
	}
	return jsonField{}, false
}

// unknownKey reports a key the schema does not have, suggesting the known key
// it most likely meant (a different case or a typo of a letter or two).
func unknownKey(path, key string, known []string) FieldError {
	best, bestDistance := "", 3
	for _, k := range known {
		if strings.EqualFold(k, key) {
			best, bestDistance = k, 0
			break
		}
		if d := editDistance(strings.ToLower(k), strings.ToLower(key)); d < bestDistance {
			best, bestDistance = k, d
		}
	}
	if best != "" {
		return FieldError{Path: path, Msg: fmt.Sprintf("unknown key; did you mean %q?", best)}
	}
	return FieldError{Path: path, Msg: "unknown key; remove it (known keys: " + strings.Join(known, ", ") + ")"}
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func jsonKind(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("the string %q", v)
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	default:
		return fmt.Sprintf("%T", v)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
