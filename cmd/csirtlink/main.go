// Command csirtlink runs a csirtlink node and talks to one; see internal/cli.
package main

import (
	"os"

	"csirtlink/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr)) }
