package function

import (
	"archive/zip"
	"bytes"
	"fmt"
	"path"
	"regexp"
	"strings"
)

// Runtimes Sluice accepts. provided.* run the package's own bootstrap;
// python3.x and nodejs* run Sluice's bootstraps on the machine's
// interpreter (DESIGN.md, Functions). Runtimes Lambda has deprecated for
// creation (python3.8 and older, nodejs16.x and older, provided) are
// refused with Lambda's message.
var supportedRuntimes = []string{
	"provided.al2023", "provided.al2",
	"python3.9", "python3.10", "python3.11", "python3.12", "python3.13", "python3.14",
	"nodejs18.x", "nodejs20.x", "nodejs22.x", "nodejs24.x",
}

var deprecatedRuntimes = map[string]string{
	"provided": "provided.al2023", "go1.x": "provided.al2023",
	"python2.7": "python3.13", "python3.6": "python3.13", "python3.7": "python3.13", "python3.8": "python3.13",
	"nodejs": "nodejs22.x", "nodejs4.3": "nodejs22.x", "nodejs6.10": "nodejs22.x", "nodejs8.10": "nodejs22.x",
	"nodejs10.x": "nodejs22.x", "nodejs12.x": "nodejs22.x", "nodejs14.x": "nodejs22.x", "nodejs16.x": "nodejs22.x",
}

// Family of a runtime: how an instance is started.
type family int

const (
	familyProvided family = iota
	familyPython
	familyNode
)

func runtimeFamily(rt string) family {
	switch {
	case strings.HasPrefix(rt, "python"):
		return familyPython
	case strings.HasPrefix(rt, "nodejs"):
		return familyNode
	default:
		return familyProvided
	}
}

func validateRuntime(rt string) error {
	for _, r := range supportedRuntimes {
		if r == rt {
			return nil
		}
	}
	if repl, ok := deprecatedRuntimes[rt]; ok {
		return invalid("The runtime parameter of %s is no longer supported for creating or updating AWS Lambda functions. We recommend you use the new runtime (%s) while creating or updating functions.", rt, repl)
	}
	return invalid("Value %s at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [%s] or be a valid ARN", rt, strings.Join(supportedRuntimes, ", "))
}

// handlerRE is the model's pattern for Handler.
var handlerRE = regexp.MustCompile(`^[^\s]+$`)

func validateHandler(h string) error {
	if len(h) > 128 || !handlerRE.MatchString(h) {
		return newErr(ErrValidation, "1 validation error detected: Value '%s' at 'handler' failed to satisfy constraint: Member must satisfy regular expression pattern: [^\\s]+", h)
	}
	return nil
}

var roleRE = regexp.MustCompile(`^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$`)

func validateRole(role string) error {
	if !roleRE.MatchString(role) {
		return newErr(ErrValidation, "1 validation error detected: Value '%s' at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+", role)
	}
	return nil
}

func validateTimeout(t int) error {
	if t < 1 {
		return newErr(ErrValidation, "1 validation error detected: Value '%d' at 'timeout' failed to satisfy constraint: Member must have value greater than or equal to 1", t)
	}
	if t > MaxTimeout {
		return invalid("Timeout must be less than or equal to %d seconds", MaxTimeout)
	}
	return nil
}

func validateMemory(m int) error {
	if m < MinMemorySize {
		return newErr(ErrValidation, "1 validation error detected: Value '%d' at 'memorySize' failed to satisfy constraint: Member must have value greater than or equal to %d", m, MinMemorySize)
	}
	if m > MaxMemorySize {
		return newErr(ErrValidation, "1 validation error detected: Value '%d' at 'memorySize' failed to satisfy constraint: Member must have value less than or equal to %d", m, MaxMemorySize)
	}
	return nil
}

// reservedEnv are the variables Lambda sets itself and refuses in
// Environment.Variables (Lambda Developer Guide, "Defined runtime
// environment variables": the reserved ones).
var reservedEnv = map[string]bool{
	"_HANDLER": true, "_X_AMZN_TRACE_ID": true, "AWS_DEFAULT_REGION": true, "AWS_REGION": true,
	"AWS_EXECUTION_ENV": true, "AWS_LAMBDA_FUNCTION_NAME": true, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": true,
	"AWS_LAMBDA_FUNCTION_VERSION": true, "AWS_LAMBDA_INITIALIZATION_TYPE": true,
	"AWS_LAMBDA_LOG_GROUP_NAME": true, "AWS_LAMBDA_LOG_STREAM_NAME": true,
	"AWS_ACCESS_KEY": true, "AWS_ACCESS_KEY_ID": true, "AWS_SECRET_ACCESS_KEY": true, "AWS_SESSION_TOKEN": true,
	"AWS_LAMBDA_RUNTIME_API": true, "LAMBDA_TASK_ROOT": true, "LAMBDA_RUNTIME_DIR": true,
}

var envKeyRE = regexp.MustCompile(`^[a-zA-Z]([a-zA-Z0-9_])+$`)

func validateEnv(env map[string]string) error {
	var reserved []string
	size := 0
	for k, v := range env {
		if reservedEnv[k] {
			reserved = append(reserved, k)
		}
		if !envKeyRE.MatchString(k) {
			return newErr(ErrValidation, "1 validation error detected: Value at 'environment.variables' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]")
		}
		size += len(k) + len(v)
	}
	if len(reserved) > 0 {
		sortStrings(reserved)
		return invalid("Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: %s", strings.Join(reserved, ", "))
	}
	if size > 4096 {
		return invalid("Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: %d bytes", size)
	}
	return nil
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// checkZip verifies that b is a zip Sluice can unpack safely: readable,
// no entry escaping the task root (zip-slip) or being a symbolic link, and
// at most MaxUnzippedSize unpacked. It returns the unpacked size. Lambda's
// messages are used where Lambda has one.
func checkZip(b []byte) (int64, error) {
	if len(b) > MaxZipSize {
		return 0, newErr(ErrRequestTooLarge, "Request must be smaller than %d bytes for the operation", MaxZipSize)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return 0, invalid("Could not unzip uploaded file. Please check your file, then try to upload again.")
	}
	var total uint64
	for _, f := range zr.File {
		if err := checkEntry(f); err != nil {
			return 0, err
		}
		total += f.UncompressedSize64
		if total > MaxUnzippedSize {
			return 0, invalid("Unzipped size must be smaller than %d bytes", MaxUnzippedSize)
		}
	}
	return int64(total), nil
}

// checkEntry refuses entries that would land outside the task root or
// that are links or devices.
func checkEntry(f *zip.File) error {
	name := f.Name
	clean := path.Clean("/" + strings.ReplaceAll(name, "\\", "/"))
	if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, "\\") || clean == "/" && !strings.HasSuffix(name, "/") {
		return invalid("Could not unzip uploaded file. Please check your file, then try to upload again. (entry %q has an unsafe path)", name)
	}
	for _, part := range strings.Split(strings.TrimSuffix(name, "/"), "/") {
		if part == ".." {
			return invalid("Could not unzip uploaded file. Please check your file, then try to upload again. (entry %q leaves the package directory)", name)
		}
	}
	mode := f.Mode()
	if !mode.IsRegular() && !mode.IsDir() {
		return invalid("Could not unzip uploaded file. Please check your file, then try to upload again. (entry %q is a %s, only files and directories are unpacked)", name, describeMode(mode.Type().String()))
	}
	return nil
}

func describeMode(m string) string {
	switch {
	case strings.HasPrefix(m, "L"):
		return "symbolic link"
	default:
		return fmt.Sprintf("special file (%s)", m)
	}
}
