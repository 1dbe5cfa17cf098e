// The Socket.IO connection: token auth, transports, the "reconnecting…" banner, acks as promises.
//
// A connection lasts as long as its access token: the server sends auth:expiring about a minute
// before the token expires, and this answers auth:refresh with a fresh token of the same session
// (or the server disconnects at expiry, and the reconnect below logs in again with a refresh).
//
// Transports: by default the client starts on HTTP long-polling and upgrades to a websocket
// when it can, so a network that blocks websockets still carries everything over polling.
// `?transport=polling` or `?transport=websocket` in the page URL forces one of them.

const { io } = window;

export function chosenTransports() {
  const forced = new URLSearchParams(location.search).get("transport");
  if (forced === "polling") return { transports: ["polling"], upgrade: false };
  if (forced === "websocket") return { transports: ["websocket"], upgrade: false };
  return { transports: ["polling", "websocket"], upgrade: true };
}

export class Live {
  constructor(session, banner) {
    this.session = session;
    this.banner = banner;
    this.handlers = new Map();
    this.reconnectHooks = [];
    this.everConnected = false;
    this.socket = io({
      ...chosenTransports(),
      autoConnect: false,
      // After a server restart every client loses its socket in the same instant: a wide random
      // spread (each wait is the backoff step times 1 ± up to 0.9) brings them back over seconds
      // rather than all in one, which the server would take as a storm (issue 22).
      // tests/chat_peer.py waits the same way.
      reconnectionDelay: 1000,
      reconnectionDelayMax: 10000,
      randomizationFactor: 0.9,
      // Called on every (re)connection, so a refreshed access token is always used.
      auth: (cb) => cb({ token: this.session.accessToken }),
    });
    this.socket.on("connect", () => this.onConnect());
    this.socket.on("disconnect", (reason) => this.onDisconnect(reason));
    this.socket.on("connect_error", (err) => this.onConnectError(err));
    this.socket.on("auth:expiring", () => this.extend());
  }

  // A fresh access token for this connection, before the server drops it at expiry.
  async extend() {
    try {
      const token = await this.session.freshAccessToken();
      await this.call("auth:refresh", { token });
    } catch {
      // Session over or the server refused: the disconnect at expiry leads to the reconnect path.
    }
  }

  start() { this.socket.connect(); }
  stop() { this.socket.disconnect(); }

  get connected() { return this.socket.connected; }
  get transport() { return this.socket.io.engine?.transport?.name || null; }

  on(event, fn) { this.socket.on(event, fn); }

  // Runs after every reconnection (not the first connect): catch-up calls go here.
  onReconnect(fn) { this.reconnectHooks.push(fn); }

  onConnect() {
    this.authRetries = 0;
    this.setBanner(null);
    document.body.dataset.socket = "connected";
    const wasConnected = this.everConnected;
    this.everConnected = true;
    if (wasConnected) for (const fn of this.reconnectHooks) fn();
  }

  onDisconnect(reason) {
    document.body.dataset.socket = "disconnected";
    if (reason === "io client disconnect") return;
    this.setBanner("Reconnecting…");
    // The server dropped us on purpose (e.g. token revoked): socket.io does not retry that itself.
    if (reason === "io server disconnect") this.socket.connect();
  }

  async onConnectError(err) {
    if (err?.message === "unauthorized") {
      // Probably an expired access token: refresh it and try again; a dead session logs out.
      this.authRetries = (this.authRetries || 0) + 1;
      if (this.authRetries > 3) {
        this.setBanner("The server refused this session. Please log in again.");
        return;
      }
      try {
        await this.session.refresh();
        this.socket.connect();
      } catch {
        this.setBanner("Your session has expired. Please log in again.");
      }
      return;
    }
    this.setBanner(this.everConnected ? "Reconnecting…" : "Connecting…");
  }

  setBanner(text) {
    if (!this.banner) return;
    this.banner.textContent = text || "";
    this.banner.hidden = !text;
  }

  // emit with an ack, as a promise of the ack body; rejects like the API does: {error: {code, message}}.
  call(event, data, timeoutMs = 10000) {
    return new Promise((resolve, reject) => {
      if (!this.socket.connected) {
        reject({ error: { code: "not_connected", message: "Not connected to the server. Reconnecting…" } });
        return;
      }
      this.socket.timeout(timeoutMs).emit(event, data, (err, ack) => {
        if (err) reject({ error: { code: "timeout", message: "The server did not answer in time. Try again." } });
        else if (ack && ack.ok === false) reject(ack);
        else resolve(ack || { ok: true });
      });
    });
  }

  // emit without waiting (typing indicators)
  send(event, data) {
    if (this.socket.connected) this.socket.emit(event, data);
  }
}
