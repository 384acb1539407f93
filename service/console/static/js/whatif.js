// A what-if: the service evaluates an evaluation's proposal with some fields changed
// (POST /v1/evaluations/{id}/what-if) and answers the result before and after with their
// differences; this shows the two side by side, every difference highlighted and said in words.

import { send } from "./api.js";
import { fill, h, table } from "./dom.js";
import { changeText } from "./evaluation.js";
import { points, score, words } from "./format.js";

export function whatIf(evaluationId, changes) {
  return send("POST", `/v1/evaluations/${encodeURIComponent(evaluationId)}/what-if`, changes);
}

// The body of a what-if from a counterfactual option: each change's new value, or its removal.
export function fromOption(option) {
  const body = { set: {}, unset: [] };
  for (const change of option.changes) {
    if (change.to === null) body.unset.push(change.field);
    else body.set[change.field] = change.to;
  }
  return body;
}

function signed(delta, digits = 2) {
  return delta === 0 ? "no change" : `${delta > 0 ? "+" : "−"}${Math.abs(delta).toFixed(digits)}`;
}

// The verdict of one side; on the after side, a figure that changed is highlighted.
function side(label, result, key, changed = {}) {
  const mark = (figure) => (changed[figure] ? "changed-figure" : "");
  return h("section", { class: `whatif-side whatif-${key}`, "aria-label": label },
    h("h4", {}, label),
    h("dl", { class: "figures" },
      h("div", {}, h("dt", {}, "Overall"), h("dd", { "data-whatif": `${key}-overall`, class: mark("overall") }, score(result.overall_score))),
      h("div", {}, h("dt", {}, "Rating"), h("dd", { "data-whatif": `${key}-rating`, class: `rating rating-${result.rating} ${mark("rating")}` }, words(result.rating))),
      h("div", {}, h("dt", {}, "Recommendation"), h("dd", { "data-whatif": `${key}-recommendation`, class: mark("recommendation") }, words(result.recommendation)))));
}

// One row per figure: before, after and the change, a changed row marked for the eye (class)
// and for a screen reader (the words in the change column).
function rows(diff) {
  const figure = (name, before, after, change, changed) => ({ name, before, after, change, changed });
  return [
    figure("Overall score", score(diff.overall.before), score(diff.overall.after), signed(diff.overall.delta), diff.overall.delta !== 0),
    figure("Rating", words(diff.rating.before), words(diff.rating.after), diff.rating.changed ? "changed" : "no change", diff.rating.changed),
    figure("Recommendation", words(diff.recommendation.before), words(diff.recommendation.after), diff.recommendation.changed ? "changed" : "no change", diff.recommendation.changed),
    ...diff.criteria.map((c) => figure(c.label || words(c.criterion), score(c.before), score(c.after), signed(c.delta), c.delta !== 0)),
  ];
}

function ruleList(title, rules, id) {
  return rules.length
    ? h("div", {}, h("h4", {}, title), h("ul", { class: "findings", id }, rules.map((r) => h("li", { class: "finding" },
      h("span", { class: "points" }, points(r.points)), h("span", { class: "rule-id" }, r.rule_id),
      h("span", { class: "sentence" }, `${r.title} (${words(r.criterion)})`)))))
    : null;
}

export function renderWhatIf(root, answer) {
  const { diff } = answer;
  const figures = rows(diff);
  const differences = table("Before and after: what changed is highlighted", [
    ["Figure", (r) => r.name],
    ["Before", (r) => r.before, { numeric: true }],
    ["After", (r) => r.after, { numeric: true }],
    ["Change", (r) => r.change, { numeric: true }],
  ], figures, { class: "data whatif-diff", id: "whatif-diff" });
  [...differences.tBodies[0].rows].forEach((row, i) => row.classList.toggle("changed", figures[i].changed));
  fill(root,
    h("h4", {}, "Changes"),
    answer.changes.length
      ? h("ul", { class: "changes", id: "whatif-changes" }, answer.changes.map((c) => h("li", { class: "mono" }, changeText(c))))
      : h("p", { class: "muted" }, "No field changed: the result is the same."),
    h("div", { class: "whatif-sides" }, side("Before", answer.before, "before"), side("After (what-if)", answer.after, "after", {
      overall: diff.overall.delta !== 0, rating: diff.rating.changed, recommendation: diff.recommendation.changed })),
    differences,
    ruleList("Rules that would fire", diff.rules_gained, "whatif-gained"),
    ruleList("Rules that would no longer fire", diff.rules_lost, "whatif-lost"));
}
