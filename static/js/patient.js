// The patient app (/): messages, booking, appointments, vitals, advice, medications, preferences.

import { boot } from "./shell.js";
import { ChatPanel } from "./chat.js";
import { h, clear, errorBox, busy } from "./ui.js";
import { renderBooking, renderAppointments } from "./booking.js";
import { renderPatientVitals, renderAdvice, renderMedications } from "./vitals.js";
import { renderPreferences } from "./preferences.js";
import { renderAccountSettings } from "./account.js";
import { renderPrivacy } from "./care.js";
import { renderAssistant } from "./assistant.js";
import { renderMyRecord } from "./record.js";
import { renderPharmacy } from "./pharmacy.js";
import { renderRisk } from "./risk.js";
import { applyClinicBranding } from "./branding.js";

async function renderMessages(panel, ctx) {
  const chat = new ChatPanel({ root: panel, api: ctx.api, live: ctx.live, me: ctx.me, title: "Conversations" });
  ctx.chat = chat;
  // Starting a conversation: pick one of the approved doctors.
  const select = h("select", { id: "new-conv-doctor", "aria-label": "Doctor to message" }, h("option", { value: "" }, "Message a doctor…"));
  const error = errorBox();
  const button = h("button", { type: "button" }, "Start");
  button.addEventListener("click", () => busy(button, error, async () => {
    if (!select.value) throw new Error("Choose a doctor first.");
    await chat.startWith({ doctor_id: select.value });
  }));
  clear(chat.newBox, h("div", { class: "row" }, select, button), error);
  ctx.api.get("/api/doctors").then((data) => {
    for (const d of data.doctors || []) select.append(h("option", { value: d.id }, d.name));
  }).catch(() => { chat.newBox.hidden = true; }); // no doctor directory on this server
  await chat.load();
}

boot({
  role: "patient",
  title: "Engage",
  onReady: (ctx) => applyClinicBranding(ctx),
  sections: [
    { name: "messages", label: "Messages", render: renderMessages, eager: true },
    { name: "book", label: "Book", render: renderBooking, eager: true, onShow: (ctx) => ctx.booking?.refresh() },
    { name: "assistant", label: "Assistant", render: renderAssistant, onShow: (ctx) => ctx.assistant?.load() },
    { name: "appointments", label: "Appointments", render: renderAppointments, onShow: (ctx) => ctx.appointments?.refresh() },
    { name: "vitals", label: "Vitals", render: renderPatientVitals, onShow: (ctx) => ctx.vitals?.refresh() },
    { name: "advice", label: "Advice", render: renderAdvice, onShow: (ctx) => ctx.advice?.refresh() },
    { name: "medications", label: "Medications", render: renderMedications, onShow: (ctx) => ctx.medications?.refresh() },
    { name: "record", label: "My record", render: renderMyRecord, onShow: (ctx) => ctx.myRecord?.refresh() },
    { name: "risk", label: "My risk", render: renderRisk, onShow: (ctx) => ctx.risk?.refresh() },
    { name: "pharmacy", label: "Pharmacy", render: renderPharmacy, onShow: (ctx) => ctx.pharmacy?.refresh() },
    { name: "settings", label: "Preferences", render: renderPreferences },
    { name: "account", label: "Account", render: renderAccountSettings },
    { name: "privacy", label: "Privacy", render: renderPrivacy, onShow: (ctx) => ctx.privacy?.refresh() },
  ],
});
