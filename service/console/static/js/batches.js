// The Batches page: upload a file (POST /v1/batches), follow its progress, browse the ranked
// rows (GET …/rows: sorted and filtered by the API), open one row's evaluation, download the
// CSV, build the portfolio within a budget, and analyse its robustness (robustness.js).
// `/console/batches/ID` opens a batch.

import { ApiError, call, download, get, vocabulary } from "./api.js";
import { spendChart } from "./charts.js";
import { $, fill, h, hideProblem, say, showProblem, table } from "./dom.js";
import { renderEvaluation } from "./evaluation.js";
import { money, score, words } from "./format.js";
import { wireRobustness } from "./robustness.js";
import { signedIn } from "./session.js";

const batchId = $("#batch-page").dataset.batchId;
const PAGE_SIZE = 50;
const CONTENT_TYPES = {
  json: "application/json",
  jsonl: "application/x-ndjson",
  ndjson: "application/x-ndjson",
  csv: "text/csv",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
};
const view = { sort: "overall_score", order: "desc", page: 1, pages: 1, criteria: [] };
const sleep = (seconds) => new Promise((done) => { setTimeout(done, seconds * 1000); });

// --- upload -----------------------------------------------------------------------------------

async function upload(event) {
  event.preventDefault();
  const [file] = $("#batch-file").files;
  if (!file) return;
  hideProblem($("#upload-errors"));
  const extension = file.name.split(".").pop().toLowerCase();
  // the part's type names the format; browsers leave it empty for .jsonl, say
  const part = new File([file], file.name, { type: CONTENT_TYPES[extension] || file.type });
  const form = new FormData();
  form.append("file", part);
  say($("#upload-status"), `Uploading ${file.name}…`);
  try {
    const response = await call("POST", "/v1/batches", { body: form, query: {
      explain: $("#batch-explain").value,
      counterfactuals: $("#batch-counterfactuals").checked ? "true" : undefined,
    } });
    const batch = await response.json();
    window.location.assign(`/console/batches/${encodeURIComponent(batch.id)}`);
  } catch (error) {
    say($("#upload-status"), "");
    if (!(error instanceof ApiError)) throw error;
    showProblem($("#upload-errors"), error);
  }
}

function wireUpload() {
  $("#upload-form").addEventListener("submit", upload);
  $("#open-form").addEventListener("submit", (event) => {
    event.preventDefault();
    window.location.assign(`/console/batches/${encodeURIComponent($("#open-id").value.trim())}`);
  });
}

// --- progress ---------------------------------------------------------------------------------

function progressText(batch) {
  const parts = [`${words(batch.status)}: ${batch.done.toLocaleString("en-US")} scored, ${batch.failed.toLocaleString("en-US")} failed, of ${batch.total.toLocaleString("en-US")} (${batch.percent}%)`];
  if (batch.rate_per_second) parts.push(`${batch.rate_per_second.toLocaleString("en-US")} a second`);
  if (batch.eta_seconds !== null && batch.status === "running") parts.push(`about ${Math.ceil(batch.eta_seconds)} s left`);
  return parts.join(" · ");
}

// The bar and its text follow every poll; screen readers hear only a change of status.
async function follow() {
  let status = null;
  for (;;) {
    const response = await call("GET", `/v1/batches/${encodeURIComponent(batchId)}`);
    const batch = await response.json();
    $("#batch-progress").value = batch.percent;
    say($("#progress-text"), progressText(batch));
    if (batch.status !== status) say($("#batch-announce"), progressText(batch));
    status = batch.status;
    $("#cancel-batch").hidden = !["queued", "running"].includes(batch.status);
    if (!["queued", "running"].includes(batch.status)) return batch;
    await sleep(Number(response.headers.get("Retry-After")) || 1);
  }
}

// --- ranked rows ------------------------------------------------------------------------------

function sortHeader(label, key) {
  const current = view.sort === key;
  return h("th", { scope: "col", class: "numeric", "aria-sort": current ? (view.order === "desc" ? "descending" : "ascending") : null },
    h("button", {
      type: "button",
      onclick: () => {
        view.order = current && view.order === "desc" ? "asc" : "desc";
        view.sort = key;
        view.page = 1;
        loadRows();
      },
    }, label));
}

function rowsTable(page) {
  const criteria = page.criteria;
  return h("table", { class: "data", id: "ranked" },
    h("caption", {}, `Ranked by ${words(page.sort)}, ${page.order === "desc" ? "best first" : "worst first"}; the rank is among all ${page.scored} scored proposals.`),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col", class: "numeric" }, "Rank"),
      h("th", { scope: "col" }, "Proposal"),
      sortHeader("Overall", "overall_score"),
      criteria.map((name) => sortHeader(words(name), name)),
      h("th", { scope: "col" }, "Rating"),
      h("th", { scope: "col" }, "Recommendation"),
      h("th", { scope: "col" }, "Capability area"),
      h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Evaluation")))),
    h("tbody", {}, page.items.map((row) => h("tr", { "data-index": row.index },
      h("td", { class: "numeric" }, row.rank),
      h("td", {}, row.title, row.proposal_id ? h("span", { class: "muted" }, ` (${row.proposal_id})`) : null),
      h("td", { class: "numeric", "data-column": "overall_score" }, score(row.overall_score)),
      criteria.map((name) => h("td", { class: "numeric", "data-column": name }, row.scores[name])),
      h("td", {}, words(row.rating)),
      h("td", {}, words(row.recommendation), row.deficiencies.length ? h("span", { class: "muted" }, ` (${row.deficiencies.join(", ")})`) : null),
      h("td", {}, words(row.capability_area)),
      h("td", {}, h("button", { type: "button", class: "link", onclick: () => openItem(row) }, "Open", h("span", { class: "sr-only" }, ` ${row.title}`)))))));
}

function filters() {
  const form = $("#filters");
  const found = {};
  for (const name of ["q", "rating", "recommendation", "capability_area"]) {
    const value = form.elements[name].value.trim();
    if (value) found[name] = value;
  }
  return found;
}

async function loadRows() {
  say($("#ranking-status"), "Loading…");
  try {
    const page = await get(`/v1/batches/${encodeURIComponent(batchId)}/rows`,
      { sort: view.sort, order: view.order, page: view.page, page_size: PAGE_SIZE, ...filters() });
    view.pages = Math.max(page.pages, 1);
    fill($("#ranking-table"), page.items.length ? rowsTable(page) : h("p", { class: "muted" }, "No proposal matches."));
    say($("#ranking-status"), `${page.total.toLocaleString("en-US")} of ${page.scored.toLocaleString("en-US")} scored proposals match.`);
    $("#page-label").textContent = `Page ${page.page} of ${view.pages}`;
    $("#page-previous").disabled = view.page <= 1;
    $("#page-next").disabled = view.page >= view.pages;
    if (page.ruleset) say($("#batch-ruleset"), `Scored with ${page.ruleset.name} ${page.ruleset.version}`);
  } catch (error) {
    say($("#ranking-status"), error.message);
  }
}

async function openItem(row) {
  const dialog = $("#item-dialog");
  const item = await get(`/v1/batches/${encodeURIComponent(batchId)}/items/${row.index}`);
  $("#item-heading").textContent = `Rank ${row.rank} by ${words(view.sort)}`;
  dialog.showModal();
  renderEvaluation($("#item-evaluation"), item, { level: 3 });
}

async function wireRanking() {
  let typing = null;
  const refresh = () => { view.page = 1; loadRows(); };
  $("#filters").addEventListener("input", (event) => {
    clearTimeout(typing);
    typing = setTimeout(refresh, event.target.name === "q" ? 300 : 0);
  });
  $("#filters").addEventListener("submit", (event) => { event.preventDefault(); refresh(); });
  $("#page-previous").addEventListener("click", () => { view.page -= 1; loadRows(); });
  $("#page-next").addEventListener("click", () => { view.page += 1; loadRows(); });
  $("#download-csv").addEventListener("click", () => download(
    `/v1/batches/${encodeURIComponent(batchId)}/results`, { format: "csv", sort: view.sort, order: view.order }, "text/csv"));
  $("#item-close").addEventListener("click", () => $("#item-dialog").close());
  const [ratings, recommendations, fields] = await Promise.all([
    vocabulary("Evaluation", "rating"), vocabulary("Evaluation", "recommendation"), get("/v1/fields")]);
  const areas = fields.fields.find((f) => f.path === "acquisition.capability_area")?.values || [];
  for (const [select, values] of [["#filter-rating", ratings], ["#filter-recommendation", recommendations], ["#filter-area", areas]]) {
    $(select).append(...values.map((value) => new Option(words(value), value)));
  }
}

async function showFailures(batch) {
  if (!batch.failed) return;
  const page = await get(`/v1/batches/${encodeURIComponent(batchId)}/failures`, { page_size: 200 });
  $("#failures").hidden = false;
  fill($("#failures-table"), table(`${batch.failed} proposals could not be scored; the first ${page.items.length} are listed.`, [
    ["Item", (f) => f.index, { numeric: true }],
    ["Line", (f) => f.line, { numeric: true }],
    ["Proposal id", (f) => f.proposal_id || "—"],
    ["Problems", (f) => f.errors.map((e) => `${e.field}: ${e.message}`).join("; ")],
  ], page.items, { class: "data" }));
}

// --- portfolio --------------------------------------------------------------------------------

function portfolioQuery() {
  const budget = $("#budget").value.trim();
  return { budget, currency: $("#currency").value };
}

function renderPortfolio(portfolio) {
  const { currency } = portfolio;
  const canvas = h("canvas", { role: "img" });
  const query = new URLSearchParams(Object.entries(portfolioQuery()).filter(([, v]) => v));
  const proven = portfolio.exact ? "optimal (proven)" : `the best found; no portfolio within the budget scores more than ${score(portfolio.upper_bound)}`;
  fill($("#portfolio-result"), 
    h("p", { id: "portfolio-summary" },
      `Funded ${portfolio.chosen.length} of ${portfolio.chosen.length + portfolio.excluded.length}: `,
      h("strong", { "data-figure": "spent" }, money(portfolio.spent, currency)), " spent of ",
      h("strong", { "data-figure": "budget" }, money(portfolio.budget, currency)),
      ` (${portfolio.budget_basis === "given" ? "the budget given" : "each capability area's remaining envelope"}); total score ${score(portfolio.total_score)}, ${proven}.`),
    h("p", { class: "actions" },
      h("a", { href: `/console/reports/portfolios/${encodeURIComponent(batchId)}?${query}` }, "Printable report"),
      h("button", { type: "button", class: "secondary", onclick: () => download(`/v1/batches/${encodeURIComponent(batchId)}/portfolio/report.pdf`, Object.fromEntries(query), "application/pdf") }, "Download the report (PDF)")),
    h("div", { class: "chart chart-wide" }, canvas),
    table("Spend against each budget", [
      ["For", (g) => (g.name === "all" ? "the whole batch" : words(g.name))],
      ["Budget", (g) => money(g.budget, currency), { numeric: true }],
      ["Spent", (g) => h("span", { "data-spent": g.name }, money(g.spent, currency)), { numeric: true }],
      ["Remaining", (g) => money(g.remaining, currency), { numeric: true }],
      ["Funded", (g) => `${g.funded} of ${g.proposals}`, { numeric: true }],
    ], portfolio.groups, { class: "data", id: "portfolio-groups" }),
    h("div", { class: "two-columns" },
      h("div", {}, h("h3", {}, "Funded"), table(null, [
        ["Proposal", (e) => e.title || `item ${e.index}`],
        ["Score", (e) => score(e.overall_score), { numeric: true }],
        ["Cost", (e) => money(e.cost, currency), { numeric: true }],
      ], portfolio.chosen, { class: "data", id: "portfolio-funded" })),
      h("div", {}, h("h3", {}, "Left out"), table(null, [
        ["Proposal", (e) => e.title || `item ${e.index}`],
        ["Reason", (e) => h("span", { title: e.detail || "" }, words(e.reason))],
        ["Why", (e) => e.detail || ""],
      ], portfolio.excluded, { class: "data", id: "portfolio-excluded" }))),
  );
  queueMicrotask(() => spendChart(canvas, portfolio.groups, currency));
}

async function buildPortfolio(event) {
  event?.preventDefault();
  hideProblem($("#portfolio-errors"));
  try {
    renderPortfolio(await get(`/v1/batches/${encodeURIComponent(batchId)}/portfolio`, portfolioQuery()));
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    showProblem($("#portfolio-errors"), error);
  }
}

// --- the page ---------------------------------------------------------------------------------

async function showBatch() {
  $("#cancel-batch").addEventListener("click", async () => {
    await call("DELETE", `/v1/batches/${encodeURIComponent(batchId)}`);
  });
  let batch;
  try {
    batch = await follow();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    say($("#progress-text"), "");
    showProblem($("#batch-errors"), error);
    return;
  }
  for (const id of ["#ranking", "#portfolio", "#robustness"]) $(id).hidden = false;
  await wireRanking();
  await Promise.all([loadRows(), showFailures(batch)]);
  $("#portfolio-form").addEventListener("submit", buildPortfolio);
  wireRobustness(batchId);
  if (batch.status === "done") await buildPortfolio();
}

async function main() {
  if (!batchId) wireUpload();
  if (!(await signedIn())) return;
  if (batchId) await showBatch();
}

main();
