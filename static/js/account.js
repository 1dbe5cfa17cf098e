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
