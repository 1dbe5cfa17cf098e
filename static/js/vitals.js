// Vitals: the patient's form and charts, the doctor's live view of a patient with alerts,
// the advice panel and medication "taken" buttons.

import { h, clear, errorBox, showError, busy, toast, formatDateTime, formatTime } from "./ui.js";
import { renderRiskSummary } from "./risk.js";

export const TYPES = {
  blood_pressure: { label: "Blood pressure", unit: "mmHg", units: ["mmHg"] },
  heart_rate: { label: "Heart rate", unit: "bpm", units: ["bpm"] },
  glucose: { label: "Glucose", unit: "mg/dL", units: ["mg/dL", "mmol/L"] },
  weight: { label: "Weight", unit: "kg", units: ["kg", "lb"] },
  spo2: { label: "SpO2", unit: "%", units: ["%"] },
  temperature: { label: "Temperature", unit: "°C", units: ["°C", "°F"] },
};

// The default alert lines in canonical units (engage/lib/vital_rules.py: ACC/AHA 2017 stage 2
// for blood pressure, then the clinical defaults); a patient's own thresholds replace them.
const DEFAULT_LINES = {
  blood_pressure: { systolic_high: 140, diastolic_high: 90 },
  heart_rate: { low: 40, high: 130 },
  glucose: { low: 70, high: 250 },
  spo2: { low: 92 },
  temperature: { high: 39 },
  weight: {},
};

export function readingText(r) {
  if (r.type === "blood_pressure") return `${round(r.systolic)}/${round(r.diastolic)} mmHg`;
  return `${round(r.value)} ${r.unit}`;
}

const round = (v) => (v === null || v === undefined ? "–" : Math.round(v * 10) / 10);

function thresholdLines(type, custom) {
  const limits = { ...DEFAULT_LINES[type], ...(custom || {}) };
  const lines = [];
  if (type === "blood_pressure") {
    if (limits.systolic_high) lines.push({ label: "systolic limit", value: limits.systolic_high });
    if (limits.diastolic_high) lines.push({ label: "diastolic limit", value: limits.diastolic_high });
    if (limits.systolic_low) lines.push({ label: "systolic low", value: limits.systolic_low });
    if (limits.diastolic_low) lines.push({ label: "diastolic low", value: limits.diastolic_low });
  } else {
    if (limits.high !== undefined && limits.high !== null) lines.push({ label: "alert above", value: limits.high });
    if (limits.low !== undefined && limits.low !== null) lines.push({ label: "alert below", value: limits.low });
  }
  return lines;
}

// One Chart.js line chart per vital type, with the alert thresholds as dashed lines.
export class VitalsCharts {
  constructor(root) {
    this.root = root;
    this.readings = new Map(); // type → Map(id → reading)
    this.charts = new Map();
    this.thresholds = {};
    this.el = h("div", { class: "charts" });
    this.empty = h("p", { class: "muted" }, "No readings yet.");
    clear(root, this.empty, this.el);
  }

  setThresholds(thresholds) {
    this.thresholds = thresholds || {};
    for (const type of this.charts.keys()) this.update(type);
  }

  reset(readings) {
    this.readings = new Map();
    for (const chart of this.charts.values()) chart.chart.destroy();
    this.charts = new Map();
    clear(this.el);
    for (const r of readings) this.add(r, false);
    for (const type of this.readings.keys()) this.update(type);
    this.empty.hidden = this.readings.size > 0;
  }

  add(reading, update = true) {
    if (!this.readings.has(reading.type)) this.readings.set(reading.type, new Map());
    this.readings.get(reading.type).set(reading.id, reading);
    if (update) this.update(reading.type);
    this.empty.hidden = true;
  }

  update(type) {
    const list = [...(this.readings.get(type)?.values() || [])].sort((a, b) => new Date(a.taken_at) - new Date(b.taken_at));
    if (!list.length) return;
    let entry = this.charts.get(type);
    if (!entry) entry = this.create(type);
    const x = (r) => new Date(r.taken_at).getTime();
    const datasets = type === "blood_pressure"
      ? [
        { label: "Systolic", data: list.map((r) => ({ x: x(r), y: r.systolic })), borderColor: "#b3261e", backgroundColor: "#b3261e" },
        { label: "Diastolic", data: list.map((r) => ({ x: x(r), y: r.diastolic })), borderColor: "#1769c2", backgroundColor: "#1769c2" },
      ]
      : [{ label: `${TYPES[type].label} (${list[0].unit})`, data: list.map((r) => ({ x: x(r), y: r.value })), borderColor: "#0b6e6e", backgroundColor: "#0b6e6e" }];
    const first = x(list[0]);
    const last = x(list[list.length - 1]);
    for (const line of thresholdLines(type, this.thresholds[type])) {
      datasets.push({
        label: line.label, data: [{ x: first, y: line.value }, { x: last, y: line.value }],
        borderColor: "#9a5b00", borderDash: [6, 4], borderWidth: 1.5, pointRadius: 0, pointHitRadius: 0,
      });
    }
    entry.chart.data.datasets = datasets;
    entry.chart.update("none");
    const newest = list[list.length - 1];
    entry.canvas.dataset.points = String(list.length);
    entry.canvas.dataset.last = type === "blood_pressure" ? `${round(newest.systolic)}/${round(newest.diastolic)}` : String(round(newest.value));
    entry.canvas.setAttribute("aria-label", `${TYPES[type].label} chart, ${list.length} readings, latest ${readingText(newest)}`);
  }

  create(type) {
    const canvas = h("canvas", { role: "img", dataset: { type } });
    const box = h("figure", { class: "card chart-card", dataset: { type } },
      h("figcaption", {}, h("h3", {}, TYPES[type].label)), h("div", { class: "chart-box" }, canvas));
    // Keep the charts in a stable order.
    const order = Object.keys(TYPES);
    const after = [...this.el.children].find((c) => order.indexOf(c.dataset.type) > order.indexOf(type));
    this.el.insertBefore(box, after || null);
    const chart = new window.Chart(canvas, {
      type: "line",
      data: { datasets: [] },
      options: {
        animation: false,
        maintainAspectRatio: false,
        parsing: true,
        scales: {
          x: { type: "linear", ticks: { maxTicksLimit: 6, callback: (v) => new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" }).format(new Date(v)) } },
          y: { beginAtZero: false },
        },
        plugins: {
          legend: { labels: { boxWidth: 12 } },
          tooltip: { callbacks: { title: (items) => items.length ? formatDateTime(new Date(items[0].parsed.x).toISOString()) : "" } },
        },
      },
    });
    const entry = { chart, canvas };
    this.charts.set(type, entry);
    return entry;
  }
}

function vitalsForm(api, onSaved) {
  const error = errorBox();
  const note = h("p", { class: "note", role: "status" });
  const type = h("select", { id: "vital-type", name: "type" }, Object.entries(TYPES).map(([k, t]) => h("option", { value: k }, t.label)));
  const unit = h("select", { id: "vital-unit", name: "unit" });
  const systolic = h("input", { id: "vital-systolic", name: "systolic", type: "number", inputmode: "decimal", step: "any" });
  const diastolic = h("input", { id: "vital-diastolic", name: "diastolic", type: "number", inputmode: "decimal", step: "any" });
  const value = h("input", { id: "vital-value", name: "value", type: "number", inputmode: "decimal", step: "any" });
  const takenAt = h("input", { id: "vital-taken", name: "taken_at", type: "datetime-local" });
  const noteInput = h("input", { id: "vital-note", name: "note", maxlength: 500 });
  const bpFields = h("div", { class: "row" },
    h("div", { class: "field" }, h("label", { for: "vital-systolic" }, "Systolic"), systolic),
    h("div", { class: "field" }, h("label", { for: "vital-diastolic" }, "Diastolic"), diastolic));
  const valueField = h("div", { class: "field" }, h("label", { for: "vital-value" }, "Value"), value);
  const sync = () => {
    const t = TYPES[type.value];
    clear(unit, t.units.map((u) => h("option", { value: u }, u)));
    bpFields.hidden = type.value !== "blood_pressure";
    valueField.hidden = type.value === "blood_pressure";
  };
  type.addEventListener("change", sync);
  sync();
  const form = h("form", { class: "card vitals-form", "aria-labelledby": "vitals-form-title", novalidate: true },
    h("h3", { id: "vitals-form-title" }, "Log a reading"),
    h("div", { class: "row" },
      h("div", { class: "field" }, h("label", { for: "vital-type" }, "Type"), type),
      h("div", { class: "field" }, h("label", { for: "vital-unit" }, "Unit"), unit)),
    bpFields, valueField,
    h("div", { class: "field" }, h("label", { for: "vital-taken" }, "Taken at (empty: now)"), takenAt),
    h("div", { class: "field" }, h("label", { for: "vital-note" }, "Note (optional)"), noteInput),
    error, note,
    h("button", { type: "submit", class: "primary" }, "Save reading"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    note.textContent = "";
    busy(form.querySelector("button[type=submit]"), error, async () => {
      const body = { type: type.value, unit: unit.value, taken_at: takenAt.value ? new Date(takenAt.value).toISOString() : new Date().toISOString(), source: "manual" };
      const num = (input, name) => {
        if (input.value === "") throw new Error(`Enter the ${name}.`);
        return Number(input.value);
      };
      if (type.value === "blood_pressure") {
        body.systolic = num(systolic, "systolic pressure");
        body.diastolic = num(diastolic, "diastolic pressure");
      } else {
        body.value = num(value, "value");
      }
      if (noteInput.value.trim()) body.note = noteInput.value.trim();
      const result = await api.post("/api/vitals", body);
      note.textContent = result.status === "duplicate" ? "This reading was already recorded." : "Reading saved.";
      for (const input of [systolic, diastolic, value, noteInput, takenAt]) input.value = "";
      onSaved?.(result);
    });
  });
  return form;
}

function daysAgo(days) {
  return new Date(Date.now() - days * 86400000).toISOString();
}

export async function renderPatientVitals(panel, ctx) {
  const { api, live, me } = ctx;
  const error = errorBox();
  const chartsRoot = h("div");
  const charts = new VitalsCharts(chartsRoot);
  const alertList = h("ul", { class: "plain-list", "aria-label": "Open alerts" });
  clear(panel, h("h2", {}, "Vitals"), vitalsForm(api), error, h("section", { "aria-label": "Open alerts" }, alertList), chartsRoot);

  async function refresh() {
    try {
      const [data, thresholds, alerts] = await Promise.all([
        api.get(`/api/patients/${me.id}/vitals/readings`, { from: daysAgo(30), limit: 1000 }),
        api.get(`/api/patients/${me.id}/thresholds`).catch(() => ({ thresholds: {} })),
        api.get(`/api/patients/${me.id}/alerts`).catch(() => ({ alerts: [] })),
      ]);
      charts.thresholds = thresholds.thresholds || {};
      charts.reset(data.readings || []);
      clear(alertList, (alerts.alerts || []).map((a) => h("li", { class: `alert-item ${a.severity}` }, a.message)));
      showError(error, null);
    } catch (err) {
      showError(error, err);
    }
  }
  live.on("vitals:reading", (e) => { if (e.reading.patient_id === me.id) charts.add(e.reading); });
  live.onReconnect(() => refresh());
  ctx.vitals = { refresh, charts };
  await refresh();
}

export async function renderAdvice(panel, ctx) {
  const { api, live } = ctx;
  const error = errorBox();
  const status = h("p", { class: "muted", role: "status" });
  const list = h("div", { class: "advice-list" });
  const request = h("button", { type: "button", class: "primary" }, "Ask for advice on my last 30 days");
  request.addEventListener("click", () => busy(request, error, async () => {
    const data = await api.post("/api/advice", {});
    status.textContent = "Working on it… your advice appears here when it is ready.";
    if (data?.advice) {
      known = [data.advice, ...known.filter((a) => a.id !== data.advice.id)];
      render(known);
    }
  }));
  clear(panel, h("h2", {}, "Advice"), h("p", {}, "Advice is written from your recent readings. It is not a diagnosis."), request, status, error, list);

  const render = (items) => clear(list, items.length ? items.map(adviceCard) : h("p", { class: "muted" }, "No advice yet."));
  let known = [];
  async function refresh() {
    try {
      const data = await api.get("/api/advice");
      known = data.advice || data.items || [];
      render(known);
      showError(error, null);
    } catch (err) {
      showError(error, err);
    }
  }
  live.on("advice:ready", (e) => {
    status.textContent = "Your advice is ready.";
    known = [e.advice, ...known.filter((a) => a.id !== e.advice.id)];
    render(known);
    toast("Your advice is ready.", "success");
  });
  ctx.advice = { refresh };
  await refresh();
}

function adviceCard(advice) {
  return h("article", { class: `card advice ${advice.urgent ? "urgent" : ""}`, dataset: { adviceId: advice.id } },
    h("h3", {}, `Advice of ${formatDateTime(advice.ready_at || advice.created_at)}`),
    advice.status !== "ready" ? h("p", { class: "muted" }, advice.status === "pending" ? "Being prepared…" : "This advice could not be prepared.") : null,
    h("ul", {}, (advice.items || []).map((item) => h("li", { class: `advice-item ${item.severity}` },
      h("p", {}, item.text), h("p", { class: "muted" }, `Based on: ${item.guideline}`)))),
    advice.disclaimer ? h("p", { class: "muted disclaimer" }, advice.disclaimer) : null);
}

export async function renderMedications(panel, ctx) {
  const { api, live, me } = ctx;
  const error = errorBox();
  const list = h("div", { class: "medications" });
  clear(panel, h("h2", {}, "Medications"), error, list);
  const DAY = 86400000;

  async function refresh() {
    try {
      const data = await api.get(`/api/patients/${me.id}/prescriptions`);
      const items = (data.prescriptions || []).filter((item) => item.prescription.active);
      const doseLists = await Promise.all(items.map((item) => api.get(`/api/prescriptions/${item.prescription.id}/doses`)));
      const now = Date.now();
      clear(list, items.length ? items.map((item, i) => {
        const p = item.prescription;
        const adherence = doseLists[i].adherence || item.adherence;
        // Yesterday's, today's and tomorrow's doses: enough to mark one taken, never a long list.
        const doses = (doseLists[i].doses || []).filter((d) => Math.abs(new Date(d.scheduled_at).getTime() - now) < DAY);
        return h("article", { class: "card", dataset: { prescriptionId: p.id } },
          h("h3", {}, `${p.drug} — ${p.dose}`),
          h("p", { class: "muted" }, `At ${p.times.join(", ")} (${p.timezone}), ${p.start_date} to ${p.end_date}`),
          p.instructions ? h("p", {}, p.instructions) : null,
          adherence && adherence.adherence_percent !== null ? h("p", {}, `Adherence: ${Math.round(adherence.adherence_percent)} % (${adherence.taken} taken, ${adherence.missed} missed)`) : null,
          item.dispensed?.length ? h("p", { class: "muted dispensed" }, `Collected from the pharmacy: ${item.dispensed[0].quantity} on ${formatDateTime(item.dispensed[0].at)}`) : null,
          h("ul", { class: "plain-list doses" }, doses.map((d) => h("li", { class: "row", dataset: { doseId: d.id, status: d.status } },
            h("span", {}, `${d.local_date} ${d.local_time}`),
            d.status === "pending" && new Date(d.scheduled_at).getTime() - now < 2 * 3600000
              ? h("button", { type: "button", "aria-label": `${p.drug} ${d.local_time} taken`, onclick: (event) => busy(event.currentTarget, error, async () => {
                await api.post(`/api/medication/doses/${d.id}/taken`, {});
                toast(`${p.drug} marked as taken.`, "success");
                await refresh();
              }) }, "Taken")
              : h("span", { class: `status ${d.status}` }, d.status === "taken" ? `taken ${formatTime(d.taken_at)}` : d.status)))));
      }) : h("p", { class: "muted" }, "No medications prescribed."));
      showError(error, null);
    } catch (err) {
      showError(error, err);
    }
  }
  live.on("medication:dose", () => refresh());
  ctx.medications = { refresh };
  await refresh();
}

// The patient beside the open chat in the doctor console: latest vitals, open alerts with
// acknowledge, the next appointment, and a live chart.
export class PatientContext {
  constructor({ root, ctx }) {
    this.root = root;
    this.ctx = ctx;
    this.patient = null;
    this.alerts = new Map();
    this.latest = new Map();
    const { live } = ctx;
    live.on("vitals:reading", (e) => {
      if (e.reading.patient_id !== this.patient?.id) return;
      this.charts.add(e.reading);
      this.latest.set(e.reading.type, e.reading);
      this.renderLatest();
    });
    for (const event of ["vitals:alert", "vitals:acked", "vitals:cleared"]) {
      live.on(event, (e) => {
        if (e.alert.patient_id !== this.patient?.id) return;
        if (e.alert.status === "cleared") this.alerts.delete(e.alert.id);
        else this.alerts.set(e.alert.id, { ...e.alert, acked_by_name: e.acked_by_name });
        this.renderAlerts();
      });
    }
    for (const event of ["appointment:booked", "appointment:cancelled", "appointment:rescheduled"]) {
      live.on(event, (e) => { if (e.appointment.patient_id === this.patient?.id) this.loadAppointment(); });
    }
    live.onReconnect(() => { if (this.patient) this.show(this.patient); });
  }

  async show(patient) {
    const { live, api } = this.ctx;
    if (this.patient && this.patient.id !== patient.id) live.send("vitals:unwatch", { patient_id: this.patient.id });
    this.patient = patient;
    this.error = errorBox();
    this.latestEl = h("dl", { class: "kv latest-vitals" });
    this.alertsEl = h("ul", { class: "plain-list open-alerts", "aria-label": "Open alerts" });
    this.apptEl = h("p", { class: "next-appointment" });
    const chartsRoot = h("div", { class: "context-charts" });
    clear(this.root,
      h("h2", {}, patient.name), this.error,
      h("h3", {}, "Open alerts"), this.alertsEl,
      h("h3", {}, "Next appointment"), this.apptEl,
      h("h3", {}, "Latest vitals"), this.latestEl,
      h("h3", {}, "Risk scores"), this.riskEl = h("div", { class: "risk-summary" }),
      chartsRoot);
    renderRiskSummary(this.riskEl, api, patient.id);
    this.charts = new VitalsCharts(chartsRoot);
    this.loadAppointment();
    try {
      // Watch first, then read the history, so no reading falls between the two (the chart de-duplicates by id).
      const snapshot = await live.call("vitals:watch", { patient_id: patient.id });
      const [history, thresholds] = await Promise.all([
        api.get(`/api/patients/${patient.id}/vitals/readings`, { from: daysAgo(30), limit: 1000 }),
        api.get(`/api/patients/${patient.id}/thresholds`).catch(() => ({ thresholds: {} })),
      ]);
      if (this.patient !== patient) return;
      const readings = [...(history.readings || []), ...snapshot.readings];
      this.alerts = new Map(snapshot.alerts.map((a) => [a.id, a]));
      this.latest = new Map();
      for (const r of [...readings].sort((a, b) => new Date(a.taken_at) - new Date(b.taken_at))) this.latest.set(r.type, r);
      this.charts.thresholds = thresholds.thresholds || {};
      this.charts.reset(readings);
      this.renderAlerts();
      this.renderLatest();
    } catch (err) {
      showError(this.error, err);
    }
  }

  async loadAppointment() {
    const patient = this.patient;
    try {
      const data = await this.ctx.api.get("/api/appointments", { upcoming: true });
      if (this.patient !== patient) return;
      const next = (data.appointments || [])
        .filter((a) => a.patient_id === patient.id && ["booked", "confirmed"].includes(a.status))
        .sort((a, b) => new Date(a.start) - new Date(b.start))[0];
      this.apptEl.textContent = next ? `${formatDateTime(next.start, next.timezone)} (${next.timezone}) · ${next.status}${next.reason ? ` · ${next.reason}` : ""}` : "None booked.";
    } catch (err) {
      this.apptEl.textContent = "";
      showError(this.error, err);
    }
  }

  renderLatest() {
    const rows = Object.keys(TYPES).filter((t) => this.latest.has(t)).flatMap((t) => {
      const r = this.latest.get(t);
      return [h("dt", {}, TYPES[t].label), h("dd", { dataset: { type: t } }, `${readingText(r)} · ${formatTime(r.taken_at)}`)];
    });
    clear(this.latestEl, rows.length ? rows : h("dd", { class: "muted" }, "No readings yet."));
  }

  renderAlerts() {
    const list = [...this.alerts.values()].sort((a, b) => new Date(b.last_triggered_at) - new Date(a.last_triggered_at));
    clear(this.alertsEl, list.length ? list.map((a) => alertItem(a, this.ctx, this.error)) : h("li", { class: "muted" }, "No open alerts."));
  }
}

function alertItem(alert, ctx, errorEl) {
  const acked = alert.status === "acked";
  return h("li", { class: `alert-item ${alert.severity} ${acked ? "acknowledged" : ""}`, dataset: { alertId: alert.id, status: alert.status } },
    h("strong", {}, alert.severity === "critical" ? "Critical: " : alert.severity === "warning" ? "Warning: " : ""),
    alert.message,
    h("div", { class: "muted" }, `${alert.patient_name} · ${formatTime(alert.last_triggered_at)}`),
    acked
      ? h("div", { class: "muted" }, `Acknowledged${alert.acked_by_name ? ` by ${alert.acked_by_name}` : ""}`)
      : h("button", { type: "button", class: "ack", onclick: (event) => busy(event.currentTarget, errorEl, () => ctx.live.call("vitals:ack", { alert_id: alert.id })) }, "Acknowledge"));
}

// The Alerts tab: open alerts of every patient the doctor talks to, updated live.
export async function renderAlerts(panel, ctx) {
  const { api, live } = ctx;
  const error = errorBox();
  const list = h("ul", { class: "plain-list", "aria-label": "Open alerts" });
  clear(panel, h("h2", {}, "Open alerts"), error, list);
  const alerts = new Map();
  const render = () => {
    const items = [...alerts.values()].sort((a, b) => (b.severity === "critical") - (a.severity === "critical") || new Date(b.last_triggered_at) - new Date(a.last_triggered_at));
    clear(list, items.length ? items.map((a) => alertItem(a, ctx, error)) : h("li", { class: "muted" }, "No open alerts."));
    const tab = document.getElementById("tab-alerts");
    const open = items.filter((a) => a.status === "open").length;
    if (tab) tab.textContent = open ? `Alerts (${open})` : "Alerts";
  };
  async function refresh() {
    try {
      const data = await api.get("/api/conversations");
      const patients = (data.conversations || []).map((c) => c.other_party.id);
      const results = await Promise.all(patients.map((id) => api.get(`/api/patients/${id}/alerts`).catch(() => ({ alerts: [] }))));
      alerts.clear();
      for (const r of results) for (const a of r.alerts || []) alerts.set(a.id, a);
      showError(error, null);
    } catch (err) {
      showError(error, err);
    }
    render();
  }
  for (const event of ["vitals:alert", "vitals:acked", "vitals:cleared"]) {
    live.on(event, (e) => {
      if (e.alert.status === "cleared") alerts.delete(e.alert.id);
      else alerts.set(e.alert.id, { ...e.alert, acked_by_name: e.acked_by_name });
      render();
      if (event === "vitals:alert" && e.alert.severity === "critical") toast(`Critical alert: ${e.alert.patient_name}`, "error");
    });
  }
  live.onReconnect(() => refresh());
  ctx.alerts = { refresh };
  await refresh();
}
