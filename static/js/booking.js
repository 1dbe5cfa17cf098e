// Booking (specialties → doctors → slots, live slot updates, conflicts with alternatives)
// and the patient's appointments (cancel, reschedule).

import { clientId, errorMessage } from "./api.js";
import { h, clear, errorBox, showError, busy, toast, formatDateTime } from "./ui.js";

const DAYS_SHOWN = 14;

export function isoDate(date) {
  return date.toISOString().slice(0, 10);
}

export const instant = (iso) => new Date(iso).getTime();

// A slot or alternative in one shape: {start, doctorId, doctorName, timeZone}
export function normalizeSlot(raw, doctor) {
  return {
    start: raw.start,
    doctorId: raw.doctor_id || doctor?.id,
    doctorName: raw.doctor_name || doctor?.name || "",
    timeZone: raw.timezone || doctor?.timeZone,
  };
}

export function slotLabel(slot, withDoctor = false) {
  const when = formatDateTime(slot.start, slot.timeZone);
  const zone = slot.timeZone ? ` (${slot.timeZone})` : "";
  return withDoctor && slot.doctorName ? `${when}${zone} with ${slot.doctorName}` : `${when}${zone}`;
}

function dayKey(slot) {
  return new Intl.DateTimeFormat("en-CA", { timeZone: slot.timeZone || undefined, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(slot.start));
}

function timeLabel(slot) {
  return new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", timeZone: slot.timeZone || undefined }).format(new Date(slot.start));
}

// Slot buttons grouped by day that follow slot:taken / slot:freed for the doctor being watched.
export class SlotPicker {
  constructor({ api, live, onPick, label = "Available times" }) {
    Object.assign(this, { api, live, onPick });
    this.el = h("div", { class: "slots", role: "group", "aria-label": label });
    this.error = errorBox();
    this.doctor = null;
    this.slots = new Map(); // instant → slot
    live?.on("slot:taken", (e) => this.onTaken(e));
    live?.on("slot:freed", (e) => this.onFreed(e));
    live?.onReconnect(() => { if (this.doctor) this.watch(this.doctor); });
  }

  async watch(doctor) {
    if (this.doctor && this.doctor.id !== doctor.id) this.live?.send("schedule:unwatch", { doctor_id: this.doctor.id });
    this.doctor = doctor;
    this.live?.call("schedule:watch", { doctor_id: doctor.id }).catch((err) => showError(this.error, err));
    await this.reload();
  }

  async reload() {
    const doctor = this.doctor;
    if (!doctor) return;
    const from = new Date();
    const to = new Date(Date.now() + DAYS_SHOWN * 86400000);
    try {
      const data = await this.api.get(`/api/doctors/${doctor.id}/slots`, { from: isoDate(from), to: isoDate(to) });
      if (doctor !== this.doctor) return;
      this.slots = new Map();
      for (const raw of data.slots || []) {
        const slot = normalizeSlot(raw, doctor);
        this.slots.set(instant(slot.start), slot);
      }
      showError(this.error, null);
    } catch (err) {
      showError(this.error, err);
    }
    this.render();
  }

  onTaken(e) {
    if (!this.doctor || e.doctor_id !== this.doctor.id) return;
    if (this.slots.delete(instant(e.start))) this.render();
  }

  onFreed(e) {
    if (!this.doctor || e.doctor_id !== this.doctor.id) return;
    this.reload(); // the server decides whether the freed time is still bookable (notice, availability)
  }

  render() {
    const byDay = new Map();
    for (const slot of [...this.slots.values()].sort((a, b) => instant(a.start) - instant(b.start))) {
      const key = dayKey(slot);
      if (!byDay.has(key)) byDay.set(key, []);
      byDay.get(key).push(slot);
    }
    const days = [...byDay.entries()].map(([day, slots]) => h("div", { class: "slot-day" },
      h("h4", {}, new Intl.DateTimeFormat(undefined, { weekday: "long", month: "short", day: "numeric", timeZone: "UTC" }).format(new Date(`${day}T12:00:00Z`))),
      h("div", { class: "slot-buttons" }, slots.map((slot) => h("button", {
        type: "button", class: "slot", dataset: { start: slot.start }, "aria-label": `Book ${slotLabel(slot)}`,
        onclick: (event) => this.onPick(slot, event.currentTarget),
      }, timeLabel(slot))))));
    clear(this.el, days.length ? days : h("p", { class: "muted" }, this.doctor ? "No free times in the next two weeks." : ""));
    if (this.doctor?.timeZone) this.el.prepend(h("p", { class: "muted" }, `Times are in the clinic's time zone, ${this.doctor.timeZone}.`));
  }
}

function normalizeDoctor(raw) {
  return {
    id: raw.id,
    name: raw.name,
    specialties: raw.specialties || [],
    clinicName: raw.clinic_name || "",
    timeZone: raw.timezone || null,
    bio: raw.bio || "",
    fee: raw.fee,
  };
}

export async function renderBooking(panel, ctx) {
  const { api, live } = ctx;
  const error = errorBox();
  const specialtyList = h("div", { class: "choices", role: "group", "aria-label": "Specialties" });
  const doctorList = h("ul", { class: "doctor-list", "aria-label": "Doctors" });
  const conflictBox = h("div", { class: "conflict", role: "alert", hidden: true });
  const reason = h("input", { id: "booking-reason", name: "reason", maxlength: 500, placeholder: "Reason for the visit (optional)" });
  const picker = new SlotPicker({ api, live, onPick: (slot, button) => book(slot, button) });
  const doctorTitle = h("h3", { id: "slots-title" });
  const waitNote = h("p", { class: "note", role: "status" });
  const waitButton = h("button", { type: "button", class: "link" }, "Join the waitlist: tell me when an earlier time frees up");
  waitButton.addEventListener("click", () => busy(waitButton, error, async () => {
    const from = new Date(Date.now() + 3600000);
    await api.post("/api/waitlist", { doctor_id: picker.doctor.id, from: from.toISOString(), to: new Date(from.getTime() + 14 * 86400000).toISOString() });
    waitNote.textContent = `You are on ${picker.doctor.name}'s waitlist for the next two weeks.`;
  }));
  const offers = h("div", { class: "offers", "aria-live": "polite" });
  const slotSection = h("section", { class: "card", "aria-labelledby": "slots-title", hidden: true },
    doctorTitle, h("label", { for: "booking-reason" }, "Reason"), reason, conflictBox, picker.error, picker.el, waitButton, waitNote);
  clear(panel,
    h("h2", {}, "Book an appointment"), offers, error,
    h("section", { class: "card" }, h("h3", {}, "1. Specialty"), specialtyList),
    h("section", { class: "card", "aria-label": "Doctors" }, h("h3", {}, "2. Doctor"), doctorList),
    slotSection);

  let specialty = null;

  async function loadSpecialties() {
    specialtyList.setAttribute("aria-busy", "true");
    try {
      const data = await api.get("/api/specialties");
      const names = (data.specialties || []).map((s) => (typeof s === "string" ? s : s.name));
      const shown = [...specialtyList.querySelectorAll("button")].map((b) => b.dataset.specialty);
      showError(error, null);
      // Unchanged (every time the tab is shown): keep the buttons, and the focus of a keyboard user
      // who reached one while this reload was on its way.
      if (names.length && names.join("\n") === shown.join("\n")) return;
      const focused = specialtyList.contains(document.activeElement) ? document.activeElement.dataset.specialty : null;
      clear(specialtyList, names.length ? names.map((name) => h("button", {
        type: "button", class: "choice", "aria-pressed": String(name === specialty), dataset: { specialty: name },
        onclick: () => chooseSpecialty(name),
      }, name)) : h("p", { class: "muted" }, "No specialties yet."));
      if (focused) [...specialtyList.querySelectorAll("button")].find((b) => b.dataset.specialty === focused)?.focus();
    } catch (err) {
      showError(error, err);
    } finally {
      specialtyList.setAttribute("aria-busy", "false");
    }
  }

  async function chooseSpecialty(name) {
    specialty = name;
    for (const b of specialtyList.querySelectorAll("button")) b.setAttribute("aria-pressed", String(b.dataset.specialty === name));
    try {
      const data = await api.get("/api/doctors", { specialty: name });
      const doctors = (data.doctors || []).map(normalizeDoctor);
      clear(doctorList, doctors.length ? doctors.map((d) => h("li", {},
        h("button", { type: "button", class: "doctor", dataset: { doctorId: d.id }, onclick: () => chooseDoctor(d) },
          h("strong", {}, d.name), h("span", { class: "muted" }, [d.clinicName, d.specialties.join(", ")].filter(Boolean).join(" · "))),
        ctx.chat ? h("button", { type: "button", class: "link", onclick: () => ctx.chat.startWith({ doctor_id: d.id }).then(() => ctx.showTab("messages")).catch((e) => showError(error, e)) }, "Message") : null,
      )) : h("li", { class: "muted" }, "No doctors for this specialty."));
      showError(error, null);
    } catch (err) {
      showError(error, err);
    }
  }

  async function chooseDoctor(doctor) {
    for (const b of doctorList.querySelectorAll("button.doctor")) b.setAttribute("aria-pressed", String(b.dataset.doctorId === doctor.id));
    conflictBox.hidden = true;
    doctorTitle.textContent = `3. A time with ${doctor.name}`;
    slotSection.hidden = false;
    await picker.watch(doctor);
    picker.el.querySelector("button.slot")?.focus();
  }

  function showAlternatives(message, alternatives) {
    const alts = (alternatives || []).map((a) => normalizeSlot(a, picker.doctor));
    clear(conflictBox,
      h("p", {}, message),
      alts.length ? h("p", {}, "These times are free:") : h("p", {}, "No other free times were found nearby."),
      h("div", { class: "alternatives" }, alts.map((alt) => h("button", {
        type: "button", class: "alternative", dataset: { start: alt.start, doctorId: alt.doctorId },
        onclick: (event) => book(alt, event.currentTarget),
      }, slotLabel(alt, alt.doctorId !== picker.doctor?.id || !!alt.doctorName)))));
    conflictBox.hidden = false;
    conflictBox.querySelector("button")?.focus();
  }

  async function book(slot, button) {
    conflictBox.hidden = true;
    const body = { doctor_id: slot.doctorId, start: slot.start, client_id: clientId() };
    if (reason.value.trim()) body.reason = reason.value.trim();
    if (button) button.disabled = true;
    try {
      await api.post("/api/appointments", body);
      toast(`Booked: ${slotLabel(slot, true)}`, "success");
      reason.value = "";
      picker.slots.delete(instant(slot.start));
      picker.render();
      panel.dispatchEvent(new CustomEvent("booked", { bubbles: true }));
      await ctx.appointments?.refresh();
      ctx.showTab("appointments");
    } catch (err) {
      if (err.code === "slot_taken" || err.status === 409) {
        picker.slots.delete(instant(slot.start));
        picker.render();
        showAlternatives(errorMessage(err), err.body?.alternatives);
      } else {
        showError(error, err);
      }
    } finally {
      if (button) button.disabled = false;
    }
  }

  // Another tab or device of ours lost a race: show its alternatives here too.
  live.on("booking:conflict", (e) => {
    if (picker.doctor && e.doctor_id === picker.doctor.id && conflictBox.hidden) {
      showAlternatives("That time was just taken.", e.alternatives);
    }
  });

  // A freed slot held for us from the waitlist: accept or decline before the hold expires.
  live.on("waitlist:offer", (e) => {
    const slot = normalizeSlot(e);
    const offerError = errorBox();
    const card = h("div", { class: "card offer", role: "alert", dataset: { entryId: e.entry_id } },
      h("p", {}, `A time with ${e.doctor_name} is held for you: ${slotLabel(slot)}. The hold ends at ${formatDateTime(e.expires_at)}.`),
      h("div", { class: "row" },
        h("button", { type: "button", class: "primary", onclick: (event) => busy(event.currentTarget, offerError, async () => {
          await api.post(`/api/waitlist/${e.entry_id}/accept`, {});
          card.remove();
          toast(`Booked: ${slotLabel(slot)}`, "success");
          await ctx.appointments?.refresh();
          ctx.showTab("appointments");
        }) }, "Book it"),
        h("button", { type: "button", onclick: (event) => busy(event.currentTarget, offerError, async () => {
          await api.post(`/api/waitlist/${e.entry_id}/decline`, {});
          card.remove();
        }) }, "No, thanks")),
      offerError);
    offers.append(card);
    toast(`A time with ${e.doctor_name} freed up for you.`);
  });

  ctx.booking = { refresh: () => loadSpecialties(), picker };
  await loadSpecialties();
}

const ACTIVE = new Set(["booked", "confirmed"]);

export async function renderAppointments(panel, ctx) {
  const { api, live } = ctx;
  const list = h("ul", { class: "appointment-list", "aria-label": "My appointments" });
  const error = errorBox();
  const rescheduleBox = h("section", { class: "card", "aria-labelledby": "resched-title", hidden: true });
  clear(panel, h("h2", {}, "My appointments"), error, list, rescheduleBox);
  let picker = null;

  async function refresh() {
    try {
      const data = await api.get("/api/appointments");
      const items = (data.appointments || []).sort((a, b) => instant(a.start) - instant(b.start));
      // Checked in at the front desk: still today's appointment, no longer movable.
      const upcoming = items.filter((a) => (ACTIVE.has(a.status) || a.status === "checked_in") && instant(a.end || a.start) > Date.now());
      const past = items.filter((a) => !upcoming.includes(a));
      clear(list,
        upcoming.length ? upcoming.map(item) : h("li", { class: "muted" }, "No upcoming appointments."),
        past.length ? h("li", { class: "subhead" }, h("h3", {}, "Past and cancelled")) : null,
        past.reverse().slice(0, 20).map(item));
      showError(error, null);
    } catch (err) {
      showError(error, err);
    }
  }

  function item(a) {
    const tz = a.timezone;
    const doctorName = a.resource_name || "your doctor";
    const active = ACTIVE.has(a.status) && instant(a.start) > Date.now();
    const itemError = errorBox();
    const cancel = h("button", { type: "button", class: "danger", onclick: (event) => busy(event.currentTarget, itemError, async () => {
      if (!confirm(`Cancel the appointment with ${doctorName} on ${formatDateTime(a.start, tz)}?`)) return;
      await api.post(`/api/appointments/${a.id}/cancel`, {});
      toast("Appointment cancelled.");
      await refresh();
    }) }, "Cancel");
    const move = h("button", { type: "button", onclick: () => reschedule(a, doctorName, tz) }, "Reschedule");
    return h("li", { class: `appointment status-${a.status}`, dataset: { appointmentId: a.id } },
      h("div", {}, h("strong", {}, formatDateTime(a.start, tz)), tz ? h("span", { class: "muted" }, ` ${tz}`) : null),
      h("div", {}, `${doctorName}${a.clinic_name ? ` · ${a.clinic_name}` : ""}`),
      h("span", { class: `status ${a.status}` }, a.status.replace("_", " ")),
      a.token ? h("span", { class: "muted" }, ` Front-desk code ${a.token}`) : null,
      active ? h("div", { class: "row" }, move, cancel) : null,
      itemError);
  }

  function reschedule(appointment, doctorName, tz) {
    const boxError = errorBox();
    picker = new SlotPicker({
      api, live, label: "New time",
      onPick: (slot, button) => busy(button, boxError, async () => {
        await api.post(`/api/appointments/${appointment.id}/reschedule`, { start: slot.start });
        toast(`Moved to ${slotLabel(slot)}`, "success");
        rescheduleBox.hidden = true;
        await refresh();
      }).then(() => { if (!boxError.hidden) picker.reload(); }),
    });
    clear(rescheduleBox,
      h("h3", { id: "resched-title" }, `Reschedule with ${doctorName}`),
      h("button", { type: "button", class: "link", onclick: () => { rescheduleBox.hidden = true; } }, "Close"),
      boxError, picker.error, picker.el);
    rescheduleBox.hidden = false;
    picker.watch({ id: appointment.doctor_id, name: doctorName, timeZone: tz }).then(() => picker.el.querySelector("button")?.focus());
  }

  for (const event of ["appointment:booked", "appointment:cancelled", "appointment:rescheduled", "appointment:confirmed", "appointment:status"]) live.on(event, () => refresh());
  live.onReconnect(() => refresh());
  ctx.appointments = { refresh };
  await refresh();
}
