package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// needTool finds a renderer the report tests use. They are skipped only when
// it is missing and LLMSWEEP_BROWSER_TESTS is unset; with it set, a missing
// tool fails the test (tools/chromium/ensure.sh installs them).
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("LLMSWEEP_BROWSER_TESTS") != "" {
			t.Fatalf("%s is not installed and LLMSWEEP_BROWSER_TESTS is set (run tools/chromium/ensure.sh)", name)
		}
		t.Skipf("%s is not installed (tools/chromium/ensure.sh installs it; LLMSWEEP_BROWSER_TESTS=1 makes this a failure)", name)
	}
	return p
}

func writeReport(t *testing.T) Paths {
	t.Helper()
	st := openStore(t, sqliteURL(t))
	seed(t, st)
	p, err := Write(context.Background(), st, Options{Campaign: "demo", Set: testSet(), Out: filepath.Join(t.TempDir(), "out")})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const winW, winH = 1280, 9000

// chromium runs headless Chromium on a file, with a profile of its own.
func chromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--user-data-dir=" + t.TempDir(), "--hide-scrollbars", "--force-device-scale-factor=1",
		fmt.Sprintf("--window-size=%d,%d", winW, winH)}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.Bytes()
}

// TestHTMLInChromium loads the HTML report in real headless Chromium: the DOM
// holds every section and an SVG per figure, and the screenshot shows the
// figures drawn, where the page lays them out.
func TestHTMLInChromium(t *testing.T) {
	bin := needTool(t, "chromium")
	p := writeReport(t)
	page, err := os.ReadFile(p.Files["html"])
	if err != nil {
		t.Fatal(err)
	}
	url := "file://" + p.Files["html"]

	dom := string(chromium(t, bin, "--dump-dom", url))
	for i := range sectionTitles {
		if !strings.Contains(dom, title(i)) {
			t.Errorf("the rendered DOM lacks the section %q", title(i))
		}
	}
	figs := strings.Count(dom, "<figure")
	if svgs := strings.Count(dom, "<svg"); figs < 3 || svgs != figs {
		t.Errorf("the rendered DOM has %d figures and %d SVGs", figs, svgs)
	}
	if !strings.Contains(dom, "PREDICTED, NOT MEASURED") {
		t.Error("the rendered DOM lacks the predicted banner")
	}

	// Where the figures are: a copy of the page that writes their boxes into
	// its title (the report itself has no script).
	probe := filepath.Join(filepath.Dir(p.Files["html"]), "probe.html")
	script := `<script>document.title = JSON.stringify([...document.querySelectorAll("figure svg")].map(e => {
		const r = e.getBoundingClientRect(); return [r.left + scrollX, r.top + scrollY, r.width, r.height]; }));</script></body>`
	if err := os.WriteFile(probe, bytes.Replace(page, []byte("</body>"), []byte(script), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`<title>(.*?)</title>`).FindSubmatch(chromium(t, bin, "--dump-dom", "file://"+probe))
	var boxes [][4]float64
	if m == nil || json.Unmarshal(m[1], &boxes) != nil || len(boxes) != figs {
		t.Fatalf("figure boxes: %q", m)
	}

	shot := filepath.Join(t.TempDir(), "shot.png")
	chromium(t, bin, "--screenshot="+shot, url)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if total := inkFraction(img, img.Bounds()); total < 0.01 {
		t.Errorf("the page is nearly empty: %.2f%% of its pixels are not white", 100*total)
	}
	drawn := 0
	for i, b := range boxes {
		r := image.Rect(int(b[0]), int(b[1]), int(b[0]+b[2]), int(b[1]+b[3]))
		if !r.In(img.Bounds()) {
			continue // below the screenshot's window
		}
		drawn++
		ink, colour := inkFraction(img, r), colourFraction(img, r)
		if ink < 0.02 || colour < 0.0005 {
			t.Errorf("figure %d at %v: %.2f%% ink, %.3f%% colour: the plot did not render", i+1, r, 100*ink, 100*colour)
		}
	}
	if drawn < 3 {
		t.Errorf("only %d figures lie within the %dx%d screenshot", drawn, winW, winH)
	}
}

// inkFraction is the share of pixels in r that are not (nearly) white.
func inkFraction(img image.Image, r image.Rectangle) float64 {
	n, ink := 0, 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c, g, b, _ := img.At(x, y).RGBA()
			n++
			if c < 0xf000 || g < 0xf000 || b < 0xf000 {
				ink++
			}
		}
	}
	return float64(ink) / float64(max(n, 1))
}

// colourFraction is the share of saturated pixels in r: the plots' lines and
// points, which text and rules (black, grey) never are.
func colourFraction(img image.Image, r image.Rectangle) float64 {
	n, col := 0, 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c, g, b, _ := img.At(x, y).RGBA()
			n++
			if max(c, g, b)-min(c, g, b) > 0x6000 {
				col++
			}
		}
	}
	return float64(col) / float64(max(n, 1))
}

// TestPDFWithPoppler checks the PDF with poppler: its pages hold the section
// titles and the figure captions (pdftotext), and no page is blank while the
// figure pages carry coloured plots (pdftoppm).
func TestPDFWithPoppler(t *testing.T) {
	pdftotext, pdftoppm := needTool(t, "pdftotext"), needTool(t, "pdftoppm")
	p := writeReport(t)
	out, err := exec.Command(pdftotext, "-layout", p.Files["pdf"], "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	text := string(out)
	pages := strings.Count(text, "\f")
	if pages < 2 {
		t.Errorf("the PDF has %d pages", pages)
	}
	for i := range sectionTitles {
		if !strings.Contains(text, title(i)) {
			t.Errorf("the PDF text lacks the section %q", title(i))
		}
	}
	for _, s := range []string{"Figure 1: TTFT P99 against output throughput", "Figure 2: TTFT P99 (ms) against output throughput, m-7b on gpu-a-x1",
		"PREDICTED, NOT MEASURED", "server exited: CUDA out of memory"} {
		if !strings.Contains(text, s) {
			t.Errorf("the PDF text lacks %q", s)
		}
	}

	dir := t.TempDir()
	if out, err := exec.Command(pdftoppm, "-r", "40", "-png", p.Files["pdf"], filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "page*.png"))
	if len(files) != pages {
		t.Errorf("pdftoppm wrote %d pages, pdftotext read %d", len(files), pages)
	}
	coloured := 0
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if ink := inkFraction(img, img.Bounds()); ink < 0.005 {
			t.Errorf("%s is blank (%.2f%% ink)", filepath.Base(name), 100*ink)
		}
		if colourFraction(img, img.Bounds()) > 0.0002 {
			coloured++
		}
	}
	if coloured < 2 {
		t.Errorf("%d pages carry coloured plots, want at least 2", coloured)
	}
}
