// Admin sections that depend on booking and notifications (filled in when they land).

import { h, clear } from "./ui.js";

export async function renderClinics(panel) {
  clear(panel, h("h2", {}, "Clinics"), h("p", { class: "muted" }, "Clinics are not available on this server yet."));
}

export async function renderOutbox(panel) {
  clear(panel, h("h2", {}, "Outbox"), h("p", { class: "muted" }, "The outbox is not available on this server yet."));
}

export async function renderStats(panel) {
  clear(panel, h("h2", {}, "Statistics"), h("p", { class: "muted" }, "Statistics are not available on this server yet."));
}
