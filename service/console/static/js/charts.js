// Charts (Chart.js, vendored) of what the API answered. Each chart is drawn on a canvas that
// carries a text alternative; the same figures are always in a table next to it.

import { money, words } from "./format.js";

const capital = (text) => text.charAt(0).toUpperCase() + text.slice(1);
const BLUE = "rgb(40, 90, 160)";
const PALE = "rgb(200, 212, 232)";
const GREY = "rgb(110, 110, 110)";

function draw(canvas, config) {
  const { Chart } = window;
  Chart.getChart(canvas)?.destroy();
  return new Chart(canvas, {
    ...config,
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      indexAxis: "y",
      ...config.options,
    },
  });
}

// Criterion scores (0–100) with each criterion's weight in its label.
export function scoreChart(canvas, criteria, { legend = true } = {}) {
  canvas.setAttribute("aria-label", `Scores: ${criteria.map((c) => `${c.label} ${c.score} of 100, weight ${Math.round(c.weight * 100)}%`).join("; ")}`);
  return draw(canvas, {
    type: "bar",
    data: {
      labels: criteria.map((c) => `${capital(words(c.criterion))} · ${Math.round(c.weight * 100)}%`),
      datasets: [
        { label: "Score (0–100)", data: criteria.map((c) => c.score), backgroundColor: BLUE },
        { label: "Weighted (weight × score)", data: criteria.map((c) => c.weighted_score), backgroundColor: PALE },
      ],
    },
    options: {
      scales: { x: { min: 0, max: 100, ticks: { color: GREY } }, y: { ticks: { color: "rgb(30,30,30)" } } },
      plugins: { legend: { display: legend, position: "bottom" } },
    },
  });
}

// Spend against the budget of each group (the whole budget, or each capability area); the
// chart grows with the groups so that every one keeps its label.
export function spendChart(canvas, groups, currency) {
  canvas.parentElement.style.height = `${80 + 36 * groups.length}px`;
  canvas.setAttribute("aria-label", `Spend against budget: ${groups.map((g) => `${words(g.name)} ${money(g.spent, currency)} of ${money(g.budget, currency)}`).join("; ")}`);
  return draw(canvas, {
    type: "bar",
    data: {
      labels: groups.map((g) => words(g.name)),
      datasets: [
        { label: "Budget", data: groups.map((g) => g.budget), backgroundColor: PALE },
        { label: "Spent on funded proposals", data: groups.map((g) => g.spent), backgroundColor: BLUE },
      ],
    },
    options: {
      scales: { x: { ticks: { callback: (value) => money(value, currency), color: GREY } } },
      plugins: {
        legend: { position: "bottom" },
        tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${money(item.raw, currency)}` } },
      },
    },
  });
}

// Each compared proposal's criterion scores, grouped by criterion.
export function compareChart(canvas, names, criteria, items) {
  const shades = [BLUE, "rgb(214, 120, 40)", "rgb(60, 140, 90)", "rgb(150, 80, 160)", GREY];
  canvas.setAttribute("aria-label", `Criterion scores: ${items.map((item, i) => `${names[i]}: ${criteria.map((c) => `${words(c.criterion)} ${item.scores[c.criterion].score}`).join(", ")}`).join("; ")}`);
  return draw(canvas, {
    type: "bar",
    data: {
      labels: criteria.map((c) => `${capital(words(c.criterion))} · ${Math.round(c.weight * 100)}%`),
      datasets: items.map((item, i) => ({ label: names[i], data: criteria.map((c) => item.scores[c.criterion].score), backgroundColor: shades[i % shades.length] })),
    },
    options: {
      scales: { x: { min: 0, max: 100, ticks: { color: GREY } } },
      plugins: { legend: { position: "bottom" } },
    },
  });
}
