// An evaluation as an analyst reads it: the verdict, the scores with their weights (chart and
// table), every point by the rule that gave it with its evidence, the why-not, what it would
// take (the service's counterfactuals), and the identity that traces it. Used by the Evaluate
// page, a batch's rows and reports.

import { scoreChart } from "./charts.js";
import { fill, h, table } from "./dom.js";
import { points, score, words } from "./format.js";

const KINDS = [
  ["deficiencies", "Deficiencies"],
  ["strengths", "Strengths"],
  ["weaknesses", "Weaknesses"],
];

function heading(level, text, attributes = {}) {
  return h(`h${Math.min(level, 6)}`, attributes, text);
}

function verdict(evaluation) {
  const capped = evaluation.capped_by.length
    ? h("p", { class: "capped" }, `Capped by ${evaluation.capped_by.join(", ")}: the rating alone would ${words(evaluation.band_recommendation)}.`)
    : null;
  return h("div", { class: "verdict" },
    h("p", { class: "proposal-title" }, evaluation.title,
      evaluation.proposal_id ? h("span", { class: "muted" }, ` (${evaluation.proposal_id})`) : null),
    h("dl", { class: "figures" },
      h("div", {}, h("dt", {}, "Overall"), h("dd", { "data-figure": "overall" }, score(evaluation.overall_score)), h("dd", { class: "unit" }, "of 100")),
      h("div", {}, h("dt", {}, "Rating"), h("dd", { "data-figure": "rating", class: `rating rating-${evaluation.rating}` }, words(evaluation.rating))),
      h("div", {}, h("dt", {}, "Recommendation"), h("dd", { "data-figure": "recommendation" }, words(evaluation.recommendation)))),
    capped);
}

function scores(evaluation, level, compact) {
  const canvas = h("canvas", { role: "img" });
  const section = h("section", { class: "scores" },
    heading(level, "Scores"),
    h("div", { class: compact ? "chart chart-small" : "chart" }, canvas),
    table("Criterion scores: baseline plus the points of the rules that fired, clamped to 0–100", [
      ["Criterion", (c) => c.label],
      ["Weight", (c) => `${Math.round(c.weight * 100)}%`, { numeric: true }],
      ["Baseline", (c) => c.baseline, { numeric: true }],
      ["Points", (c) => points(c.points), { numeric: true }],
      ["Score", (c) => h("span", { "data-score": c.criterion }, c.score), { numeric: true }],
      ["Weighted", (c) => score(c.weighted_score), { numeric: true }],
    ], evaluation.criteria, { class: "data" }));
  // drawn once in the document: Chart.js measures its container
  queueMicrotask(() => scoreChart(canvas, evaluation.criteria, { legend: !compact }));
  return section;
}

function evidence(items) {
  return h("details", { class: "evidence" },
    h("summary", {}, "Evidence"),
    h("ul", {}, items.map((atom) => h("li", {}, atom.text))));
}

function finding(item, kind, compact) {
  return h("li", { class: `finding finding-${kind}` },
    h("span", { class: "points", "aria-label": `${points(item.points)} points` }, points(item.points)),
    h("span", { class: "rule-id" }, item.rule_id),
    h("span", { class: "sentence" }, item.sentence,
      item.caps_at ? h("strong", {}, ` Caps the recommendation at ${words(item.caps_at)}.`) : null),
    compact ? null : evidence(item.evidence));
}

function reasons(evaluation, level, compact) {
  return h("section", { class: "reasons" },
    heading(level, "Reasons"),
    h("p", { class: "hint" }, "Every point is accounted for by a rule that fired."),
    evaluation.criteria.map((criterion) => h("section", { class: "criterion" },
      heading(level + 1, `${criterion.label}: ${criterion.score}`),
      compact ? null : h("details", { class: "rationale" }, h("summary", {}, `Why it weighs ${Math.round(criterion.weight * 100)}%`), h("p", {}, criterion.rationale)),
      KINDS.map(([kind, title]) => (criterion[kind].length
        ? h("div", {}, heading(level + 2, title, { class: "kind" }), h("ul", { class: "findings" }, criterion[kind].map((item) => finding(item, kind, compact))))
        : null)),
      KINDS.every(([kind]) => !criterion[kind].length) ? h("p", { class: "muted" }, "No rule fired: the baseline stands.") : null)));
}

function whyNot(evaluation, level, compact) {
  if (!evaluation.not_fired) {
    return compact ? null : h("section", { class: "why-not" }, heading(level, "Why not"),
      h("p", { class: "muted" }, "Evaluate with the why-not option to see the rules that did not fire."));
  }
  const missed = evaluation.not_fired.filter((rule) => rule.points > 0);
  // a report lists the two worth most (what it would take needs its room); the page lists them
  // all in rule order
  const shown = compact ? [...missed].sort((a, b) => b.points - a.points).slice(0, 2) : missed;
  return h("section", { class: "why-not" },
    heading(level, "Why not more"),
    h("p", { class: "hint" }, `${missed.length} strengths did not apply; each with the condition that failed.`),
    h("ul", { class: "findings" }, shown.map((rule) => h("li", { class: "finding" },
      h("span", { class: "points" }, points(rule.points)),
      h("span", { class: "rule-id" }, rule.rule_id),
      h("span", { class: "sentence" }, `${rule.title}. `, compact ? null : rule.sentence || "",
        h("span", { class: "failed" }, rule.failed.map((atom) => atom.text).join(" ")))))),
    missed.length > shown.length ? h("p", { class: "muted" }, `… and ${missed.length - shown.length} more.`) : null);
}

function value(v) {
  if (v === null || v === undefined) return "(not given)";
  return Array.isArray(v) ? `[${v.join(", ")}]` : String(v);
}

export function changeText(change) {
  return `${change.field}: ${value(change.from)} → ${change.to === null ? "(removed)" : value(change.to)}`;
}

const SHOWN = 5; // options listed open; the rest folded

function option(item, onApply) {
  const { result } = item;
  const effect = [
    `would be ${score(result.overall_score)}, ${words(result.rating)}, ${words(result.recommendation)}`,
    item.rules_gained.length ? `gains ${item.rules_gained.join(", ")}` : null,
    item.rules_lost.length ? `loses ${item.rules_lost.join(", ")}` : null,
    item.caps_remaining.length ? `still capped by ${item.caps_remaining.join(", ")}` : null,
  ].filter(Boolean).join(" · ");
  return h("li", { class: "option-item" },
    h("div", {},
      h("p", { class: "sentence" }, item.sentence),
      h("p", { class: "muted" }, h("span", { class: "mono" }, item.changes.map(changeText).join("; ")), ` — ${effect}`)),
    onApply ? h("button", { type: "button", class: "secondary", onclick: () => onApply(item),
      "aria-label": `Apply as a what-if: ${item.changes.map(changeText).join("; ")}` }, "Apply as a what-if") : null);
}

function options(items, onApply, label) {
  const list = (some) => h("ol", { class: "options", start: null }, some.map((item) => option(item, onApply)));
  return [list(items.slice(0, SHOWN)),
    items.length > SHOWN ? h("details", {}, h("summary", {}, `${items.length - SHOWN} more ${label}`),
      h("ol", { class: "options", start: SHOWN + 1 }, items.slice(SHOWN).map((item) => option(item, onApply)))) : null];
}

// The service's counterfactuals (explain=full): the smallest changes that would reach the next
// band or lift a cap, each with the result the service computed for it.
function whatItWouldTake(evaluation, level, compact, onApply) {
  const found = evaluation.counterfactuals;
  const section = (...children) => h("section", { class: "what-it-would-take", id: compact ? null : "what-it-would-take" },
    heading(level, "What it would take"), ...children);
  if (!found) {
    return section(h("p", { class: "muted" }, compact
      ? "Not computed for this evaluation."
      : "Evaluate with the why-not option to see what it would take."));
  }
  const next = found.next_band;
  const band = h("p", { class: "next-band" }, next
    ? `The next band, ${words(next.rating)}, starts at ${score(next.min_score, 1)}: ${score(next.gap, 1)} points more.`
    : "Already in the top band.");
  if (compact) {
    const shown = found.options.slice(0, 2);
    return section(band, shown.length
      ? h("ul", { class: "options" }, shown.map((item) => h("li", {}, item.sentence)))
      : h("p", { class: "muted" }, found.reason || "No change found."));
  }
  return section(band,
    found.options.length ? options(found.options, onApply, "options") : h("p", { class: "muted" }, found.reason || "No change found."),
    found.caps.map((cap) => h("details", { class: "cap" },
      h("summary", {}, `What lifts the cap of ${cap.rule_id} (${cap.removed_by.length} option${cap.removed_by.length === 1 ? "" : "s"})`),
      cap.removed_by.length ? options(cap.removed_by, onApply, "options") : h("p", { class: "muted" }, "No change found lifts it."))),
    h("p", { class: "hint" }, `Each option was evaluated by the service: ${found.searched.single_field} single changes and ${found.searched.pairs} pairs searched.`));
}

function identity(job) {
  const { evaluation } = job;
  const rows = [
    ["Evaluation id", job.id],
    ["Decision id", evaluation.decision_id],
    ["Input hash", evaluation.input_hash],
    ["Ruleset", `${evaluation.ruleset.name} ${evaluation.ruleset.version}`],
    ["Ruleset hash", evaluation.ruleset.hash],
    ["Completed", job.completed_at],
  ].filter(([, value]) => value);
  return h("dl", { class: "identity" }, rows.map(([label, value]) =>
    h("div", {}, h("dt", {}, label), h("dd", { class: "mono" }, value))));
}

// `job` is an evaluation resource (GET /v1/evaluations/{id}) or, from a batch, {evaluation}.
// `onApply(option)`, when given, offers each option as a what-if; `whatIf`, a node shown
// right after what it would take (the page's what-if panel).
export function renderEvaluation(root, job, { level = 3, compact = false, onApply = null, whatIf = null } = {}) {
  const { evaluation } = job;
  fill(root, 
    verdict(evaluation),
    scores(evaluation, level, compact),
    whatItWouldTake(evaluation, level, compact, onApply),
    whatIf,
    reasons(evaluation, level, compact),
    whyNot(evaluation, level, compact),
    h("section", { class: "trace" }, heading(level, "Identity"), identity(job)),
  );
}
