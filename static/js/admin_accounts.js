// Admin sections of issue 19: clinic applications to decide, and users (search, page, deactivate).

import { h, clear, errorBox, showError, busy, toast, formatDateTime } from "./ui.js";

export async function renderApplications(panel, ctx) {
  const { api } = ctx;
  const error = errorBox();
  const list = h("ul", { class: "plain-list application-list", "aria-label": "Clinic applications" });
  clear(panel, h("h2", {}, "Clinic applications"), error, list);

  async function refresh() {
    try {
      const { applications } = await api.get("/api/admin/clinic-applications", { status: "pending" });
      clear(list, applications.length ? applications.map(item) : h("li", { class: "muted" }, "No applications waiting."));
      showError(error, null);
    } catch (err) {
      showError(error, err);
    }
  }

  function item(app) {
    const itemError = errorBox();
    const reason = h("input", { "aria-label": `Reason to reject ${app.clinic.name}`, maxlength: 500, placeholder: "Reason (to reject)" });
    const approve = h("button", { type: "button", class: "primary" }, "Approve");
    const reject = h("button", { type: "button", class: "danger" }, "Reject");
    approve.addEventListener("click", () => busy(approve, itemError, async () => {
      await api.post(`/api/admin/clinic-applications/${app.id}/approve`);
      toast(`${app.clinic.name} approved.`, "success");
      await refresh();
    }));
    reject.addEventListener("click", () => busy(reject, itemError, async () => {
      if (!reason.value.trim()) throw new Error("Say why the application is rejected.");
      await api.post(`/api/admin/clinic-applications/${app.id}/reject`, { reason: reason.value.trim() });
      toast(`${app.clinic.name} rejected.`, "info");
      await refresh();
    }));
    return h("li", { class: "card", dataset: { applicationId: app.id } },
      h("strong", {}, app.clinic.name), ` · ${app.clinic.timezone}`,
      h("div", { class: "muted" }, `${app.applicant_name} <${app.applicant_email}> · ${formatDateTime(app.created_at)}`),
      h("div", { class: "row" }, approve, reason, reject), itemError);
  }

  ctx.applications = { refresh };
  await refresh();
}

export async function renderUsers(panel, ctx) {
  const { api } = ctx;
  const error = errorBox();
  const search = h("input", { type: "search", "aria-label": "Search users by name or email", placeholder: "Name or email" });
  const status = h("select", { "aria-label": "Status" },
    ["", "active", "deactivated", "pending", "rejected", "unverified"].map((s) => h("option", { value: s }, s || "any status")));
  const list = h("ul", { class: "plain-list user-list", "aria-label": "Users" });
  const more = h("button", { type: "button" }, "More");
  let cursor = null;
  const find = h("form", { class: "row", role: "search" }, search, status, h("button", { type: "submit" }, "Search"));
  find.addEventListener("submit", (event) => { event.preventDefault(); load(true); });
  more.addEventListener("click", () => load(false));
  clear(panel, h("h2", {}, "Users"), find, error, list, more);

  async function load(fresh) {
    try {
      if (fresh) { cursor = null; clear(list); }
      const page = await api.get("/api/admin/users", { q: search.value.trim(), status: status.value, cursor, limit: 25 });
      list.append(...page.users.map(item));
      cursor = page.next_cursor;
      more.hidden = !cursor;
      showError(error, null);
    } catch (err) {
      showError(error, err);
    }
  }

  function item(user) {
    const itemError = errorBox();
    const toggle = h("button", { type: "button", class: user.active ? "danger" : "" }, user.active ? "Deactivate" : "Reactivate");
    toggle.addEventListener("click", () => busy(toggle, itemError, async () => {
      const updated = (await api.post(`/api/admin/users/${user.id}/${user.active ? "deactivate" : "reactivate"}`)).user;
      li.replaceWith(item(updated));
    }));
    const li = h("li", { class: "card", dataset: { userId: user.id } },
      h("strong", {}, user.name), ` · ${user.role}${user.active ? "" : " · deactivated"}`,
      h("div", { class: "muted" }, `${user.email}${user.email_verified ? "" : " (unverified)"}`),
      user.role === "admin" ? null : toggle, itemError);
    return li;
  }

  ctx.users = { refresh: () => load(true) };
  await load(true);
}
