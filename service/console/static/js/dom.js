// Building the page from data without ever parsing it as HTML: every value lands as text.

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

function nodes(children) {
  return children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false)
    .map((c) => (c instanceof Node ? c : document.createTextNode(String(c))));
}

// Replaces an element's content: nested arrays flattened, null and false skipped.
export function fill(element, ...children) {
  element.replaceChildren(...nodes(children));
  return element;
}

// h("p", {class: "hint"}, "text", child, …): attributes by name, `on*` as listeners,
// booleans as present or absent; null and false children are skipped.
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "class") {
      element.className = value;
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  element.append(...nodes(children));
  return element;
}

export function say(region, text) {
  region.textContent = text;
}

// A problem answer, with each field error or ruleset problem on its own line.
export function showProblem(region, error, describeItem) {
  const items = [...(error.errors || []).map((e) => `${e.field}: ${e.message}`),
    ...(error.problems || []).map((p) => (describeItem ? describeItem(p) : p.text))];
  fill(region,
    h("p", { class: "problem-title" }, error.message),
    items.length ? h("ul", {}, items.map((item) => h("li", {}, item))) : null,
  );
  region.hidden = false;
}

export function hideProblem(region) {
  region.replaceChildren();
  region.hidden = true;
}

// A data table: columns are [header, cell(row) -> text or Node, {numeric}].
export function table(caption, columns, rows, attributes = {}) {
  return h("table", attributes,
    caption ? h("caption", {}, caption) : null,
    h("thead", {}, h("tr", {}, columns.map(([title, , options]) =>
      h("th", { scope: "col", class: options?.numeric ? "numeric" : null }, title)))),
    h("tbody", {}, rows.map((row) => h("tr", {}, columns.map(([, cell, options]) =>
      h("td", { class: options?.numeric ? "numeric" : null }, cell(row)))))));
}

// Tabs after the WAI-ARIA pattern: click or arrow keys select, one tab stop.
export function tabs(list, onSelect) {
  const all = $$('[role="tab"]', list);
  function select(tab, focus) {
    for (const other of all) {
      const selected = other === tab;
      other.setAttribute("aria-selected", String(selected));
      other.tabIndex = selected ? 0 : -1;
      document.getElementById(other.getAttribute("aria-controls")).hidden = !selected;
    }
    if (focus) tab.focus();
    onSelect?.(tab.id);
  }
  list.addEventListener("click", (event) => {
    const tab = event.target.closest('[role="tab"]');
    if (tab) select(tab, false);
  });
  list.addEventListener("keydown", (event) => {
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (!step) return;
    const next = all[(all.indexOf(document.activeElement) + step + all.length) % all.length];
    select(next, true);
    event.preventDefault();
  });
  return (id) => select(document.getElementById(id), false);
}
