// Conversations and chat, shared by the patient app and the doctor console.
//
// Messages are kept per conversation by seq, so a message that arrives twice (a live event and
// a chat:sync answer) is shown once. Sends carry a client_id and are retried with the same id
// after a reconnect, which the server answers with the original message (idempotent).

import { clientId, errorMessage } from "./api.js";
import { h, clear, formatTime, since, showError, errorBox } from "./ui.js";

const TYPING_REFRESH_MS = 3000; // re-send typing:true this often while typing (server TTL is 6 s)
const TYPING_IDLE_MS = 4000; // stop typing after this long without a key press
const TYPING_SHOW_MS = 8000; // hide a typing indicator nobody refreshed (server sends false too)
const PAGE = 50;

// The API's conversation, in the shape this module uses.
export function normalizeConversation(raw, me) {
  const otherRole = me.role === "patient" ? "doctor" : "patient";
  const other = raw.other || raw.other_party || raw.participant || raw[otherRole] || {};
  const otherId = other.id || other._id || raw[`${otherRole}_id`];
  const reads = raw.read_seqs || raw.reads || {};
  return {
    id: raw.id || raw._id,
    raw,
    other: { id: otherId, name: other.name || (otherRole === "doctor" ? "Doctor" : "Patient"), role: otherRole },
    lastMessage: raw.last_message || null,
    lastMessageAt: raw.last_message_at || raw.last_message?.created_at || raw.created_at || null,
    unread: raw.unread_count ?? raw.unread ?? 0,
    lastSeq: raw.last_seq ?? raw.last_message?.seq ?? 0,
    otherReadSeq: raw.other_read_seq ?? reads[otherId] ?? 0,
    myReadSeq: raw.read_seq ?? 0,
    online: other.online ?? (other.presence ? other.presence === "online" : raw.online ?? false),
  };
}

// How long the patient has been waiting for the doctor: since the first patient message after the doctor's last one.
export function waitingSince(conv, messages) {
  if (conv.raw.waiting_since !== undefined) return conv.raw.waiting_since;
  const list = messages ? [...messages.values()].sort((a, b) => a.seq - b.seq) : [];
  if (list.length) {
    let start = null;
    for (const m of list) {
      if (m.sender_id === conv.other.id) start = start || m.created_at;
      else start = null;
    }
    return start;
  }
  const last = conv.lastMessage;
  return last && last.sender_id === conv.other.id ? last.created_at : null;
}

export class ChatPanel {
  // root: element to render into; sort: "activity" (patients) or "waiting" (doctor queue)
  // messageExtra(m, conv): more content under a message (the Assistant tab's action buttons).
  constructor({ root, api, live, me, sort = "activity", title = "Conversations", onOpen, headerExtra, messageExtra }) {
    Object.assign(this, { root, api, live, me, sort, onOpen, headerExtra, messageExtra });
    this.conversations = new Map();
    this.messages = new Map(); // conversation id → Map(seq → message)
    this.pending = new Map(); // client_id → {conversation_id, body, client_id, failed}
    this.typing = new Map(); // conversation id → hide timer
    this.presence = new Map(); // user id → "online" | "offline"
    this.openId = null;
    this.typingSentAt = 0;
    this.typingIdle = null;
    this.historyDone = new Set();

    this.listEl = h("ul", { class: "conversation-list", "aria-label": title });
    this.listError = errorBox();
    this.emptyEl = h("p", { class: "muted", hidden: true }, "No conversations yet.");
    this.newBox = h("div", { class: "new-conversation" });
    this.listPane = h("section", { class: "pane list-pane", "aria-labelledby": "conv-title" },
      h("h2", { id: "conv-title" }, title), this.newBox, this.listError, this.emptyEl, this.listEl);
    this.chatPane = h("section", { class: "pane chat-pane", "aria-label": "Chat", hidden: true });
    clear(root, h("div", { class: "chat-layout" }, this.listPane, this.chatPane));

    live.on("chat:message", (m) => this.onMessage(m));
    live.on("chat:typing", (e) => this.onTyping(e));
    live.on("chat:read", (e) => this.onRead(e));
    live.on("presence", (e) => this.onPresence(e));
    live.onReconnect(() => this.catchUp());
    document.addEventListener("visibilitychange", () => { if (!document.hidden) this.markRead(); });
    setInterval(() => { if (this.sort === "waiting") this.renderList(); }, 30000);
  }

  async load() {
    try {
      const data = await this.api.get("/api/conversations");
      for (const raw of data.conversations || []) {
        const conv = normalizeConversation(raw, this.me);
        const known = this.conversations.get(conv.id);
        if (known) conv.otherReadSeq = Math.max(conv.otherReadSeq, known.otherReadSeq);
        if (this.presence.has(conv.other.id)) conv.online = this.presence.get(conv.other.id) === "online";
        if (conv.id === this.openId) conv.unread = 0;
        this.conversations.set(conv.id, conv);
      }
      showError(this.listError, null);
    } catch (err) {
      showError(this.listError, err);
    }
    this.renderList();
    if (this.openId) this.renderHeader();
  }

  sorted() {
    const list = [...this.conversations.values()];
    if (this.sort === "waiting") {
      // A conversation the assistant just handed over (its newest message is the summary) comes
      // first; then waiting patients, longest wait first; then everyone else by latest activity.
      const handedOver = (c) => Boolean(c.lastMessage?.assistant?.summary);
      return list.sort((a, b) => {
        if (handedOver(a) !== handedOver(b)) return handedOver(a) ? -1 : 1;
        const wa = waitingSince(a, this.messages.get(a.id));
        const wb = waitingSince(b, this.messages.get(b.id));
        if (wa && wb) return new Date(wa) - new Date(wb);
        if (wa || wb) return wa ? -1 : 1;
        return new Date(b.lastMessageAt || 0) - new Date(a.lastMessageAt || 0);
      });
    }
    return list.sort((a, b) => new Date(b.lastMessageAt || 0) - new Date(a.lastMessageAt || 0));
  }

  renderList() {
    const items = this.sorted().map((conv) => {
      const waiting = this.sort === "waiting" ? waitingSince(conv, this.messages.get(conv.id)) : null;
      const preview = this.typing.has(conv.id) ? "typing…" : conv.lastMessage?.body || "No messages yet";
      const button = h("button", {
        class: "conversation", type: "button", "aria-current": conv.id === this.openId ? "true" : null,
        dataset: { conversationId: conv.id, otherId: conv.other.id },
        onclick: () => this.open(conv.id),
      },
      h("span", { class: `presence ${conv.online ? "online" : "offline"}`, role: "img", "aria-label": conv.online ? "online" : "offline", title: conv.online ? "online" : "offline" }),
      h("span", { class: "conv-main" },
        h("span", { class: "conv-name" }, conv.other.name),
        h("span", { class: "conv-preview" }, preview)),
      h("span", { class: "conv-meta" },
        waiting ? h("span", { class: "waiting", title: "Waiting for a reply" }, `waiting ${since(waiting)}`) : h("span", { class: "conv-time" }, formatTime(conv.lastMessageAt)),
        conv.unread > 0 ? h("span", { class: "badge unread", "aria-label": `${conv.unread} unread` }, String(conv.unread)) : null));
      return h("li", {}, button);
    });
    clear(this.listEl, items);
    this.emptyEl.hidden = items.length > 0;
  }

  // Open (or create) the conversation with someone, then show it.
  async startWith(body) {
    const data = await this.api.post("/api/conversations", body);
    const conv = normalizeConversation(data.conversation, this.me);
    if (!this.conversations.has(conv.id)) this.conversations.set(conv.id, conv);
    await this.load();
    await this.open(conv.id);
  }

  async open(id) {
    this.setTyping(false);
    this.openId = id;
    const conv = this.conversations.get(id);
    this.chatPane.hidden = false;
    this.root.classList.add("chat-open");
    this.logEl = h("ol", { class: "messages", "aria-live": "polite", "aria-label": "Messages" });
    this.typingEl = h("p", { class: "typing", "aria-live": "polite" });
    this.sendError = errorBox();
    this.input = h("textarea", { id: "composer", name: "body", rows: 2, maxlength: 4000, placeholder: "Write a message", "aria-label": "Message" });
    this.input.addEventListener("input", () => this.onInput());
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); this.submit(); }
    });
    this.input.addEventListener("blur", () => this.setTyping(false));
    const form = h("form", { class: "composer" }, this.input, h("button", { type: "submit", class: "primary" }, "Send"));
    form.addEventListener("submit", (event) => { event.preventDefault(); this.submit(); });
    this.headerEl = h("div", { class: "chat-header" });
    this.olderButton = h("button", { type: "button", class: "link older", hidden: true, onclick: () => this.loadOlder() }, "Load earlier messages");
    clear(this.chatPane,
      this.headerEl, this.olderButton, this.logEl, this.typingEl, this.sendError, form);
    this.renderHeader();
    this.renderList();
    this.onOpen?.(conv);
    if (!this.messages.has(id)) await this.loadHistory(id);
    else await this.syncConversation(id);
    this.renderMessages();
    this.markRead();
    this.input.focus();
  }

  renderHeader() {
    const conv = this.conversations.get(this.openId);
    if (!conv || !this.headerEl) return;
    clear(this.headerEl,
      h("button", { type: "button", class: "back", "aria-label": "Back to conversations", onclick: () => this.close() }, "←"),
      h("span", { class: `presence ${conv.online ? "online" : "offline"}`, role: "img", "aria-label": conv.online ? "online" : "offline" }),
      h("h2", { class: "chat-title" }, conv.other.name),
      this.headerExtra ? this.headerExtra(conv) : null);
  }

  close() {
    this.setTyping(false);
    this.openId = null;
    this.chatPane.hidden = true;
    this.root.classList.remove("chat-open");
    this.renderList();
    this.listEl.querySelector("button")?.focus();
  }

  store(id) {
    if (!this.messages.has(id)) this.messages.set(id, new Map());
    return this.messages.get(id);
  }

  lastSeq(id) {
    const stored = this.messages.get(id);
    if (!stored || stored.size === 0) return 0;
    return Math.max(...stored.keys());
  }

  async loadHistory(id) {
    try {
      const data = await this.api.get(`/api/conversations/${id}/messages`, { limit: PAGE });
      const list = data.messages || [];
      const store = this.store(id);
      for (const m of list) store.set(m.seq, m);
      if (list.length < PAGE || Math.min(...store.keys()) <= 1) this.historyDone.add(id);
    } catch (err) {
      showError(this.sendError, err);
    }
  }

  async loadOlder() {
    const id = this.openId;
    const store = this.store(id);
    const first = Math.min(...store.keys());
    try {
      const data = await this.api.get(`/api/conversations/${id}/messages`, { before_seq: first, limit: PAGE });
      const list = data.messages || [];
      for (const m of list) store.set(m.seq, m);
      if (list.length < PAGE) this.historyDone.add(id);
      this.renderMessages(false);
    } catch (err) {
      showError(this.sendError, err);
    }
  }

  // Fetch what we missed in one conversation (after a reconnect, or a seq gap).
  async syncConversation(id) {
    if (!this.live.connected) return;
    let after = this.lastSeq(id);
    for (let round = 0; round < 20; round++) {
      let ack;
      try {
        ack = await this.live.call("chat:sync", { conversation_id: id, after_seq: after, limit: 200 });
      } catch (err) {
        if (id === this.openId) showError(this.sendError, err);
        return;
      }
      const list = ack.messages || [];
      for (const m of list) this.addMessage(m, false);
      if (list.length < 200) break;
      after = list[list.length - 1].seq;
    }
  }

  async catchUp() {
    await Promise.all([...this.messages.keys()].map((id) => this.syncConversation(id)));
    for (const item of [...this.pending.values()]) await this.deliver(item);
    await this.load();
    this.renderMessages();
    this.markRead();
  }

  addMessage(m, render = true) {
    const store = this.store(m.conversation_id);
    const known = store.has(m.seq);
    store.set(m.seq, m);
    if (m.client_id && this.pending.has(m.client_id) && m.sender_id === this.me.id) this.pending.delete(m.client_id);
    const conv = this.conversations.get(m.conversation_id);
    if (conv && !known) {
      if (!conv.lastMessage || m.seq >= (conv.lastMessage.seq || 0)) {
        conv.lastMessage = m;
        conv.lastMessageAt = m.created_at;
      }
      conv.lastSeq = Math.max(conv.lastSeq, m.seq);
      const visible = m.conversation_id === this.openId && !document.hidden;
      if (m.sender_id !== this.me.id && !visible && m.seq > (conv.myReadSeq || 0)) conv.unread += 1;
    }
    if (render) {
      this.renderList();
      if (m.conversation_id === this.openId) this.renderMessages();
    }
    return known;
  }

  onMessage(m) {
    if (!this.conversations.has(m.conversation_id)) {
      // A conversation someone just started with us.
      this.store(m.conversation_id).set(m.seq, m);
      this.load();
      return;
    }
    const before = this.lastSeq(m.conversation_id);
    this.addMessage(m);
    if (m.sender_id !== this.me.id) this.clearTyping(m.conversation_id);
    if (this.messages.has(m.conversation_id) && before && m.seq > before + 1) this.syncConversation(m.conversation_id).then(() => this.renderMessages());
    if (m.conversation_id === this.openId) this.markRead();
  }

  renderMessages(scroll = true) {
    if (!this.openId || !this.logEl) return;
    const conv = this.conversations.get(this.openId);
    const store = this.store(this.openId);
    const list = [...store.values()].sort((a, b) => a.seq - b.seq);
    const pending = [...this.pending.values()].filter((p) => p.conversation_id === this.openId);
    this.olderButton.hidden = this.historyDone.has(this.openId) || list.length === 0 || list[0].seq <= 1;
    const items = list.map((m) => this.messageItem(m, conv));
    for (const p of pending) {
      items.push(h("li", { class: "message mine pending", dataset: { clientId: p.client_id, status: p.failed ? "failed" : "sending" } },
        h("p", { class: "body" }, p.body),
        h("span", { class: "meta" }, p.failed ? h("span", { class: "tick failed" }, "Not sent — will retry") : h("span", { class: "tick", "aria-label": "Sending" }, "…"))));
    }
    const atBottom = this.logEl.scrollHeight - this.logEl.scrollTop - this.logEl.clientHeight < 40;
    clear(this.logEl, items);
    if (scroll || atBottom) this.logEl.scrollTop = this.logEl.scrollHeight;
  }

  messageItem(m, conv) {
    const mine = m.sender_id === this.me.id;
    let tick = null;
    if (mine) {
      const read = conv && m.seq <= conv.otherReadSeq;
      tick = h("span", { class: `tick ${read ? "read" : "sent"}`, "aria-label": read ? "Read" : "Sent", title: read ? "Read" : "Sent" }, read ? "✓✓" : "✓");
    }
    // The assistant's replies and the handover summaries it posts are marked as automated.
    const automated = m.assistant ? h("span", { class: "automated-label" }, m.assistant.summary ? "Automated summary by the assistant" : "Automated reply") : null;
    return h("li", { class: `message ${mine ? "mine" : "theirs"}${m.assistant ? " automated" : ""}`, dataset: { seq: m.seq, status: mine ? (conv && m.seq <= conv.otherReadSeq ? "read" : "sent") : "received" } },
      automated,
      h("p", { class: "body" }, m.body),
      this.messageExtra ? this.messageExtra(m, conv) : null,
      h("span", { class: "meta" }, h("time", { datetime: m.created_at }, formatTime(m.created_at)), tick));
  }

  async submit() {
    const body = this.input.value.trim();
    if (!body) return;
    if (body.length > 4000) {
      showError(this.sendError, new Error("A message can be at most 4000 characters."));
      return;
    }
    const item = { conversation_id: this.openId, client_id: clientId(), body, failed: false };
    this.pending.set(item.client_id, item);
    this.input.value = "";
    this.setTyping(false);
    this.renderMessages();
    await this.deliver(item);
  }

  async deliver(item) {
    showError(this.sendError, null);
    try {
      const ack = await this.live.call("chat:send", { conversation_id: item.conversation_id, client_id: item.client_id, body: item.body });
      this.pending.delete(item.client_id);
      item.retries = 0;
      if (ack.message) this.addMessage(ack.message);
    } catch (err) {
      const code = err?.error?.code;
      if (code === "not_connected" || code === "timeout") {
        item.failed = true; // kept and retried with the same client_id on reconnect
      } else if (code === "server_busy" || code === "database_unavailable" || code === "service_unavailable" || code === "internal_error") {
        // Not stored, or not known to be: retried with the same client_id shortly (a stored
        // original is answered instead of a second copy). A restarting database or Redis
        // answers these until it is back.
        item.failed = true;
        item.retries = (item.retries || 0) + 1;
        const wait = Math.min((err.retry_after || 1) * 2 ** Math.min(item.retries - 1, 4), 30);
        setTimeout(() => { if (this.pending.has(item.client_id)) this.deliver(item); }, wait * 1000);
      } else {
        this.pending.delete(item.client_id); // refused: give the text back with the reason
        if (item.conversation_id === this.openId && !this.input.value) this.input.value = item.body;
      }
      if (item.conversation_id === this.openId) showError(this.sendError, err);
    }
    if (item.conversation_id === this.openId) this.renderMessages();
  }

  onInput() {
    if (!this.input.value.trim()) { this.setTyping(false); return; }
    if (Date.now() - this.typingSentAt > TYPING_REFRESH_MS) this.setTyping(true);
    clearTimeout(this.typingIdle);
    this.typingIdle = setTimeout(() => this.setTyping(false), TYPING_IDLE_MS);
  }

  setTyping(typing) {
    clearTimeout(this.typingIdle);
    if (!this.openId) return;
    if (typing) {
      this.typingSentAt = Date.now();
      this.live.send("chat:typing", { conversation_id: this.openId, typing: true });
    } else if (this.typingSentAt) {
      this.typingSentAt = 0;
      this.live.send("chat:typing", { conversation_id: this.openId, typing: false });
    }
  }

  onTyping(e) {
    if (e.user_id === this.me.id) return;
    if (e.typing) {
      clearTimeout(this.typing.get(e.conversation_id));
      this.typing.set(e.conversation_id, setTimeout(() => this.clearTyping(e.conversation_id), TYPING_SHOW_MS));
    } else {
      this.clearTyping(e.conversation_id, false);
    }
    this.renderTyping();
  }

  clearTyping(id, render = true) {
    clearTimeout(this.typing.get(id));
    this.typing.delete(id);
    if (render) this.renderTyping();
  }

  renderTyping() {
    if (this.typingEl) {
      const conv = this.conversations.get(this.openId);
      this.typingEl.textContent = this.typing.has(this.openId) && conv ? `${conv.other.name} is typing…` : "";
    }
    this.renderList();
  }

  onRead(e) {
    const conv = this.conversations.get(e.conversation_id);
    if (!conv) return;
    if (e.user_id === this.me.id) {
      conv.myReadSeq = Math.max(conv.myReadSeq || 0, e.seq);
      if (e.seq >= conv.lastSeq) conv.unread = 0; // read on another device
      this.renderList();
      return;
    }
    conv.otherReadSeq = Math.max(conv.otherReadSeq, e.seq);
    if (e.conversation_id === this.openId) this.renderMessages(false);
  }

  onPresence(e) {
    this.presence.set(e.user_id, e.status);
    for (const conv of this.conversations.values()) if (conv.other.id === e.user_id) conv.online = e.status === "online";
    this.renderList();
    this.renderHeader();
  }

  markRead() {
    const id = this.openId;
    if (!id || document.hidden) return;
    const conv = this.conversations.get(id);
    const seq = this.lastSeq(id);
    if (!conv || !seq || seq <= (conv.myReadSeq || 0)) return;
    conv.myReadSeq = seq;
    conv.unread = 0;
    this.renderList();
    this.live.call("chat:read", { conversation_id: id, seq }).catch((err) => {
      conv.myReadSeq = 0; // try again on the next message or reconnect
      if (err?.error?.code !== "not_connected") showError(this.sendError, err);
    });
  }
}

export { errorMessage };
