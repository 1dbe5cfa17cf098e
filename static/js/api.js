// The JSON API: one fetch wrapper, token refresh, and readable error messages.
//
// Every API error has the shape {"error": {code, message, field?, details?}, ...extra}.
// ApiError keeps all of it so callers can show the message and use extras (e.g. alternatives).

export class ApiError extends Error {
  constructor(status, error, body) {
    super(error?.message || `The server answered ${status}.`);
    this.status = status;
    this.code = error?.code || "http_error";
    this.field = error?.field || null;
    this.details = error?.details || null;
    this.body = body || {};
  }
}

// Messages for errors that happen before the API could answer, or codes worth rephrasing.
const FRIENDLY = {
  network_error: "Cannot reach Engage. Check your connection and try again.",
  invalid_token: "Your session has expired. Please log in again.",
  invalid_refresh_token: "Your session has expired. Please log in again.",
  refresh_token_reused: "Your session was ended for safety. Please log in again.",
  rate_limited: "You are doing that too often. Wait a few seconds and try again.",
  internal_error: "Something went wrong on the server. Try again in a moment.",
  timeout: "The server did not answer in time. Try again.",
  not_connected: "Not connected to the server. Reconnecting…",
};

// A sentence for any error: the API's own message when it sent one, else a friendly default.
export function errorMessage(err) {
  if (!err) return "";
  if (err instanceof ApiError) {
    if (err.code === "network_error" || err.code === "invalid_token" || err.code === "refresh_token_reused") return FRIENDLY[err.code];
    return err.message || FRIENDLY[err.code] || `Request failed (${err.status}).`;
  }
  if (err.error && typeof err.error === "object") return err.error.message || FRIENDLY[err.error.code] || "The request failed.";
  if (typeof err === "string") return err;
  return err.message || "Something went wrong.";
}

// Tokens of one app (patient, doctor or admin), kept apart so two apps in one browser do not clash.
export class Session {
  constructor(app) {
    this.key = `engage.session.${app}`;
    this.listeners = new Set();
    try {
      this.data = JSON.parse(localStorage.getItem(this.key) || "null");
    } catch {
      this.data = null;
    }
    this.refreshing = null;
  }

  get user() { return this.data?.user || null; }
  get accessToken() { this.adoptNewerTokens(); return this.data?.access_token || null; }

  // Another tab of this app rotated the tokens: use its pair (ours is spent) instead of
  // presenting a used refresh token, which after the server's 10 s grace ends the session.
  adoptNewerTokens() {
    let stored = null;
    try { stored = JSON.parse(localStorage.getItem(this.key) || "null"); } catch { stored = null; }
    if (stored?.refresh_token && this.data && stored.refresh_token !== this.data.refresh_token) this.data = stored;
  }

  // An access token that the server will accept for a while: a newer one from another tab if
  // there is one, else a refresh.
  async freshAccessToken() {
    const before = this.data?.access_token;
    this.adoptNewerTokens();
    if (this.data?.access_token && this.data.access_token !== before) return this.data.access_token;
    return this.refresh();
  }

  save(pair) {
    this.data = { access_token: pair.access_token, refresh_token: pair.refresh_token, user: pair.user };
    localStorage.setItem(this.key, JSON.stringify(this.data));
  }

  clear() {
    this.data = null;
    localStorage.removeItem(this.key);
    for (const fn of this.listeners) fn();
  }

  onLogout(fn) { this.listeners.add(fn); }

  // One refresh at a time: concurrent 401s share it (a refresh token used twice ends the session).
  refresh() {
    if (!this.data?.refresh_token) return Promise.reject(new ApiError(401, { code: "invalid_refresh_token" }));
    if (!this.refreshing) {
      this.adoptNewerTokens();
      const token = this.data.refresh_token;
      this.refreshing = rawRequest("POST", "/api/auth/refresh", { refresh_token: token })
        .then((pair) => { this.save(pair); return pair.access_token; })
        .catch((err) => { if (err.status === 401) this.clear(); throw err; })
        .finally(() => { this.refreshing = null; });
    }
    return this.refreshing;
  }

  async logout() {
    const token = this.data?.refresh_token;
    this.clear();
    if (token) {
      try { await rawRequest("POST", "/api/auth/logout", { refresh_token: token }); } catch { /* already gone */ }
    }
  }
}

async function rawRequest(method, path, body, token) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, { code: "network_error", message: FRIENDLY.network_error });
  }
  let data = null;
  const text = await response.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!response.ok) {
    throw new ApiError(response.status, data?.error || { code: "http_error", message: `The server answered ${response.status}.` }, data);
  }
  return data;
}

// The API client of one app: adds the access token and refreshes it once on 401.
export class Api {
  constructor(session) { this.session = session; }

  async request(method, path, body) {
    try {
      return await rawRequest(method, path, body, this.session.accessToken);
    } catch (err) {
      if (err.status === 401 && err.code === "invalid_token" && this.session.data?.refresh_token) {
        await this.session.refresh();
        return rawRequest(method, path, body, this.session.accessToken);
      }
      throw err;
    }
  }

  get(path, query) {
    if (query) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") params.set(k, v);
      const qs = params.toString();
      if (qs) path += (path.includes("?") ? "&" : "?") + qs;
    }
    return this.request("GET", path);
  }
  post(path, body = {}) { return this.request("POST", path, body); }
  put(path, body = {}) { return this.request("PUT", path, body); }
  patch(path, body = {}) { return this.request("PATCH", path, body); }

  // A sign-in answer: the session's tokens (the user is returned), or - with two-factor on -
  // {mfa_required, mfa_token} to finish with finishMfa (static/js/account.js).
  async login(email, password) {
    return this.signedIn(await rawRequest("POST", "/api/auth/login", { email, password }));
  }

  signedIn(answer) {
    if (answer.mfa_required) return answer;
    this.session.save(answer);
    return answer.user;
  }

  async finishMfa(mfaToken, code) {
    const answer = await rawRequest("POST", "/api/auth/mfa", { mfa_token: mfaToken, code });
    this.session.save(answer);
    return answer;
  }

  beginEnrolmentAtSignIn(mfaToken) { return rawRequest("POST", "/api/auth/mfa/totp", { mfa_token: mfaToken }); }
  forgotPassword(email) { return rawRequest("POST", "/api/auth/password/forgot", { email }); }
  resetPassword(token, password) { return rawRequest("POST", "/api/auth/password/reset", { token, password }); }
  startCodeSignIn(destination) { return rawRequest("POST", "/api/auth/otp/start", destination); }
  async signInWithCode(body) { return this.signedIn(await rawRequest("POST", "/api/auth/otp/verify", body)); }

  register(fields) { return rawRequest("POST", "/api/auth/register", fields); }
}

// A random id for idempotent retries; crypto.randomUUID needs a secure context, getRandomValues does not.
export function clientId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
