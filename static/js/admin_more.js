// Admin sections: clinics, the notification outbox with retry, statistics.

import { h, clear, errorBox, showError, busy, toast, formatDateTime, formValues, timezoneOptions, browserZone } from "./ui.js";

export async function renderClinics(panel, ctx) {
  const { api } = ctx;
  const error = errorBox();
  const list = h("ul", { class: "plain-list clinic-list", "aria-label": "Clinics" });
  const formError = errorBox();
  const form = h("form", { class: "card", "aria-labelledby": "clinic-form-title", novalidate: true },
    h("h3", { id: "clinic-form-title" }, "Add a clinic"),
    h("label", { for: "clinic-name" }, "Name"), h("input", { id: "clinic-name", name: "name", required: true, maxlength: 120 }),
    h("label", { for: "clinic-tz" }, "Time zone"), h("select", { id: "clinic-tz", name: "timezone" }, timezoneOptions(browserZone)),
    h("label", { for: "clinic-address" }, "Address (optional)"), h("input", { id: "clinic-address", name: "address", maxlength: 300 }),
    h("label", { for: "clinic-phone" }, "Phone (optional)"), h("input", { id: "clinic-phone", name: "phone", type: "tel" }),
    h("label", { for: "clinic-email" }, "Email (optional)"), h("input", { id: "clinic-email", name: "email", type: "email" }),
    formError, h("button", { type: "submit", class: "primary" }, "Add clinic"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const values = formValues(form);
    busy(form.querySelector("button[type=submit]"), formError, async () => {
      const body = { name: values.name, timezone: values.timezone };
      for (const key of ["address", "phone", "email"]) if (values[key]) body[key] = values[key];
      const data = await api.post("/api/admin/clinics", body);
      toast(`Clinic ${data.clinic.name} added.`, "success");
      form.reset();
      await refresh();
    });
  });
  clear(panel, h("h2", {}, "Clinics"), error, list, form);

  async function refresh() {
    try {
      const data = await api.get("/api/clinics");
      const clinics = data.clinics || [];
      clear(list, clinics.length ? clinics.map((c) => h("li", { class: "card" },
        h("strong", {}, c.name), ` · ${c.timezone}`,
        [c.address, c.phone, c.email].filter(Boolean).length ? h("div", { class: "muted" }, [c.address, c.phone, c.email].filter(Boolean).join(" · ")) : null))
        : h("li", { class: "muted" }, "No clinics yet."));
      showError(error, null);
    } catch (err) {
      showError(error, err);
    }
  }
  ctx.clinics = { refresh };
  await refresh();
}

const STATUSES = ["failed", "queued", "sending", "sent", "delivered", "suppressed"];

export async function renderOutbox(panel, ctx) {
  const { api } = ctx;
  const error = errorBox();
  const status = h("select", { id: "outbox-status", "aria-label": "Status" },
    h("option", { value: "" }, "Any status"), STATUSES.map((s) => h("option", { value: s, selected: s === "failed" }, s)));
  const kind = h("input", { id: "outbox-kind", placeholder: "kind, e.g. appointment_reminder", "aria-label": "Kind" });
  const body = h("tbody");
  const filter = h("form", { class: "row", role: "search" }, status, kind, h("button", { type: "submit" }, "Show"));
  filter.addEventListener("submit", (event) => { event.preventDefault(); refresh(); });
  status.addEventListener("change", () => refresh());
  clear(panel, h("h2", {}, "Notification outbox"), filter, error,
    h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, ["Created", "Kind", "Channel", "To", "Status", "Attempts", "Last error", ""].map((t) => h("th", { scope: "col" }, t)))),
      body)));

  async function refresh() {
    try {
      const data = await api.get("/api/admin/outbox", { status: status.value, kind: kind.value.trim(), limit: 200 });
      const rows = data.notifications || [];
      clear(body, rows.length ? rows.map((n) => {
        const rowError = errorBox();
        return h("tr", { dataset: { notificationId: n.id, status: n.status } },
          h("td", {}, formatDateTime(n.created_at)), h("td", {}, n.kind), h("td", {}, n.channel), h("td", {}, n.to || "–"),
          h("td", {}, h("span", { class: `status ${n.status}` }, n.status), n.suppressed_reason ? h("div", { class: "muted" }, n.suppressed_reason) : null),
          h("td", {}, String(n.attempts)), h("td", {}, n.last_error || ""),
          h("td", {}, n.status === "failed" ? h("button", { type: "button", onclick: (event) => busy(event.currentTarget, rowError, async () => {
            await api.post(`/api/admin/outbox/${n.id}/retry`, {});
            toast("Queued again.", "success");
            await refresh();
          }) }, "Retry") : null, rowError));
      }) : h("tr", {}, h("td", { colspan: 8, class: "muted" }, "Nothing here.")));
      showError(error, null);
    } catch (err) {
      showError(error, err);
    }
  }
  ctx.outbox = { refresh };
  await refresh();
}

function duration(seconds) {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

// path: the admin's statistics of every clinic, or one clinic's (the clinic page).
export async function renderStats(panel, ctx, path = "/api/admin/stats") {
  const { api } = ctx;
  const error = errorBox();
  const summary = h("dl", { class: "kv stats-summary" });
  const canvas = h("canvas", { role: "img", "aria-label": "Appointments per day" });
  const doctors = h("tbody");
  const days = h("tbody");
  clear(panel, h("h2", {}, "Statistics (last 30 days and the next week)"), error, summary,
    h("section", { class: "card" }, h("h3", {}, "Appointments per day"), h("div", { class: "chart-box" }, canvas),
      h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, h("tr", {}, ["Day", "Appointments", "Completed", "No-shows", "Cancelled"].map((t) => h("th", { scope: "col" }, t)))), days))),
    h("section", { class: "card" }, h("h3", {}, "Doctors' median first response to patient messages"),
      h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, h("tr", {}, ["Doctor", "Median first response", "Replies"].map((t) => h("th", { scope: "col" }, t)))), doctors))));
  let chart = null;

  async function refresh() {
    try {
      const data = await api.get(path, { days: 30 });
      const perDay = data.appointments_per_day;
      clear(summary,
        h("dt", {}, "Appointments"), h("dd", {}, String(perDay.reduce((n, d) => n + d.total, 0))),
        h("dt", {}, "No-shows"), h("dd", { class: "no-shows" }, `${data.no_shows}${data.no_show_rate !== null ? ` (${(data.no_show_rate * 100).toFixed(1)} % of past appointments)` : ""}`));
      clear(days, perDay.length ? perDay.map((d) => h("tr", {}, h("td", {}, d.date), h("td", {}, String(d.total)), h("td", {}, String(d.completed)), h("td", {}, String(d.no_show)), h("td", {}, String(d.cancelled))))
        : h("tr", {}, h("td", { colspan: 5, class: "muted" }, "No appointments.")));
      clear(doctors, data.doctors.length ? data.doctors.map((d) => h("tr", { dataset: { doctorId: d.doctor_id } }, h("td", {}, d.name), h("td", {}, duration(d.median_first_response_seconds)), h("td", {}, String(d.replies))))
        : h("tr", {}, h("td", { colspan: 3, class: "muted" }, "No replies yet.")));
      const chartData = {
        labels: perDay.map((d) => d.date),
        datasets: [
          { label: "Appointments", data: perDay.map((d) => d.total - d.cancelled), backgroundColor: "#0b6e6e" },
          { label: "No-shows", data: perDay.map((d) => d.no_show), backgroundColor: "#b3261e" },
        ],
      };
      if (chart) {
        chart.data = chartData;
        chart.update("none");
      } else {
        chart = new window.Chart(canvas, { type: "bar", data: chartData, options: { animation: false, maintainAspectRatio: false, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } } });
      }
      showError(error, null);
    } catch (err) {
      showError(error, err);
    }
  }
  ctx.stats = { refresh };
  await refresh();
}
