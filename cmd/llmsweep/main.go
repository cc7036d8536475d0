// Command llmsweep is the llmsweep CLI; see internal/cli.
package main

import (
	"os"

	"github.com/llmsweep/llmsweep/internal/cli"
)

func main() { os.Exit(cli.Main()) }
