// promql-check validates Prometheus rule files the way `promtool check rules` does (Prometheus' own
// rulefmt package: the file's YAML shape, every expr parsed by the PromQL parser, the label and
// annotation templates, `for` and `keep_firing_for`) and parses loose PromQL expressions (a
// dashboard's panel queries). For each it reports the metric names the expressions select, so a
// test can check they are ones the operator exports.
//
//	promql-check rules FILE...   one JSON line per file: {"file","groups","rules","errors","metrics"}
//	promql-check exprs < [JSON array of strings]   one JSON line per expression: {"expr","error","metrics"}
//
// Exit status: 0 all valid, 1 something invalid, 2 usage or I/O error.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

type fileVerdict struct {
	File    string   `json:"file"`
	Groups  int      `json:"groups"`
	Rules   int      `json:"rules"`
	Errors  []string `json:"errors"`
	Metrics []string `json:"metrics"`
}

type exprVerdict struct {
	Expr    string   `json:"expr"`
	Error   string   `json:"error,omitempty"`
	Metrics []string `json:"metrics"`
}

// metricNames collects the metric names an expression selects (a selector's name or its __name__
// equality matcher).
func metricNames(e parser.Expr, into map[string]bool) {
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		var matchers []*labels.Matcher
		switch s := n.(type) {
		case *parser.VectorSelector:
			if s.Name != "" {
				into[s.Name] = true
			}
			matchers = s.LabelMatchers
		case *parser.MatrixSelector:
			return nil // its VectorSelector is visited too
		}
		for _, m := range matchers {
			if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
				into[m.Value] = true
			}
		}
		return nil
	})
}

func sorted(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func checkRules(p parser.Parser, files []string, out *json.Encoder) bool {
	ok := true
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	for _, f := range files {
		v := fileVerdict{File: f, Errors: []string{}}
		names := map[string]bool{}
		// As promtool: unknown fields are errors, names validated as UTF-8 (Prometheus 3's default).
		rgs, errs := rulefmt.ParseFile(f, false, model.UTF8Validation, p, logger)
		for _, err := range errs {
			v.Errors = append(v.Errors, err.Error())
		}
		if rgs != nil {
			v.Groups = len(rgs.Groups)
			for _, g := range rgs.Groups {
				for _, r := range g.Rules {
					v.Rules++
					if e, err := p.ParseExpr(r.Expr); err == nil {
						metricNames(e, names)
					}
				}
			}
		}
		v.Metrics = sorted(names)
		if len(v.Errors) > 0 || v.Rules == 0 {
			ok = false
			if v.Rules == 0 && len(v.Errors) == 0 {
				v.Errors = append(v.Errors, "no rules")
			}
		}
		_ = out.Encode(v)
	}
	return ok
}

func checkExprs(p parser.Parser, in io.Reader, out *json.Encoder) (bool, error) {
	var exprs []string
	if err := json.NewDecoder(in).Decode(&exprs); err != nil {
		return false, fmt.Errorf("stdin: a JSON array of strings: %w", err)
	}
	ok := true
	for _, s := range exprs {
		v := exprVerdict{Expr: s}
		names := map[string]bool{}
		e, err := p.ParseExpr(s)
		if err != nil {
			v.Error = err.Error()
			ok = false
		} else {
			metricNames(e, names)
		}
		v.Metrics = sorted(names)
		_ = out.Encode(v)
	}
	return ok, nil
}

func main() {
	if len(os.Args) < 2 || (os.Args[1] == "rules" && len(os.Args) < 3) {
		fmt.Fprintln(os.Stderr, "usage: promql-check rules FILE... | promql-check exprs < exprs.json")
		os.Exit(2)
	}
	p := parser.NewParser(parser.Options{})
	out := json.NewEncoder(os.Stdout)
	var ok bool
	switch os.Args[1] {
	case "rules":
		ok = checkRules(p, os.Args[2:], out)
	case "exprs":
		var err error
		if ok, err = checkExprs(p, os.Stdin, out); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	default:
		fmt.Fprintf(os.Stderr, "unknown mode %q\n", os.Args[1])
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}
