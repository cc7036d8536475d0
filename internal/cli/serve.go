package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"cuelang.org/go/cue/cuecontext"
	"github.com/spf13/cobra"

	"github.com/llmsweep/llmsweep/internal/cache"
	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/serve"
)

func newServe() *cobra.Command {
	var inv invocation
	var addr, cacheURL, tokenFile string
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "serve [--store URL] [--cache redis://…] [--addr :8080] [--token-file FILE]",
		Short: "Serve the model catalog: a read-only web app and JSON API over the results store",
		Long: `serve is the catalog service: web pages (a leaderboard per workload, a page
per model, a recommend form, run and compare pages) and a read-only JSON API
under /api/v1/, described by /api/v1/openapi.json, over the results store.
It also serves /healthz, /readyz (the store answers) and /metrics.

With --cache, every read goes through Redis with a TTL; the pipeline's
invalidate-cache step empties it after a run. A Redis that is down is logged
and skipped: reads go to the store. cache_hit_ratio on /metrics is the
server's Redis hit ratio.

With --token-file, everything but /healthz and /readyz needs
"Authorization: Bearer <the file's content>".

serve is a server, so it takes no -o: its JSON is the API's.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			st, url, err := inv.readStore(cmd.Context(), nil)
			if err != nil {
				return err
			}
			defer st.Close()
			set, err := campaign.Load(cuecontext.New(), nil, campaign.Options{Catalog: inv.catalog})
			if err != nil {
				return err
			}
			if set.Policies, err = policies(nil); err != nil {
				return err
			}
			o := serve.Options{Store: st, Set: set, TTL: ttl, Log: log}
			if tokenFile != "" {
				b, err := os.ReadFile(tokenFile)
				if err != nil {
					return fmt.Errorf("--token-file: %w", err)
				}
				if o.Token = strings.TrimSpace(string(b)); o.Token == "" {
					return fmt.Errorf("--token-file %s is empty: put the bearer token in it", tokenFile)
				}
			}
			if cacheURL != "" {
				if o.Cache, err = cache.Dial(cacheURL); err != nil {
					return err
				}
				defer o.Cache.Close()
				if err := o.Cache.Ping(cmd.Context()); err != nil {
					log.Warn("the cache does not answer; reading the store until it does", "err", err)
				}
			}
			s, err := serve.New(o)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
				WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 1 << 16}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			go func() {
				<-ctx.Done()
				shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				srv.Shutdown(shut)
			}()
			fmt.Fprintf(cmd.OutOrStdout(), "serving %s on http://%s/\n", redact(url), ln.Addr())
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	inv.addStore(cmd)
	inv.addCatalog(cmd)
	f := cmd.Flags()
	f.StringVar(&addr, "addr", ":8080", "the `address` to listen on")
	f.StringVar(&cacheURL, "cache", os.Getenv("LLMSWEEP_CACHE"), "read through the Redis at `URL` (redis:// or rediss://; default $LLMSWEEP_CACHE)")
	f.StringVar(&tokenFile, "token-file", "", "require the bearer token in this `file` on everything but the health endpoints")
	f.DurationVar(&ttl, "cache-ttl", serve.DefaultTTL, "how long a cached answer lives without an invalidation")
	return cmd
}
