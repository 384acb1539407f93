// A proposal form generated from GET /v1/fields: one control per field, grouped as the proposal
// nests them, with the field's label, vocabulary and whether it is required. Reading it gives
// the proposal to send (empty controls omitted); the API's answer names fields by the same
// paths, so its problems land next to their controls.

import { $, $$, h } from "./dom.js";
import { words } from "./format.js";

const id = (path, prefix) => `${prefix}-${path.replaceAll(".", "-")}`;
const capital = (text) => text.charAt(0).toUpperCase() + text.slice(1);

function control(field, label, prefix) {
  const required = field.required ? h("span", { class: "required", "aria-hidden": "true" }, " *") : null;
  const describedBy = `${id(field.path, prefix)}-error`;
  const error = h("p", { class: "field-error", id: describedBy, hidden: true });
  if (field.kind === "list" && field.values) {
    return h("fieldset", { class: "field checkboxes", "data-path": field.path, "aria-describedby": describedBy },
      h("legend", {}, label, required),
      field.values.map((value) => h("label", { class: "check" },
        h("input", { type: "checkbox", name: field.path, value }), ` ${words(value)}`)),
      error);
  }
  let input;
  if (field.values) {
    input = h("select", { id: id(field.path, prefix), name: field.path },
      h("option", { value: "" }, field.required ? "Choose…" : "(not given)"),
      field.values.map((value) => h("option", { value, selected: value === field.default }, words(value))));
  } else if (field.kind === "number") {
    input = h("input", { id: id(field.path, prefix), name: field.path, type: "number", step: "any", inputmode: "decimal" });
  } else {
    const list = field.kind === "list";
    input = h("input", {
      id: id(field.path, prefix), name: field.path, type: "text", value: field.default ?? "",
      placeholder: list ? "e.g. US, AU (ISO codes)" : null,
      autocomplete: "off", spellcheck: "false",
    });
  }
  input.setAttribute("aria-describedby", describedBy);
  if (field.required) input.setAttribute("aria-required", "true");
  return h("div", { class: "field", "data-path": field.path },
    h("label", { for: id(field.path, prefix) }, label, required), input, error);
}

// Sections by the first part of the path; a third part (a money amount and currency) makes
// a group of its own inside its section.
// `prefix` keeps the ids of two forms on one page apart.
export function buildForm(container, fields, prefix = "field") {
  const sections = new Map();
  for (const field of fields.filter((f) => !f.derived)) {
    const parts = field.path.split(".");
    const section = parts.length === 1 ? "proposal" : parts[0];
    const group = parts.length === 3 ? parts[1] : "";
    if (!sections.has(section)) sections.set(section, new Map());
    const groups = sections.get(section);
    if (!groups.has(group)) groups.set(group, []);
    groups.get(group).push(field);
  }
  container.replaceChildren(...[...sections].map(([section, groups]) => h("fieldset", { class: "section" },
    h("legend", {}, capital(words(section))),
    [...groups].map(([group, members]) => (group
      ? h("fieldset", { class: "group" }, h("legend", {}, capital(words(group))),
        members.map((field) => control(field, capital(words(field.path.split(".").pop())), prefix)))
      : members.map((field) => control(field, field.label, prefix)))))));
  container.fields = fields.filter((f) => !f.derived);
}

function set(target, path, value) {
  const parts = path.split(".");
  let node = target;
  for (const part of parts.slice(0, -1)) node = node[part] ??= {};
  node[parts.at(-1)] = value;
}

function lookup(source, path) {
  return path.split(".").reduce((node, part) => (node == null ? undefined : node[part]), source);
}

function value(container, field) {
  if (field.kind === "list" && field.values) {
    const checked = $$(`input[name="${field.path}"]:checked`, container).map((box) => box.value);
    return checked.length ? checked : undefined;
  }
  const raw = container.querySelector(`[name="${field.path}"]`).value.trim();
  if (raw === "") return undefined;
  if (field.kind === "list") return raw.split(/[\s,;]+/).filter(Boolean);
  if (field.kind === "number") return Number(raw);
  return raw;
}

export function readForm(container) {
  const proposal = {};
  for (const field of container.fields) {
    const found = value(container, field);
    if (found !== undefined) set(proposal, field.path, found);
  }
  return proposal;
}

export function fillForm(container, proposal) {
  for (const field of container.fields) {
    const found = lookup(proposal, field.path);
    if (field.kind === "list" && field.values) {
      for (const box of $$(`input[name="${field.path}"]`, container)) box.checked = (found || []).includes(box.value);
    } else {
      const input = container.querySelector(`[name="${field.path}"]`);
      input.value = found === undefined || found === null ? "" : Array.isArray(found) ? found.join(", ") : String(found);
    }
  }
}

// A what-if's body: the fields whose control differs from `original` (set), or was emptied
// (unset), by the paths the API names them.
export function formChanges(container, original) {
  const changes = { set: {}, unset: [] };
  for (const field of container.fields) {
    const given = lookup(original, field.path);
    const before = Array.isArray(given) && !given.length ? undefined : given; // as the form reads it
    const after = value(container, field);
    if (JSON.stringify(before) === JSON.stringify(after)) continue;
    if (after === undefined) changes.unset.push(field.path);
    else changes.set[field.path] = after;
  }
  return changes;
}

// The API's field errors beside their controls (errors about no one field stay in the summary).
export function showFieldErrors(container, errors) {
  for (const wrapper of $$("[data-path]", container)) {
    const error = $(".field-error", wrapper);
    error.hidden = true;
    error.textContent = "";
    for (const input of $$("input, select", wrapper)) input.removeAttribute("aria-invalid");
  }
  for (const { field, message } of errors) {
    // a list item (capabilities.datalinks.1) belongs to its list's control
    const path = field.replace(/\.\d+$/, "");
    const wrapper = container.querySelector(`[data-path="${path}"]`);
    if (!wrapper) continue;
    const error = $(".field-error", wrapper);
    error.textContent = [error.textContent, message].filter(Boolean).join(" ");
    error.hidden = false;
    for (const input of $$("input, select", wrapper)) input.setAttribute("aria-invalid", "true");
  }
}
