// The Evaluate page: a proposal from an example, JSON or the generated form, evaluated by
// POST /v1/evaluations; `?example=NAME` opens that example evaluated, `?id=ID` a stored result.
// A what-if (an option of what it would take, or any field changed) is the service's too:
// POST /v1/evaluations/{id}/what-if, shown beside the result it changes.

import { ApiError, evaluate, get, supports } from "./api.js";
import { $, fill, hideProblem, say, showProblem, tabs } from "./dom.js";
import { renderEvaluation } from "./evaluation.js";
import { buildForm, fillForm, formChanges, readForm, showFieldErrors } from "./proposal-form.js";
import { signedIn } from "./session.js";
import { fromOption, renderWhatIf, whatIf } from "./whatif.js";

const WHAT_IF = "/v1/evaluations/{id}/what-if";
const state = { examples: [], proposal: null, job: null, whatIf: false };
const status = $("#input-status");
const problems = $("#input-errors");
const formFields = $("#form-fields");
const selectTab = tabs($(".tabs"));

function explain() {
  return $("#explain-full").checked ? "full" : "summary";
}

async function runWhatIf(changes) {
  const region = $("#what-if-errors");
  hideProblem(region);
  showFieldErrors($("#what-if-fields"), []);
  say($("#what-if-status"), "Evaluating the what-if…");
  try {
    const answer = await whatIf(state.job.id, changes);
    renderWhatIf($("#what-if-result"), answer);
    say($("#what-if-status"), `What-if: ${answer.after.rating}, ${answer.after.overall_score} (was ${answer.before.rating}, ${answer.before.overall_score}).`);
    $("#what-if-heading").focus();
  } catch (error) {
    say($("#what-if-status"), "");
    if (!(error instanceof ApiError)) throw error;
    // the service names an edit `set.<path>` or `unset.<path>`: beside its control, and in the summary
    showFieldErrors($("#what-if-fields"), error.errors.map((e) => ({ ...e, field: e.field.replace(/^(un)?set\./, "") })));
    showProblem(region, error);
  }
}

function resetWhatIf(proposal) {
  hideProblem($("#what-if-errors"));
  fill($("#what-if-result"));
  const editable = state.whatIf && Boolean(proposal);
  $("#what-if-edit").hidden = !editable;
  if (editable) fillForm($("#what-if-fields"), proposal);
  say($("#what-if-status"), state.whatIf
    ? "Apply an option of what it would take, or change any field: the service evaluates it and shows the result beside this one."
    : "This service does not offer what-if evaluations (POST /v1/evaluations/{id}/what-if). Edit the proposal and evaluate it again.");
}

function show(job, proposal) {
  state.proposal = proposal;
  state.job = job;
  $("#result").hidden = false;
  renderEvaluation($("#evaluation"), job, {
    onApply: state.whatIf ? (option) => runWhatIf(fromOption(option)) : null,
    whatIf: $("#what-if"),
  });
  resetWhatIf(proposal);
  $("#edit-proposal").disabled = !proposal;
  $("#compare-link").href = `/console/compare?evaluation=${encodeURIComponent(job.id)}`;
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
  $("#what-if-form").addEventListener("submit", (event) => {
    event.preventDefault();
    runWhatIf(formChanges($("#what-if-fields"), state.proposal));
  });
  $("#edit-proposal").addEventListener("click", () => {
    fillForm(formFields, state.proposal);
    $("#proposal-json").value = JSON.stringify(state.proposal, null, 2);
    selectTab("tab-form");
    $("#tab-form").focus();
  });
}

async function main() {
  wire();
  if (!(await signedIn())) return;
  const [fields, offered] = await Promise.all([get("/v1/fields"), supports("post", WHAT_IF), loadExamples()]);
  buildForm(formFields, fields.fields);
  buildForm($("#what-if-fields"), fields.fields, "what-if");
  state.whatIf = offered;
  await openFromLink();
}

main();
