package function

import (
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// interpreters are the python3 and node executables, resolved once at New
// to absolute paths from Sluice's own PATH (or SLUICE_PYTHON and
// SLUICE_NODE through Config), so that the interpreter with the user's
// packages (boto3) is the one used and a later PATH change does not
// matter.
type interpreters struct {
	python, node       string // "" when not found
	pythonErr, nodeErr error

	mu       sync.Mutex
	versions map[string]string // interpreter path -> its version, probed once
	warned   map[string]bool   // runtime -> mismatch already logged
}

func resolveInterpreters(cfg Config, log *slog.Logger) *interpreters {
	in := &interpreters{versions: map[string]string{}, warned: map[string]bool{}}
	in.python, in.pythonErr = lookAbs(cfg.Python, "python3")
	in.node, in.nodeErr = lookAbs(cfg.Node, "node")
	log.Debug("function interpreters", "python", in.python, "node", in.node)
	return in
}

func lookAbs(given, def string) (string, error) {
	if given == "" {
		given = def
	}
	p, err := exec.LookPath(given)
	if err != nil {
		return "", err
	}
	return filepath.Abs(p)
}

// checkVersion logs once per runtime when the interpreter's version is not
// the runtime's (python3.12 on a python 3.11 interpreter), as DESIGN.md
// says: it runs anyway.
func (in *interpreters) checkVersion(log *slog.Logger, runtime, path string, fam family) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.warned[runtime] {
		return
	}
	in.warned[runtime] = true
	v, ok := in.versions[path]
	if !ok {
		arg := "--version"
		out, err := exec.Command(path, arg).CombinedOutput()
		if err == nil {
			v = strings.TrimSpace(string(out))
		}
		in.versions[path] = v
	}
	var want string
	switch fam {
	case familyPython:
		want = "Python " + strings.TrimPrefix(runtime, "python") + "."
	case familyNode:
		want = "v" + strings.TrimSuffix(strings.TrimPrefix(runtime, "nodejs"), ".x") + "."
	}
	if !strings.HasPrefix(v+".", want) && !strings.HasPrefix(v, want) {
		log.Warn("function runtime runs on a different interpreter version", "runtime", runtime, "interpreter", path, "version", v)
	}
}
