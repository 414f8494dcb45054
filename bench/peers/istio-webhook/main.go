// Command istio-webhook serves Istio's sidecar injection webhook on its own, wired the way istiod
// wires it (pilot/pkg/bootstrap/sidecarinjector.go): a file watcher over the injection config and
// values that `istioctl manifest generate` renders, the mesh config in a model.Environment with an
// (empty) config store behind its push context, an HTTPS mux, revision "default". No Kubernetes
// API server: namespaces and nodes are not looked up (native sidecars are set by
// ENABLE_NATIVE_SIDECARS, as on a cluster where every node supports them).
//
// It is a benchmark peer only: bench/peers/build.sh builds it, bench/peers/run.sh runs it.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pkg/config/mesh"
	"istio.io/istio/pkg/config/mesh/meshwatcher"
	"istio.io/istio/pkg/kube/inject"
	"istio.io/istio/pkg/kube/multicluster"
)

func main() {
	dir := flag.String("inject-dir", "", "directory holding `config` and `values` (istiod's /var/lib/istio/inject)")
	meshFile := flag.String("mesh", "", "mesh config file (istiod's /etc/istio/config/mesh)")
	cert := flag.String("cert", "", "TLS certificate (PEM)")
	key := flag.String("key", "", "TLS private key (PEM)")
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	if *dir == "" || *meshFile == "" || *cert == "" || *key == "" {
		flag.Usage()
		os.Exit(2)
	}

	meshConfig, err := mesh.ReadMeshConfig(*meshFile)
	if err != nil {
		log.Fatalf("mesh config: %v", err)
	}
	env := &model.Environment{
		Watcher:     meshwatcher.NewTestWatcher(meshConfig),
		ConfigStore: model.NewFakeStore(),
	}
	env.SetPushContext(&model.PushContext{ProxyConfigs: model.GetProxyConfigs(env.ConfigStore, meshConfig)})

	watcher, err := inject.NewFileWatcher(*dir+"/config", *dir+"/values")
	if err != nil {
		log.Fatalf("injection config watcher: %v", err)
	}
	mux := http.NewServeMux()
	wh, err := inject.NewWebhook(inject.WebhookParameters{
		Watcher:      watcher,
		Env:          env,
		Mux:          mux,
		Revision:     "default",
		MultiCluster: multicluster.NewFakeController(),
	})
	if err != nil {
		log.Fatalf("injection webhook: %v", err)
	}
	stop := make(chan struct{})
	wh.Run(stop)

	pair, err := tls.LoadX509KeyPair(*cert, *key)
	if err != nil {
		log.Fatalf("certificate: %v", err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("listen: %v", err)
	}
	srv := &http.Server{Handler: mux, TLSConfig: &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}}
	// The port on the first line of stdout, for the runner.
	fmt.Printf("listening %d\n", ln.Addr().(*net.TCPAddr).Port)
	os.Stdout.Sync()

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-signals
		close(stop)
		_ = srv.Close()
	}()
	if err := srv.ServeTLS(ln, "", ""); err != nil && err != http.ErrServerClosed {
		log.Fatalf("serve: %v", err)
	}
}
