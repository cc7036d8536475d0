// Command llmsweep-plugin-sim is llmsweep's emulated engine: for each server
// config it starts an OpenAI-compatible streaming server inside the plugin
// process whose tokens arrive when a performance model predicts they would on
// the config's model, hardware, framework and quantization, with continuous
// batching and queueing. It needs no GPU and no server; its results are
// predictions, and llmsweep labels them so.
//
// Run by hand as `llmsweep-plugin-sim serve --port N --config JSON`, it serves
// one emulated server in the foreground (the command of its LaunchSpec).
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/llmsweep/llmsweep/plugins/sdk"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		if err := serve(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "llmsweep-plugin-sim serve:", err)
			os.Exit(2)
		}
		return
	}
	sdk.Serve(newFramework(timingFor))
}

// serve runs one emulated server until SIGTERM or SIGINT.
func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	port := fs.Int("port", defaultPort, "the port to listen on")
	host := fs.String("host", "127.0.0.1", "the address to listen on")
	js := fs.String("config", "", "the server config, as the plugin protocol's JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := &sdk.ServerConfig{}
	if err := protojson.Unmarshal([]byte(*js), cfg); err != nil {
		return fmt.Errorf("--config: %v", err)
	}
	if _, err := launch(cfg); err != nil {
		return err
	}
	t, lim, err := timingFor(cfg)
	if err != nil {
		return err
	}
	srv, err := StartServer(servedModel(cfg), *host+":"+strconv.Itoa(*port), t, lim)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "emulating %s on %s: %s (predicted timings)\n", cfg.GetModel(), cfg.GetGpu(), srv.URL)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-sig
	srv.Close()
	return nil
}
