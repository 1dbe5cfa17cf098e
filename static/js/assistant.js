// The Assistant tab of the patient app: the patient's conversation with the Engage Assistant.
//
// It is an ordinary conversation (chat:send, sync, read receipts) shown by ChatPanel; this module
// adds the buttons of the actions the assistant's replies carry: book a slot (the normal
// POST /api/appointments), call the emergency number, talk to a person, move or cancel an
// appointment. Every reply is marked as automated (chat.js).

import { clientId, errorMessage } from "./api.js";
import { ChatPanel } from "./chat.js";
import { h, formatDateTime } from "./ui.js";

const HANDOVER_REQUEST = "I would like to talk to a person, please.";

export async function renderAssistant(panel, ctx) {
  const data = await ctx.api.post("/api/assistant/conversation", {});
  const conversationId = data.conversation.id;
  const results = new Map(); // "<message id>:<action index>" → what happened, kept across re-renders
  const chat = new ChatPanel({
    root: panel, api: ctx.api, live: ctx.live, me: ctx.me, title: "Assistant",
    messageExtra: (m) => (m.assistant?.actions?.length ? actionBar(m, ctx, chat, results) : null),
  });
  panel.classList.add("assistant-panel");
  chat.listPane.hidden = true; // one conversation only
  ctx.assistant = chat;
  panel.prepend(h("h2", { class: "assistant-title" }, "Assistant"), h("p", { class: "assistant-note muted" },
    "The assistant is automated: it can book, move or cancel appointments, answer questions about the clinic and pass you to a person. ",
    h("strong", {}, "In an emergency, call your emergency number now.")));
  await chat.load();
  await chat.open(conversationId);
}

function actionBar(message, ctx, chat, results) {
  const bar = h("div", { class: "assistant-actions", role: "group", "aria-label": "Suggested actions" });
  message.assistant.actions.forEach((action, index) => {
    const key = `${message.id}:${index}`;
    const status = h("span", { class: "action-result", role: "status" }, results.get(key)?.text || "");
    const done = (text, ok) => { results.set(key, { text, ok }); status.textContent = text; };
    const run = (button, fn) => async () => {
      button.disabled = true;
      try {
        done(await fn(), true);
      } catch (err) {
        done(errorMessage(err), false);
        button.disabled = false;
      }
    };
    let control;
    if (action.type === "call_emergency") {
      control = h("a", { class: "button danger", href: `tel:${action.number.replace(/\s/g, "")}` }, action.label);
    } else if (action.type === "book_slot") {
      control = h("button", { type: "button", class: "primary" }, action.label);
      control.addEventListener("click", run(control, async () => {
        const booked = await ctx.api.post("/api/appointments", { doctor_id: action.doctor_id, start: action.start, client_id: clientId() });
        const a = booked.appointment;
        ctx.appointments?.refresh();
        return `Booked: ${a.resource_name}, ${formatDateTime(a.start, a.timezone)} (token ${a.token}).`;
      }));
    } else if (action.type === "handover") {
      control = h("button", { type: "button" }, action.label);
      control.addEventListener("click", run(control, async () => {
        if (!action.conversation_id) {
          // Ask in the conversation: the assistant hands over with a summary and answers with the chat to open.
          chat.input.value = HANDOVER_REQUEST;
          await chat.submit();
          return "Asked for a person.";
        }
        ctx.showTab("messages");
        await ctx.chat?.load();
        await ctx.chat?.open(action.conversation_id);
        return "Opened the chat.";
      }));
    } else if (action.type === "reschedule") {
      control = h("button", { type: "button" }, action.label);
      control.addEventListener("click", run(control, async () => {
        if (!action.start) {
          ctx.showTab("appointments");
          return "Choose a new time in Appointments.";
        }
        const moved = await ctx.api.post(`/api/appointments/${action.appointment_id}/reschedule`, { start: action.start });
        ctx.appointments?.refresh();
        return `Moved to ${formatDateTime(moved.appointment.start, moved.appointment.timezone)}.`;
      }));
    } else if (action.type === "cancel") {
      control = h("button", { type: "button", class: "danger" }, action.label);
      control.addEventListener("click", run(control, async () => {
        await ctx.api.post(`/api/appointments/${action.appointment_id}/cancel`, {});
        ctx.appointments?.refresh();
        return "Cancelled.";
      }));
    } else if (action.type === "open") {
      control = h("a", { class: "button", href: action.url }, action.label);
    } else {
      return;
    }
    if (control.tagName === "BUTTON" && results.get(key)?.ok) control.disabled = true; // done once: not again
    bar.append(h("span", { class: "assistant-action" }, control, status));
  });
  return bar;
}
