// Log in and register: the same screen for the patient app, the doctor console and the admin page.

import { h, clear, errorBox, busy, formValues, timezoneOptions, browserZone } from "./ui.js";
import { accountForms, continueSignIn } from "./account.js";

let formCount = 0;

// Each role's own page (its session is kept under engage.session.<role>, static/js/api.js).
const ROLE_PAGES = { patient: "/", doctor: "/console", admin: "/admin", clinic_admin: "/clinic", receptionist: "/frontdesk", pharmacist: "/pharmacy" };

function field(label, input) {
  const id = `f${++formCount}`;
  input.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), input);
}

// role: "patient" | "doctor" | "admin"; onLoggedIn(user) is called with the user.
export function renderAuth(root, { api, role, title, onLoggedIn }) {
  const loginError = errorBox();
  // Whichever way the sign-in went (password, code, second factor): the right page for the role.
  const onUser = async (user) => {
    if (user.role !== role) {
      const where = ROLE_PAGES[user.role];
      if (!where) {
        await api.session.logout();
        throw new Error("This account does not sign in here.");
      }
      // Signed in on another role's page: hand the session to the role's own page and go there.
      localStorage.setItem(`engage.session.${user.role}`, JSON.stringify(api.session.data));
      api.session.clear();
      location.assign(where);
      return;
    }
    onLoggedIn(user);
  };
  const loginForm = h(
    "form",
    { class: "card auth", "aria-labelledby": "login-title", novalidate: true },
    h("h2", { id: "login-title" }, "Log in"),
    field("Email", h("input", { name: "email", type: "email", autocomplete: "username", required: true })),
    field("Password", h("input", { name: "password", type: "password", autocomplete: "current-password", required: true })),
    loginError,
    h("button", { type: "submit", class: "primary" }, "Log in"),
  );
  loginForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const values = formValues(loginForm);
    busy(loginForm.querySelector("button[type=submit]"), loginError, async () => {
      if (!values.email || !values.password) throw new Error("Enter your email and password.");
      await continueSignIn(root, api, await api.login(values.email, values.password), onUser);
    });
  });

  const parts = [h("h1", { class: "brand" }, title), loginForm];
  if (role === "patient" || role === "doctor") {
    const registerError = errorBox();
    const registerNote = h("p", { class: "note", role: "status" });
    const registerForm = h(
      "form",
      { class: "card auth", "aria-labelledby": "register-title", novalidate: true },
      h("h2", { id: "register-title" }, role === "doctor" ? "Register as a doctor" : "Create an account"),
      field("Name", h("input", { name: "name", autocomplete: "name", required: true, maxlength: 120 })),
      field("Email", h("input", { name: "email", type: "email", autocomplete: "email", required: true })),
      field("Password (10+ characters, a letter and a digit)", h("input", { name: "password", type: "password", autocomplete: "new-password", required: true })),
      field("Mobile phone (optional, +1 415 555 0100)", h("input", { name: "phone", type: "tel", autocomplete: "tel" })),
      field("Time zone", h("select", { name: "timezone" }, timezoneOptions(browserZone))),
      registerError,
      registerNote,
      h("button", { type: "submit" }, "Register"),
    );
    registerForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const values = formValues(registerForm);
      registerNote.textContent = "";
      busy(registerForm.querySelector("button[type=submit]"), registerError, async () => {
        const body = { name: values.name, email: values.email, password: values.password, role, timezone: values.timezone };
        if (values.phone) body.phone = values.phone;
        await api.register(body);
        if (role === "doctor") {
          registerNote.textContent = "Registered. An administrator must approve your account before you can log in.";
          registerForm.reset();
          return;
        }
        onLoggedIn(await api.login(values.email, values.password));
      });
    });
    parts.push(registerForm);
  }
  parts.push(...accountForms(root, api, onUser));
  clear(root, h("main", { class: "auth-screen", id: "main" }, parts));
  root.querySelector("input")?.focus();
}
