package backup

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// splitItems calls fn with the bytes of each member of the items array of
// a list response, in order, as slices of body: nothing is copied or
// decoded. The split only finds where values start and end; each item is
// decoded, and so checked, by readHead. Strings are skipped with
// bytes.IndexByte, which makes the long values of ConfigMaps and Secrets
// cheap to pass over.
func splitItems(body []byte, fn func([]byte) error) error {
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return errors.New("the list is not a JSON object")
	}
	i = skipSpace(body, i+1)
	if i < len(body) && body[i] == '}' {
		return nil
	}
	for {
		if i >= len(body) || body[i] != '"' {
			return syntaxError(body, i, "a member name")
		}
		end, err := stringEnd(body, i)
		if err != nil {
			return err
		}
		name := body[i+1 : end-1]
		i = skipSpace(body, end)
		if i >= len(body) || body[i] != ':' {
			return syntaxError(body, i, "':'")
		}
		i = skipSpace(body, i+1)
		if string(name) == "items" && i < len(body) && body[i] == '[' {
			i, err = eachElement(body, i, fn)
		} else {
			i, err = valueEnd(body, i)
		}
		if err != nil {
			return err
		}
		i = skipSpace(body, i)
		switch {
		case i < len(body) && body[i] == ',':
			i = skipSpace(body, i+1)
		case i < len(body) && body[i] == '}':
			return nil
		default:
			return syntaxError(body, i, "',' or '}'")
		}
	}
}

// eachElement calls fn for each element of the array that starts at i and
// returns the index after the array.
func eachElement(b []byte, i int, fn func([]byte) error) (int, error) {
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for {
		end, err := valueEnd(b, i)
		if err != nil {
			return 0, err
		}
		if err := fn(b[i:end]); err != nil {
			return 0, err
		}
		i = skipSpace(b, end)
		switch {
		case i < len(b) && b[i] == ',':
			i = skipSpace(b, i+1)
		case i < len(b) && b[i] == ']':
			return i + 1, nil
		default:
			return 0, syntaxError(b, i, "',' or ']'")
		}
	}
}

// valueEnd returns the index after the JSON value that starts at i.
// Objects and arrays are matched by depth alone; their contents are
// checked when decoded.
func valueEnd(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, syntaxError(b, i, "a value")
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				end, err := stringEnd(b, i)
				if err != nil {
					return 0, err
				}
				i = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1, nil
				}
			}
			i++
		}
		return 0, errTruncated
	}
	// A number, true, false or null: it runs to the next delimiter.
	start := i
	for i < len(b) && strings.IndexByte(",}] \t\r\n", b[i]) < 0 {
		i++
	}
	if i == start {
		return 0, syntaxError(b, i, "a value")
	}
	return i, nil
}

// stringEnd returns the index after the string whose opening quote is at
// i. A quote ends the string unless an odd number of backslashes comes
// before it.
func stringEnd(b []byte, i int) (int, error) {
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return 0, errTruncated
		}
		q := j + k
		backslashes := 0
		for p := q - 1; p > i && b[p] == '\\'; p-- {
			backslashes++
		}
		if backslashes%2 == 0 {
			return q + 1, nil
		}
		j = q + 1
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

var errTruncated = errors.New("the list ends early")

func syntaxError(b []byte, i int, want string) error {
	if i >= len(b) {
		return errTruncated
	}
	return fmt.Errorf("want %s at offset %d, found %q", want, i, b[i])
}
