// Command keygate holds keygate's tools as subcommands. This minimal main
// carries `keys`; the local gateway's branch brings the full table (guard,
// local), where keys joins it.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: keygate keys <sync|list|show|rotate|disable|enable|move|usage> [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "keys":
		err = runKeys(os.Args[2:])
	default:
		err = usageError{fmt.Sprintf("unknown command %q; use keys", os.Args[1])}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "keygate:", err)
		var usage usageError
		if errors.As(err, &usage) || errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}
