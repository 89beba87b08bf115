package lambdaapi

import (
	"errors"
	"net/http"
	"strconv"

	"sluice/internal/function"
)

// name is the {FunctionName} path parameter.
func (c *call) name() string { return c.segs[2] }

// codeInput is the Code member of CreateFunction and the code fields of
// UpdateFunctionCode.
type codeInput struct {
	ZipFile         []byte `json:"ZipFile"` // base64 in JSON
	S3Bucket        string `json:"S3Bucket"`
	S3Key           string `json:"S3Key"`
	S3ObjectVersion string `json:"S3ObjectVersion"`
	ImageUri        string `json:"ImageUri"`
}

type environment struct {
	Variables map[string]string `json:"Variables"`
}

// zip returns the package bytes: ZipFile, or the S3 object it names.
func (h *Handler) zip(c *call, in codeInput) ([]byte, error) {
	switch {
	case in.ImageUri != "":
		return nil, newErr("InvalidParameterValueException", "Sluice runs Zip packages only; container images (ImageUri) are not supported")
	case len(in.ZipFile) > 0 && (in.S3Bucket != "" || in.S3Key != ""):
		return nil, newErr("InvalidParameterValueException", "Please do not provide other FunctionCode parameters when providing a ZipFile.")
	case len(in.ZipFile) > 0:
		return in.ZipFile, nil
	case in.S3Bucket == "" && in.S3Key == "":
		return nil, nil // the domain answers "Please provide a source for function code."
	case in.S3Bucket == "" || in.S3Key == "":
		return nil, newErr("InvalidParameterValueException", "Please provide a source for function code.")
	case in.S3ObjectVersion != "":
		return nil, newErr("InvalidParameterValueException", "Sluice keeps no object versions; leave S3ObjectVersion out")
	case h.objects == nil:
		return nil, newErr("InvalidParameterValueException", "This server cannot read function code from S3")
	}
	b, err := h.objects.ReadObject(c.ctx, in.S3Bucket, in.S3Key, function.MaxZipSize)
	switch {
	case errors.Is(err, ErrNoSuchBucket):
		return nil, newErr("InvalidParameterValueException", "Error occurred while GetObject. S3 Error Code: NoSuchBucket. S3 Error Message: The specified bucket does not exist")
	case errors.Is(err, ErrNoSuchKey):
		return nil, newErr("InvalidParameterValueException", "Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: The specified key does not exist.")
	case errors.Is(err, ErrObjectTooLarge):
		return nil, newErr("RequestTooLargeException", "Request must be smaller than %d bytes for the %s operation", function.MaxZipSize, c.op)
	case err != nil:
		return nil, err
	}
	return b, nil
}

func (h *Handler) createFunction(c *call) error {
	var in struct {
		FunctionName  string            `json:"FunctionName"`
		Role          string            `json:"Role"`
		Runtime       string            `json:"Runtime"`
		Handler       string            `json:"Handler"`
		Description   string            `json:"Description"`
		Timeout       *int              `json:"Timeout"`
		MemorySize    *int              `json:"MemorySize"`
		Environment   *environment      `json:"Environment"`
		Code          codeInput         `json:"Code"`
		PackageType   string            `json:"PackageType"`
		Architectures []string          `json:"Architectures"`
		Tags          map[string]string `json:"Tags"`
		Publish       bool              `json:"Publish"`
		// DeadLetterConfig is the queue for failed asynchronous invocations.
		DeadLetterConfig *function.DeadLetterConfig `json:"DeadLetterConfig"`
	}
	if err := c.decode(&in); err != nil {
		return err
	}
	zip, err := h.zip(c, in.Code)
	if err != nil {
		return err
	}
	ci := function.CreateInput{
		FunctionName: in.FunctionName, Role: in.Role, Runtime: in.Runtime, Handler: in.Handler,
		Description: in.Description, Timeout: in.Timeout, MemorySize: in.MemorySize, ZipFile: zip,
		PackageType: in.PackageType, Architectures: in.Architectures, Tags: in.Tags, Publish: in.Publish,
	}
	if in.DeadLetterConfig != nil {
		ci.DeadLetterTarget = in.DeadLetterConfig.TargetArn
	}
	if in.Environment != nil {
		ci.Environment = in.Environment.Variables
		if ci.Environment == nil {
			ci.Environment = map[string]string{}
		}
	}
	cfg, err := h.fn.Create(c.ctx, ci)
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusCreated, cfg)
}

func (h *Handler) listFunctions(c *call) error {
	q := c.r.URL.Query()
	max := 0
	if s := q.Get("MaxItems"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 10000 {
			return newErr("ValidationException", "1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 10000", s)
		}
		max = n
	}
	fns, next, err := h.fn.List(c.ctx, q.Get("Marker"), max)
	if err != nil {
		return err
	}
	out := struct {
		Functions  []function.Configuration `json:"Functions"`
		NextMarker string                   `json:"NextMarker,omitempty"`
	}{fns, next}
	return c.writeJSON(http.StatusOK, out)
}

func (h *Handler) getFunction(c *call) error {
	f, err := h.fn.Get(c.ctx, c.name(), c.r.URL.Query().Get("Qualifier"))
	if err != nil {
		return err
	}
	type concurrency struct {
		ReservedConcurrentExecutions int `json:"ReservedConcurrentExecutions"`
	}
	out := struct {
		Configuration function.Configuration `json:"Configuration"`
		Code          struct {
			RepositoryType string `json:"RepositoryType"`
			Location       string `json:"Location"`
		} `json:"Code"`
		Tags        map[string]string `json:"Tags,omitempty"`
		Concurrency *concurrency      `json:"Concurrency,omitempty"`
	}{Configuration: f.Configuration, Tags: f.Tags}
	out.Code.RepositoryType = "S3"
	out.Code.Location, err = h.codeLocation(f.Configuration.FunctionName)
	if err != nil {
		return err
	}
	if f.ReservedConcurrency != nil {
		out.Concurrency = &concurrency{*f.ReservedConcurrency}
	}
	return c.writeJSON(http.StatusOK, out)
}

func (h *Handler) getFunctionConfiguration(c *call) error {
	cfg, err := h.fn.GetConfiguration(c.ctx, c.name(), c.r.URL.Query().Get("Qualifier"))
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusOK, cfg)
}

func (h *Handler) deleteFunction(c *call) error {
	if err := h.fn.Delete(c.ctx, c.name(), c.r.URL.Query().Get("Qualifier")); err != nil {
		return err
	}
	return c.writeEmpty(http.StatusNoContent)
}

func (h *Handler) updateFunctionCode(c *call) error {
	var in struct {
		codeInput
		RevisionId    string   `json:"RevisionId"`
		DryRun        bool     `json:"DryRun"`
		Publish       bool     `json:"Publish"`
		Architectures []string `json:"Architectures"`
	}
	if err := c.decode(&in); err != nil {
		return err
	}
	zip, err := h.zip(c, in.codeInput)
	if err != nil {
		return err
	}
	cfg, err := h.fn.UpdateCode(c.ctx, c.name(), function.UpdateCodeInput{ZipFile: zip, RevisionId: in.RevisionId, DryRun: in.DryRun, Publish: in.Publish})
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusOK, cfg)
}

func (h *Handler) updateFunctionConfiguration(c *call) error {
	var in struct {
		Role        *string      `json:"Role"`
		Runtime     *string      `json:"Runtime"`
		Handler     *string      `json:"Handler"`
		Description *string      `json:"Description"`
		Timeout     *int         `json:"Timeout"`
		MemorySize  *int         `json:"MemorySize"`
		Environment *environment `json:"Environment"`
		RevisionId  string       `json:"RevisionId"`
		// DeadLetterConfig {} or {"TargetArn":""} removes the queue.
		DeadLetterConfig *function.DeadLetterConfig `json:"DeadLetterConfig"`
	}
	if err := c.decode(&in); err != nil {
		return err
	}
	u := function.UpdateConfigInput{Role: in.Role, Runtime: in.Runtime, Handler: in.Handler, Description: in.Description,
		Timeout: in.Timeout, MemorySize: in.MemorySize, RevisionId: in.RevisionId}
	if in.DeadLetterConfig != nil {
		u.DeadLetterTarget = &in.DeadLetterConfig.TargetArn
	}
	if in.Environment != nil {
		// "Environment": {} (or Variables null) clears the variables, as
		// on Lambda.
		vars := in.Environment.Variables
		if vars == nil {
			vars = map[string]string{}
		}
		u.Environment = &vars
	}
	cfg, err := h.fn.UpdateConfiguration(c.ctx, c.name(), u)
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusOK, cfg)
}

func (h *Handler) addPermission(c *call) error {
	var in struct {
		StatementId      string `json:"StatementId"`
		Action           string `json:"Action"`
		Principal        string `json:"Principal"`
		SourceArn        string `json:"SourceArn"`
		SourceAccount    string `json:"SourceAccount"`
		PrincipalOrgID   string `json:"PrincipalOrgID"`
		RevisionId       string `json:"RevisionId"`
		EventSourceToken string `json:"EventSourceToken"`
	}
	if err := c.decode(&in); err != nil {
		return err
	}
	st, err := h.fn.AddPermission(c.ctx, c.name(), function.PermissionInput{
		StatementId: in.StatementId, Action: in.Action, Principal: in.Principal, SourceArn: in.SourceArn,
		SourceAccount: in.SourceAccount, PrincipalOrgID: in.PrincipalOrgID, RevisionId: in.RevisionId,
		Qualifier: c.r.URL.Query().Get("Qualifier"),
	})
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusCreated, struct {
		Statement string `json:"Statement"`
	}{st})
}

func (h *Handler) removePermission(c *call) error {
	q := c.r.URL.Query()
	if err := h.fn.RemovePermission(c.ctx, c.name(), q.Get("Qualifier"), c.segs[4], q.Get("RevisionId")); err != nil {
		return err
	}
	return c.writeEmpty(http.StatusNoContent)
}

func (h *Handler) getPolicy(c *call) error {
	doc, rev, err := h.fn.GetPolicy(c.ctx, c.name(), c.r.URL.Query().Get("Qualifier"))
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusOK, struct {
		Policy     string `json:"Policy"`
		RevisionId string `json:"RevisionId"`
	}{doc, rev})
}

type reserved struct {
	ReservedConcurrentExecutions *int `json:"ReservedConcurrentExecutions,omitempty"`
}

func (h *Handler) putConcurrency(c *call) error {
	var in reserved
	if err := c.decode(&in); err != nil {
		return err
	}
	if in.ReservedConcurrentExecutions == nil {
		return newErr("ValidationException", "1 validation error detected: Value null at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must not be null")
	}
	n, err := h.fn.PutConcurrency(c.ctx, c.name(), *in.ReservedConcurrentExecutions)
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusOK, reserved{&n})
}

func (h *Handler) getConcurrency(c *call) error {
	n, err := h.fn.GetConcurrency(c.ctx, c.name())
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusOK, reserved{n})
}

func (h *Handler) deleteConcurrency(c *call) error {
	if err := h.fn.DeleteConcurrency(c.ctx, c.name()); err != nil {
		return err
	}
	return c.writeEmpty(http.StatusNoContent)
}

func (h *Handler) tagResource(c *call) error {
	var in struct {
		Tags map[string]string `json:"Tags"`
	}
	if err := c.decode(&in); err != nil {
		return err
	}
	if err := h.fn.TagResource(c.ctx, c.segs[2], in.Tags); err != nil {
		return err
	}
	return c.writeEmpty(http.StatusNoContent)
}

func (h *Handler) untagResource(c *call) error {
	if err := h.fn.UntagResource(c.ctx, c.segs[2], c.r.URL.Query()["tagKeys"]); err != nil {
		return err
	}
	return c.writeEmpty(http.StatusNoContent)
}

func (h *Handler) listTags(c *call) error {
	tags, err := h.fn.ListTags(c.ctx, c.segs[2])
	if err != nil {
		return err
	}
	if tags == nil {
		tags = map[string]string{}
	}
	return c.writeJSON(http.StatusOK, struct {
		Tags map[string]string `json:"Tags"`
	}{tags})
}

func (h *Handler) getAccountSettings(c *call) error {
	s, err := h.fn.AccountSettings(c.ctx)
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusOK, s)
}
