// The sign-in screen's account flows (issue 19): the second-factor step, forgot and reset password,
// and signing in with an emailed or texted code. Codes and tokens live only in the form fields.

import { h, clear, errorBox, busy, formValues } from "./ui.js";

let fieldCount = 0;

function field(label, input) {
  const id = `acc${++fieldCount}`;
  input.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), input);
}

function form(title, ...children) {
  const titleId = `acc-title-${++fieldCount}`;
  return h("form", { class: "card auth account", "aria-labelledby": titleId, novalidate: true }, h("h2", { id: titleId }, title), ...children);
}

// After a first factor: a session (the user), or the second-factor form in place of the screen.
export async function continueSignIn(root, api, answer, onUser) {
  if (!answer.mfa_required) return onUser(answer);
  const error = errorBox();
  const note = answer.mfa_enrolment_required
    ? h("p", { class: "note" }, "Your role needs two-factor sign-in: add Engage to your authenticator app first.")
    : h("p", { class: "note" }, "Enter the 6-digit code from your authenticator app, or one of your recovery codes.");
  const enrol = h("div", { class: "enrol" });
  const mfa = form(
    "Second step",
    note,
    enrol,
    field("Authentication code", h("input", { name: "code", autocomplete: "one-time-code", inputmode: "text", required: true, maxlength: 20 })),
    error,
    h("button", { type: "submit", class: "primary" }, "Verify"),
  );
  if (answer.mfa_enrolment_required) {
    const setup = await api.beginEnrolmentAtSignIn(answer.mfa_token);
    enrol.append(qrImage(setup.qr_svg), h("p", { class: "note" }, "Or type this key: ", h("code", { class: "totp-secret" }, setup.secret)));
  }
  mfa.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(mfa.querySelector("button[type=submit]"), error, async () => {
      const result = await api.finishMfa(answer.mfa_token, formValues(mfa).code);
      if (result.recovery_codes) await showRecoveryCodes(root, result.recovery_codes);
      onUser(result.user);
    });
  });
  clear(root, h("main", { class: "auth-screen", id: "main" }, mfa));
  mfa.querySelector("input").focus();
  return undefined;
}

// The server's SVG, shown as an image (never inserted as markup).
export function qrImage(svg) {
  return h("img", { class: "qr", alt: "QR code for your authenticator app", src: `data:image/svg+xml;base64,${btoa(svg)}`, width: 200, height: 200 });
}

export function showRecoveryCodes(root, codes) {
  return new Promise((resolve) => {
    const done = h("button", { type: "button", class: "primary" }, "I saved them");
    done.addEventListener("click", () => resolve());
    clear(root, h("main", { class: "auth-screen", id: "main" },
      h("section", { class: "card", "aria-labelledby": "rc-title" },
        h("h2", { id: "rc-title" }, "Recovery codes"),
        h("p", { class: "note" }, "Each works once if you lose your authenticator. They are shown only now."),
        h("ul", { class: "recovery-codes" }, codes.map((c) => h("li", {}, h("code", {}, c)))),
        done)));
  });
}

// Forgot password, sign in with a code, and (from an emailed link) choosing a new password.
export function accountForms(root, api, onUser) {
  const parts = [];
  const reset = location.hash.match(/^#reset-password=([A-Za-z0-9_-]+)/);
  if (reset) parts.push(resetForm(api, reset[1]));
  parts.push(forgotForm(api), codeForm(root, api, onUser));
  return parts;
}

function resetForm(api, token) {
  const error = errorBox();
  const note = h("p", { class: "note", role: "status" });
  const f = form(
    "Choose a new password",
    field("New password", h("input", { name: "password", type: "password", autocomplete: "new-password", required: true })),
    error,
    note,
    h("button", { type: "submit", class: "primary" }, "Set password"),
  );
  f.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(f.querySelector("button[type=submit]"), error, async () => {
      await api.resetPassword(token, formValues(f).password);
      history.replaceState(null, "", location.pathname);  // the token is spent: out of the address bar
      note.textContent = "Your password is set. Log in with it.";
      f.querySelector("button[type=submit]").remove();
    });
  });
  return f;
}

function forgotForm(api) {
  const error = errorBox();
  const note = h("p", { class: "note", role: "status" });
  const f = form(
    "Forgot your password?",
    field("Account email", h("input", { name: "email", type: "email", autocomplete: "email", required: true })),
    error,
    note,
    h("button", { type: "submit" }, "Email me a reset link"),
  );
  f.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(f.querySelector("button[type=submit]"), error, async () => {
      await api.forgotPassword(formValues(f).email);
      note.textContent = "If this email has an account, a reset link is on its way.";
    });
  });
  return f;
}

function codeForm(root, api, onUser) {
  const error = errorBox();
  const note = h("p", { class: "note", role: "status" });
  const codeField = field("Sign-in code", h("input", { name: "code", autocomplete: "one-time-code", inputmode: "numeric", maxlength: 6 }));
  codeField.hidden = true;
  const f = form(
    "Sign in with a code",
    field("Email or mobile phone", h("input", { name: "destination", autocomplete: "username", required: true })),
    codeField,
    error,
    note,
    h("button", { type: "submit" }, "Send me a code"),
  );
  const destination = () => {
    const value = formValues(f).destination;
    return value.includes("@") ? { email: value } : { phone: value };
  };
  f.addEventListener("submit", (event) => {
    event.preventDefault();
    const button = f.querySelector("button[type=submit]");
    busy(button, error, async () => {
      if (codeField.hidden) {
        await api.startCodeSignIn(destination());
        note.textContent = "If this is an account's email or verified phone, a code is on its way.";
        codeField.hidden = false;
        button.textContent = "Sign in";
        codeField.querySelector("input").focus();
        return;
      }
      const answer = await api.signInWithCode({ ...destination(), code: formValues(f).code });
      await continueSignIn(root, api, answer, onUser);
    });
  });
  return f;
}

// Settings > Account: password, phone verification, two-factor, export, deletion.
export async function renderAccountSettings(panel, ctx) {
  const { api } = ctx;
  const me = (await api.get("/api/me")).user;
  clear(panel, h("h2", {}, "Account"), passwordCard(api), phoneCard(api, me), mfaCard(api, me), dataCard(api));
}

function card(title, ...children) {
  const titleId = `acc-card-${++fieldCount}`;
  return h("section", { class: "card account-card", "aria-labelledby": titleId }, h("h3", { id: titleId }, title), ...children);
}

function submitForm(f, error, fn) {
  f.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(f.querySelector("button[type=submit]"), error, () => fn(formValues(f)));
  });
}

function passwordCard(api) {
  const error = errorBox();
  const note = h("p", { class: "note", role: "status" });
  const f = h("form", { novalidate: true },
    field("Current password", h("input", { name: "current_password", type: "password", autocomplete: "current-password" })),
    field("New password (10+ characters, a letter and a digit)", h("input", { name: "password", type: "password", autocomplete: "new-password" })),
    error, note, h("button", { type: "submit" }, "Change password"));
  submitForm(f, error, async (values) => {
    await api.post("/api/me/password", values);
    f.reset();
    note.textContent = "Password changed. Your other sessions were signed out.";
  });
  return card("Password", f);
}

function phoneCard(api, me) {
  const error = errorBox();
  const status = h("p", { class: "note", role: "status" },
    me.phone ? `${me.phone} ${me.phone_verified ? "(verified)" : "(not verified: it gets no SMS)"}` : "No phone number.");
  const codeField = field("Code from the SMS", h("input", { name: "code", inputmode: "numeric", autocomplete: "one-time-code", maxlength: 6 }));
  codeField.hidden = true;
  const button = h("button", { type: "submit" }, "Text me a code");
  const f = h("form", { novalidate: true },
    field("Mobile phone", h("input", { name: "phone", type: "tel", autocomplete: "tel", value: me.phone || "" })),
    codeField, error, status, button);
  submitForm(f, error, async (values) => {
    if (codeField.hidden) {
      await api.post("/api/me/phone", { phone: values.phone });
      codeField.hidden = false;
      button.textContent = "Verify";
      status.textContent = "A code is on its way by SMS.";
      return;
    }
    const user = (await api.post("/api/me/phone/verify", { code: values.code })).user;
    codeField.hidden = true;
    button.textContent = "Text me a code";
    status.textContent = `${user.phone} (verified)`;
  });
  return card("Phone", f);
}

function mfaCard(api, me) {
  const body = h("div", {});
  const section = card("Two-factor sign-in", body);
  const show = (enabled) => {
    const error = errorBox();
    if (enabled) {
      const f = h("form", { novalidate: true },
        h("p", { class: "note", role: "status" }, "Two-factor sign-in is on."),
        field("Code or recovery code to turn it off", h("input", { name: "code", autocomplete: "one-time-code" })),
        error, h("button", { type: "submit" }, "Turn off"));
      submitForm(f, error, async (values) => {
        await api.request("DELETE", "/api/me/mfa/totp", { code: values.code });
        show(false);
      });
      clear(body, f);
      return;
    }
    const start = h("button", { type: "button" }, "Set up an authenticator app");
    start.addEventListener("click", () => busy(start, error, async () => {
      const setup = await api.post("/api/me/mfa/totp");
      const f = h("form", { novalidate: true },
        qrImage(setup.qr_svg),
        h("p", { class: "note" }, "Or type this key: ", h("code", { class: "totp-secret" }, setup.secret)),
        field("Code from the app", h("input", { name: "code", inputmode: "numeric", autocomplete: "one-time-code", maxlength: 6 })),
        error, h("button", { type: "submit", class: "primary" }, "Turn on"));
      submitForm(f, error, async (values) => {
        const result = await api.post("/api/me/mfa/totp/confirm", { code: values.code });
        clear(body,
          h("p", { class: "note", role: "status" }, "Two-factor sign-in is on. Save these recovery codes: each works once, and they are shown only now."),
          h("ul", { class: "recovery-codes" }, result.recovery_codes.map((c) => h("li", {}, h("code", {}, c)))));
      });
      clear(body, f);
    }));
    clear(body, h("p", { class: "note", role: "status" }, "Two-factor sign-in is off."), start, error);
  };
  show(me.mfa_enabled);
  return section;
}

function dataCard(api) {
  const error = errorBox();
  const exportButton = h("button", { type: "button" }, "Download my data");
  exportButton.addEventListener("click", () => busy(exportButton, error, async () => {
    const data = await api.get("/api/me/export");
    const link = h("a", { href: URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" })), download: "engage-export.json" });
    document.body.append(link);
    link.click();
    link.remove();
  }));
  const deleteError = errorBox();
  const f = h("form", { novalidate: true },
    h("p", { class: "note" }, "Deleting signs you out everywhere now; your personal data is erased after the grace period."),
    field("Password to delete the account", h("input", { name: "password", type: "password", autocomplete: "current-password" })),
    deleteError, h("button", { type: "submit", class: "danger" }, "Delete my account"));
  submitForm(f, deleteError, async (values) => {
    await api.post("/api/me/delete", { password: values.password });
    await api.session.logout();
    location.reload();
  });
  return card("Your data", exportButton, error, f);
}
