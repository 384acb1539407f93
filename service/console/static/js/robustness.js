// The robustness view of a batch: start the analysis (POST …/robustness), follow its job with a
// progress bar, then show the API's own charts (SVG, fetched with the key and shown as images)
// and tables of the very figures they draw. Nothing is computed here: every number is the
// job's result.

import { ApiError, call, download } from "./api.js";
import { $, fill, h, hideProblem, say, showProblem, table } from "./dom.js";
import { percent, score, words } from "./format.js";

const SHOWN = 20; // proposals listed in the tables; the JSON download has every one
const sleep = (seconds) => new Promise((done) => { setTimeout(done, seconds * 1000); });
const form = () => $("#robustness-form");
let running = null; // the job being followed: its Location

function request() {
  const fields = form().elements;
  const body = {
    samples: Number(fields.samples.value),
    top_k: Number(fields.top_k.value),
    currency: fields.currency.value,
  };
  const budget = fields.budget.value.trim();
  if (budget) body.budget = Number(budget);
  return body;
}

function name(entry) {
  return entry.title || entry.proposal_id || `item ${entry.index}`;
}

function names(entries) {
  return entries.length ? entries.map(name).join(", ") : "—";
}

// A chart of the job as an image: the SVG is fetched with the key (an <img> could not send it).
async function chart(link, label) {
  const response = await call("GET", link, { accept: "image/svg+xml" });
  const source = URL.createObjectURL(await response.blob());
  const file = link.split("/").pop();
  return h("figure", { class: "chart-svg" },
    h("img", { src: source, alt: `${label}: the table below gives the same figures.`, "data-chart": file }),
    h("figcaption", {}, label, " ",
      h("button", { type: "button", class: "link", onclick: () => download(link, {}, "image/svg+xml") }, "Download the SVG")));
}

function stabilityTable(result) {
  const holds = (interval) => `${score(interval.lower, 3)} to ${score(interval.upper, 3)}`;
  return table("How far each weight can move, the others rescaled in proportion, before the first place or the top set change (exact, not sampled).", [
    ["Criterion", (c) => words(c.criterion)],
    ["Weight", (c) => score(c.weight, 3), { numeric: true }],
    ["First place holds", (c) => holds(c.first), { numeric: true }],
    ["Below that, first", (c) => names(c.first.below.takes_over)],
    ["Above that, first", (c) => names(c.first.above.takes_over)],
    [`Top ${result.top_k} hold`, (c) => holds(c.top_k), { numeric: true }],
  ], result.weight_stability, { class: "data", id: "robustness-stability" });
}

function acceptabilityTable(result) {
  const shown = result.rank_acceptability.slice(0, SHOWN);
  return table(`Over ${result.samples.toLocaleString("en-US")} samples: the ${shown.length} proposals with the best expected rank of ${result.rank_acceptability.length}.`, [
    ["Proposal", name],
    ["Rank as scored", (p) => p.rank, { numeric: true }],
    ["Ranks first", (p) => percent(p.first, 1), { numeric: true }],
    [`In the top ${result.top_k}`, (p) => percent(p.top_k, 1), { numeric: true }],
    ["Expected rank", (p) => score(p.expected_rank, 1), { numeric: true }],
    ["5–95% of samples", (p) => `${p.rank_interval[0]} to ${p.rank_interval[1]}${p.rank_interval_exact ? "" : " (binned)"}`, { numeric: true }],
  ], shown, { class: "data", id: "robustness-acceptability" });
}

function coreTable(portfolio) {
  const listed = portfolio.proposals.filter((p) => p.status !== "exterior");
  const never = portfolio.proposals.length - listed.length;
  return table(`Over ${portfolio.samples.toLocaleString("en-US")} portfolio samples: every proposal funded in at least one; ${never} never funded.`, [
    ["Proposal", name],
    ["Funded in", (p) => percent(p.share, 1), { numeric: true }],
    ["± one standard error", (p) => percent(p.standard_error, 1), { numeric: true }],
    ["Status", (p) => words(p.status)],
  ], listed, { class: "data", id: "robustness-core" });
}

// The uncertainty a result was sampled under, in words (also the portfolio report's).
export function declared(uncertainty) {
  if (!uncertainty) return "The ruleset declares no uncertainty: every sample is the stated weights and costs, so the ranking and the portfolio are the batch's own.";
  const parts = [];
  const weights = Object.entries(uncertainty.weights || {});
  if (weights.length) parts.push(`weights within ${weights.map(([c, [low, high]]) => `${words(c)} ${low}–${high}`).join(", ")}`);
  if (uncertainty.weight_concentration) parts.push(`weights around the stated ones (concentration ${uncertainty.weight_concentration})`);
  const costs = Object.entries(uncertainty.cost_by_path || {});
  if (costs.length) parts.push(`costs ${costs.map(([path, [low, high]]) => `${words(path)} ×${low}–${high}`).join(", ")}`);
  if (uncertainty.exchange_rate) parts.push(`the yen-dollar rate ×${uncertainty.exchange_rate[0]}–${uncertainty.exchange_rate[1]}`);
  return `Under the uncertainty the ruleset declares: ${parts.join("; ")}.`;
}

async function render(job) {
  const { result } = job;
  const links = result.charts;
  const [tornado, heatMap, core] = await Promise.all([
    chart(links.tornado, "Weight-stability intervals"),
    chart(links["rank-acceptability"], "Rank acceptability"),
    links["core-indices"] ? chart(links["core-indices"], "Portfolio core indices") : null,
  ]);
  fill($("#robustness-result"),
    h("p", { id: "robustness-summary" }, declared(result.uncertainty),
      ` ${result.samples.toLocaleString("en-US")} samples, seed ${result.seed}, ruleset ${result.ruleset_version}.`),
    h("p", { class: "actions" },
      h("button", { type: "button", class: "secondary", onclick: () => download(`/v1/jobs/${encodeURIComponent(job.id)}`, {}, "application/json") }, "Download the result (JSON)")),
    h("h3", {}, "How far the weights can move"), tornado, stabilityTable(result),
    h("h3", {}, "How likely each proposal is to rank first"), heatMap, acceptabilityTable(result),
    result.portfolio ? [h("h3", {}, "Which proposals the portfolio funds whatever the uncertainty"), core, coreTable(result.portfolio)] : null);
}

// The bar and its text follow every poll; the status line says when the job settles.
async function follow(location) {
  for (;;) {
    const response = await call("GET", location);
    const job = await response.json();
    const progress = job.progress || { done: 0, total: 0, percent: 0 };
    $("#robustness-progress").value = progress.percent;
    $("#robustness-progress").hidden = false;
    say($("#robustness-status"), `${words(job.status)}: ${progress.percent}%`);
    if (job.status === "failed") throw new ApiError(job.error?.status || 500, job.error);
    if (!["queued", "running"].includes(job.status)) return job;
    await sleep(Math.min(Number(response.headers.get("Retry-After")) || 1, 0.5));
  }
}

async function analyse(batchId, event) {
  event.preventDefault();
  hideProblem($("#robustness-errors"));
  fill($("#robustness-result"));
  try {
    const started = await call("POST", `/v1/batches/${encodeURIComponent(batchId)}/robustness`, { json: request() });
    const queued = await started.json(); // read to its end: a body left unread keeps the request open
    running = started.headers.get("Location") || `/v1/jobs/${queued.id}`;
    $("#robustness-cancel").hidden = false;
    const job = await follow(running);
    if (job.status === "cancelled") {
      say($("#robustness-status"), "Cancelled.");
      return;
    }
    await render(job);
    say($("#robustness-status"), `Done: ${job.result.samples.toLocaleString("en-US")} samples.`);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    say($("#robustness-status"), "");
    showProblem($("#robustness-errors"), error);
  } finally {
    running = null;
    $("#robustness-cancel").hidden = true;
  }
}

export function wireRobustness(batchId) {
  form().addEventListener("submit", (event) => analyse(batchId, event));
  $("#robustness-cancel").addEventListener("click", async () => {
    if (running) await call("DELETE", running);
  });
}
