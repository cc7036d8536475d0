package accuracy_test

import (
	"fmt"

	"github.com/llmsweep/llmsweep/internal/accuracy"
	"github.com/llmsweep/llmsweep/plugins/sdk"
)

func Example() {
	prompts, err := accuracy.Prompts(accuracy.Arithmetic, 3, 1)
	if err != nil {
		panic(err)
	}
	// A run sends each prompt and keeps the output; here the model gets the
	// first two right, echoing the prompt's "Answer:", and the third wrong.
	outputs := []string{"Answer: " + prompts[0].Expected, prompts[1].Expected + ".\n", "no idea"}
	var records []*sdk.Record
	for i, p := range prompts {
		records = append(records, &sdk.Record{Expected: p.Expected, Output: outputs[i]})
	}
	res := accuracy.Score(records)
	fmt.Printf("%s: %d/%d correct (%.2f)\n", res.Task, res.Correct, res.Samples, res.Accuracy)
	// Output:
	// arithmetic-exact-match: 2/3 correct (0.67)
}
