// The console's one way to the service: fetch against /v1 with the signed-in key, problems
// (RFC 9457) raised as ApiError, 202 answers followed until done. Nothing here interprets a
// result: pages show what the API answers.

const KEY = "policy-eval.api-key";

export const credentials = {
  get key() { return sessionStorage.getItem(KEY); },
  set key(value) { sessionStorage.setItem(KEY, value); },
  forget() { sessionStorage.removeItem(KEY); },
};

export class ApiError extends Error {
  constructor(status, problem) {
    const body = problem || {};
    super(body.detail || body.title || `The service answered ${status}.`);
    this.status = status;
    this.problem = body;
  }

  get errors() { return this.problem.errors || []; }

  get problems() { return this.problem.problems || []; }
}

const sleep = (seconds) => new Promise((done) => { setTimeout(done, seconds * 1000); });

function retryAfter(response) {
  const seconds = Number(response.headers.get("Retry-After"));
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 5) : 1;
}

function url(path, query) {
  const found = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") found.searchParams.set(name, value);
  }
  return found;
}

export async function call(method, path, { json, body, type, query, accept } = {}) {
  const headers = new Headers({ Accept: accept || "application/json" });
  if (credentials.key) headers.set("Authorization", `Bearer ${credentials.key}`);
  const init = { method, headers };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    headers.set("Content-Type", "application/json");
  } else if (body !== undefined) {
    init.body = body;
    if (type) headers.set("Content-Type", type);
  }
  const response = await fetch(url(path, query), init);
  if (response.status >= 400) {
    let problem = null;
    try { problem = await response.json(); } catch { /* not a problem document */ }
    if (response.status === 401) document.dispatchEvent(new CustomEvent("policy:unauthorized"));
    throw new ApiError(response.status, problem);
  }
  return response;
}

export async function get(path, query) {
  return (await call("GET", path, { query })).json();
}

export async function send(method, path, json, query) {
  return (await call(method, path, { json, query })).json();
}

// A resource that may answer 202 (an evaluation): poll where it says until it is settled.
export async function settle(response) {
  let job = await response.json();
  let current = response;
  while (job.status === "queued" || job.status === "running") {
    await sleep(retryAfter(current));
    current = await call("GET", current.headers.get("Location") || `/v1/evaluations/${job.id}`);
    job = await current.json();
  }
  if (job.status === "failed") throw new ApiError(job.error?.status || 500, job.error);
  return job;
}

export async function evaluate(proposal, explain) {
  return settle(await call("POST", "/v1/evaluations", { json: proposal, query: { explain } }));
}

// A download that needs the key: fetched, then handed to the browser as a file.
export async function download(path, query, accept) {
  const response = await call("GET", path, { query, accept });
  const disposition = response.headers.get("Content-Disposition") || "";
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] || path.split("/").pop();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  return name;
}

let documentPromise = null;

// The OpenAPI document: which operations this service offers, and its vocabularies.
export function openapi() {
  documentPromise ||= fetch("/openapi.json").then((response) => response.json());
  return documentPromise;
}

// Whether the service offers an operation; path parameters match whatever their name
// (`/v1/evaluations/{id}/what-if`).
export async function supports(method, path) {
  const shape = (template) => template.replace(/\{[^}]+\}/g, "{}");
  const paths = (await openapi()).paths || {};
  const found = Object.keys(paths).find((template) => shape(template) === shape(path));
  return Boolean(found && paths[found][method.toLowerCase()]);
}

export async function vocabulary(schema, property) {
  return (await openapi()).components?.schemas?.[schema]?.properties?.[property]?.enum || [];
}
