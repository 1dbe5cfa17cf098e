// Vitals, advice and medications (filled in when the vitals API lands).

import { h, clear } from "./ui.js";

export async function renderPatientVitals(panel) {
  clear(panel, h("h2", {}, "Vitals"), h("p", { class: "muted" }, "Vitals are not available on this server yet."));
}
export async function renderAdvice(panel) {
  clear(panel, h("h2", {}, "Advice"), h("p", { class: "muted" }, "Advice is not available on this server yet."));
}
export async function renderMedications(panel) {
  clear(panel, h("h2", {}, "Medications"), h("p", { class: "muted" }, "Medications are not available on this server yet."));
}

// The patient beside the open chat in the doctor console.
export class PatientContext {
  constructor({ root, ctx }) {
    this.root = root;
    this.ctx = ctx;
  }

  show(patient) {
    this.patient = patient;
    clear(this.root, h("h2", {}, patient.name), h("p", { class: "muted" }, "Vitals, alerts and appointments are not available on this server yet."));
  }
}

export async function renderAlerts(panel) {
  clear(panel, h("h2", {}, "Alerts"), h("p", { class: "muted" }, "Alerts are not available on this server yet."));
}
