package accuracy_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llmsweep/llmsweep/internal/accuracy"
	"github.com/llmsweep/llmsweep/internal/hub"
	"github.com/llmsweep/llmsweep/internal/taskdata"
	"github.com/llmsweep/llmsweep/internal/testing/hubtest"
	"github.com/llmsweep/llmsweep/internal/testing/taskfiles"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

func loader(t *testing.T) *taskdata.Loader {
	h := hubtest.New(t)
	taskfiles.Serve(h, false)
	return &taskdata.Loader{Hub: &hub.Client{BaseURL: h.URL, CacheDir: t.TempDir()}}
}

func TestMMLUPromptFormat(t *testing.T) {
	shots := []accuracy.MMLUShot{{Question: "What is 1+1? ", Choices: []string{"1", "2", "3", "4"}, Answer: 1}}
	got := accuracy.MMLUPrompt("high_school_geography", shots, " Which is a river?", []string{"Nile", "Alps", "Sahara", "Gobi"})
	want := "The following are multiple choice questions (with answers) about high school geography.\n\n" +
		"What is 1+1?\nA. 1\nB. 2\nC. 3\nD. 4\nAnswer: B\n\n" +
		"Which is a river?\nA. Nile\nB. Alps\nC. Sahara\nD. Gobi\nAnswer:"
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestGSM8KPromptFormat(t *testing.T) {
	got := accuracy.GSM8KPrompt([][2]string{{"Q1?", "A1.\n#### 1"}}, "Q2?")
	if want := "Question: Q1?\nAnswer: A1.\n#### 1\n\nQuestion: Q2?\nAnswer:"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestPrepareAndScoreGSM8K(t *testing.T) {
	l := loader(t)
	ctx := context.Background()
	spec := accuracy.Spec{Task: accuracy.GSM8K, Samples: 10, Seed: 3, Shots: 5}
	set, err := accuracy.Prepare(ctx, spec, l)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Prompts) != 10 {
		t.Fatalf("%d prompts", len(set.Prompts))
	}
	for _, p := range set.Prompts {
		if strings.Count(p.Text, "Question: ") != 6 || !strings.HasSuffix(p.Text, "\nAnswer:") || strings.Count(p.Text, "#### ") != 5 {
			t.Fatalf("prompt is not 5 shots and a question:\n%s", p.Text)
		}
	}
	// Fewer samples give a prefix, with the same shots.
	spec.Samples = 4
	small, err := accuracy.Prepare(ctx, spec, l)
	if err != nil {
		t.Fatal(err)
	}
	for i := range small.Prompts {
		if small.Prompts[i].Text != set.Prompts[i].Text {
			t.Fatalf("prompt %d differs with fewer samples", i)
		}
	}

	// Answers: right in the harness's format, right in prose only, wrong,
	// an error, and one missing.
	var recs []*sdk.Record
	for i, p := range set.Prompts[:8] {
		out := " So the answer is " + p.Expected + ".\n#### " + p.Expected + "\n\nQuestion: next"
		switch i {
		case 1, 2:
			out = " It is " + p.Expected + "."
		case 3:
			out = " #### 999999"
		}
		r := &sdk.Record{Index: int32(i), Output: out}
		if i == 4 {
			r = &sdk.Record{Index: int32(i), ErrorClass: "timeout"}
		}
		recs = append(recs, r)
	}
	recs = append(recs, &sdk.Record{Index: 0, Warmup: true, Output: "ignored"})
	res := set.Score(recs)
	if res.Task != accuracy.GSM8K || res.Metric != accuracy.StrictMatch || res.Shots != 5 || res.Samples != 10 ||
		res.Correct != 4 || res.Failed != 3 || res.Accuracy != 0.4 {
		t.Errorf("result = %+v", res)
	}
	if len(res.Variants) != 2 || res.Variants[0].Name != accuracy.StrictMatch || res.Variants[0].Correct != 4 ||
		res.Variants[1].Name != accuracy.FlexibleExtract || res.Variants[1].Correct != 6 {
		t.Errorf("variants = %+v", res.Variants)
	}
	lo, _ := res.Low.Get()
	hi, _ := res.High.Get()
	if !(lo < 0.4 && hi > 0.4) {
		t.Errorf("interval [%v, %v] does not hold 0.4", res.Low, res.High)
	}
	if len(res.Examples) != 10 || !strings.HasPrefix(res.Examples[0].ID, "test/") || !res.Examples[0].Correct || res.Examples[1].Correct {
		t.Errorf("examples = %+v", res.Examples)
	}
	if len(res.Data) != 2 || res.Data[0].Repo != "openai/gsm8k" || res.Data[0].Revision != taskdata.GSM8K.Revision {
		t.Errorf("data = %+v", res.Data)
	}

	spec.Metric = accuracy.FlexibleExtract
	spec.Samples = 10
	flex, _ := accuracy.Prepare(ctx, spec, l)
	if r := flex.Score(recs); r.Correct != 6 || r.Metric != accuracy.FlexibleExtract {
		t.Errorf("flexible-extract: %+v", r)
	}
}

func TestPrepareAndScoreMMLU(t *testing.T) {
	l := loader(t)
	ctx := context.Background()
	for _, shots := range []int{0, 5} {
		spec := accuracy.Spec{Task: accuracy.MMLU, Samples: 1000, Seed: 1, Shots: shots, Subjects: []string{"abstract_algebra", "world_religions"}}
		set, err := accuracy.Prepare(ctx, spec, l)
		if err != nil {
			t.Fatal(err)
		}
		if len(set.Prompts) != 2*taskfiles.MMLUTest {
			t.Fatalf("%d prompts, want every question of two subjects", len(set.Prompts))
		}
		if got := strings.Count(set.Prompts[0].Text, "\nAnswer:"); got != shots+1 {
			t.Errorf("%d shots: %d questions in the prompt", shots, got)
		}
		var recs []*sdk.Record
		for i, p := range set.Prompts {
			out := " " + p.Expected
			if strings.Contains(p.Text, "about world religions") {
				out = " The answer is " + p.Expected
			}
			recs = append(recs, &sdk.Record{Index: int32(i), Output: out})
		}
		res := set.Score(recs)
		want := []accuracy.Group{
			{Name: "abstract_algebra", N: taskfiles.MMLUTest, Correct: taskfiles.MMLUTest, Accuracy: 1},
			{Name: "world_religions", N: taskfiles.MMLUTest},
		}
		got := res.Subjects
		for i := range got {
			got[i].Low, got[i].High = want[i].Low, want[i].High
		}
		if d := cmp.Diff(want, got); d != "" || res.Accuracy != 0.5 || res.Metric != accuracy.ExactMatch {
			t.Errorf("accuracy %v, subjects (-want +got):\n%s", res.Accuracy, d)
		}
	}
	_, err := accuracy.Prepare(ctx, accuracy.Spec{Task: accuracy.MMLU, Samples: 5, Subjects: []string{"astrology"}}, l)
	if err == nil || !strings.Contains(err.Error(), `MMLU subject "astrology" has no test questions in cais/mmlu at c30699e8356da336a370243923dbaf21066bb9fe`) {
		t.Errorf("unknown subject: %v", err)
	}
}

func TestPrepareErrors(t *testing.T) {
	for _, tc := range []struct {
		spec accuracy.Spec
		want string
	}{
		{accuracy.Spec{Task: accuracy.GSM8K, Samples: 5, Metric: accuracy.ExactMatch}, `task "gsm8k" has no metric "exact_match", want one of "strict-match", "flexible-extract"`},
		{accuracy.Spec{Task: accuracy.MMLU, Samples: 5, Shots: 6}, `shots must be in 0..5, got 6`},
		{accuracy.Spec{Task: accuracy.GSM8K, Samples: 5, Subjects: []string{"x"}}, `task "gsm8k" has no subjects`},
		{accuracy.Spec{Task: accuracy.GSM8K, Samples: 5}, `task "gsm8k" needs the Hub to read its data set`},
		{accuracy.Spec{Task: accuracy.Copy, Samples: 0}, `samples must be at least 1, got 0`},
	} {
		if _, err := accuracy.Prepare(context.Background(), tc.spec, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want %s", tc.spec, err, tc.want)
		}
	}
}
