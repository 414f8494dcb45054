// Command envoy-validate checks Envoy bootstrap files against Envoy's own API schema, without Envoy.
//
// Each file (YAML or JSON) is parsed into config.bootstrap.v3.Bootstrap with protojson, which refuses
// unknown fields, wrong types and bad enum values and resolves every `@type` against the linked API
// packages (imports.go). Then the protoc-gen-validate rules (ValidateAll) run on the bootstrap and on
// every message packed in an Any (and in a TypedStruct), recursively: PGV does not look inside an Any.
//
// Usage: envoy-validate [-json] FILE...   ("-" reads stdin). Exit 0 when every file is valid, 1 when
// any is not, 2 on usage errors. With -json, one JSON object per file on stdout.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	udpatype "github.com/cncf/xds/go/udpa/type/v1"
	xdstype "github.com/cncf/xds/go/xds/type/v3"
	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"
	"gopkg.in/yaml.v3"
)

type result struct {
	File   string   `json:"file"`
	Valid  bool     `json:"valid"`
	Errors []string `json:"errors,omitempty"`
	// Types lists every type found packed in an Any, so callers can see what was checked.
	Types []string `json:"types,omitempty"`
}

func main() {
	asJSON := flag.Bool("json", false, "one JSON object per file on stdout")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: envoy-validate [-json] FILE... (- for stdin)")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	failed := false
	enc := json.NewEncoder(os.Stdout)
	for _, file := range flag.Args() {
		r := validateFile(file)
		failed = failed || !r.Valid
		if *asJSON {
			_ = enc.Encode(r)
			continue
		}
		if r.Valid {
			fmt.Printf("OK   %s (%d typed configs)\n", file, len(r.Types))
		} else {
			fmt.Printf("FAIL %s\n", file)
			for _, e := range r.Errors {
				fmt.Printf("     %s\n", e)
			}
		}
	}
	if failed {
		os.Exit(1)
	}
}

func validateFile(file string) result {
	r := result{File: file}
	var data []byte
	var err error
	if file == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		r.Errors = []string{err.Error()}
		return r
	}
	types, errs := validate(data)
	r.Types = types
	r.Errors = errs
	r.Valid = len(errs) == 0
	return r
}

// validate returns the packed types it checked and every problem found.
func validate(data []byte) ([]string, []string) {
	js, err := yamlToJSON(data)
	if err != nil {
		return nil, []string{"yaml: " + err.Error()}
	}
	var b bootstrapv3.Bootstrap
	if err := (protojson.UnmarshalOptions{}).Unmarshal(js, &b); err != nil {
		return nil, []string{"protojson: " + err.Error()}
	}
	w := &walker{}
	w.check("bootstrap", &b)
	w.walk("", b.ProtoReflect())
	return w.types, w.errs
}

// yamlToJSON reads YAML 1.2 as Envoy's yaml-cpp does (yes/no/on/off stay strings) and writes JSON.
func yamlToJSON(data []byte) ([]byte, error) {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	if v == nil {
		return nil, errors.New("empty document")
	}
	return json.Marshal(v)
}

type walker struct {
	types []string
	errs  []string
}

type validatable interface{ ValidateAll() error }

func (w *walker) check(path string, m proto.Message) {
	v, ok := m.(validatable)
	if !ok {
		return
	}
	if err := v.ValidateAll(); err != nil {
		for _, line := range strings.Split(err.Error(), "; ") {
			w.errs = append(w.errs, fmt.Sprintf("%s (%s): %s", orRoot(path), m.ProtoReflect().Descriptor().FullName(), line))
		}
	}
}

func orRoot(path string) string {
	if path == "" {
		return "bootstrap"
	}
	return path
}

// walk visits every set field of m; each Any (and TypedStruct) is unpacked, validated and walked.
func (w *walker) walk(path string, m protoreflect.Message) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		name := join(path, string(fd.Name()))
		switch {
		case fd.IsList() && fd.Message() != nil:
			list := v.List()
			for i := 0; i < list.Len(); i++ {
				w.message(fmt.Sprintf("%s[%d]", name, i), list.Get(i).Message())
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				w.message(fmt.Sprintf("%s[%s]", name, k.String()), mv.Message())
				return true
			})
		case !fd.IsList() && !fd.IsMap() && fd.Message() != nil:
			w.message(name, v.Message())
		}
		return true
	})
}

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

func (w *walker) message(path string, m protoreflect.Message) {
	switch msg := m.Interface().(type) {
	case *anypb.Any:
		inner, err := msg.UnmarshalNew()
		if err != nil {
			w.errs = append(w.errs, fmt.Sprintf("%s: cannot unpack %s: %v", path, msg.GetTypeUrl(), err))
			return
		}
		w.unpacked(path, inner)
	case *udpatype.TypedStruct:
		w.typedStruct(path, msg.GetTypeUrl(), msg.GetValue())
	case *xdstype.TypedStruct:
		w.typedStruct(path, msg.GetTypeUrl(), msg.GetValue())
	default:
		w.walk(path, m)
	}
}

func (w *walker) unpacked(path string, inner proto.Message) {
	name := string(inner.ProtoReflect().Descriptor().FullName())
	w.types = append(w.types, name)
	switch ts := inner.(type) {
	case *udpatype.TypedStruct:
		w.typedStruct(path, ts.GetTypeUrl(), ts.GetValue())
		return
	case *xdstype.TypedStruct:
		w.typedStruct(path, ts.GetTypeUrl(), ts.GetValue())
		return
	}
	w.check(path, inner)
	w.walk(path, inner.ProtoReflect())
}

// typedStruct converts the Struct to the type it names, as Envoy does, then checks that.
func (w *walker) typedStruct(path, typeURL string, value *structpb.Struct) {
	mt, err := protoregistry.GlobalTypes.FindMessageByURL(typeURL)
	if err != nil {
		w.errs = append(w.errs, fmt.Sprintf("%s: TypedStruct names %s: %v", path, typeURL, err))
		return
	}
	js, err := protojson.Marshal(value)
	if err != nil {
		w.errs = append(w.errs, fmt.Sprintf("%s: %v", path, err))
		return
	}
	inner := mt.New().Interface()
	if err := protojson.Unmarshal(js, inner); err != nil {
		w.errs = append(w.errs, fmt.Sprintf("%s: TypedStruct as %s: %v", path, typeURL, err))
		return
	}
	w.unpacked(path, inner)
}
