package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// clientFlags are the flags of the commands that talk to a running server
// through its /_sluice/ endpoints (logs, wait).
type clientFlags struct {
	endpoint *string
	data     *string
}

func addClientFlags(fs *flag.FlagSet) clientFlags {
	return clientFlags{
		endpoint: fs.String("endpoint", env("AWS_ENDPOINT_URL", "http://127.0.0.1:9000"), "the server's URL (AWS_ENDPOINT_URL)"),
		data:     fs.String("data", env("SLUICE_DATA", "sluice-data"), "data directory whose root credentials to use when AWS_ACCESS_KEY_ID is unset (SLUICE_DATA)"),
	}
}

// get sends GET <endpoint>/_sluice/<path> with the root credentials by
// HTTP Basic.
func (c clientFlags) get(ctx context.Context, path string) (*http.Response, error) {
	key, secret, err := rootCredentials(*c.data)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(*c.endpoint, "/")+"/_sluice/"+path, nil)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(key, secret)
	return http.DefaultClient.Do(req)
}

// parseWithArg parses args with fs, allowing the one positional argument
// (a function name, a request id) before or after the flags, as in
// `sluice logs hello --follow`, which flag.Parse alone does not allow.
func parseWithArg(fs *flag.FlagSet, args []string) (string, error) {
	var arg string
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if arg == "" && !strings.HasPrefix(a, "-") {
			arg = a
			continue
		}
		rest = append(rest, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") || i+1 >= len(args) {
			continue
		}
		// A flag that takes a value consumes the next argument.
		if f := fs.Lookup(name); f != nil {
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !b.IsBoolFlag() {
				rest = append(rest, args[i+1])
				i++
			}
		}
	}
	if err := fs.Parse(rest); err != nil {
		return "", err
	}
	if arg == "" && fs.NArg() > 0 {
		arg = fs.Arg(0)
	}
	return arg, nil
}

// rootCredentials are AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (the
// export line `sluice serve` prints), else the root credentials kept in
// the data directory.
func rootCredentials(dataDir string) (string, string, error) {
	key, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if key != "" && secret != "" {
		return key, secret, nil
	}
	raw, err := os.ReadFile(filepath.Join(dataDir, "credentials.json"))
	if err != nil {
		return "", "", fmt.Errorf("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (the line sluice serve prints), or run in the directory that holds %s: %w", dataDir, err)
	}
	var c struct {
		AccessKeyID     string `json:"accessKeyId"`
		SecretAccessKey string `json:"secretAccessKey"`
	}
	if err := json.Unmarshal(raw, &c); err != nil || c.AccessKeyID == "" {
		return "", "", fmt.Errorf("%s/credentials.json is damaged", dataDir)
	}
	return c.AccessKeyID, c.SecretAccessKey, nil
}
