package cli

import (
	"errors"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// flagError turns an error of flag parsing into bad input, exit code 2,
// worded for people: a value the flag cannot take is named with what the
// flag takes instead of the parser's own error (strconv.ParseInt: ...).
func flagError(_ *cobra.Command, err error) error {
	var bad *pflag.InvalidValueError
	if !errors.As(err, &bad) {
		return usageErrorf("%v; see --help", err)
	}
	return usageErrorf("--%s: %q %s; see --help", bad.GetFlag().Name, bad.GetValue(),
		wantedValue(bad.GetFlag().Value.Type(), errors.Unwrap(bad)))
}

// wantedValue says what a flag of a pflag type takes, for a value it did
// not; cause is the parser's error.
func wantedValue(typ string, cause error) string {
	if errors.Is(cause, strconv.ErrRange) {
		return "is out of range"
	}
	switch {
	case strings.HasPrefix(typ, "uint"):
		return "is not a whole number of 0 or more"
	case strings.HasPrefix(typ, "int"), typ == "count":
		return "is not a whole number"
	case strings.HasPrefix(typ, "float"):
		return "is not a number"
	case typ == "bool":
		return "is not true or false"
	case typ == "duration":
		return "is not a duration such as 90s, 15m or 36h"
	}
	if cause == nil {
		return "is not valid"
	}
	return "is not valid: " + cause.Error()
}
