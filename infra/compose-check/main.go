// compose-check validates a Compose file the way `docker compose config` does — the Compose
// Specification's JSON schema, interpolation, and the references between services, volumes and
// networks — with compose-go, the loader Docker Compose itself uses. It needs no Docker engine,
// which this project's machines do not have (README, "With Docker").
//
//	compose-check FILE   prints the resolved project as YAML and exits 0, or the problem and exits 1
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: compose-check FILE")
		os.Exit(64)
	}
	opts, err := cli.NewProjectOptions([]string{os.Args[1]}, cli.WithOsEnv, cli.WithName("pedepronto"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "compose-check:", err)
		os.Exit(1)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "compose-check:", err)
		os.Exit(1)
	}
	out, err := project.MarshalYAML()
	if err != nil {
		fmt.Fprintln(os.Stderr, "compose-check:", err)
		os.Exit(1)
	}
	os.Stdout.Write(out)
}
