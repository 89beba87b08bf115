// Sluice's Node.js runtime bootstrap: a small Lambda Runtime API client
// (aws-wire.md 1.6), because the Node RIC builds native code at install.
// Started as `node bootstrap.mjs <file.export>` with the task root as cwd.
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const API = process.env.AWS_LAMBDA_RUNTIME_API;
const TASK_ROOT = process.env.LAMBDA_TASK_ROOT || process.cwd();
const [HOST, PORT] = API.split(":");
const BASE = "/2018-06-01/runtime";
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function request(method, p, body, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: HOST, port: Number(PORT), method, path: BASE + p, agent,
      headers: Object.assign({}, headers || {}, body !== undefined ? { "Content-Length": Buffer.byteLength(body) } : {}) },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      });
    req.on("error", reject);
    // No timeout: GET next blocks until an invocation exists.
    if (body !== undefined) req.write(body);
    req.end();
  });
}

function errorBody(err) {
  if (err instanceof Error) {
    return { errorType: err.name || "Error", errorMessage: err.message, trace: String(err.stack || "").split("\n") };
  }
  return { errorType: typeof err === "string" ? "string" : "Error", errorMessage: String(err), trace: [] };
}

async function initError(type, message, err) {
  const body = err ? Object.assign(errorBody(err), { errorType: type, errorMessage: message }) : { errorType: type, errorMessage: message, trace: [] };
  console.error(`${new Date().toISOString()}\tundefined\tERROR\t${JSON.stringify(body)}`);
  await request("POST", "/init/error", JSON.stringify(body), { "Content-Type": "application/json", "Lambda-Runtime-Function-Error-Type": type });
  process.exit(1);
}

function nearestType(dir) {
  for (let d = dir; ; d = path.dirname(d)) {
    const pj = path.join(d, "package.json");
    if (fs.existsSync(pj)) {
      try { return JSON.parse(fs.readFileSync(pj, "utf8")).type || "commonjs"; } catch { return "commonjs"; }
    }
    if (d === TASK_ROOT || d === path.dirname(d)) return "commonjs";
  }
}

async function loadModule(modPath) {
  const base = path.resolve(TASK_ROOT, modPath);
  const candidates = [base, base + ".js", base + ".mjs", base + ".cjs"];
  const file = candidates.find((f) => fs.existsSync(f) && fs.statSync(f).isFile());
  if (!file) {
    const e = new Error(`Cannot find module '${modPath}'`);
    e.code = "MODULE_NOT_FOUND";
    throw e;
  }
  const esm = file.endsWith(".mjs") || (file.endsWith(".js") && nearestType(path.dirname(file)) === "module");
  if (esm) return await import(pathToFileURL(file).href);
  return createRequire(path.join(TASK_ROOT, "index.js"))(file);
}

async function loadHandler(handler) {
  // Node splits on the first dot: "lib/mod.nested.fn".
  const m = /^([^.]*)\.(.*)$/.exec(handler);
  if (!m) return initError("Runtime.MalformedHandlerName", `Bad handler ${handler}`);
  let mod;
  try {
    mod = await loadModule(m[1]);
  } catch (e) {
    if (e instanceof SyntaxError) return initError("Runtime.UserCodeSyntaxError", `${e.name}: ${e.message}`, e);
    if (e && (e.code === "MODULE_NOT_FOUND" || e.code === "ERR_MODULE_NOT_FOUND")) {
      return initError("Runtime.ImportModuleError", `Error: Cannot find module '${m[1]}'\nRequire stack:\n- ${process.argv[1]}`, e);
    }
    return initError("Runtime.ImportModuleError", `${e && e.name}: ${e && e.message}`, e);
  }
  let fn = mod;
  for (const part of m[2].split(".")) fn = fn == null ? undefined : fn[part];
  if (fn === undefined && mod && mod.default) {
    fn = mod.default;
    for (const part of m[2].split(".")) fn = fn == null ? undefined : fn[part];
  }
  if (typeof fn !== "function") {
    return initError("Runtime.HandlerNotFound", `${m[1]}.${m[2]} is undefined or not exported`);
  }
  return fn;
}

function makeContext(h) {
  const deadline = Number(h["lambda-runtime-deadline-ms"] || 0);
  const cc = h["lambda-runtime-client-context"];
  const ci = h["lambda-runtime-cognito-identity"];
  return {
    callbackWaitsForEmptyEventLoop: true,
    awsRequestId: h["lambda-runtime-aws-request-id"],
    invokedFunctionArn: h["lambda-runtime-invoked-function-arn"],
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    clientContext: cc ? JSON.parse(cc) : undefined,
    identity: ci ? JSON.parse(ci) : undefined,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

function run(fn, event, context) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const callback = (err, result) => {
      if (settled) return;
      settled = true;
      if (err !== undefined && err !== null) reject(err); else resolve(result);
    };
    context.done = callback;
    context.succeed = (r) => callback(null, r);
    context.fail = (e) => callback(e || new Error("handled"));
    try {
      const r = fn(event, context, callback);
      if (r && typeof r.then === "function") r.then((v) => callback(null, v), (e) => callback(e === undefined ? new Error("undefined") : e));
      else if (fn.length < 3) callback(null, r);
    } catch (e) {
      callback(e);
    }
  });
}

async function main() {
  const fn = await loadHandler(process.argv[2] || process.env._HANDLER || "");
  for (;;) {
    const next = await request("GET", "/invocation/next");
    if (next.status !== 200) {
      console.error(`runtime api next: ${next.status} ${next.body}`);
      process.exit(1);
    }
    const h = next.headers;
    const id = h["lambda-runtime-aws-request-id"];
    if (h["lambda-runtime-trace-id"]) process.env._X_AMZN_TRACE_ID = h["lambda-runtime-trace-id"];
    else delete process.env._X_AMZN_TRACE_ID;
    const context = makeContext(h);
    let event;
    try {
      event = next.body.length ? JSON.parse(next.body.toString("utf8")) : {};
      const result = await run(fn, event, context);
      const out = result === undefined ? "null" : JSON.stringify(result);
      await request("POST", `/invocation/${id}/response`, out, { "Content-Type": "application/json" });
    } catch (e) {
      const body = errorBody(e);
      console.error(`${new Date().toISOString()}\t${id}\tERROR\tInvoke Error \t${JSON.stringify(body)}`);
      await request("POST", `/invocation/${id}/error`, JSON.stringify(body),
        { "Content-Type": "application/json", "Lambda-Runtime-Function-Error-Type": body.errorType });
    }
  }
}

process.on("uncaughtException", (e) => {
  console.error(`${new Date().toISOString()}\tundefined\tERROR\tUncaught Exception \t${JSON.stringify(errorBody(e))}`);
  process.exit(129);
});
main();
