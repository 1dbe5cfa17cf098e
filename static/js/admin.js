// The admin page (/admin): doctor approvals and rejections, clinics, the notification outbox, statistics, the audit log.

import { boot } from "./shell.js";
import { h, clear, errorBox, showError, busy, toast, formatDateTime } from "./ui.js";
import { renderClinics, renderOutbox, renderStats } from "./admin_more.js";
import { renderAudit } from "./care.js";
import { renderApplications, renderUsers } from "./admin_accounts.js";

async function renderApprovals(panel, ctx) {
  const { api } = ctx;
  const error = errorBox();
  // Waiting doctors are approved or rejected with a reason; rejected ones show it and may still be approved.
  const status = h("select", { "aria-label": "Show doctors", onchange: () => refresh() },
    h("option", { value: "pending" }, "Waiting for approval"), h("option", { value: "rejected" }, "Rejected"));
  const list = h("ul", { class: "plain-list doctor-approvals", "aria-label": "Doctors waiting for approval" });
  clear(panel, h("h2", {}, "Doctors' accounts"), h("div", { class: "row" }, status), error, list);

  function item(d) {
    const itemError = errorBox();
    const approve = h("button", { type: "button", class: "primary", dataset: { doctorId: d.id }, onclick: (event) => busy(event.currentTarget, itemError, async () => {
      await api.post(`/api/admin/doctors/${d.id}/approve`, {});
      toast(`${d.name} approved.`, "success");
      await refresh();
    }) }, `Approve ${d.name}`);
    const who = [h("strong", {}, d.name), " ", h("span", { class: "muted" }, `${d.email} · registered ${formatDateTime(d.created_at)}`)];
    if (d.rejected_at) {
      return h("li", { class: "card", dataset: { doctorId: d.id } }, ...who,
        h("div", { class: "rejection" }, `Rejected ${formatDateTime(d.rejected_at)}. Reason: ${d.rejection_reason}`),
        h("div", { class: "row" }, approve), itemError);
    }
    const reason = h("input", { "aria-label": `Reason to reject ${d.name}`, maxlength: 500, placeholder: "Reason (to reject)" });
    const reject = h("button", { type: "button", class: "danger", onclick: (event) => busy(event.currentTarget, itemError, async () => {
      if (!reason.value.trim()) throw new Error("Say why the account is rejected.");
      await api.post(`/api/admin/doctors/${d.id}/reject`, { reason: reason.value.trim() });
      toast(`${d.name} rejected.`, "info");
      await refresh();
    }) }, `Reject ${d.name}`);
    return h("li", { class: "card", dataset: { doctorId: d.id } }, ...who, h("div", { class: "row" }, approve, reason, reject), itemError);
  }

  async function refresh() {
    try {
      const rejected = status.value === "rejected";
      const data = await api.get("/api/admin/doctors", { status: status.value });
      const doctors = data.doctors || [];
      list.setAttribute("aria-label", rejected ? "Rejected doctors" : "Doctors waiting for approval");
      clear(list, doctors.length ? doctors.map(item) : h("li", { class: "muted" }, rejected ? "Nobody was rejected." : "Nobody is waiting."));
      showError(error, null);
    } catch (err) {
      showError(error, err);
    }
  }
  ctx.approvals = { refresh };
  await refresh();
}

boot({
  role: "admin",
  title: "Engage admin",
  withSocket: false,
  sections: [
    { name: "approvals", label: "Approvals", render: renderApprovals, onShow: (ctx) => ctx.approvals?.refresh() },
    { name: "clinics", label: "Clinics", render: renderClinics, onShow: (ctx) => ctx.clinics?.refresh() },
    { name: "applications", label: "Applications", render: renderApplications, onShow: (ctx) => ctx.applications?.refresh() },
    { name: "users", label: "Users", render: renderUsers, onShow: (ctx) => ctx.users?.refresh() },
    { name: "outbox", label: "Outbox", render: renderOutbox, onShow: (ctx) => ctx.outbox?.refresh() },
    { name: "stats", label: "Statistics", render: renderStats, onShow: (ctx) => ctx.stats?.refresh() },
    { name: "audit", label: "Audit log", render: renderAudit, onShow: (ctx) => ctx.audit?.refresh() },
  ],
});
