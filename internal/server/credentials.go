package server

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"sluice/internal/auth"
)

// credentialsFile keeps the root credentials created on first start, so the
// export line a user pasted keeps working after a restart.
const credentialsFile = "credentials.json"

type storedCredentials struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
}

// rootCredentials returns the account's root credentials: the configured
// ones when both are set, else those kept in the data directory, else new
// ones, written there (mode 0600) before they are used.
func rootCredentials(cfg Config) (auth.Credentials, error) {
	principal := cfg.AccountID
	if cfg.RootAccessKey != "" || cfg.RootSecretKey != "" {
		if cfg.RootAccessKey == "" || cfg.RootSecretKey == "" {
			return auth.Credentials{}, errors.New("SLUICE_ROOT_ACCESS_KEY and SLUICE_ROOT_SECRET_KEY must be set together")
		}
		return auth.Credentials{AccessKeyID: cfg.RootAccessKey, SecretAccessKey: cfg.RootSecretKey, Principal: principal}, nil
	}
	path := filepath.Join(cfg.DataDir, credentialsFile)
	raw, err := os.ReadFile(path)
	switch {
	case err == nil:
		var c storedCredentials
		if err := json.Unmarshal(raw, &c); err != nil || c.AccessKeyID == "" || c.SecretAccessKey == "" {
			return auth.Credentials{}, fmt.Errorf("%s is damaged; remove it to create new root credentials", path)
		}
		return auth.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, Principal: principal}, nil
	case !errors.Is(err, fs.ErrNotExist):
		return auth.Credentials{}, fmt.Errorf("read root credentials: %w", err)
	}
	c := storedCredentials{AccessKeyID: "AKIA" + randomString(16, accessKeyAlphabet), SecretAccessKey: randomSecret()}
	raw, _ = json.MarshalIndent(c, "", "  ")
	tmp := path + ".tmp"
	if err := writeFileSync(tmp, raw); err != nil {
		return auth.Credentials{}, fmt.Errorf("write root credentials: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return auth.Credentials{}, fmt.Errorf("write root credentials: %w", err)
	}
	return auth.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, Principal: principal}, nil
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Access key ids look like AWS's: AKIA and 16 characters of base32.
const accessKeyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// randomSecret is 40 characters, like an AWS secret access key.
func randomSecret() string {
	b := make([]byte, 30)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}
