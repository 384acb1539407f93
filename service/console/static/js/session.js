// Who is using the console. The API tells: GET /v1/caller answers with the key's name and role,
// or with "authentication off" in embedded development, or 401 when a key is needed.

import { ApiError, credentials, get } from "./api.js";
import { $, $$, h } from "./dom.js";

const ROLES = ["evaluator", "analyst", "admin"];

function describe(caller) {
  return caller.authenticated
    ? `Signed in as ${caller.name} (${caller.role})`
    : "No keys on this service (development): you act as admin";
}

// Controls marked data-role="analyst" (or admin) are disabled, with the reason, for a lower role.
export function applyRole(caller, root = document) {
  for (const control of $$("[data-role]", root)) {
    const needed = control.dataset.role;
    const allowed = caller && ROLES.indexOf(caller.role) >= ROLES.indexOf(needed);
    control.disabled = !allowed;
    control.title = allowed ? "" : `Needs the ${needed} role`;
  }
}

function showSignIn(message) {
  $("#session-status").textContent = message;
  $("#sign-in").hidden = false;
  $("#sign-out").hidden = true;
}

// Resolves with the caller, or null while a key is needed (the page then says so and waits).
async function start() {
  const form = $("#sign-in");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    credentials.key = $("#api-key").value.trim();
    window.location.reload();
  });
  $("#sign-out").addEventListener("click", () => {
    credentials.forget();
    window.location.reload();
  });
  document.addEventListener("policy:unauthorized", () => showSignIn("Your key was refused: sign in again."));
  try {
    const caller = await get("/v1/caller");
    $("#session-status").textContent = describe(caller);
    $("#sign-out").hidden = !credentials.key;
    return caller;
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) throw error;
    const refused = Boolean(credentials.key);
    credentials.forget();
    showSignIn(refused ? "That key was refused. Sign in with an API key." : "This service needs an API key.");
    return null;
  }
}

export const caller = start();

// For a page: the caller once known; while signed out, the page's main region says why it is empty.
export async function signedIn() {
  const found = await caller;
  if (!found) {
    $("#main").prepend(h("p", { class: "notice", role: "note" },
      "Sign in with your API key (top right) to use the console."));
  }
  return found;
}
