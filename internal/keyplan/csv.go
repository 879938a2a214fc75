// Package keyplan decides what `keygate keys sync` must change: it reads the
// desired keys from a CSV file and compares them with the keys API Gateway
// holds, in plain Go with no AWS calls, so every decision is unit-tested.
package keyplan

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Header is the CSV's first line, exactly.
var Header = []string{"name", "plan", "enabled", "description"}

// Desired is one CSV row: a key that should exist in the environment.
type Desired struct {
	Name        string
	Plan        string // the plan's name in cdk.json (the stack names it keygate-<env>-<plan>)
	Enabled     bool
	Description string
	Line        int
}

// Limits of the fields. API Gateway takes names of up to 1,024 characters
// (api-key-file-format); keygate keeps 24 of them for a rotation's suffix
// ("~r12"). It documents no limit for descriptions; keygate keeps them to
// one line of 1,024.
const (
	MaxNameLength        = 1000
	MaxDescriptionLength = 1024
)

// RotationSeparator joins a key's name and its rotation number
// ("acme~r2"). It is refused in CSV names so that a rotated key's name can
// never be a row of its own.
const RotationSeparator = "~r"

// ParseCSV reads name,plan,enabled,description rows. It is strict: the
// header must be Header (names in this order; case and surrounding spaces
// are ignored, as is a byte order mark), every row must have four fields, names are
// unique, enabled is true or false, and every problem is reported with its
// line number, all at once. plans, when not nil, lists the plan names the
// environment has; a row naming another plan is an error.
func ParseCSV(r io.Reader, plans []string) ([]Desired, error) {
	reader := csv.NewReader(r)
	reader.FieldsPerRecord = -1 // checked below, with a better message
	reader.ReuseRecord = false
	var (
		rows []Desired
		errs []error
		seen = map[string]int{}
	)
	known := map[string]bool{}
	for _, p := range plans {
		known[p] = true
	}
	header := true
	for {
		record, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var parseErr *csv.ParseError
			if !errors.As(err, &parseErr) {
				errs = append(errs, err) // reading failed: nothing more to read
				break
			}
			// The reader goes on at the next record after a syntax error,
			// so every bad line is reported, not only the first.
			errs = append(errs, fmt.Errorf("line %d, column %d: %v%s", parseErr.Line, parseErr.Column, parseErr.Err, quoteHint(parseErr.Err)))
			if header {
				break
			}
			continue
		}
		line, _ := reader.FieldPos(0)
		if header {
			header = false
			if !equalFold(record, Header) {
				errs = append(errs, fmt.Errorf("line %d: header is %q; the first line must be %s, these four names in this order (case and spaces around them do not matter)", line, strings.Join(record, ","), strings.Join(Header, ",")))
				break
			}
			continue
		}
		if len(record) != len(Header) {
			errs = append(errs, fmt.Errorf("line %d: %d fields; want %d (%s)", line, len(record), len(Header), strings.Join(Header, ",")))
			continue
		}
		row := Desired{Name: record[0], Plan: record[1], Description: record[3], Line: line}
		for _, e := range checkName(record[0]) {
			errs = append(errs, fmt.Errorf("line %d: name: %s", line, e))
		}
		if first, dup := seen[row.Name]; dup && row.Name != "" {
			errs = append(errs, fmt.Errorf("line %d: name: %q is already on line %d; each key once", line, row.Name, first))
		} else {
			seen[row.Name] = line
		}
		switch {
		case row.Plan == "":
			errs = append(errs, fmt.Errorf("line %d: plan: empty; name one of the environment's usage plans", line))
		case plans != nil && !known[row.Plan]:
			errs = append(errs, fmt.Errorf("line %d: plan: %q is not a usage plan of this environment; use one of %s", line, row.Plan, strings.Join(plans, ", ")))
		}
		switch strings.ToLower(record[2]) {
		case "true":
			row.Enabled = true
		case "false":
		default:
			errs = append(errs, fmt.Errorf("line %d: enabled: %q; write true or false", line, record[2]))
		}
		if n := utf8.RuneCountInString(row.Description); n > MaxDescriptionLength {
			errs = append(errs, fmt.Errorf("line %d: description: %d characters; at most %d", line, n, MaxDescriptionLength))
		}
		if strings.ContainsAny(row.Description, "\r\n") {
			errs = append(errs, fmt.Errorf("line %d: description: contains a line break; keep it to one line", line))
		}
		rows = append(rows, row)
	}
	if header && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("line 1: the file is empty; the first line must be %s", strings.Join(Header, ",")))
	}
	if len(errs) > 0 {
		return nil, &CSVError{Errs: errs}
	}
	return rows, nil
}

// CSVError lists every problem of a CSV file.
type CSVError struct{ Errs []error }

func (e *CSVError) Error() string {
	var b strings.Builder
	b.WriteString("invalid keys file (" + strconv.Itoa(len(e.Errs)) + " problem")
	if len(e.Errs) != 1 {
		b.WriteString("s")
	}
	b.WriteString("):")
	for _, err := range e.Errs {
		b.WriteString("\n  " + err.Error())
	}
	return b.String()
}

// checkName returns what is wrong with a key name, if anything.
func checkName(name string) []string {
	var problems []string
	switch {
	case name == "":
		problems = append(problems, "empty; every key needs a name")
	case utf8.RuneCountInString(name) > MaxNameLength:
		problems = append(problems, fmt.Sprintf("longer than %d characters", MaxNameLength))
	}
	if strings.TrimSpace(name) != name {
		problems = append(problems, fmt.Sprintf("%q has leading or trailing spaces; remove them", name))
	}
	if strings.Contains(name, RotationSeparator) {
		problems = append(problems, fmt.Sprintf("%q contains %q, which keygate keeps for rotated keys", name, RotationSeparator))
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			problems = append(problems, fmt.Sprintf("%q contains a control character", name))
			break
		}
	}
	return problems
}

func equalFold(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		// A UTF-8 byte order mark from spreadsheet exports is not part of the name.
		if !strings.EqualFold(strings.TrimSpace(strings.TrimPrefix(a[i], "\ufeff")), b[i]) {
			return false
		}
	}
	return true
}

// FormatCSV writes rows back as a keys file (for `keygate keys list -csv`).
func FormatCSV(w io.Writer, rows []Desired) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(Header); err != nil {
		return err
	}
	for _, r := range rows {
		if err := cw.Write([]string{r.Name, r.Plan, strconv.FormatBool(r.Enabled), r.Description}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// quoteHint says how to write a quote in CSV, after the reader's own
// message about one.
func quoteHint(err error) string {
	switch {
	case errors.Is(err, csv.ErrBareQuote):
		return `; a field holding a double quote must be enclosed in double quotes, with the quote doubled: "Acme ""West"" Ltd"`
	case errors.Is(err, csv.ErrQuote):
		return `; a quoted field must end with a double quote, and a quote inside it is doubled ("")`
	}
	return ""
}
