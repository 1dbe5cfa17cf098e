// The clinic page (/clinic) for a clinic's clinic_admin: staff, branding.

import { boot } from "./shell.js";
import { h, clear, errorBox, showError, busy, toast, formValues } from "./ui.js";

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
    { name: "branding", label: "Branding", render: renderBranding },
  ],
});
