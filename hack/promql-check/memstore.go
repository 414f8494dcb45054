package main

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"
)

// A float sample at a time in milliseconds (chunks.Sample). Test series are floats only, as the
// operator exports classic histograms.
type fSample struct {
	t int64
	f float64
}

func (s fSample) T() int64                    { return s.t }
func (fSample) ST() int64                     { return 0 }
func (s fSample) F() float64                  { return s.f }
func (fSample) H() *histogram.Histogram       { return nil }
func (fSample) FH() *histogram.FloatHistogram { return nil }
func (fSample) Type() chunkenc.ValueType      { return chunkenc.ValFloat }
func (s fSample) Copy() chunks.Sample         { return s }

type memSeries struct {
	lset    labels.Labels
	samples []chunks.Sample
}

// memQueryable holds series in memory and answers the query engine's selects. The storage the
// Prometheus server uses (tsdb) would bring in its remote-storage and cloud dependencies; the engine
// needs only Select.
type memQueryable []memSeries

// loadSeries reads series in promtool's notation: each key a series (`name{l="v"}`), each value its
// values one interval apart from time 0 (`1x30`, `0+10x5`, `_` for a missing one, `stale`).
func loadSeries(p parser.Parser, in map[string]string, interval time.Duration) (memQueryable, error) {
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	db := memQueryable{}
	step := interval.Milliseconds()
	for _, k := range keys {
		lset, values, err := p.ParseSeriesDesc(k + " " + in[k])
		if err != nil {
			return nil, fmt.Errorf("series %s: %w", k, err)
		}
		s := memSeries{lset: lset}
		for i, v := range values {
			if v.Omitted {
				continue
			}
			if v.Histogram != nil {
				return nil, fmt.Errorf("series %s: native histograms are not supported", k)
			}
			s.samples = append(s.samples, fSample{t: int64(i) * step, f: v.Value})
		}
		db = append(db, s)
	}
	return db, nil
}

func (db memQueryable) Querier(_, _ int64) (storage.Querier, error) { return db, nil }

func (db memQueryable) Select(_ context.Context, _ bool, _ *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	out := &sliceSet{i: -1}
	for _, s := range db {
		if matches(s.lset, ms) {
			out.series = append(out.series, storage.NewListSeries(s.lset, s.samples))
		}
	}
	sort.Slice(out.series, func(a, b int) bool {
		return labels.Compare(out.series[a].Labels(), out.series[b].Labels()) < 0
	})
	return out
}

func matches(lset labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(lset.Get(m.Name)) {
			return false
		}
	}
	return true
}

func (memQueryable) LabelValues(context.Context, string, *storage.LabelHints, ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return nil, nil, nil
}

func (memQueryable) LabelNames(context.Context, *storage.LabelHints, ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return nil, nil, nil
}

func (memQueryable) Close() error { return nil }

type sliceSet struct {
	series []storage.Series
	i      int
}

func (s *sliceSet) Next() bool                      { s.i++; return s.i < len(s.series) }
func (s *sliceSet) At() storage.Series              { return s.series[s.i] }
func (*sliceSet) Err() error                        { return nil }
func (*sliceSet) Warnings() annotations.Annotations { return nil }
