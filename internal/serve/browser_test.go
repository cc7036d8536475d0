package serve_test

import (
	"bytes"
	"context"
	"flag"
	"image/color"
	"image/png"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/llmsweep/llmsweep/internal/serve"
)

var update = flag.Bool("update", false, "write the README's screenshots (docs/img/serve-*.png) from the browser test")

// TestBrowser goes through overview → model → recommend → compare in real
// headless Chromium: it checks the DOM, submits the forms as a person would,
// and checks in screenshots that the charts are drawn (their pixels are not
// all background). With -update it writes the README's screenshots.
func TestBrowser(t *testing.T) {
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("LLMSWEEP_BROWSER_TESTS") != "" {
			t.Fatal("chromium is not installed and LLMSWEEP_BROWSER_TESTS is set (run tools/chromium/ensure.sh)")
		}
		t.Skip("chromium is not installed (tools/chromium/ensure.sh)")
	}
	f := sqliteStore(t)
	s, _ := server(t, f.URL, serve.Options{})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	alloc, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.WindowSize(1280, 1000), chromedp.Flag("disable-gpu", true))...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()

	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatal(err)
		}
	}
	count := func(sel string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+strconv.Quote(sel)+`).length`))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	shot := func() []byte {
		t.Helper()
		b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	do(chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible("#leaderboard"))
	// The model name holding markup is text, not an element.
	if rows, scripts := count("#leaderboard tbody tr"), count("main script"); rows < 2 || scripts != 0 {
		t.Fatalf("overview: %d leaderboard rows (want the sim model and the imported one), %d scripts in main", rows, scripts)
	}
	overviewPNG := shot()

	do(chromedp.Click(`#leaderboard a[href="/models/llama-3.2-1b-instruct"]`, chromedp.NodeVisible), chromedp.WaitVisible("#per-gpu svg"))
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	if points := count("#per-gpu circle"); points != 4 || title != "llama-3.2-1b-instruct · llmsweep catalog" {
		t.Errorf("model page %q: %d points on the per-GPU chart, want 4", title, points)
	}
	modelPNG := shot()
	for _, id := range []string{"#per-gpu svg", "#latency svg"} {
		chart, err := chromedp.Run(ctx, chromedp.Screenshot(id))
		if err != nil {
			t.Fatal(err)
		}
		if n := inkColors(t, chart); n < 2 {
			t.Errorf("%s: the screenshot has %d series colours: the chart is blank", id, n)
		}
	}

	do(chromedp.Click(`header a[href="/recommend"]`), chromedp.WaitVisible("#recommend-form"),
		chromedp.SetValue(`select[name="workload"]`, "smoke"), chromedp.SetValue(`select[name="policy"]`, "latency-first"),
		chromedp.SendKeys(`input[name="top"]`, "3"), chromedp.Submit("#recommend-form button"), chromedp.WaitVisible("#picks"))
	if picks := count("#picks tbody tr"); picks != 3 {
		t.Errorf("recommend: %d picks, want 3", picks)
	}
	recPNG := shot()

	do(chromedp.Click(`header a[href="/compare"]`), chromedp.WaitVisible("#compare-form"),
		chromedp.SetValue(`select[name="a"]`, f.Runs[0]), chromedp.SetValue(`select[name="b"]`, f.Runs[1]),
		chromedp.Submit("#compare-form button"), chromedp.WaitVisible("#deltas"))
	if count("#deltas tbody tr") == 0 {
		t.Error("compare: no deltas")
	}
	cmpPNG := shot()
	if *update {
		for name, b := range map[string][]byte{"overview": overviewPNG, "model": modelPNG, "recommend": recPNG, "compare": cmpPNG} {
			if err := os.WriteFile(filepath.Join("..", "..", "docs", "img", "serve-"+name+".png"), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// inkColors counts the saturated colours of a PNG: the series of a drawn
// chart, which a blank one (white, grey grid and text) lacks.
func inkColors(t *testing.T, b []byte) int {
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[color.RGBA]bool{}
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			hi, lo := max(c.R, c.G, c.B), min(c.R, c.G, c.B)
			if hi-lo > 80 { // saturated: not white, grey or black
				seen[color.RGBA{c.R &^ 0x1f, c.G &^ 0x1f, c.B &^ 0x1f, 0}] = true
			}
		}
	}
	return len(seen)
}
