// Notification preferences: channels per category, quiet hours, global opt-out.

import { h, clear, errorBox, showError, busy } from "./ui.js";

const CATEGORIES = {
  reminders: "Appointment and medication reminders",
  messages: "New messages I have not read",
  alerts: "Health alerts and advice",
};
const CHANNELS = { email: "Email", sms: "SMS" };

export async function renderPreferences(panel, ctx) {
  const { api, me } = ctx;
  const error = errorBox();
  const note = h("p", { class: "note", role: "status" });
  clear(panel, h("h2", {}, "Notification preferences"), error);
  let prefs;
  try {
    prefs = (await api.get("/api/me/preferences")).preferences;
  } catch (err) {
    showError(error, err);
    return;
  }
  const boxes = {};
  const fieldsets = Object.entries(CATEGORIES).map(([cat, label]) => h("fieldset", { class: "card" },
    h("legend", {}, label),
    Object.entries(CHANNELS).map(([ch, chLabel]) => {
      const id = `pref-${cat}-${ch}`;
      boxes[id] = h("input", { type: "checkbox", id, checked: (prefs.channels[cat] || []).includes(ch), dataset: { category: cat, channel: ch } });
      return h("label", { for: id, class: "check" }, boxes[id], ` ${chLabel}`);
    })));
  const quiet = h("input", { type: "checkbox", id: "quiet-on", checked: !!prefs.quiet_hours });
  const start = h("input", { type: "time", id: "quiet-start", value: prefs.quiet_hours?.start || "22:00" });
  const end = h("input", { type: "time", id: "quiet-end", value: prefs.quiet_hours?.end || "07:00" });
  const optOut = h("input", { type: "checkbox", id: "opt-out", checked: prefs.opted_out });
  const formError = errorBox();
  const form = h("form", { class: "preferences", novalidate: true },
    fieldsets,
    h("fieldset", { class: "card" }, h("legend", {}, `Quiet hours (${prefs.timezone})`),
      h("label", { for: "quiet-on", class: "check" }, quiet, " No notifications during these hours (critical alerts still come through)"),
      h("div", { class: "row" }, h("label", { for: "quiet-start" }, "From"), start, h("label", { for: "quiet-end" }, "to"), end)),
    h("fieldset", { class: "card" }, h("legend", {}, "Everything"),
      h("label", { for: "opt-out", class: "check" }, optOut, " Stop all notifications")),
    prefs.sms_opted_out ? h("p", { class: "muted" }, "Your phone number has opted out of SMS (you texted STOP). Text START to turn SMS back on.") : null,
    me.phone ? null : h("p", { class: "muted" }, "Add a phone number to your account to get SMS."),
    formError, note,
    h("button", { type: "submit", class: "primary" }, "Save preferences"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    note.textContent = "";
    busy(form.querySelector("button[type=submit]"), formError, async () => {
      const channels = {};
      for (const cat of Object.keys(CATEGORIES)) {
        channels[cat] = Object.keys(CHANNELS).filter((ch) => boxes[`pref-${cat}-${ch}`].checked);
      }
      const body = { channels, quiet_hours: quiet.checked ? { start: start.value, end: end.value } : null, opted_out: optOut.checked };
      prefs = (await api.put("/api/me/preferences", body)).preferences;
      note.textContent = "Preferences saved.";
    });
  });
  panel.append(form);
}
