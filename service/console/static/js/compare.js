// The Compare page: 2 to 5 proposals (examples) or stored evaluations, compared by the service
// (POST /v1/comparisons): side by side with their ranks, and for each pair the rules that
// separate them, each with its share of the difference.

import { ApiError, get, send, supports } from "./api.js";
import { compareChart } from "./charts.js";
import { $, $$, fill, h, hideProblem, say, showProblem, table } from "./dom.js";
import { percent, points, score, words } from "./format.js";
import { signedIn } from "./session.js";

const COMPARISONS = "/v1/comparisons";
const MAX = 5;

function chosen(examples) {
  const names = $$('input[name="example"]:checked').map((box) => box.value);
  const ids = $("#compare-ids").value.split(/[\s,]+/).filter(Boolean);
  return [
    ...examples.filter((e) => names.includes(e.name)).map((e) => ({ proposal: e.proposal })),
    ...ids.map((id) => ({ evaluation_id: id })),
  ];
}

// Each proposal by a letter and its id (titles are long); the legend gives the titles.
const letter = (item) => String.fromCharCode(65 + item.index);
const name = (item) => `${letter(item)} (${item.proposal_id || `item ${item.index + 1}`})`;

function legend(items) {
  return h("dl", { class: "legend", id: "compared" }, items.map((item) => h("div", {},
    h("dt", {}, name(item)), h("dd", {}, item.title))));
}

// A row per figure, a column per proposal; the best of each row marked.
function sideBySide(comparison) {
  const { items, criteria } = comparison;
  const row = (label, cell, best) => ({ label, cell, best });
  const rows = [
    row("Rank", (item) => item.rank, (item) => item.rank === 1),
    row("Overall score", (item) => score(item.overall_score), (item) => item.rank === 1),
    row("Rating", (item) => words(item.rating)),
    row("Recommendation", (item) => words(item.recommendation)),
    ...criteria.map((c) => row(`${c.label || words(c.criterion)} (${percent(c.weight)})`,
      (item) => `${score(item.scores[c.criterion].score, 1)} · #${item.scores[c.criterion].rank}`,
      (item) => item.scores[c.criterion].rank === 1)),
  ];
  return h("table", { class: "data side-by-side", id: "side-by-side" },
    h("caption", {}, "Side by side: # is the rank on that criterion (1 is best, ties share a rank); the best of a row is marked ★"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Figure"),
      items.map((item) => h("th", { scope: "col", class: "numeric" }, name(item))))),
    h("tbody", {}, rows.map((r) => h("tr", {}, h("th", { scope: "row" }, r.label),
      items.map((item) => {
        const best = r.best?.(item);
        return h("td", { class: best ? "numeric best" : "numeric", "data-item": item.index, "data-figure": r.label },
          r.cell(item), best ? [h("span", { "aria-hidden": "true" }, " ★"), h("span", { class: "sr-only" }, " (best)")] : null);
      })))));
}

function pair(comparison, found) {
  const a = comparison.items[found.a];
  const b = comparison.items[found.b];
  const side = (where) => name(where === "a" ? a : b);
  return h("section", { class: "pair", "data-pair": `${found.a}-${found.b}` },
    h("h3", {}, `${name(a)} against ${name(b)}`),
    h("p", {}, `${name(a)} scores ${score(Math.abs(found.score_difference))} points ${found.score_difference >= 0 ? "more" : "less"} overall. The rules that separate them:`),
    found.differences.length
      ? table(`Each rule's share of the difference (${letter(a)} minus ${letter(b)})`, [
        ["Rule", (d) => h("span", { class: "rule-id" }, d.rule_id)],
        ["Criterion", (d) => words(d.criterion)],
        ["Title", (d) => d.title],
        ["Fired for", (d) => side(d.fired_in)],
        ["Points", (d) => points(d.points), { numeric: true }],
      ], found.differences, { class: "data differences" })
      : h("p", { class: "muted" }, "No rule fires for one and not the other."),
    found.other ? h("p", { class: "hint" }, `${points(found.other)} points are explained by no one rule (clamping to 0–100, caps).`) : null);
}

function render(comparison) {
  const canvas = h("canvas", { role: "img" });
  const { ruleset } = comparison;
  fill($("#comparison-body"),
    h("p", { class: "hint" }, `Scored by ${ruleset.name} ${ruleset.version} (${ruleset.hash}).`),
    legend(comparison.items),
    sideBySide(comparison),
    h("div", { class: "chart chart-wide" }, canvas),
    h("h3", {}, "What separates them, pair by pair"),
    comparison.pairs.map((found) => pair(comparison, found)));
  $("#comparison").hidden = false;
  queueMicrotask(() => compareChart(canvas, comparison.items.map(name), comparison.criteria,
    comparison.items));
  $("#comparison-heading").focus();
}

async function compare(examples) {
  hideProblem($("#compare-errors"));
  const items = chosen(examples);
  if (items.length < 2 || items.length > MAX) {
    showProblem($("#compare-errors"), { message: `Choose 2 to ${MAX} proposals or evaluations (${items.length} chosen).` });
    return;
  }
  say($("#compare-status"), "Comparing…");
  try {
    const comparison = await send("POST", COMPARISONS, { items });
    say($("#compare-status"), `Compared ${comparison.items.length}: ${name(comparison.items.find((i) => i.rank === 1))} ranks first.`);
    render(comparison);
  } catch (error) {
    say($("#compare-status"), "");
    if (!(error instanceof ApiError)) throw error;
    showProblem($("#compare-errors"), error);
  }
}

async function main() {
  if (!(await signedIn())) return;
  const [{ examples }, offered] = await Promise.all([get("/v1/examples"), supports("post", COMPARISONS)]);
  const query = new URLSearchParams(window.location.search);
  const wanted = query.getAll("example");
  $("#compare-ids").value = query.getAll("evaluation").join(" ");
  fill($("#compare-examples"), ...examples.map((e) => h("label", { class: "check" },
    h("input", { type: "checkbox", name: "example", value: e.name, checked: wanted.includes(e.name) }), ` ${e.name}`)));
  say($("#compare-status"), offered
    ? "Choose the proposals, then compare them."
    : "This service does not offer comparisons (POST /v1/comparisons).");
  $("#compare-submit").disabled = !offered;
  $("#compare-form").addEventListener("submit", (event) => {
    event.preventDefault();
    compare(examples);
  });
  if (offered && wanted.length + query.getAll("evaluation").length >= 2) await compare(examples);
}

main();
