// The Rules page: a ruleset as an analyst reads it (GET /v1/rulesets/{v}/rules), its versions
// (activate, roll back), what changed between two and its impact, the rule tests with
// coverage, the check report, and publishing a new version with every problem at its line.

import { ApiError, call, get, send, settle } from "./api.js";
import { $, fill, h, hideProblem, say, showProblem, table } from "./dom.js";
import { points, score, words } from "./format.js";
import { applyRole, signedIn } from "./session.js";

const state = { caller: null, listing: null };
const selected = () => $("#version").value;
const path = (version) => `/v1/rulesets/${encodeURIComponent(version)}`;

// An action whose problem answer is shown in `region` (and clears the action's `status`).
function guard(region, work, status) {
  return async (event) => {
    event?.preventDefault();
    hideProblem(region);
    try {
      await work();
    } catch (error) {
      if (status) say(status, "");
      if (!(error instanceof ApiError)) throw error;
      showProblem(region, error);
    }
  };
}

// --- the ruleset ------------------------------------------------------------------------------

function ruleRow(rule) {
  return h("tr", { id: `rule-${rule.id}` },
    h("td", {}, h("strong", { class: "mono" }, rule.id), h("br"), rule.title,
      rule.description ? h("details", { class: "rationale" }, h("summary", {}, "Grounding"), h("p", {}, rule.description)) : null),
    h("td", { class: "numeric" }, points(rule.points),
      rule.deficiency ? h("p", { class: "muted" }, `deficiency: caps at ${words(rule.deficiency)}`) : null),
    h("td", { class: "rule-when" }, rule.condition),
    h("td", {}, h("p", { class: "template" }, rule.because),
      rule.otherwise ? h("p", { class: "template" }, `Otherwise: ${rule.otherwise}`) : null));
}

async function showRuleset() {
  const ruleset = await get(`${path(selected())}/rules`);
  $("#version-note").textContent = `${ruleset.name} ${ruleset.version}${ruleset.active ? " (active)" : ""} · ${ruleset.hash}`;
  fill($("#ruleset-body"), 
    h("p", {}, ruleset.description),
    h("h3", {}, "Criteria and weights"),
    table(null, [
      ["Criterion", (c) => c.label],
      ["Weight", (c) => `${Math.round(c.weight * 100)}%`, { numeric: true }],
      ["Baseline", (c) => c.baseline, { numeric: true }],
      ["Why this weight", (c) => c.rationale],
    ], ruleset.criteria, { class: "data", id: "criteria-table" }),
    h("h3", {}, "Rating bands"),
    table("An overall score at or above a band's minimum gets its rating; deficiencies can cap the recommendation.", [
      ["Rating", (b) => words(b.rating)],
      ["From overall score", (b) => b.min_score, { numeric: true }],
      ["Recommendation", (b) => words(b.recommendation)],
    ], ruleset.bands, { class: "data" }),
    h("h3", {}, `Rules (${ruleset.rules.length})`),
    ruleset.criteria.map((criterion) => {
      const rules = ruleset.rules.filter((rule) => rule.criterion === criterion.name);
      return h("details", { class: "criterion-rules", open: true },
        h("summary", {}, h("h4", {}, `${criterion.label}: baseline ${criterion.baseline}, ${rules.length} rules`)),
        ruleList(rules));
    }));
}

// --- versions ---------------------------------------------------------------------------------

async function activate(version) {
  await send("PUT", "/v1/rulesets/active", { version, by: state.caller.name });
  say($("#versions-status"), `${version} is now active.`);
  await loadVersions();
  await showRuleset();
}

function versionsTable(listing) {
  const order = listing.versions.map((v) => v.version);
  const activeAt = order.indexOf(listing.active);
  return table(null, [
    ["Version", (v) => h("span", { class: "mono" }, v.version)],
    ["Active", (v) => (v.active ? "active" : "")],
    ["Published", (v) => v.created_at],
    ["By", (v) => v.author],
    ["Note", (v) => v.note],
    ["Hash", (v) => h("span", { class: "mono", title: v.hash }, `${v.hash.slice(0, 19)}…`)],
    ["", (v) => (v.active ? "" : h("button", {
      type: "button", class: "secondary", "data-role": "admin",
      onclick: guard($("#versions-errors"), () => activate(v.version)),
    }, order.indexOf(v.version) < activeAt ? `Roll back to ${v.version}` : `Activate ${v.version}`))],
  ], listing.versions, { class: "data", id: "versions" });
}

async function loadVersions() {
  const listing = await get("/v1/rulesets");
  state.listing = listing;
  fill($("#versions-table"), versionsTable(listing));
  applyRole(state.caller, $("#versions-table"));
  const current = selected();
  const names = listing.versions.map((v) => v.version);
  fill($("#version"), new Option(`The active one (${listing.active})`, "active"),
    ...names.map((name) => new Option(name, name)));
  $("#version").value = names.includes(current) ? current : "active";
  for (const [select, preferred] of [["#diff-old", listing.active], ["#diff-new", names.at(-1)]]) {
    const keep = $(select).value;
    $(select).replaceChildren(...names.map((name) => new Option(name + (name === listing.active ? " (active)" : ""), name)));
    $(select).value = names.includes(keep) ? keep : preferred;
  }
}

// --- what changed, and its impact -------------------------------------------------------------

function ruleList(rules) {
  return h("table", { class: "data rules" },
    h("thead", {}, h("tr", {}, ["Rule", "Points", "When", "Says"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rules.map(ruleRow)));
}

function changeList(items) {
  return h("ul", {}, items.map((item) => h("li", {}, h("strong", { class: "mono" }, item.id),
    item.parts.map((part) => h("p", { class: "changed-part" }, `${words(part.part)}: `,
      h("del", { class: "old" }, part.old === null ? "(none)" : String(part.old)), " → ",
      h("ins", { class: "new" }, part.new === null ? "(none)" : String(part.new)))))));
}

async function showDiff() {
  const diff = await send("POST", `${path($("#diff-new").value)}/diff`, { against: $("#diff-old").value });
  const sections = [
    h("p", { id: "diff-summary" }, `From ${diff.old.version} to ${diff.new.version}: ${diff.added.length} rules added, ${diff.removed.length} removed, ${diff.changed.length} changed, ${diff.unchanged} unchanged.`),
    diff.context_changed ? h("p", { class: "notice" }, "The reference context (budgets, envelopes, threats, partners) changed too.") : null,
    diff.added.length ? [h("h3", {}, "Added"), ruleList(diff.added)] : null,
    diff.removed.length ? [h("h3", {}, "Removed"), ruleList(diff.removed)] : null,
    diff.changed.length ? [h("h3", {}, "Changed"), changeList(diff.changed)] : null,
    diff.criteria.length ? [h("h3", {}, "Criteria"), changeList(diff.criteria)] : null,
    diff.bands.length ? [h("h3", {}, "Rating bands"), changeList(diff.bands)] : null,
  ];
  fill($("#diff-result"), ...sections.flat().filter(Boolean));
  $("#impact-form").hidden = false;
}

function pair(before, after, format = (value) => value) {
  return before === after ? String(format(before)) : `${format(before)} → ${format(after)}`;
}

async function showImpact() {
  const against = $("#diff-old").value;
  const onBatch = $("#impact-form").elements.on.value === "batch";
  say($("#impact-status"), "Evaluating under both versions…");
  const body = onBatch
    ? { batch_id: $("#impact-batch").value.trim(), against }
    : { proposals: (await get("/v1/examples")).examples.map((e) => e.proposal), against };
  // an analysis job: 202 and a Location to follow until it is done
  const job = await settle(await call("POST", `${path($("#diff-new").value)}/impact`, { json: body }));
  if (job.status !== "done") throw new Error(`The impact job was ${job.status}.`);
  const impact = job.result;
  say($("#impact-status"), `${impact.total} proposals evaluated under ${impact.old_version} and ${impact.new_version}: ${impact.changes.length} change their score, rating, recommendation or rank.`);
  fill($("#impact-result"), impact.changes.length ? table(null, [
    ["Proposal", (c) => c.proposal],
    ["Score", (c) => pair(c.old.overall, c.new.overall, score)],
    ["Rating", (c) => pair(c.old.rating, c.new.rating, words)],
    ["Recommendation", (c) => pair(c.old.recommendation, c.new.recommendation, words)],
    ["Rank", (c) => pair(c.old.rank, c.new.rank)],
    ["Rules responsible", (c) => c.rules.join(", ") || "(others moved)"],
  ], impact.changes, { class: "data", id: "impact" }) : h("p", { class: "muted" }, "Nothing changes for these proposals."));
}

// --- tests and check --------------------------------------------------------------------------

async function runTests() {
  say($("#tests-status"), "Running…");
  const report = await send("POST", `${path(selected())}/tests`);
  const cover = report.coverage;
  say($("#tests-status"), `${report.passed} passed, ${report.failed} failed (${report.files.join(", ") || "no test file"}); rule coverage ${cover.percent}%.`);
  const failed = report.cases.filter((c) => !c.passed);
  fill($("#tests-result"), 
    failed.length ? h("div", { class: "problem" }, h("p", { class: "problem-title" }, "Failed"),
      h("ul", {}, failed.map((c) => h("li", {}, `${c.file}:${c.line} ${c.name}`, h("ul", {}, c.failures.map((f) => h("li", {}, f))))))) : null,
    table("Coverage: rules fired by at least one test case", [
      ["Criterion", (row) => words(row.criterion)],
      ["Covered", (row) => row.covered, { numeric: true }],
      ["Rules", (row) => row.total, { numeric: true }],
      ["%", (row) => Math.round((100 * row.covered) / Math.max(row.total, 1)), { numeric: true }],
    ], cover.criteria, { class: "data", id: "coverage" }),
    cover.uncovered.length ? h("p", {}, `Fired by no test: ${cover.uncovered.join(", ")}`) : h("p", {}, "Every rule fires in some test."),
    h("details", {}, h("summary", {}, `All ${report.cases.length} cases`),
      h("ul", {}, report.cases.map((c) => h("li", {}, `${c.passed ? "passed" : "FAILED"}: ${c.name} (${c.file}:${c.line})`)))));
}

function warnings(report) {
  return report.warnings.length
    ? h("ul", { id: "warnings" }, report.warnings.map((w) => h("li", {}, w.text)))
    : h("p", { id: "warnings" }, `No warnings: ${report.rules} rules load cleanly.`);
}

// The defensibility findings of `rules check`: failing ones open, with their counterexample;
// acknowledged ones folded, with the reason the ruleset gives.
function finding(item, atLine) {
  return h("li", { class: item.acknowledged ? "finding-acknowledged" : "finding-failing" },
    item.line && atLine ? atLine(item.line) : null,
    h("strong", {}, `${item.check}`), ` (${[...item.rules, ...item.systems].join(", ")}): ${item.message}`,
    item.reason ? h("p", { class: "hint" }, `Acknowledged: ${item.reason}`) : null,
    item.details.length ? h("details", {}, h("summary", {}, "Counterexample"),
      h("ul", {}, item.details.map((line) => h("li", { class: "mono" }, line)))) : null);
}

function defensibility(report, atLine) {
  const d = report.defensibility;
  const failing = d.findings.filter((f) => !f.acknowledged);
  const accepted = d.findings.filter((f) => f.acknowledged);
  return h("section", { id: "defensibility", "aria-label": "Defensibility" },
    h("p", { id: "defensibility-summary", class: d.passed ? "ok" : "problem-title" },
      `${d.passed ? "Defensible" : "Not defensible"}: ${d.failing} finding(s), ${d.acknowledged} acknowledged; `
      + `monotonicity of ${d.proven} (criterion, field) pairs proven by the rules alone, ${d.searched} searched with ${d.evaluations.toLocaleString("en-US")} proposals.`),
    failing.length ? h("ul", { id: "findings-failing", class: "findings-list" }, failing.map((f) => finding(f, atLine))) : null,
    d.stale_acknowledgments.length ? h("ul", { class: "findings-list" }, d.stale_acknowledgments.map((text) => h("li", {}, `Warning: ${text}`))) : null,
    d.cut_short.length ? h("p", { class: "notice" }, `The search of ${d.cut_short.join(", ")} stopped at its limit: findings there may be missing.`) : null,
    accepted.length ? h("details", {}, h("summary", {}, `${accepted.length} acknowledged finding(s)`),
      h("ul", { class: "findings-list" }, accepted.map((f) => finding(f, atLine)))) : null);
}

async function runCheck() {
  say($("#check-status"), "Checking…");
  const report = await send("POST", `${path(selected())}/check`);
  say($("#check-status"), `${report.ruleset.name} ${report.ruleset.version}: ${report.warnings.length} warning(s), ${report.defensibility.failing} finding(s), ${report.defensibility.acknowledged} acknowledged.`);
  fill($("#check-result"), warnings(report), defensibility(report));
}

// --- publishing -------------------------------------------------------------------------------

const editor = $("#ruleset-text");

function markLines(lines) {
  const count = editor.value.split("\n").length;
  fill($("#ruleset-gutter"), ...Array.from({ length: count }, (_, i) =>
    h("span", { class: lines.has(i + 1) ? "error-line" : null }, `${i + 1}\n`)));
  $("#ruleset-gutter").scrollTop = editor.scrollTop;
}

function goToLine(line) {
  const lines = editor.value.split("\n");
  const start = lines.slice(0, line - 1).reduce((sum, text) => sum + text.length + 1, 0);
  editor.focus();
  editor.setSelectionRange(start, start + (lines[line - 1] || "").length);
  editor.scrollTop = Math.max(0, (line - 4) * parseFloat(getComputedStyle(editor).lineHeight));
}

function lineButton(line) {
  return h("button", { type: "button", class: "link", onclick: () => goToLine(line) }, `Line ${line}`);
}

function problemAtLine(problem) {
  const text = editor.value.split("\n")[problem.line - 1] || "";
  return h("span", {},
    h("button", { type: "button", class: "link", onclick: () => goToLine(problem.line) }, `Line ${problem.line}, column ${problem.col}`),
    `: ${problem.rule_id ? `${problem.rule_id}: ` : ""}${problem.message}${problem.hint ? ` (hint: ${problem.hint})` : ""}`,
    text.trim() ? h("code", { class: "quoted-line" }, ` ${text.trim()}`) : null);
}

function draft() {
  const text = editor.value;
  const json = text.trimStart().startsWith("{");
  return { body: text, type: json ? "application/json" : "application/yaml" };
}

function refused(error) {
  markLines(new Set(error.problems.map((p) => p.line)));
  say($("#publish-status"), "");
  showProblem($("#publish-errors"), error, problemAtLine);
}

async function checkDraft() {
  hideProblem($("#publish-errors"));
  markLines(new Set());
  fill($("#draft-check"));
  try {
    const response = await call("POST", "/v1/rulesets/check", { ...draft(), query: { source: $("#publish-source").value } });
    const report = await response.json();
    const failing = report.defensibility.findings.filter((f) => !f.acknowledged);
    markLines(new Set([...report.warnings, ...failing].map((w) => w.line)));
    say($("#publish-status"), `It loads: ${report.ruleset.name} ${report.ruleset.version}, ${report.rules} rules, ${report.warnings.length} warning(s), ${failing.length} defensibility finding(s).`);
    if (report.warnings.length) showProblem($("#publish-errors"), { message: "Warnings (it can be published)", problems: report.warnings.map((w) => ({ ...w, col: 1 })) }, problemAtLine);
    fill($("#draft-check"), defensibility(report, lineButton));
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 422) throw error;
    refused(error);
  }
}

async function publish(event) {
  event.preventDefault();
  hideProblem($("#publish-errors"));
  markLines(new Set());
  fill($("#draft-check"));
  const query = { source: $("#publish-source").value, note: $("#publish-note").value, author: state.caller.name };
  try {
    const response = await call("POST", "/v1/rulesets", { ...draft(), query });
    const published = await response.json();
    say($("#publish-status"), response.status === 201
      ? `Published ${published.name} ${published.version} (${published.active ? "active" : "not active: an admin activates it"}).`
      : `${published.version} is already published with this very content: nothing changed.`);
    await loadVersions();
    $("#diff-new").value = published.version;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.status === 422 && error.problems.length) refused(error);
    else showProblem($("#publish-errors"), error);
  }
}

function wirePublishing() {
  let pending = 0;  // a paste fires an input event a line: redraw the gutter once a frame
  editor.addEventListener("input", () => {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(() => markLines(new Set()));
  });
  editor.addEventListener("scroll", () => { $("#ruleset-gutter").scrollTop = editor.scrollTop; });
  $("#ruleset-file").addEventListener("change", async (event) => {
    const [file] = event.target.files;
    if (!file) return;
    editor.value = await file.text();
    $("#publish-source").value = file.name;
    markLines(new Set());
  });
  $("#load-active").addEventListener("click", guard($("#publish-errors"), async () => {
    const version = selected() === "active" ? state.listing.active : selected();
    editor.value = JSON.stringify((await get(path(version))).document, null, 2);
    markLines(new Set());
  }));
  $("#check-draft").addEventListener("click", guard($("#publish-errors"), checkDraft));
  $("#publish-form").addEventListener("submit", publish);
}

async function main() {
  state.caller = await signedIn();
  if (!state.caller) return;
  applyRole(state.caller);
  wirePublishing();
  $("#version").addEventListener("change", () => showRuleset());
  $("#diff-form").addEventListener("submit", guard($("#diff-errors"), showDiff));
  $("#impact-form").addEventListener("submit", guard($("#impact-errors"), showImpact, $("#impact-status")));
  $("#run-tests").addEventListener("click", guard($("#tests-errors"), runTests, $("#tests-status")));
  $("#run-check").addEventListener("click", guard($("#check-errors"), runCheck, $("#check-status")));
  markLines(new Set());
  await loadVersions();
  await showRuleset();
}

main();
