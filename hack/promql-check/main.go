// promql-check validates Prometheus rule files the way `promtool check rules` does (Prometheus' own
// rulefmt package: the file's YAML shape, every expr parsed by the PromQL parser, the label and
// annotation templates, `for` and `keep_firing_for`) and parses loose PromQL expressions (a
// dashboard's panel queries). For each it reports the metric names the expressions select, so a
// test can check they are ones the operator exports. It also evaluates expressions with Prometheus'
// query engine over series written in promtool's test notation (input_series of `promtool test
// rules`), held in memory (memstore.go), so a test can show an alert's expression fires on the
// series it is meant for and not on healthy ones.
//
//	promql-check rules FILE...   one JSON line per file: {"file","groups","rules","errors","metrics"}
//	promql-check exprs < [JSON array of strings]   one JSON line per expression: {"expr","error","metrics"}
//	promql-check eval < {"load": "load 1m\n  series values…", "at": "30m", "exprs": [...]}
//	                             one JSON line per expression: {"expr","error","samples":[{"labels","value"}]}
//
// Exit status: 0 all valid, 1 something invalid, 2 usage or I/O error.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"sort"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql"
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

type evalInput struct {
	// Interval between two values of a series (default 1m), as in promtool's input_series.
	Interval string `json:"interval"`
	// Series in promtool's notation: `name{label="v"}` → `1x30`, `0+1x10 _x5 stale`…
	Series map[string]string `json:"series"`
	At     string            `json:"at"`
	Exprs  []string          `json:"exprs"`
}

type sample struct {
	Labels map[string]string `json:"labels"`
	Value  *float64          `json:"value"` // null for NaN and infinities (JSON has none)
}

type evalVerdict struct {
	Expr    string   `json:"expr"`
	Error   string   `json:"error,omitempty"`
	Samples []sample `json:"samples"`
}

func evaluate(p parser.Parser, in io.Reader, out *json.Encoder) (bool, error) {
	var input evalInput
	if err := json.NewDecoder(in).Decode(&input); err != nil {
		return false, fmt.Errorf("stdin: {interval, series, at, exprs}: %w", err)
	}
	interval := model.Duration(time.Minute)
	if input.Interval != "" {
		d, err := model.ParseDuration(input.Interval)
		if err != nil {
			return false, fmt.Errorf("interval: %w", err)
		}
		interval = d
	}
	at, err := model.ParseDuration(input.At)
	if err != nil {
		return false, fmt.Errorf("at: %w", err)
	}
	db, err := loadSeries(p, input.Series, time.Duration(interval))
	if err != nil {
		return false, err
	}
	engine := promql.NewEngine(promql.EngineOpts{
		MaxSamples:    1_000_000,
		Timeout:       30 * time.Second,
		LookbackDelta: 5 * time.Minute,
		Parser:        p,
	})
	ts := time.Unix(0, 0).UTC().Add(time.Duration(at))
	ok := true
	for _, e := range input.Exprs {
		v := evalAt(engine, db, e, ts)
		if v.Error != "" {
			ok = false
		}
		_ = out.Encode(v)
	}
	return ok, nil
}

// evalAt runs one instant query at `at`, as a rule evaluation does.
func evalAt(engine *promql.Engine, db memQueryable, expr string, at time.Time) evalVerdict {
	v := evalVerdict{Expr: expr, Samples: []sample{}}
	ctx := context.Background()
	q, err := engine.NewInstantQuery(ctx, db, nil, expr, at)
	if err != nil {
		v.Error = err.Error()
		return v
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		v.Error = res.Err.Error()
		return v
	}
	var vec promql.Vector
	switch r := res.Value.(type) {
	case promql.Vector:
		vec = r
	case promql.Scalar:
		vec = promql.Vector{{F: r.V}}
	default:
		v.Error = fmt.Sprintf("result of type %s, not a vector", res.Value.Type())
		return v
	}
	for _, s := range vec {
		o := sample{Labels: s.Metric.Map()}
		if f := s.F; !math.IsNaN(f) && !math.IsInf(f, 0) {
			o.Value = &f
		}
		v.Samples = append(v.Samples, o)
	}
	return v
}

func main() {
	if len(os.Args) < 2 || (os.Args[1] == "rules" && len(os.Args) < 3) {
		fmt.Fprintln(os.Stderr, "usage: promql-check rules FILE... | promql-check exprs < exprs.json | promql-check eval < eval.json")
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
	case "eval":
		var err error
		if ok, err = evaluate(p, os.Stdin, out); err != nil {
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
