// Care relations in the UI: the patient's care team and access log, the admins' audit log and
// relation assignment, and the doctor's emergency access.

import { h, clear, errorBox, showError, busy, toast, formatDateTime, formValues } from "./ui.js";

const SOURCES = {
  conversation: "You messaged them",
  appointment: "Appointment",
  assigned: "Assigned by the clinic",
  emergency: "Emergency access",
};

// What an audited action means, in words a patient reads.
const ACTIONS = {
  "vitals.read": "Looked at your vitals",
  "vitals.trends": "Looked at your vitals chart",
  "vitals.watch": "Watched your vitals live",
  "vitals.alerts_read": "Looked at your alerts",
  "vitals.alert_ack": "Handled an alert",
  "vitals.thresholds_read": "Looked at your alert limits",
  "vitals.thresholds_update": "Changed your alert limits",
  "vitals.monitoring_update": "Changed your monitoring",
  "vitals.fhir_read": "Exported your vitals",
  "advice.request": "Asked for advice for you",
  "advice.read": "Read your advice",
  "medication.prescribe": "Prescribed a medication",
  "medication.read": "Looked at your medications",
  "medication.stop": "Stopped a medication",
  "appointment.book": "Booked an appointment for you",
  "appointment.read": "Looked at an appointment",
  "conversation.read": "Read your messages",
  "care.emergency_access": "Opened emergency access",
  "clinic.doctor_requested": "Asked to join the clinic",
  "clinic.doctor_approved": "Approved a doctor joining the clinic",
  "clinic.doctor_rejected": "Turned down a doctor's request to join",
};

function describe(action) {
  return ACTIONS[action] || action;
}

function auditRows(entries, withSubject) {
  return entries.map((e) => h("tr", { class: e.emergency ? "emergency" : "", dataset: { action: e.action } },
    h("td", {}, formatDateTime(e.at)),
    h("td", {}, e.actor ? `${e.actor.name} (${e.actor.role})` : "A deleted account"),
    withSubject ? h("td", {}, h("code", {}, e.subject_id)) : null,
    h("td", {}, describe(e.action)),
    h("td", {}, e.emergency ? h("span", { class: "status failed" }, "Emergency") : null, e.reason ? ` ${e.reason}` : "")));
}

// A table of audit entries that pages with "Show older" (the API's next_before cursor).
export function auditTable({ api, path, params, withSubject, label }) {
  const body = h("tbody");
  const error = errorBox();
  const more = h("button", { type: "button", hidden: true }, "Show older");
  let next = null;
  const headers = ["When", "Who", ...(withSubject ? ["Patient"] : []), "What", "Why"];
  const table = h("div", { class: "table-wrap" }, h("table", { "aria-label": label },
    h("thead", {}, h("tr", {}, headers.map((t) => h("th", { scope: "col" }, t)))), body));

  async function load(reset) {
    try {
      const query = { ...params(), limit: 50 };
      if (!reset && next) query.before = next;
      const page = await api.get(path, query);
      const rows = auditRows(page.entries, withSubject);
      if (reset) clear(body, rows.length ? rows : h("tr", {}, h("td", { colspan: headers.length, class: "muted" }, "Nobody yet.")));
      else body.append(...rows);
      next = page.next_before;
      more.hidden = !next;
      showError(error, null);
    } catch (err) {
      showError(error, err);
    }
  }
  more.addEventListener("click", () => load(false));
  return { root: h("div", {}, error, table, more), refresh: () => load(true) };
}

// Patient: who is in my care team, and who looked at my health data.
export async function renderPrivacy(panel, ctx) {
  const { api, live } = ctx;
  const error = errorBox();
  const team = h("ul", { class: "plain-list care-team", "aria-label": "Your care team" });
  const log = auditTable({ api, path: "/api/me/access-log", params: () => ({}), withSubject: false, label: "Who looked at your health data" });
  clear(panel,
    h("h2", {}, "Your care team"),
    h("p", { class: "muted" }, "These doctors can see your vitals, alerts, medications and advice, and why."),
    error, team,
    h("h2", {}, "Who looked at your health data"),
    h("p", { class: "muted" }, "Every time someone other than you opens your health data, it is listed here."),
    log.root);

  async function refresh() {
    try {
      const data = await api.get("/api/me/care-team");
      const members = data.care_team || [];
      clear(team, members.length ? members.map((r) => h("li", { class: `card source-${r.source}`, dataset: { doctorId: r.doctor.id, source: r.source } },
        h("strong", {}, r.doctor.name), " ",
        h("span", { class: r.source === "emergency" ? "status failed" : "muted" }, SOURCES[r.source] || r.source),
        h("div", { class: "muted" }, `Since ${formatDateTime(r.since)}`, r.until ? ` · until ${formatDateTime(r.until)}` : ""),
        r.reason ? h("div", {}, `Reason: ${r.reason}`) : null))
        : h("li", { class: "muted" }, "No doctor has access to your health data."));
      showError(error, null);
    } catch (err) {
      showError(error, err);
    }
    await log.refresh();
  }
  live?.on("care:emergency_access", (e) => {
    toast(`${e.relation.doctor.name} opened emergency access to your record.`, "error");
    refresh();
  });
  ctx.privacy = { refresh };
  await refresh();
}

// Admin: the audit log with filters, and assigning a doctor to a patient.
export async function renderAudit(panel, ctx) {
  const { api } = ctx;
  const subject = h("input", { id: "audit-subject", name: "subject_id", placeholder: "patient id", "aria-label": "Filter by patient id", pattern: "[0-9a-f]{24}" });
  const actor = h("input", { id: "audit-actor", name: "actor_id", placeholder: "user id", "aria-label": "Filter by user id", pattern: "[0-9a-f]{24}" });
  const emergency = h("input", { type: "checkbox", id: "audit-emergency" });
  const params = () => {
    const query = {};
    if (subject.value.trim()) query.subject_id = subject.value.trim();
    if (actor.value.trim()) query.actor_id = actor.value.trim();
    if (emergency.checked) query.emergency = "true";
    return query;
  };
  const log = auditTable({ api, path: "/api/admin/audit", params, withSubject: true, label: "Audit log" });
  const filter = h("form", { class: "row", role: "search" }, subject, actor,
    h("label", { for: "audit-emergency", class: "check" }, emergency, " Emergency access only"), h("button", { type: "submit" }, "Show"));
  filter.addEventListener("submit", (event) => { event.preventDefault(); log.refresh(); });
  emergency.addEventListener("change", () => log.refresh());

  const assignError = errorBox();
  const assign = h("form", { class: "card", "aria-labelledby": "assign-title", novalidate: true },
    h("h3", { id: "assign-title" }, "Assign a doctor to a patient"),
    h("label", { for: "assign-patient" }, "Patient id"), h("input", { id: "assign-patient", name: "patient_id", required: true }),
    h("label", { for: "assign-doctor" }, "Doctor id"), h("input", { id: "assign-doctor", name: "doctor_id", required: true }),
    h("label", { for: "assign-reason" }, "Reason (optional)"), h("input", { id: "assign-reason", name: "reason", maxlength: 500 }),
    assignError, h("button", { type: "submit", class: "primary" }, "Assign"));
  assign.addEventListener("submit", (event) => {
    event.preventDefault();
    const values = formValues(assign);
    busy(assign.querySelector("button[type=submit]"), assignError, async () => {
      const body = { patient_id: values.patient_id.trim(), doctor_id: values.doctor_id.trim() };
      if (values.reason) body.reason = values.reason;
      const data = await api.post("/api/admin/care-relations", body);
      toast(`${data.relation.doctor.name} now cares for this patient.`, "success");
      assign.reset();
    });
  });
  clear(panel, h("h2", {}, "Audit log"), filter, log.root, assign);
  ctx.audit = { refresh: () => log.refresh() };
  await log.refresh();
}

// Doctor: break-glass access to a patient outside one's care, with a written reason.
export function renderEmergencyAccess(panel, ctx) {
  const { api } = ctx;
  const error = errorBox();
  const result = h("p", { role: "status", class: "note" });
  const form = h("form", { class: "card", "aria-labelledby": "emergency-title", novalidate: true },
    h("h2", { id: "emergency-title" }, "Emergency access"),
    h("p", { class: "muted" }, "For a patient who is not in your care, in an emergency only. Access lasts 24 hours; the patient and the administrators are told, and every look is logged with your reason."),
    h("label", { for: "emergency-patient" }, "Patient id"), h("input", { id: "emergency-patient", name: "patient_id", required: true, pattern: "[0-9a-f]{24}" }),
    h("label", { for: "emergency-reason" }, "Reason"), h("textarea", { id: "emergency-reason", name: "reason", required: true, minlength: 10, maxlength: 500, rows: 3 }),
    error, h("button", { type: "submit", class: "danger" }, "Open emergency access"), result);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    result.textContent = "";
    const values = formValues(form);
    busy(form.querySelector("button[type=submit]"), error, async () => {
      const data = await api.post(`/api/patients/${encodeURIComponent(values.patient_id.trim())}/emergency-access`, { reason: values.reason.trim() });
      result.textContent = `Access granted until ${formatDateTime(data.relation.until)}.`;
      form.reset();
      ctx.patientContext?.show({ id: data.relation.patient_id, name: "Patient (emergency access)" });
      ctx.showTab?.("queue");
    });
  });
  clear(panel, form);
}
