// The Compare page. Comparing (side by side, with the rules that separate the proposals) is the
// service's job: POST /v1/comparisons. Until the service offers it the page says so, and the
// choice of proposals is ready for it.

import { ApiError, get, send, supports } from "./api.js";
import { $, $$, fill, h, hideProblem, say, showProblem } from "./dom.js";
import { signedIn } from "./session.js";

const COMPARISONS = "/v1/comparisons";
const MAX = 5;

function chosen(examples) {
  const names = $$('input[name="example"]:checked').map((box) => box.value);
  const ids = $("#compare-ids").value.split(/[\s,]+/).filter(Boolean);
  return {
    proposals: examples.filter((e) => names.includes(e.name)).map((e) => e.proposal),
    evaluation_ids: ids,
  };
}

async function main() {
  if (!(await signedIn())) return;
  const [{ examples }, offered] = await Promise.all([get("/v1/examples"), supports("post", COMPARISONS)]);
  fill($("#compare-examples"), ...examples.map((e) => h("label", { class: "check" },
    h("input", { type: "checkbox", name: "example", value: e.name }), ` ${e.name}`)));
  say($("#compare-status"), offered
    ? "Choose the proposals, then compare them."
    : "Comparisons arrive with POST /v1/comparisons, which this service does not offer yet. The proposals you choose here will be compared once it does.");
  $("#compare-submit").disabled = !offered;
  $("#compare-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    hideProblem($("#compare-errors"));
    const selection = chosen(examples);
    const count = selection.proposals.length + selection.evaluation_ids.length;
    if (count < 2 || count > MAX) {
      showProblem($("#compare-errors"), { message: `Choose 2 to ${MAX} proposals or evaluations (${count} chosen).` });
      return;
    }
    try {
      // shown as the service answers it until the comparison's layout is settled with it
      const comparison = await send("POST", COMPARISONS, selection);
      $("#comparison").hidden = false;
      fill($("#comparison-body"), h("pre", { class: "raw" }, JSON.stringify(comparison, null, 2)));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      showProblem($("#compare-errors"), error);
    }
  });
}

main();
