// The Evaluate page: a proposal from an example, JSON or the generated form, evaluated by
// POST /v1/evaluations; `?example=NAME` opens that example evaluated, `?id=ID` a stored result.

import { ApiError, evaluate, get, supports } from "./api.js";
import { $, hideProblem, say, showProblem, tabs } from "./dom.js";
import { renderEvaluation } from "./evaluation.js";
import { buildForm, fillForm, readForm, showFieldErrors } from "./proposal-form.js";
import { signedIn } from "./session.js";

const state = { examples: [], proposal: null };
const status = $("#input-status");
const problems = $("#input-errors");
const formFields = $("#form-fields");
const selectTab = tabs($(".tabs"));

function explain() {
  return $("#explain-full").checked ? "full" : "summary";
}

function show(job, proposal) {
  state.proposal = proposal;
  $("#result").hidden = false;
  renderEvaluation($("#evaluation"), job);
  $("#edit-proposal").disabled = !proposal;
  $("#result-heading").focus();
}

function fail(error) {
  say(status, "");
  if (!(error instanceof ApiError)) throw error;
  showFieldErrors(formFields, error.errors);  // beside their controls, and all in the summary
  showProblem(problems, error);
}

async function run(proposal, deepLink) {
  hideProblem(problems);
  showFieldErrors(formFields, []);
  say(status, "Evaluating…");
  try {
    const job = await evaluate(proposal, explain());
    say(status, `Evaluated: ${job.evaluation.rating}, ${job.evaluation.overall_score}.`);
    window.history.replaceState(null, "", deepLink(job));
    show(job, proposal);
  } catch (error) {
    fail(error);
  }
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch (error) {
    showProblem(problems, { message: `Not valid JSON: ${error.message}` });
    return undefined;
  }
}

async function loadExamples() {
  const select = $("#example");
  state.examples = (await get("/v1/examples")).examples;
  select.replaceChildren(new Option(state.examples.length ? "Choose an example…" : "No examples on this service", ""),
    ...state.examples.map((e) => new Option(`${e.name} — ${e.title}`, e.name)));
}

async function openFromLink() {
  const query = new URLSearchParams(window.location.search);
  const name = query.get("example");
  const id = query.get("id");
  if (name) {
    const example = state.examples.find((e) => e.name === name);
    if (!example) {
      showProblem(problems, { message: `No example named ${name}.` });
      return;
    }
    $("#example").value = name;
    await run(example.proposal, () => `?example=${encodeURIComponent(name)}`);
  } else if (id) {
    try {
      const job = await get(`/v1/evaluations/${encodeURIComponent(id)}`);
      if (job.status !== "done") throw new ApiError(job.error?.status || 409, job.error || { detail: `Evaluation ${id} is ${job.status}.` });
      show(job, null);
    } catch (error) {
      fail(error);
    }
  }
}

function wire() {
  $("#example-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const name = $("#example").value;
    const example = state.examples.find((e) => e.name === name);
    if (example) run(example.proposal, () => `?example=${encodeURIComponent(name)}`);
  });
  $("#json-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const proposal = parseJson($("#proposal-json").value);
    if (proposal !== undefined) run(proposal, (job) => `?id=${job.id}`);
  });
  $("#proposal-file").addEventListener("change", async (event) => {
    const [file] = event.target.files;
    if (file) $("#proposal-json").value = await file.text();
  });
  $("#json-to-form").addEventListener("click", () => {
    const proposal = parseJson($("#proposal-json").value);
    if (proposal === undefined) return;
    fillForm(formFields, proposal);
    selectTab("tab-form");
  });
  $("#proposal-form").addEventListener("submit", (event) => {
    event.preventDefault();
    run(readForm(formFields), (job) => `?id=${job.id}`);
  });
  $("#form-to-json").addEventListener("click", () => {
    $("#proposal-json").value = JSON.stringify(readForm(formFields), null, 2);
    selectTab("tab-json");
  });
  $("#edit-proposal").addEventListener("click", () => {
    fillForm(formFields, state.proposal);
    $("#proposal-json").value = JSON.stringify(state.proposal, null, 2);
    selectTab("tab-form");
    $("#tab-form").focus();
  });
}

async function whatIfNotice() {
  const offered = await supports("post", "/v1/evaluations/{evaluation_id}/what-if");
  say($("#what-if-status"), offered
    ? "This service offers what-if evaluations (POST /v1/evaluations/{id}/what-if); the console shows them beside this result in a later version."
    : "Side-by-side what-if results arrive with POST /v1/evaluations/{id}/what-if, which this service does not offer yet. Meanwhile, edit the proposal and evaluate it again.");
}

async function main() {
  wire();
  if (!(await signedIn())) return;
  const [fields] = await Promise.all([get("/v1/fields"), loadExamples()]);
  buildForm(formFields, fields.fields);
  whatIfNotice();
  await openFromLink();
}

main();
