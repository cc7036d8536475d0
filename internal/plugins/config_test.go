package plugins_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llmsweep/llmsweep/internal/campaign/campaigntest"
	"github.com/llmsweep/llmsweep/internal/matrix"
	"github.com/llmsweep/llmsweep/internal/plugins"
	"github.com/llmsweep/llmsweep/internal/testing/snaptest"
)

// The launch a server config carries is its group's, as the manifests run it,
// for every server group of every shipped campaign: the command line is derived
// once, by the compiler, and travels to the plugin.
func TestServerConfigCarriesTheCompiledLaunch(t *testing.T) {
	s := campaigntest.Repo(t)
	groups := 0
	for _, cn := range slices.Sorted(maps.Keys(s.Campaigns)) {
		c := s.Campaigns[cn]
		snaptest.EachGroup(s, c, func(g *matrix.Group) {
			groups++
			cfg := &g.Configs[len(g.Configs)-1]
			sc, err := plugins.ServerConfig(s, c, cfg)
			if err != nil {
				t.Fatalf("%s: %v", g.Key, err)
			}
			l := sc.GetLaunch()
			got := matrix.Server{Image: l.GetImage(), Args: slices.Concat(l.GetCommand(), l.GetArgs()), Env: l.GetEnv(),
				Port: int(l.GetPort()), ReadinessPath: l.GetReadiness().GetPath()}
			if d := cmp.Diff(g.Server, got); d != "" {
				t.Fatalf("%s %s: the config's launch differs from its group's (-group +config):\n%s", cn, g.Key, d)
			}
			h := s.Hardware[cfg.Hardware]
			if sc.GetHardware().GetName() != cfg.Hardware || sc.GetHardware().GetHbmTbps() != h.GPU.HBMTBps ||
				sc.GetArchitecture().GetLayers() != int32(s.Models[cfg.Model].Layers) || sc.GetEfficiency().GetMbu() <= 0 {
				t.Fatalf("%s: hardware %v, architecture %v, efficiency %v", g.Key, sc.GetHardware(), sc.GetArchitecture(), sc.GetEfficiency())
			}
		})
	}
	if groups == 0 {
		t.Fatal("no server groups")
	}
	t.Logf("%d server groups", groups)
}
