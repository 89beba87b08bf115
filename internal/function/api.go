package function

import "sluice/internal/event"

// Configuration is Lambda's FunctionConfiguration, with its JSON names, so
// the edge can write it as is.
type Configuration struct {
	FunctionName     string            `json:"FunctionName"`
	FunctionArn      string            `json:"FunctionArn"`
	Runtime          string            `json:"Runtime"`
	Role             string            `json:"Role"`
	Handler          string            `json:"Handler"`
	CodeSize         int64             `json:"CodeSize"`
	Description      string            `json:"Description"`
	Timeout          int               `json:"Timeout"`
	MemorySize       int               `json:"MemorySize"`
	LastModified     string            `json:"LastModified"` // "2026-01-01T00:00:00.000+0000"
	CodeSha256       string            `json:"CodeSha256"`   // base64 of the SHA-256 of the zip
	Version          string            `json:"Version"`
	Environment      *Environment      `json:"Environment,omitempty"`
	TracingConfig    TracingConfig     `json:"TracingConfig"`
	RevisionId       string            `json:"RevisionId"`
	State            string            `json:"State"`
	LastUpdateStatus string            `json:"LastUpdateStatus"`
	PackageType      string            `json:"PackageType"`
	Architectures    []string          `json:"Architectures"`
	EphemeralStorage EphemeralStorage  `json:"EphemeralStorage"`
	LoggingConfig    LoggingConfig     `json:"LoggingConfig"`
	SnapStart        SnapStartResponse `json:"SnapStart"`
	DeadLetterConfig *DeadLetterConfig `json:"DeadLetterConfig,omitempty"`
	// RuntimeVersionConfig is left out: Sluice runs the machine's runtime.
}

// Environment is the function's environment variables as Lambda returns them.
type Environment struct {
	Variables map[string]string `json:"Variables"`
}

// TracingConfig is always PassThrough: Sluice forwards trace ids, it has no X-Ray.
type TracingConfig struct {
	Mode string `json:"Mode"`
}

// EphemeralStorage is /tmp's size in MB (Sluice does not bound it).
type EphemeralStorage struct {
	Size int `json:"Size"`
}

// LoggingConfig says where the function's log goes (Text, /aws/lambda/<name>).
type LoggingConfig struct {
	LogFormat string `json:"LogFormat"`
	LogGroup  string `json:"LogGroup"`
}

// SnapStartResponse: SnapStart is never on.
type SnapStartResponse struct {
	ApplyOn            string `json:"ApplyOn"`
	OptimizationStatus string `json:"OptimizationStatus"`
}

// Function is what GetFunction returns, apart from the code location
// (which the edge builds; OpenCode reads the package).
type Function struct {
	Configuration Configuration
	Tags          map[string]string
	// ReservedConcurrency is nil when none is set.
	ReservedConcurrency *int
}

// CreateInput is CreateFunction's request. The edge reads Code.S3Bucket and
// S3Key from Sluice's own S3 and passes the bytes as ZipFile.
type CreateInput struct {
	FunctionName string // a name, a partial ARN or an ARN
	Role         string
	Runtime      string
	Handler      string
	Description  string
	Timeout      *int // seconds; nil = DefaultTimeout
	MemorySize   *int // MB; nil = DefaultMemorySize
	// Environment: nil means none.
	Environment   map[string]string
	ZipFile       []byte
	PackageType   string   // "" or "Zip"; "Image" is refused
	Architectures []string // nil = x86_64
	Tags          map[string]string
	// DeadLetterTarget is DeadLetterConfig.TargetArn ("" for none): the
	// queue that gets events whose asynchronous invocation failed.
	DeadLetterTarget string
	Publish          bool // publish version 1 at once (the answer is its configuration)
}

// UpdateCodeInput is UpdateFunctionCode's request.
type UpdateCodeInput struct {
	ZipFile    []byte
	RevisionId string // when set, must equal the current one (PreconditionFailed)
	DryRun     bool   // validate only
	Publish    bool
}

// UpdateConfigInput is UpdateFunctionConfiguration's request: nil fields
// are left as they are.
type UpdateConfigInput struct {
	Role        *string
	Runtime     *string
	Handler     *string
	Description *string
	Timeout     *int
	MemorySize  *int
	// Environment replaces all variables when non-nil (an empty map clears them).
	Environment *map[string]string
	// DeadLetterTarget replaces DeadLetterConfig.TargetArn when non-nil
	// ("" removes it).
	DeadLetterTarget *string
	RevisionId       string
}

// PermissionInput is AddPermission's request.
type PermissionInput struct {
	StatementId    string
	Action         string
	Principal      string
	SourceArn      string
	SourceAccount  string
	PrincipalOrgID string
	RevisionId     string
	Qualifier      string
}

// InvokeInput is a synchronous Invoke (RequestResponse or DryRun).
type InvokeInput struct {
	Name      string // a name, a partial ARN or an ARN, optionally with ":qualifier"
	Qualifier string // "", $LATEST, a version or an alias
	Payload   []byte
	// ClientContext is X-Amz-Client-Context as sent (base64 of JSON, at
	// most 3583 bytes); "" for none. Anything else is
	// ErrInvalidRequestContent.
	ClientContext string
	// RequestID is the invocation's id; "" makes a new one (an
	// asynchronous worker passes the id it accepted the event with).
	RequestID string
	LogTail   bool   // LogType Tail: return the last 4 KB of the log
	DryRun    bool   // check only; no process runs
	TraceID   string // X-Amzn-Trace-Id of the caller, "" = Sluice makes one
	// PayloadChecked: the caller already found Payload to be JSON (the
	// Lambda API edge does, with its own message), so Invoke does not
	// scan it a second time.
	PayloadChecked bool
	// Lineage is what caused the invocation: an event source mapping passes
	// its batch's, the Lambda API edge the calling invocation's when a
	// function instance's credentials made the Invoke. Requests the
	// function makes carry it on with this invocation appended
	// (Current.Lineage), which is how a loop through a queue or through
	// Invoke is seen. Empty for an Invoke no function made. InvokeAsync
	// queues the event with it when its Chain is not empty.
	Lineage event.Lineage
}

// InvokeOutput is the result of an Invoke. A function error is not a Go
// error: it is FunctionError "Unhandled" with the error JSON as Payload
// (HTTP 200 with X-Amz-Function-Error on the wire).
type InvokeOutput struct {
	RequestID       string
	Payload         []byte
	FunctionError   string // "" or "Unhandled"
	LogResult       string // base64 of the last 4 KB of the log when LogTail
	ExecutedVersion string // "$LATEST" or the version an alias resolved to
}

// AccountSettings is GetAccountSettings' answer.
type AccountSettings struct {
	AccountLimit AccountLimit `json:"AccountLimit"`
	AccountUsage AccountUsage `json:"AccountUsage"`
}

// AccountLimit are the account's limits; ConcurrentExecutions is
// SLUICE_MAX_INSTANCES.
type AccountLimit struct {
	TotalCodeSize                  int64 `json:"TotalCodeSize"`
	CodeSizeUnzipped               int64 `json:"CodeSizeUnzipped"`
	CodeSizeZipped                 int64 `json:"CodeSizeZipped"`
	ConcurrentExecutions           int   `json:"ConcurrentExecutions"`
	UnreservedConcurrentExecutions int   `json:"UnreservedConcurrentExecutions"`
}

// AccountUsage counts the functions and their code.
type AccountUsage struct {
	TotalCodeSize int64 `json:"TotalCodeSize"`
	FunctionCount int64 `json:"FunctionCount"`
}

// Current describes the invocation an instance serves, found by the
// access key of the instance's credentials (lineage and loop detection).
type Current struct {
	FunctionName string
	FunctionARN  string
	RequestID    string // "" while the instance is idle
	TraceID      string
	// Lineage is the invocation's cause with the invocation appended:
	// what the function's own requests carry, so that the events they
	// cause count toward the request that started the chain (the wait
	// API follows them).
	Lineage event.Lineage
}

// LogOptions tune Logs.
type LogOptions struct {
	// Follow keeps writing new log data until ctx ends.
	Follow bool
	// Tail limits the first write to the last Tail bytes (0 = all kept).
	Tail int
}
