// The clinic page (/clinic) for a clinic's clinic_admin: staff, doctors asking to join, branding,
// the FAQ the assistant answers from, the clinic's statistics and audit log.

import { boot } from "./shell.js";
import { h, clear, errorBox, showError, busy, toast, formValues, formatDateTime } from "./ui.js";
import { renderStats } from "./admin_more.js";
import { auditTable } from "./care.js";

async function renderStaff(panel, ctx) {
  const { api, me } = ctx;
  const error = errorBox();
  const list = h("ul", { class: "plain-list staff-list", "aria-label": "Staff" });
  const formError = errorBox();
  const form = h("form", { class: "card", "aria-labelledby": "invite-title", novalidate: true },
    h("h3", { id: "invite-title" }, "Invite a member"),
    h("label", { for: "invite-email" }, "Email"), h("input", { id: "invite-email", name: "email", type: "email", required: true }),
    h("label", { for: "invite-name" }, "Name (optional)"), h("input", { id: "invite-name", name: "name", maxlength: 120 }),
    h("label", { for: "invite-role" }, "Role"),
    h("select", { id: "invite-role", name: "role" }, h("option", { value: "receptionist" }, "Receptionist"), h("option", { value: "clinic_admin" }, "Clinic admin")),
    formError, h("button", { type: "submit", class: "primary" }, "Send invitation"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const values = formValues(form);
    busy(form.querySelector("button[type=submit]"), formError, async () => {
      const body = { email: values.email, role: values.role };
      if (values.name) body.name = values.name;
      await api.post(`/api/clinics/${me.clinic_id}/staff`, body);
      toast(`Invitation sent to ${values.email}.`, "success");
      form.reset();
      await refresh();
    });
  });
  clear(panel, h("h2", {}, "Staff"), error, list, form);

  async function refresh() {
    try {
      const { staff } = await api.get(`/api/clinics/${me.clinic_id}/staff`);
      clear(list, staff.filter((u) => u.active).map((u) => {
        const itemError = errorBox();
        const remove = h("button", { type: "button", class: "danger" }, "Remove");
        remove.addEventListener("click", () => busy(remove, itemError, async () => {
          await api.request("DELETE", `/api/clinics/${me.clinic_id}/staff/${u.id}`);
          await refresh();
        }));
        return h("li", { class: "card", dataset: { userId: u.id } }, h("strong", {}, u.name), ` · ${u.role.replace("_", " ")}`,
          h("div", { class: "muted" }, u.email), u.id === me.id ? null : remove, itemError);
      }));
      showError(error, null);
    } catch (err) {
      showError(error, err);
    }
  }
  ctx.staff = { refresh };
  await refresh();
}

// Doctors who asked to join (PATCH /api/doctors/{id} {clinic_id}): approve, or reject with a reason.
async function renderDoctors(panel, ctx) {
  const { api, me } = ctx;
  const error = errorBox();
  const pending = h("ul", { class: "plain-list join-requests", "aria-label": "Doctors to approve" });
  const members = h("ul", { class: "plain-list clinic-doctors", "aria-label": "The clinic's doctors" });
  clear(panel, h("h2", {}, "Doctors to approve"), error, pending, h("h2", {}, "Our doctors"), members);
  const base = `/api/clinics/${me.clinic_id}/doctors`;

  const requestItem = (d) => {
    const itemError = errorBox();
    const approve = h("button", { type: "button", class: "primary" }, "Approve");
    approve.addEventListener("click", () => busy(approve, itemError, async () => {
      await api.post(`${base}/${d.doctor_id}/approve`);
      toast(`${d.doctor_name} joined the clinic.`, "success");
      await refresh();
    }));
    const reason = h("input", { name: "reason", maxlength: 500, required: true, "aria-label": `Reason for turning down ${d.doctor_name}` });
    const reject = h("form", { class: "row", novalidate: true }, reason, h("button", { type: "submit", class: "danger" }, "Reject"));
    reject.addEventListener("submit", (event) => {
      event.preventDefault();
      busy(reject.querySelector("button"), itemError, async () => {
        if (!reason.value.trim()) throw new Error("Say why, so the doctor knows.");
        await api.post(`${base}/${d.doctor_id}/reject`, { reason: reason.value.trim() });
        toast(`${d.doctor_name} was told.`, "success");
        await refresh();
      });
    });
    return h("li", { class: "card", dataset: { doctorId: d.doctor_id } },
      h("strong", {}, d.doctor_name), d.specialties.length ? ` · ${d.specialties.join(", ")}` : "",
      h("div", { class: "muted" }, `${d.doctor_email || ""} · asked ${formatDateTime(d.requested_at)}`),
      d.account_approved ? null : h("div", { class: "muted" }, "Their account still waits for the platform's approval: they are listed once it is approved."),
      h("div", { class: "row" }, approve), reject, itemError);
  };

  async function refresh() {
    try {
      const [waiting, ours] = await Promise.all([api.get(base, { status: "pending" }), api.get(base, { status: "approved" })]);
      clear(pending, waiting.doctors.length ? waiting.doctors.map(requestItem) : h("li", { class: "muted" }, "No doctor is waiting."));
      clear(members, ours.doctors.length
        ? ours.doctors.map((d) => h("li", { dataset: { doctorId: d.doctor_id } }, h("strong", {}, d.doctor_name), d.specialties.length ? ` · ${d.specialties.join(", ")}` : ""))
        : h("li", { class: "muted" }, "No doctor yet."));
      showError(error, null);
    } catch (err) {
      showError(error, err);
    }
  }
  ctx.doctors = { refresh };
  await refresh();
}

async function renderClinicAudit(panel, ctx) {
  const { api, me } = ctx;
  const log = auditTable({ api, path: `/api/clinics/${me.clinic_id}/audit`, params: () => ({}), withSubject: true, label: "The clinic's audit log" });
  clear(panel, h("h2", {}, "Audit log"), h("p", { class: "muted" }, "What the clinic's doctors and staff did, and doctors joining the clinic."), log.root);
  ctx.audit = log;
  await log.refresh();
}

// The clinic's FAQ and emergency number, which the assistant answers from (PUT replaces both).
async function renderFaq(panel, ctx) {
  const { api, me } = ctx;
  const error = errorBox();
  const rows = h("ol", { class: "plain-list faq-entries", "aria-label": "Questions and answers" });
  const emergency = h("input", { id: "faq-emergency", name: "emergency_number", placeholder: "e.g. 112", maxlength: 20 });
  const entryRow = (entry = { question: "", answer: "" }) => {
    const n = rows.children.length + 1;
    const question = h("input", { class: "faq-question", value: entry.question, maxlength: 300, "aria-label": `Question ${n}` });
    const answer = h("textarea", { class: "faq-answer", rows: 2, maxlength: 2000, "aria-label": `Answer ${n}` }, entry.answer);
    const remove = h("button", { type: "button", class: "danger" }, "Remove");
    const row = h("li", { class: "card" }, question, answer, remove);
    remove.addEventListener("click", () => row.remove());
    return row;
  };
  const add = h("button", { type: "button" }, "Add a question");
  add.addEventListener("click", () => rows.append(entryRow()));
  const form = h("form", { class: "card", "aria-labelledby": "faq-title", novalidate: true },
    h("h3", { id: "faq-title" }, "What the assistant answers"), rows, add,
    h("label", { for: "faq-emergency" }, "Emergency number (the assistant gives it for emergencies)"), emergency,
    h("button", { type: "submit", class: "primary" }, "Save FAQ"));
  const show = (faq) => {
    clear(rows);
    faq.entries.forEach((entry) => rows.append(entryRow(entry)));
    emergency.value = faq.emergency_number || "";
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(form.querySelector("button[type=submit]"), error, async () => {
      const entries = [...rows.children].map((row) => ({
        question: row.querySelector(".faq-question").value.trim(),
        answer: row.querySelector(".faq-answer").value.trim(),
      })).filter((entry) => entry.question || entry.answer);
      const body = { entries };
      if (emergency.value.trim()) body.emergency_number = emergency.value.trim();
      show((await api.put(`/api/clinics/${me.clinic_id}/faq`, body)).faq);
      toast("FAQ saved.", "success");
    });
  });
  clear(panel, h("h2", {}, "FAQ"), error, form);
  try {
    show((await api.get(`/api/clinics/${me.clinic_id}/faq`)).faq);
  } catch (err) {
    showError(error, err);
  }
}

async function renderBranding(panel, ctx) {
  const { api, me } = ctx;
  const error = errorBox();
  const preview = h("div", { class: "brand-preview" });
  const colour = h("input", { id: "brand-colour", name: "brand_color", type: "color" });
  const colourForm = h("form", { class: "card", novalidate: true },
    h("label", { for: "brand-colour" }, "Brand colour"), colour, h("button", { type: "submit" }, "Save colour"));
  const file = h("input", { id: "logo-file", type: "file", accept: "image/png,image/svg+xml" });
  const logoForm = h("form", { class: "card", novalidate: true },
    h("label", { for: "logo-file" }, "Logo (PNG or SVG, at most 512 KB)"), file, h("button", { type: "submit" }, "Upload logo"));
  clear(panel, h("h2", {}, "Branding"), error, preview, colourForm, logoForm);

  const show = (branding) => {
    if (branding.brand_color) colour.value = branding.brand_color;
    clear(preview, branding.logo_url ? h("img", { class: "clinic-logo", src: branding.logo_url, alt: "The clinic's logo", height: 64 }) : h("p", { class: "muted" }, "No logo yet."));
  };
  colourForm.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(colourForm.querySelector("button"), error, async () => show((await api.put(`/api/clinics/${me.clinic_id}/branding`, { brand_color: colour.value })).branding));
  });
  logoForm.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(logoForm.querySelector("button"), error, async () => {
      if (!file.files.length) throw new Error("Choose a PNG or SVG file.");
      const data = new FormData();
      data.append("file", file.files[0]);
      const response = await fetch(`/api/clinics/${me.clinic_id}/logo`, { method: "POST", body: data, headers: { Authorization: `Bearer ${ctx.session.accessToken}` } });
      const body = await response.json();
      if (!response.ok) throw new Error(body.error?.message || "The logo was not accepted.");
      show(body.branding);
    });
  });
  try {
    show((await api.get(`/api/clinics/${me.clinic_id}/branding`)).branding);
  } catch (err) {
    showError(error, err);
  }
}

boot({
  role: "clinic_admin",
  title: "Engage — Clinic",
  withSocket: false,
  sections: [
    { name: "staff", label: "Staff", render: renderStaff, eager: true, onShow: (ctx) => ctx.staff?.refresh() },
    { name: "doctors", label: "Doctors", render: renderDoctors, onShow: (ctx) => ctx.doctors?.refresh() },
    { name: "branding", label: "Branding", render: renderBranding },
    { name: "faq", label: "FAQ", render: renderFaq },
    { name: "stats", label: "Statistics", render: (panel, ctx) => renderStats(panel, ctx, `/api/clinics/${ctx.me.clinic_id}/stats`), onShow: (ctx) => ctx.stats?.refresh() },
    { name: "audit", label: "Audit log", render: renderClinicAudit, onShow: (ctx) => ctx.audit?.refresh() },
  ],
});
