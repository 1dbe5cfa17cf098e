// The admin page (/admin): doctor approvals, clinics, the notification outbox, statistics, the audit log.

import { boot } from "./shell.js";
import { h, clear, errorBox, showError, busy, toast, formatDateTime } from "./ui.js";
import { renderClinics, renderOutbox, renderStats } from "./admin_more.js";
import { renderAudit } from "./care.js";
import { renderApplications, renderUsers } from "./admin_accounts.js";

async function renderApprovals(panel, ctx) {
  const { api } = ctx;
  const error = errorBox();
  const list = h("ul", { class: "plain-list", "aria-label": "Doctors waiting for approval" });
  clear(panel, h("h2", {}, "Doctors waiting for approval"), error, list);

  async function refresh() {
    try {
      const data = await api.get("/api/admin/doctors", { status: "pending" });
      const doctors = data.doctors || [];
      clear(list, doctors.length ? doctors.map((d) => {
        const itemError = errorBox();
        const approve = h("button", { type: "button", class: "primary", dataset: { doctorId: d.id }, onclick: (event) => busy(event.currentTarget, itemError, async () => {
          await api.post(`/api/admin/doctors/${d.id}/approve`, {});
          toast(`${d.name} approved.`, "success");
          await refresh();
        }) }, `Approve ${d.name}`);
        return h("li", { class: "card" }, h("strong", {}, d.name), " ", h("span", { class: "muted" }, `${d.email} · registered ${formatDateTime(d.created_at)}`), h("div", { class: "row" }, approve), itemError);
      }) : h("li", { class: "muted" }, "Nobody is waiting."));
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
