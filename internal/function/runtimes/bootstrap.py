# Sluice's Python runtime bootstrap: a small Lambda Runtime API client
# (aws-wire.md 1.6), because awslambdaric cannot be installed here. It is
# started as `python3 bootstrap.py <module.function>` with the task root
# as working directory and speaks exactly the 2018-06-01 Runtime API.
import http.client
import importlib
import json
import os
import sys
import time
import traceback

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
TASK_ROOT = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
BASE = "/2018-06-01/runtime"


def request(method, path, body=None, headers=None):
    host, _, port = API.rpartition(":")
    # No timeout: GET next blocks until an invocation exists.
    conn = http.client.HTTPConnection(host, int(port), timeout=None)
    conn.request(method, BASE + path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    hdrs = {k.lower(): v for k, v in resp.getheaders()}
    conn.close()
    return resp.status, hdrs, data


def error_body(exc, request_id="", error_type=None):
    tb = traceback.format_list(traceback.extract_tb(exc.__traceback__))
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "requestId": request_id,
        "stackTrace": [line for line in tb],
    }


def init_error(error_type, message, exc=None):
    body = {"errorMessage": message, "errorType": error_type, "requestId": "", "stackTrace": []}
    if exc is not None:
        body["stackTrace"] = traceback.format_list(traceback.extract_tb(exc.__traceback__))
    print("[ERROR] %s: %s" % (error_type, message), file=sys.stderr, flush=True)
    request("POST", "/init/error", json.dumps(body).encode(),
            {"Lambda-Runtime-Function-Error-Type": error_type, "Content-Type": "application/json"})
    sys.exit(1)


class LambdaContext(object):
    def __init__(self, request_id, deadline_ms, arn, client_context, identity):
        self.aws_request_id = request_id
        self.invoked_function_arn = arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.client_context = client_context
        self.identity = identity
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(0, int(self._deadline_ms - time.time() * 1000))

    def __repr__(self):
        return "LambdaContext([aws_request_id=%s,function_name=%s])" % (self.aws_request_id, self.function_name)


class _Obj(object):
    def __init__(self, d):
        for k, v in (d or {}).items():
            setattr(self, k, v)


def load_handler(handler):
    if "." not in handler:
        init_error("Runtime.MalformedHandlerName", "Bad handler '%s': not enough values to unpack (expected 2, got 1)" % handler)
    modname, fname = handler.rsplit(".", 1)
    modname = modname.replace("/", ".")
    # Lambda: the task root first, then the runtime's own site-packages
    # (so the machine's boto3 is importable, as on Lambda).
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        sys.path[0] = TASK_ROOT
    else:
        sys.path.insert(0, TASK_ROOT)
    try:
        mod = importlib.import_module(modname)
    except SyntaxError as e:
        init_error("Runtime.UserCodeSyntaxError", "Syntax error in module '%s': %s" % (modname, e), e)
    except ImportError as e:
        init_error("Runtime.ImportModuleError", "Unable to import module '%s': %s" % (modname, e), e)
    except Exception as e:
        init_error("Runtime.Unknown", "Unable to import module '%s': %s" % (modname, e), e)
    fn = getattr(mod, fname, None)
    if fn is None:
        init_error("Runtime.HandlerNotFound", "Handler '%s' missing on module '%s'" % (fname, modname))
    return fn


def main():
    handler = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("_HANDLER", "")
    fn = load_handler(handler)
    while True:
        status, h, body = request("GET", "/invocation/next")
        if status != 200:
            print("[ERROR] runtime api next: %d %r" % (status, body), file=sys.stderr, flush=True)
            sys.exit(1)
        rid = h.get("lambda-runtime-aws-request-id", "")
        trace = h.get("lambda-runtime-trace-id")
        if trace:
            os.environ["_X_AMZN_TRACE_ID"] = trace
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        cc = h.get("lambda-runtime-client-context")
        ci = h.get("lambda-runtime-cognito-identity")
        ctx = LambdaContext(rid, int(h.get("lambda-runtime-deadline-ms", "0")),
                            h.get("lambda-runtime-invoked-function-arn", ""),
                            _Obj(json.loads(cc)) if cc else None,
                            _Obj(json.loads(ci)) if ci else None)
        try:
            event = json.loads(body) if body else {}
            result = fn(event, ctx)
            out = json.dumps(result).encode()
        except Exception as e:
            eb = error_body(e, rid)
            print("[ERROR] %s: %s" % (eb["errorType"], eb["errorMessage"]), file=sys.stderr, flush=True)
            request("POST", "/invocation/%s/error" % rid, json.dumps(eb).encode(),
                    {"Content-Type": "application/json", "Lambda-Runtime-Function-Error-Type": "Runtime.Unknown"})
            continue
        request("POST", "/invocation/%s/response" % rid, out, {"Content-Type": "application/json"})


if __name__ == "__main__":
    main()
