// The front desk (/frontdesk) for a clinic's receptionists: the day's appointments with check-in,
// moving and cancelling; finding a booking by its token; finding a patient and booking them with a
// doctor or test centre of the clinic on a free slot. The day follows the clinic's schedules live
// (schedule:watch on each doctor and test centre: bookings, moves and cancellations reload it).

import { boot } from "./shell.js";
import { clientId } from "./api.js";
import { h, clear, errorBox, showError, busy, toast } from "./ui.js";

const STATUS_LABEL = {
  booked: "Booked", confirmed: "Confirmed", checked_in: "Checked in", completed: "Completed", no_show: "No-show", cancelled: "Cancelled",
};
const MOVABLE = new Set(["booked", "confirmed"]);

function timeOnly(iso, timeZone) {
  return new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", timeZone }).format(new Date(iso));
}

function base(ctx) {
  return `/api/clinics/${ctx.me.clinic_id}/front-desk`;
}

function slotsPath(resource) {
  return resource.kind === "doctor" ? `/api/doctors/${resource.id}/slots` : `/api/test-centres/${resource.id}/slots`;
}

// Free slots of one doctor or test centre on one day, as buttons; onPick(slot) when one is chosen.
async function slotButtons(api, resource, day, onPick) {
  const { slots } = await api.get(slotsPath(resource), { from: day, to: day });
  if (!slots.length) return h("p", { class: "muted" }, "No free slots that day.");
  return h("div", { class: "slot-buttons", role: "group", "aria-label": "Free slots" }, slots.map((slot) =>
    h("button", { type: "button", class: "slot", dataset: { start: slot.start }, onclick: (event) => onPick(slot, event.currentTarget) },
      slot.remaining != null ? `${slot.local_time} (${slot.remaining} left)` : slot.local_time)));
}

// The clinic's doctors and test centres (one request pair per page).
function clinicResources(ctx) {
  ctx.resources ??= Promise.all([
    ctx.api.get("/api/doctors", { clinic_id: ctx.me.clinic_id }), ctx.api.get("/api/test-centres", { clinic_id: ctx.me.clinic_id }),
  ]).then(([{ doctors }, { test_centres: centres }]) => [
    ...doctors.map((d) => ({ kind: "doctor", id: d.id, label: `Dr ${d.name}` })),
    ...centres.map((c) => ({ kind: "test_centre", id: c.id, label: `${c.name} (test centre)` })),
  ]);
  return ctx.resources;
}

// ---- the day ---------------------------------------------------------------------------------

async function renderDay(panel, ctx) {
  const { api } = ctx;
  const error = errorBox();
  const dateInput = h("input", { type: "date", id: "desk-date", "aria-label": "Day" });
  const tokenInput = h("input", { id: "desk-token", placeholder: "ABCD-EFGH", "aria-label": "Booking token", maxlength: 20 });
  const tokenForm = h("form", { class: "row", novalidate: true }, tokenInput, h("button", { type: "submit" }, "Find by token"));
  const found = h("div", { class: "desk-found", "aria-live": "polite" });
  const title = h("h2", {}, "Appointments");
  const list = h("ol", { class: "plain-list desk-day", "aria-label": "Appointments of the day" });
  let day = null;

  const load = async () => {
    const data = await api.get(`${base(ctx)}/appointments`, dateInput.value ? { date: dateInput.value } : {});
    day = data;
    ctx.clinicToday = ctx.clinicToday || data.date;
    ctx.timezone = data.timezone;
    dateInput.value = data.date;
    title.textContent = `Appointments on ${data.date} (${data.timezone})`;
    clear(list, data.appointments.length ? data.appointments.map((a) => row(a)) : h("li", { class: "muted" }, "No appointments this day."));
  };
  const refresh = () => busy(null, error, load);

  function row(a) {
    const itemError = errorBox();
    const extra = h("div", { class: "desk-extra" });
    const act = (step, body) => busy(null, itemError, async () => {
      await api.post(`${base(ctx)}/appointments/${a.id}/${step}`, body);
      await load();
    });
    const isToday = a.local_start.slice(0, 10) === ctx.clinicToday;
    const buttons = [];
    if (MOVABLE.has(a.status) && isToday) buttons.push(h("button", { type: "button", class: "primary", onclick: () => act("check-in") }, "Check in"));
    if (MOVABLE.has(a.status)) {
      buttons.push(h("button", { type: "button", onclick: () => showMove(a, extra, itemError) }, "Move"));
      buttons.push(h("button", { type: "button", class: "danger", onclick: () => showCancel(a, extra, act) }, "Cancel"));
    }
    return h("li", { class: `card desk-appointment status-${a.status}`, dataset: { appointmentId: a.id, status: a.status } },
      h("p", {}, h("strong", {}, timeOnly(a.start, a.timezone)), " · ", h("span", { class: "patient-name" }, a.patient_name),
        ` · ${a.resource_name} · `, h("span", { class: "desk-status" }, STATUS_LABEL[a.status] || a.status)),
      h("p", { class: "muted" }, `Token ${a.token}`, a.patient_phone ? ` · ${a.patient_phone}` : "", a.reason ? ` · ${a.reason}` : "",
        a.cancel_reason ? ` · Reason: ${a.cancel_reason}` : ""),
      buttons.length ? h("div", { class: "row" }, buttons) : null, extra, itemError);
  }

  function showCancel(a, extra, act) {
    const reason = h("input", { class: "cancel-reason", placeholder: "Reason (the patient is told)", "aria-label": "Reason for cancelling", maxlength: 500 });
    const confirm = h("button", { type: "button", class: "danger", onclick: () => {
      if (!reason.value.trim()) return reason.focus();
      return act("cancel", { reason: reason.value.trim() });
    } }, "Cancel appointment");
    clear(extra, h("div", { class: "row" }, reason, confirm));
    reason.focus();
  }

  function showMove(a, extra, itemError) {
    const resource = a.doctor_id ? { kind: "doctor", id: a.doctor_id } : { kind: "test_centre", id: a.test_centre_id };
    const moveDate = h("input", { type: "date", class: "move-date", "aria-label": "Move to day", value: a.local_start.slice(0, 10) });
    const slots = h("div", { class: "move-slots" });
    const showSlots = () => busy(null, itemError, async () => {
      clear(slots, await slotButtons(api, resource, moveDate.value, (slot, button) => busy(button, itemError, async () => {
        await api.post(`${base(ctx)}/appointments/${a.id}/reschedule`, { start: slot.start });
        toast(`Moved to ${slot.local_date} ${slot.local_time}.`, "success");
        await load();
      })));
    });
    moveDate.addEventListener("change", showSlots);
    clear(extra, h("div", { class: "row" }, h("span", {}, "Move to"), moveDate), slots);
    return showSlots();
  }

  tokenForm.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(tokenForm.querySelector("button"), error, async () => {
      if (!tokenInput.value.trim()) return;
      const { appointment } = await api.get(`${base(ctx)}/appointments/by-token/${encodeURIComponent(tokenInput.value.trim())}`);
      clear(found, h("h3", {}, "Found by token"), h("ol", { class: "plain-list" }, row(appointment)));
    });
  });
  dateInput.addEventListener("change", refresh);
  // Live: every booking, move or cancellation on the clinic's schedules reloads the day (one reload at a time).
  let reloading = null;
  let again = false;
  const reloadSoon = () => {
    if (reloading) { again = true; return; }
    reloading = busy(null, error, load).finally(() => {
      reloading = null;
      if (again) { again = false; reloadSoon(); }
    });
  };
  const watchAll = async () => {
    for (const r of await clinicResources(ctx)) {
      await ctx.live.call("schedule:watch", r.kind === "doctor" ? { doctor_id: r.id } : { test_centre_id: r.id });
    }
  };
  ctx.live.on("slot:taken", reloadSoon);
  ctx.live.on("slot:freed", reloadSoon);
  ctx.live.onReconnect(() => { watchAll().catch((err) => showError(error, err)); reloadSoon(); });
  clear(panel, h("div", { class: "row" }, h("label", { for: "desk-date" }, "Day"), dateInput,
    h("button", { type: "button", onclick: refresh }, "Refresh")), tokenForm, found, error, title, list);
  ctx.day = { refresh, load };
  await refresh();
  await watchAll().catch((err) => showError(error, err));
  document.body.dataset.watching = "yes"; // for tests: the day follows the schedules from here on
}

// ---- booking -----------------------------------------------------------------------------------

async function renderBook(panel, ctx) {
  const { api } = ctx;
  const error = errorBox();
  let patient = null;
  let requestId = clientId(); // one per booking shown: a double click or a retry books once

  const search = h("input", { id: "patient-search", type: "search", placeholder: "Name, email or phone", "aria-label": "Find a patient" });
  const searchForm = h("form", { class: "row", novalidate: true }, search, h("button", { type: "submit" }, "Search"));
  const results = h("ul", { class: "plain-list patient-results", "aria-label": "Patients found" });
  const chosen = h("p", { class: "chosen-patient", role: "status" }, "No patient chosen.");
  const resourceSelect = h("select", { id: "book-resource", "aria-label": "Doctor or test centre" });
  const dateInput = h("input", { type: "date", id: "book-date", "aria-label": "Day", value: ctx.clinicToday || "" });
  const reason = h("input", { id: "book-reason", placeholder: "Reason (optional)", "aria-label": "Reason", maxlength: 500 });
  const slots = h("div", { class: "book-slots" });

  const choose = (p) => {
    patient = p;
    requestId = clientId();
    chosen.textContent = `Booking for ${p.name} (${p.email})`;
  };
  searchForm.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(searchForm.querySelector("button"), error, async () => {
      const { patients } = await api.get(`${base(ctx)}/patients`, { q: search.value });
      clear(results, patients.length ? patients.map((p) => h("li", { class: "patient-match", dataset: { patientId: p.id } },
        h("span", {}, `${p.name} · ${p.email}`, p.phone ? ` · ${p.phone}` : "", p.clinic_patient ? "" : " · new to the clinic"),
        h("button", { type: "button", onclick: () => choose(p) }, "Choose"))) : h("li", { class: "muted" }, "Nobody found. Type a patient's whole email to find someone new to the clinic."));
    });
  });

  const resources = new Map((await clinicResources(ctx)).map((r) => [`${r.kind}:${r.id}`, r]));
  const showSlots = () => busy(null, error, async () => {
    const resource = resources.get(resourceSelect.value);
    if (!resource || !dateInput.value) return clear(slots);
    clear(slots, await slotButtons(api, resource, dateInput.value, (slot, button) => busy(button, error, async () => {
      if (!patient) throw new Error("Choose a patient first.");
      const body = { patient_id: patient.id, start: slot.start, client_id: requestId };
      body[resource.kind === "doctor" ? "doctor_id" : "test_centre_id"] = resource.id;
      if (reason.value.trim()) body.reason = reason.value.trim();
      try {
        const { appointment } = await api.post(`${base(ctx)}/appointments`, body);
        toast(`Booked ${appointment.patient_name} with ${appointment.resource_name} at ${slot.local_time} (token ${appointment.token}).`, "success");
        requestId = clientId();
        reason.value = "";
        await showSlots();
        await ctx.day?.load();
      } catch (err) {
        if (err.code === "slot_taken") await showSlots(); // someone else was faster: show what is left
        throw err;
      }
    })));
  });
  resourceSelect.addEventListener("change", showSlots);
  dateInput.addEventListener("change", showSlots);

  clear(panel, h("h2", {}, "Book an appointment"), h("h3", {}, "Patient"), searchForm, results, chosen,
    h("h3", {}, "When"), h("div", { class: "row" }, resourceSelect, dateInput, reason), error, slots);
  clear(resourceSelect, [...resources.entries()].map(([key, r]) => h("option", { value: key }, r.label)));
  await showSlots();
}

if (document.body.classList.contains("app-frontdesk")) {
  boot({
    role: "receptionist",
    title: "Engage front desk",
    sections: [
      { name: "day", label: "Appointments", render: renderDay, eager: true, onShow: (ctx) => ctx.day?.refresh() },
      { name: "book", label: "Book", render: renderBook },
    ],
  });
}
