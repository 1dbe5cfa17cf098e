// The doctor's schedule for today (live) and the profile + weekly availability editor.

import { h, clear, errorBox, showError, busy, toast, formatDateTime } from "./ui.js";

const WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

function localDay(iso, timeZone) {
  return new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(iso));
}

function timeOnly(iso, timeZone) {
  return new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", timeZone }).format(new Date(iso));
}

export async function renderSchedule(panel, ctx) {
  const { api, live } = ctx;
  const error = errorBox();
  const title = h("h2", {}, "Today");
  const list = h("ol", { class: "plain-list schedule", "aria-label": "Today's appointments" });
  const later = h("ol", { class: "plain-list schedule-later", "aria-label": "Coming days" });
  clear(panel, title, error, list, h("h3", {}, "Next days"), later);

  async function refresh() {
    try {
      const data = await api.get("/api/appointments", { upcoming: true, limit: 200 });
      const items = (data.appointments || []).sort((a, b) => new Date(a.start) - new Date(b.start));
      const tz = items[0]?.timezone || Intl.DateTimeFormat().resolvedOptions().timeZone;
      const today = localDay(new Date().toISOString(), tz);
      title.textContent = `Today, ${new Intl.DateTimeFormat(undefined, { weekday: "long", month: "long", day: "numeric", timeZone: tz }).format(new Date())} (${tz})`;
      const todays = items.filter((a) => localDay(a.start, a.timezone) === today);
      const rest = items.filter((a) => localDay(a.start, a.timezone) !== today && ["booked", "confirmed"].includes(a.status)).slice(0, 30);
      clear(list, todays.length ? todays.map((a) => row(a, true)) : h("li", { class: "muted" }, "No appointments today."));
      clear(later, rest.length ? rest.map((a) => row(a, false)) : h("li", { class: "muted" }, "Nothing booked."));
      showError(error, null);
    } catch (err) {
      showError(error, err);
    }
  }

  function row(a, today) {
    const itemError = errorBox();
    const setStatus = (status, label) => h("button", { type: "button", onclick: (event) => busy(event.currentTarget, itemError, async () => {
      await api.post(`/api/appointments/${a.id}/status`, { status });
      toast(`${label}.`);
      await refresh();
    }) }, label);
    const active = ["booked", "confirmed", "checked_in"].includes(a.status); // checked in at the front desk: still to be seen
    return h("li", { class: `appointment status-${a.status}`, dataset: { appointmentId: a.id } },
      h("strong", {}, today ? timeOnly(a.start, a.timezone) : formatDateTime(a.start, a.timezone)),
      " ", h("span", { class: `status ${a.status}` }, a.status.replace("_", " ")),
      a.reason ? h("div", { class: "muted" }, a.reason) : null,
      h("div", { class: "row" },
        h("button", { type: "button", class: "link", onclick: () => ctx.chat?.startWith({ patient_id: a.patient_id }).then(() => ctx.showTab("queue")).catch((e) => showError(itemError, e)) }, "Message patient"),
        active && a.status === "booked" ? setStatus("confirmed", "Confirm") : null,
        active && today ? setStatus("completed", "Completed") : null,
        active && today ? setStatus("no_show", "No-show") : null,
        a.status === "completed" && a.doctor_id ? h("button", { type: "button", onclick: () => ctx.ensure("record").then(() => ctx.writeNote(a)).catch((e) => showError(itemError, e)) }, "Write note") : null),
      itemError);
  }

  for (const event of ["appointment:booked", "appointment:cancelled", "appointment:rescheduled", "appointment:confirmed", "appointment:status"]) {
    live.on(event, () => refresh());
  }
  live.onReconnect(() => refresh());
  ctx.schedule = { refresh };
  await refresh();
}

function windowRow(day, windows) {
  const own = windows.filter((w) => w.weekday === day);
  const open = h("input", { type: "checkbox", id: `open-${day}`, checked: own.length > 0 });
  const start = h("input", { type: "time", id: `start-${day}`, value: own[0]?.start || "09:00", "aria-label": `${WEEKDAYS[day]} start` });
  const end = h("input", { type: "time", id: `end-${day}`, value: own[0]?.end || "17:00", "aria-label": `${WEEKDAYS[day]} end` });
  const extra = own.slice(1); // further windows of the day are kept as they are
  return {
    el: h("div", { class: "row weekday" }, h("label", { for: `open-${day}`, class: "check" }, open, ` ${WEEKDAYS[day]}`), start, "–", end,
      extra.length ? h("span", { class: "muted" }, ` +${extra.length} more window(s) kept`) : null),
    value: () => (open.checked ? [{ weekday: day, start: start.value, end: end.value }, ...extra] : []),
  };
}

export async function renderAvailability(panel, ctx) {
  const { api, me } = ctx;
  const error = errorBox();
  const note = h("p", { class: "note", role: "status" });
  clear(panel, h("h2", {}, "Profile and availability"), error, note);

  let profile = null;
  let clinics = [];
  let waiting = null;
  try {
    const [clinicData, doctorData, mine] = await Promise.all([api.get("/api/clinics"), api.get("/api/doctors"), api.get("/api/me/clinic")]);
    clinics = clinicData.clinics || [];
    waiting = mine.clinic_request;
    // The directory lists doctors with a profile; a new doctor is not in it yet.
    profile = (doctorData.doctors || []).find((d) => d.id === me.id) || null;
  } catch (err) {
    showError(error, err);
  }

  // Profile: clinic, specialties, bio, fee.
  const clinic = h("select", { id: "profile-clinic", name: "clinic_id" },
    h("option", { value: "" }, "Choose your clinic"),
    clinics.map((c) => h("option", { value: c.id, selected: profile?.clinic_id === c.id }, `${c.name} (${c.timezone})`)));
  const specialties = h("input", { id: "profile-specialties", value: (profile?.specialties || []).join(", "), placeholder: "e.g. Cardiology, General practice" });
  const bio = h("textarea", { id: "profile-bio", rows: 2, maxlength: 2000 }, profile?.bio || "");
  const fee = h("input", { id: "profile-fee", type: "number", min: 0, step: "any", value: profile?.fee ?? "" });
  const profileError = errorBox();
  // A clinic chosen here is a request its admin decides; until then the doctor stays where they are.
  const request = h("p", { id: "clinic-request", class: "note", hidden: true });
  const showRequest = (pending) => {
    request.hidden = !pending;
    request.textContent = pending
      ? `Your request to join ${pending.clinic_name} is waiting for the clinic's approval; you are emailed the decision.${profile ? "" : " You can set your hours once it is approved."}`
      : "";
  };
  showRequest(waiting);
  const profileForm = h("form", { class: "card", "aria-labelledby": "profile-title", novalidate: true },
    h("h3", { id: "profile-title" }, "Profile"),
    h("label", { for: "profile-clinic" }, "Clinic"), clinic,
    h("label", { for: "profile-specialties" }, "Specialties (comma-separated)"), specialties,
    h("label", { for: "profile-bio" }, "Bio"), bio,
    h("label", { for: "profile-fee" }, "Fee"), fee,
    request, profileError, h("button", { type: "submit", class: "primary" }, "Save profile"));
  profileForm.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(profileForm.querySelector("button[type=submit]"), profileError, async () => {
      const body = { specialties: specialties.value.split(",").map((s) => s.trim()).filter(Boolean) };
      if (clinic.value) body.clinic_id = clinic.value;
      if (bio.value.trim()) body.bio = bio.value.trim();
      if (fee.value !== "") body.fee = Number(fee.value);
      const saved = await api.patch(`/api/doctors/${me.id}`, body);
      profile = saved.doctor || profile;
      note.textContent = "Profile saved.";
      showRequest(saved.clinic_request);
      availabilityForm.hidden = false;
    });
  });

  // Weekly availability in the clinic's local time, plus dated exceptions.
  const avail = profile?.availability || { slot_minutes: 30, buffer_minutes: 0, weekly: [], exceptions: [] };
  const days = WEEKDAYS.map((_, day) => windowRow(day, avail.weekly || []));
  const slotMinutes = h("input", { id: "slot-minutes", type: "number", min: 5, max: 480, value: avail.slot_minutes });
  const bufferMinutes = h("input", { id: "buffer-minutes", type: "number", min: 0, max: 240, value: avail.buffer_minutes });
  const exceptions = h("ul", { class: "plain-list exceptions" });
  const addException = (ex = { date: "", closed: true }) => {
    const date = h("input", { type: "date", value: ex.date, "aria-label": "Exception date" });
    const closed = h("select", { "aria-label": "Exception kind" }, h("option", { value: "closed", selected: ex.closed }, "closed"), h("option", { value: "hours", selected: !ex.closed }, "special hours"));
    const start = h("input", { type: "time", value: ex.start || "10:00", "aria-label": "Exception start" });
    const end = h("input", { type: "time", value: ex.end || "12:00", "aria-label": "Exception end" });
    const li = h("li", { class: "row" }, date, closed, start, end, h("button", { type: "button", class: "link", onclick: () => li.remove() }, "Remove"));
    li.value = () => (closed.value === "closed" ? { date: date.value, closed: true } : { date: date.value, start: start.value, end: end.value });
    exceptions.append(li);
  };
  for (const ex of avail.exceptions || []) addException(ex);
  const availError = errorBox();
  const availabilityForm = h("form", { class: "card", "aria-labelledby": "avail-title", novalidate: true, hidden: !profile },
    h("h3", { id: "avail-title" }, `Weekly hours${profile?.timezone ? ` (${profile.timezone})` : ""}`),
    days.map((d) => d.el),
    h("div", { class: "row" },
      h("div", { class: "field" }, h("label", { for: "slot-minutes" }, "Slot length (minutes)"), slotMinutes),
      h("div", { class: "field" }, h("label", { for: "buffer-minutes" }, "Buffer between slots (minutes)"), bufferMinutes)),
    h("h4", {}, "Exceptions"), exceptions,
    h("button", { type: "button", onclick: () => addException() }, "Add an exception"),
    availError, h("button", { type: "submit", class: "primary" }, "Save availability"));
  availabilityForm.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(availabilityForm.querySelector("button[type=submit]"), availError, async () => {
      const body = {
        slot_minutes: Number(slotMinutes.value),
        buffer_minutes: Number(bufferMinutes.value || 0),
        weekly: days.flatMap((d) => d.value()),
        exceptions: [...exceptions.children].map((li) => li.value()).filter((ex) => ex.date),
      };
      profile = (await api.put(`/api/doctors/${me.id}/availability`, body)).doctor;
      note.textContent = "Availability saved.";
    });
  });
  panel.append(profileForm, availabilityForm);
  if (!profile) panel.append(h("p", { class: "muted" }, "Save your profile (clinic and specialties) first; then set your hours."));
}
