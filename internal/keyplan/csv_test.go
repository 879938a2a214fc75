package keyplan

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseCSVReadsRows(t *testing.T) {
	in := "\ufeffName,Plan,Enabled,Description\n" +
		"acme,standard,true,Acme Corp\n" +
		"\"globex, inc\",internal,FALSE,\"multi, comma\"\n"
	rows, err := ParseCSV(strings.NewReader(in), []string{"standard", "internal"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Desired{
		{Name: "acme", Plan: "standard", Enabled: true, Description: "Acme Corp", Line: 2},
		{Name: "globex, inc", Plan: "internal", Enabled: false, Description: "multi, comma", Line: 3},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("rows = %+v\nwant %+v", rows, want)
	}
}

func TestParseCSVReportsEveryProblemWithItsLine(t *testing.T) {
	in := "name,plan,enabled,description\n" +
		"acme,standard,yes,\n" + // 2: enabled
		"acme,standard,true,\n" + // 3: duplicate
		",standard,true,\n" + // 4: empty name
		"b,gold,true,\n" + // 5: unknown plan
		"c,standard\n" + // 6: field count
		"d~r2,standard,true,\n" + // 7: rotation separator
		" e,,true,\n" // 8: spaces, empty plan
	_, err := ParseCSV(strings.NewReader(in), []string{"standard"})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`line 2: enabled: "yes"; write true or false`,
		`line 3: name: "acme" is already on line 2`,
		`line 4: name: empty`,
		`line 5: plan: "gold" is not a usage plan of this environment; use one of standard`,
		`line 6: 2 fields; want 4`,
		`line 7: name: "d~r2" contains "~r"`,
		`line 8: name: " e" has leading or trailing spaces`,
		`line 8: plan: empty`,
		"(8 problems)",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestParseCSVRefusesAWrongHeaderAndAnEmptyFile(t *testing.T) {
	for in, want := range map[string]string{
		"name,plan,description,enabled\n": "line 1: header is",
		"":                                "line 1: the file is empty",
		"name,plan,enabled,description\n\"unterminated,x,true,\n": "line 2",
	} {
		_, err := ParseCSV(strings.NewReader(in), nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseCSV(%q) = %v; want %q", in, err, want)
		}
	}
}

func TestFormatCSVRoundTrips(t *testing.T) {
	rows := []Desired{{Name: "a,b", Plan: "p", Enabled: true, Description: `say "hi"`, Line: 2}, {Name: "c", Plan: "p", Line: 3}}
	var buf bytes.Buffer
	if err := FormatCSV(&buf, rows); err != nil {
		t.Fatal(err)
	}
	back, err := ParseCSV(&buf, []string{"p"})
	if err != nil || !reflect.DeepEqual(back, rows) {
		t.Errorf("round trip = %+v, %v", back, err)
	}
}

// Every syntax error is reported with its line, not only the first, and a
// bare quote comes with how to write one.
func TestParseCSVReportsEverySyntaxError(t *testing.T) {
	file := "name,plan,enabled,description\n" +
		"a,standard,true,Acme \"West\"\n" + // line 2: bare quote
		"b,standard,maybe,x\n" + // line 3: enabled
		"c,standard,true,\"Globex \"Inc\"\n" + // line 4: quote inside a quoted field
		"d,standard,true,fine\n"
	_, err := ParseCSV(strings.NewReader(file), []string{"standard"})
	var csvErr *CSVError
	if !errors.As(err, &csvErr) {
		t.Fatalf("err = %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		`line 2, column 22: bare " in non-quoted-field; a field holding a double quote must be enclosed in double quotes, with the quote doubled: "Acme ""West"" Ltd"`,
		`line 3: enabled: "maybe"`,
		`line 4, column `,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if len(csvErr.Errs) != 3 {
		t.Errorf("%d problems; want 3:\n%s", len(csvErr.Errs), msg)
	}
}

// The header is matched as its message says: names in order, case and
// surrounding spaces ignored.
func TestParseCSVHeaderIsCaseInsensitiveAsItSays(t *testing.T) {
	if _, err := ParseCSV(strings.NewReader("Name, Plan ,ENABLED,Description\na,standard,true,\n"), nil); err != nil {
		t.Errorf("header in other case: %v", err)
	}
	_, err := ParseCSV(strings.NewReader("name,enabled,plan,description\n"), nil)
	if err == nil || !strings.Contains(err.Error(), "in this order (case and spaces around them do not matter)") {
		t.Errorf("header out of order: %v", err)
	}
}
