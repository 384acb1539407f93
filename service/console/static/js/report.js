// A printable one-page report, of an evaluation (/console/reports/evaluations/ID) or of a
// portfolio (/console/reports/portfolios/BATCH?budget=…&currency=…), with its PDF from the API.

import { ApiError, call, download, get } from "./api.js";
import { spendChart } from "./charts.js";
import { $, fill, h, showProblem, table } from "./dom.js";
import { renderEvaluation } from "./evaluation.js";
import { money, percent, score, words } from "./format.js";
import { declared } from "./robustness.js";
import { signedIn } from "./session.js";

const { kind, subject } = $("#report").dataset;
const query = Object.fromEntries(new URLSearchParams(window.location.search));
const ROWS = 25; // per list on the page; the console's Batches view lists them all

async function evaluationReport() {
  const base = `/v1/evaluations/${encodeURIComponent(subject)}`;
  const job = await get(base);
  if (job.status !== "done") throw new ApiError(409, job.error || { detail: `Evaluation ${subject} is ${job.status}.` });
  renderEvaluation($("#report-body"), job, { level: 2, compact: true });
  return [`${base}/report.pdf`, {}];
}

function rows(entries, columns, caption) {
  const shown = entries.slice(0, ROWS);
  return [table(caption, columns, shown, { class: "data" }),
    entries.length > shown.length ? h("p", { class: "muted" }, `… and ${entries.length - shown.length} more.`) : null];
}

const sleep = (seconds) => new Promise((done) => { setTimeout(done, seconds * 1000); });

// The batch's robustness under the same budget, as the Batches view computes it (the service's
// analysis job; its seed comes from the batch, so the figures are the same every time).
async function robustness() {
  const body = { ...(query.budget ? { budget: Number(query.budget) } : {}), ...(query.currency ? { currency: query.currency } : {}) };
  const started = await call("POST", `/v1/batches/${encodeURIComponent(subject)}/robustness`, { json: body });
  const queued = await started.json(); // read to its end: a body left unread keeps the request open
  const location = started.headers.get("Location") || `/v1/jobs/${queued.id}`;
  for (;;) {
    const job = await get(location);
    if (job.status === "done") return job.result;
    if (!["queued", "running"].includes(job.status)) throw new ApiError(job.error?.status || 500, job.error || { detail: `The robustness analysis is ${job.status}.` });
    await sleep(0.3);
  }
}

function robustnessSummary(result) {
  if (result instanceof ApiError) return h("p", { class: "notice", id: "report-robustness" }, `Robustness not computed: ${result.message}`);
  const [first] = result.rank_acceptability;
  const core = result.portfolio?.proposals.filter((p) => p.status === "core") || [];
  return h("p", { id: "report-robustness" }, declared(result.uncertainty),
    ` Over ${result.samples.toLocaleString("en-US")} samples (seed ${result.seed}), ${first.proposal_id || first.title} ranks first in ${percent(first.first, 1)} of them;`,
    ` ${core.length} proposal${core.length === 1 ? "" : "s"} funded in every portfolio sample (the core); "Funded in" above gives each one's share of the samples.`);
}

async function portfolioReport() {
  const base = `/v1/batches/${encodeURIComponent(subject)}/portfolio`;
  const [report, robust] = await Promise.all([get(`${base}/report`, query),
    robustness().catch((error) => { if (error instanceof ApiError) return error; throw error; })]);
  const { portfolio, batch, ruleset, decisions } = report;
  const shares = new Map((robust.portfolio?.proposals || []).map((p) => [p.index, p]));
  const { currency } = portfolio;
  const canvas = h("canvas", { role: "img" });
  fill($("#report-body"), 
    h("p", { class: "proposal-title" }, `${portfolio.chosen.length} of ${batch.done} scored proposals funded within ${portfolio.budget_basis === "given" ? "the given budget" : "each capability area's remaining envelope"}`),
    h("p", {}, "Spent ", h("strong", {}, money(portfolio.spent, currency)), " of ", h("strong", {}, money(portfolio.budget, currency)),
      ` · total score ${score(portfolio.total_score)} · ${portfolio.exact ? "optimal (proven)" : `no portfolio scores more than ${score(portfolio.upper_bound)}`}`),
    h("h2", {}, "Spend against each budget"),
    h("div", { class: "chart spend" }, canvas),
    table(null, [
      ["For", (g) => (g.name === "all" ? "the whole batch" : words(g.name))],
      ["Budget", (g) => money(g.budget, currency), { numeric: true }],
      ["Spent", (g) => money(g.spent, currency), { numeric: true }],
      ["Funded", (g) => `${g.funded} of ${g.proposals}`, { numeric: true }],
    ], portfolio.groups, { class: "data" }),
    h("h2", {}, "Funded"),
    rows(portfolio.chosen, [
      ["Proposal", (e) => e.title || `item ${e.index}`],
      ["Area", (e) => words(e.group)],
      ["Score", (e) => score(e.overall_score), { numeric: true }],
      ["Cost", (e) => money(e.cost, currency), { numeric: true }],
      ["Funded in", (e) => (shares.has(e.index) ? `${percent(shares.get(e.index).share)} ${words(shares.get(e.index).status)}` : "—"), { numeric: true }],
      ["Decision id", (e) => h("span", { class: "mono" }, decisions[String(e.index)] || "—")],
    ]),
    h("h2", {}, "Left out, each with its reason"),
    rows(portfolio.excluded, [
      ["Proposal", (e) => e.title || `item ${e.index}`],
      ["Reason", (e) => words(e.reason)],
      ["Detail", (e) => e.detail || ""],
    ]),
    h("h2", {}, "Robustness"),
    robustnessSummary(robust),
    h("h2", {}, "Identity"),
    h("dl", { class: "identity" },
      h("div", {}, h("dt", {}, "Batch"), h("dd", { class: "mono" }, `${batch.id} (${batch.total} proposals, ${batch.failed} failed)`)),
      h("div", {}, h("dt", {}, "Ruleset"), h("dd", { class: "mono" }, ruleset ? `${ruleset.name} ${ruleset.version}` : "—")),
      h("div", {}, h("dt", {}, "Ruleset hash"), h("dd", { class: "mono" }, ruleset?.hash || "—")),
      h("div", {}, h("dt", {}, "Finished"), h("dd", { class: "mono" }, batch.finished_at || "—"))));
  queueMicrotask(() => spendChart(canvas, portfolio.groups, currency));
  return [`${base}/report.pdf`, query];
}

async function main() {
  $("#print").addEventListener("click", () => window.print());
  if (!(await signedIn())) return;
  try {
    const [pdf, pdfQuery] = await (kind === "evaluation" ? evaluationReport() : portfolioReport());
    $("#pdf").addEventListener("click", () => download(pdf, pdfQuery, "application/pdf"));
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    fill($("#report-body"), );
    showProblem($("#report-errors"), error);
  }
}

main();
