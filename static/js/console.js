// The doctor console (/console): the conversation queue with the patient's context beside the
// chat, alerts, today's schedule and the availability editor.

import { boot } from "./shell.js";
import { ChatPanel } from "./chat.js";
import { h, clear } from "./ui.js";
import { PatientContext, renderAlerts } from "./vitals.js";
import { renderSchedule, renderAvailability } from "./schedule.js";
import { renderEmergencyAccess } from "./care.js";
import { renderConsoleRecord } from "./record.js";
import { renderAccountSettings } from "./account.js";

async function renderQueue(panel, ctx) {
  const chatRoot = h("div", { class: "queue" });
  const contextRoot = h("aside", { class: "context-pane", "aria-label": "Patient context" },
    h("p", { class: "muted" }, "Open a conversation to see the patient's vitals, alerts and next appointment."));
  clear(panel, h("div", { class: "console-layout" }, chatRoot, contextRoot));
  const context = new PatientContext({ root: contextRoot, ctx });
  ctx.patientContext = context;
  const chat = new ChatPanel({
    root: chatRoot, api: ctx.api, live: ctx.live, me: ctx.me, sort: "waiting", title: "Queue",
    onOpen: (conv) => context.show(conv.other),
  });
  chat.newBox.hidden = true;
  ctx.chat = chat;
  await chat.load();
}

boot({
  role: "doctor",
  title: "Engage console",
  sections: [
    { name: "queue", label: "Queue", render: renderQueue, eager: true },
    { name: "record", label: "Record", render: renderConsoleRecord, onShow: (ctx) => ctx.record?.loadPatients() },
    { name: "alerts", label: "Alerts", render: renderAlerts, eager: true, onShow: (ctx) => ctx.alerts?.refresh() },
    { name: "schedule", label: "Today", render: renderSchedule, onShow: (ctx) => ctx.schedule?.refresh() },
    { name: "availability", label: "Availability", render: renderAvailability },
    { name: "emergency", label: "Emergency access", render: renderEmergencyAccess },
    { name: "account", label: "Account", render: renderAccountSettings },
  ],
});
