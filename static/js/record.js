// The clinical record: the console's Record tab (timeline, note editor with sign and amend,
// problems, allergies, results with flags, documents with their suggestions, prescribing) and
// the patient's My record (timeline, signed notes, results in plain words, upload, FHIR download).

import { ApiError } from "./api.js";
import { h, clear, errorBox, busy, showError, toast, formValues, formatDateTime } from "./ui.js";

const FLAG_LABEL = { normal: "normal", low: "low", high: "high", critical_low: "critical low", critical_high: "critical high" };

// Requests that are not JSON (a multipart upload, a file download), with the same token refresh as Api.
async function authorizedFetch(ctx, path, init = {}) {
  const send = () => fetch(path, { ...init, headers: { ...(init.headers || {}), Authorization: `Bearer ${ctx.session.accessToken}` } });
  let response = await send();
  if (response.status === 401) {
    await ctx.session.refresh();
    response = await send();
  }
  if (!response.ok) {
    let body = null;
    try { body = await response.json(); } catch { body = null; }
    throw new ApiError(response.status, body?.error || { code: "http_error", message: `The server answered ${response.status}.` }, body);
  }
  return response;
}

async function uploadDocument(ctx, patientId, file) {
  const form = new FormData();
  form.append("file", file, file.name);
  const response = await authorizedFetch(ctx, `/api/patients/${patientId}/documents`, { method: "POST", body: form });
  return (await response.json()).document;
}

async function saveDownload(ctx, path, fallbackName) {
  const response = await authorizedFetch(ctx, path);
  const disposition = response.headers.get("Content-Disposition") || "";
  const name = (disposition.match(/filename="([^"]+)"/) || [])[1] || fallbackName;
  const url = URL.createObjectURL(await response.blob());
  const link = h("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function soapBlock(soap) {
  return h("dl", { class: "kv soap" }, ["subjective", "objective", "assessment", "plan"].filter((k) => soap[k]).map((k) => [
    h("dt", {}, k[0].toUpperCase() + k.slice(1)), h("dd", {}, soap[k])]));
}

function resultLine(r, plain, withDate = true) {
  return h("li", { class: `result flag-${r.flag}`, dataset: { resultId: r.id, flag: r.flag } },
    h("strong", {}, `${r.test_name} ${r.value} ${r.unit}`),
    r.ref_low !== null || r.ref_high !== null ? h("span", { class: "muted" }, ` (expected ${r.ref_low ?? "…"}–${r.ref_high ?? "…"})`) : null,
    " ", h("span", { class: `status flag ${r.flag}` }, plain ? r.flag_text : FLAG_LABEL[r.flag]),
    withDate ? h("span", { class: "muted" }, ` · ${formatDateTime(r.taken_at)}`) : null);
}

function timelineItem(item, plain) {
  const d = item.data;
  const when = h("time", { datetime: item.at }, formatDateTime(item.at));
  if (item.kind === "encounter") {
    return h("li", { class: "timeline-item", dataset: { kind: item.kind, id: item.id, status: item.status } },
      when, " ", h("strong", {}, item.title), d.version > 1 ? h("span", { class: "muted" }, ` (amended, version ${d.version})`) : null,
      item.status === "draft" ? h("span", { class: "status" }, " draft") : null, soapBlock(d.soap));
  }
  if (item.kind === "lab_result") return h("li", { class: "timeline-item", dataset: { kind: item.kind, id: item.id } }, when, " ", resultLine(d, plain, false));
  // Allergies' and appointments' titles say what they are already.
  const label = { problem: "Problem: ", document: "Document: ", prescription: "Prescription: " }[item.kind] || "";
  return h("li", { class: "timeline-item", dataset: { kind: item.kind, id: item.id, status: item.status } }, when, " ",
    label, h("strong", {}, item.title), item.kind === "document" && d.summary ? h("p", { class: "muted" }, d.summary) : null);
}

// ---- the patient's My record --------------------------------------------------------------------

export async function renderMyRecord(panel, ctx) {
  const { api, live, me } = ctx;
  const error = errorBox();
  const timeline = h("ol", { class: "plain-list timeline", "aria-label": "My record" });
  const file = h("input", { type: "file", id: "record-upload", accept: "application/pdf,image/png,image/jpeg" });
  const uploadError = errorBox();
  const uploadButton = h("button", { type: "button" }, "Upload document");
  const uploads = h("ul", { class: "plain-list uploads", "aria-label": "My uploads" });
  const downloadButton = h("button", { type: "button" }, "Download my record (FHIR)");
  const more = h("button", { type: "button", hidden: true }, "Older entries");
  let before = null;
  let beforeId = null;

  clear(panel, h("h2", {}, "My record"),
    h("p", { class: "muted" }, "Your visit notes once signed, results, problems, allergies, documents and appointments, newest first."),
    h("div", { class: "row" }, downloadButton), error,
    h("section", { class: "card" }, h("h3", {}, "Upload a document"),
      h("label", { for: "record-upload" }, "PDF, PNG or JPEG, up to 10 MB"), file, uploadButton, uploadError, uploads),
    timeline, more);

  async function load(reset = true) {
    try {
      const data = await api.get("/api/me/record", reset ? {} : { before, before_id: beforeId });
      if (reset) clear(timeline);
      timeline.append(...data.items.map((item) => timelineItem(item, true)));
      before = data.next_before;
      beforeId = data.next_before_id;
      more.hidden = !before;
      showError(error, null);
    } catch (err) { showError(error, err); }
  }
  uploadButton.addEventListener("click", () => busy(uploadButton, uploadError, async () => {
    if (!file.files.length) throw new Error("Choose a file first.");
    const doc = await uploadDocument(ctx, me.id, file.files[0]);
    uploads.append(h("li", { dataset: { documentId: doc.id, status: doc.status } }, `${doc.filename}: being read…`));
    file.value = "";
    toast("Document uploaded.", "success");
  }));
  downloadButton.addEventListener("click", () => busy(downloadButton, error, () => saveDownload(ctx, `/fhir/Patient/${me.id}/$everything`, "record.fhir.json")));
  more.addEventListener("click", () => load(false));
  live.on("document:processed", (e) => {
    const row = uploads.querySelector(`[data-document-id="${e.document.id}"]`);
    if (row) {
      row.dataset.status = e.document.status;
      row.textContent = `${e.document.filename}: ${e.document.status === "processed" ? "read" : "could not be read"}`;
    }
    load();
  });
  ctx.myRecord = { refresh: () => load() };
  await load();
}

// ---- the console's Record tab -------------------------------------------------------------------

class ConsoleRecord {
  constructor(panel, ctx) {
    this.ctx = ctx;
    this.patient = null;
    this.error = errorBox();
    this.picker = h("select", { id: "record-patient", "aria-label": "Patient" }, h("option", { value: "" }, "Choose a patient…"));
    this.body = h("div", { class: "record-body" });
    clear(panel, h("h2", {}, "Record"), h("div", { class: "row" }, h("label", { for: "record-patient" }, "Patient"), this.picker), this.error, this.body);
    this.picker.addEventListener("change", () => {
      const option = this.picker.selectedOptions[0];
      if (option?.value) this.show({ id: option.value, name: option.textContent });
    });
    ctx.live.on("document:processed", (e) => { if (e.document.patient_id === this.patient?.id) this.loadDocuments(); });
  }

  async loadPatients() {
    const data = await this.ctx.api.get("/api/conversations");
    const seen = new Set([...this.picker.options].map((o) => o.value));
    // The patient open beside the chat (or reached by emergency access) is offered too, and shown first.
    const current = this.ctx.patientContext?.patient;
    if (current?.id && !seen.has(current.id)) {
      seen.add(current.id);
      this.picker.append(h("option", { value: current.id }, current.name || "Patient"));
    }
    for (const conv of data.conversations || []) {
      const other = conv.other_party;
      if (other && !seen.has(other.id)) {
        seen.add(other.id);
        this.picker.append(h("option", { value: other.id }, other.name));
      }
    }
    if (!this.patient && current?.id) await this.show({ id: current.id, name: current.name });
  }

  async show(patient) {
    if (this.patient?.id === patient.id && this.body.childElementCount) return;
    this.patient = patient;
    this.picker.value = patient.id;
    const section = (title, ...children) => h("section", { class: "card" }, h("h3", {}, title), ...children);
    this.timeline = h("ol", { class: "plain-list timeline", "aria-label": "Timeline" });
    this.problems = h("ul", { class: "plain-list problems", "aria-label": "Problems" });
    this.allergies = h("ul", { class: "plain-list allergies", "aria-label": "Allergies" });
    this.results = h("ul", { class: "plain-list results", "aria-label": "Results" });
    this.documents = h("ul", { class: "plain-list documents", "aria-label": "Documents" });
    this.prescriptions = h("ul", { class: "plain-list prescriptions", "aria-label": "Prescriptions" });
    this.editor = this.noteEditor();
    clear(this.body,
      h("div", { class: "record-grid" },
        section("Visit note", this.editor.root),
        section("Problems", this.problems, this.entryForm("problem", [["condition", "Condition"], ["icd10", "ICD-10 code"]], (v) => this.post("problems", { condition: v.condition, icd10: v.icd10 || undefined }))),
        section("Allergies", this.allergies, this.entryForm("allergy", [["substance", "Substance"], ["reaction", "Reaction"]], (v) => this.post("allergies", { substance: v.substance, reaction: v.reaction || undefined }))),
        section("Results", this.results, this.entryForm("result", [["test_name", "Test"], ["value", "Value"], ["unit", "Unit"], ["ref_low", "Low"], ["ref_high", "High"]],
          (v) => this.post("lab-results", { test_name: v.test_name, value: Number(v.value), unit: v.unit, ref_low: v.ref_low ? Number(v.ref_low) : undefined, ref_high: v.ref_high ? Number(v.ref_high) : undefined }))),
        section("Documents", this.documents),
        section("Prescribing", this.prescriptions, this.prescribeForm()),
        section("Timeline", this.timeline)));
    await this.refresh();
  }

  async post(path, body) {
    await this.ctx.api.post(`/api/patients/${this.patient.id}/${path}`, body);
    await this.refresh();
  }

  entryForm(name, fields, submit) {
    const error = errorBox();
    const form = h("form", { class: `entry-form ${name}-form` },
      fields.map(([key, label]) => h("label", {}, label, h("input", { name: key, "aria-label": `${name} ${label}`.toLowerCase() }))),
      h("button", { type: "submit" }, `Add ${name}`), error);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      busy(form.querySelector("button"), error, async () => { await submit(formValues(form)); form.reset(); });
    });
    return form;
  }

  noteEditor() {
    const fields = Object.fromEntries(["subjective", "objective", "assessment", "plan"].map((k) => [k, h("textarea", { name: k, rows: 2, "aria-label": k[0].toUpperCase() + k.slice(1) })]));
    const reason = h("input", { name: "reason", "aria-label": "Amendment reason", hidden: true });
    const status = h("p", { class: "muted note-status" }, "New note");
    const error = errorBox();
    const save = h("button", { type: "button" }, "Save draft");
    const sign = h("button", { type: "button" }, "Sign note");
    const amend = h("button", { type: "button", hidden: true }, "Save amendment");
    const reset = h("button", { type: "button" }, "New note");
    const editor = { note: null, appointment: null };
    const soap = () => Object.fromEntries(Object.entries(fields).map(([k, el]) => [k, el.value.trim()]));
    const base = () => `/api/patients/${this.patient.id}/encounters`;
    const create = async () => (await this.ctx.api.post(base(), { ...soap(), appointment_id: editor.appointment?.id })).encounter;
    const load = (note, appointment = null) => {
      editor.note = note;
      editor.appointment = note ? null : appointment;
      for (const [k, el] of Object.entries(fields)) el.value = note ? note.soap[k] : "";
      const signed = note?.status === "signed";
      reason.hidden = !signed; amend.hidden = !signed; save.hidden = signed; sign.hidden = signed;
      reason.value = "";
      status.textContent = !note ? (appointment ? `New note for the visit of ${formatDateTime(appointment.start)}` : "New note")
        : signed ? `Signed, version ${note.version}: amend with a reason` : "Draft";
    };
    save.addEventListener("click", () => busy(save, error, async () => {
      const note = editor.note ? (await this.ctx.api.patch(`${base()}/${editor.note.id}`, soap())).encounter : await create();
      load(note);
      toast("Draft saved.", "success");
      await this.refresh();
    }));
    sign.addEventListener("click", () => busy(sign, error, async () => {
      let note = editor.note;
      note = note ? (await this.ctx.api.patch(`${base()}/${note.id}`, soap())).encounter : await create();
      load((await this.ctx.api.post(`${base()}/${note.id}/sign`, {})).encounter);
      toast("Note signed.", "success");
      await this.refresh();
    }));
    amend.addEventListener("click", () => busy(amend, error, async () => {
      load((await this.ctx.api.post(`${base()}/${editor.note.id}/amend`, { ...soap(), reason: reason.value.trim() })).encounter);
      toast("Amendment saved.", "success");
      await this.refresh();
    }));
    reset.addEventListener("click", () => load(null));
    editor.load = load;
    editor.root = h("div", { class: "note-editor" }, status, Object.entries(fields).map(([k, el]) => h("label", {}, k[0].toUpperCase() + k.slice(1), el)),
      h("label", {}, "Amendment reason", reason), h("div", { class: "row" }, save, sign, amend, reset), error);
    return editor;
  }

  prescribeForm() {
    const today = new Date().toISOString().slice(0, 10);
    const later = new Date(Date.now() + 30 * 86400000).toISOString().slice(0, 10);
    const error = errorBox();
    const form = h("form", { class: "entry-form prescribe-form" },
      h("label", {}, "Drug", h("input", { name: "drug", required: true })),
      h("label", {}, "Dose", h("input", { name: "dose", required: true, placeholder: "500 mg" })),
      h("label", {}, "Times", h("input", { name: "times", required: true, value: "08:00", placeholder: "08:00, 20:00" })),
      h("label", {}, "From", h("input", { name: "start_date", type: "date", value: today })),
      h("label", {}, "To", h("input", { name: "end_date", type: "date", value: later })),
      h("button", { type: "submit" }, "Prescribe"), error);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      busy(form.querySelector("button"), error, async () => {
        const v = formValues(form);
        await this.post("prescriptions", { drug: v.drug, dose: v.dose, times: v.times.split(",").map((t) => t.trim()).filter(Boolean), start_date: v.start_date, end_date: v.end_date });
        toast(`${v.drug} prescribed.`, "success");
      });
    });
    this.prescribe = form;
    return form;
  }

  async refresh() {
    const { api } = this.ctx;
    const id = this.patient.id;
    try {
      const [record, prescriptions] = await Promise.all([api.get(`/api/patients/${id}/record`), api.get(`/api/patients/${id}/prescriptions`)]);
      clear(this.timeline, record.items.map((item) => {
        const li = timelineItem(item, false);
        if (item.kind === "encounter") li.append(h("button", { type: "button", onclick: () => this.editor.load(item.data) }, item.status === "signed" ? "Amend" : "Edit"));
        return li;
      }));
      clear(this.problems, record.active_problems.map((p) => h("li", { dataset: { problemId: p.id } }, p.condition, p.icd10 ? ` (${p.icd10})` : "", " ",
        h("button", { type: "button", onclick: (e) => busy(e.currentTarget, this.error, async () => {
          await api.patch(`/api/patients/${id}/problems/${p.id}`, { status: "resolved" });
          await this.refresh();
        }) }, "Resolve"))));
      clear(this.allergies, record.active_allergies.map((a) => h("li", {}, a.substance, a.reaction ? ` — ${a.reaction}` : "", ` (${a.severity})`)));
      clear(this.results, record.items.filter((i) => i.kind === "lab_result").map((i) => resultLine(i.data, false)));
      clear(this.prescriptions, (prescriptions.prescriptions || []).filter((p) => p.prescription.active).map(({ prescription: p }) =>
        h("li", {}, `${p.drug} ${p.dose} at ${p.times.join(", ")} `, h("button", { type: "button", onclick: (e) => busy(e.currentTarget, this.error, async () => {
          await api.post(`/api/prescriptions/${p.id}/stop`, {});
          await this.refresh();
        }) }, "Stop"))));
      await this.loadDocuments();
      showError(this.error, null);
    } catch (err) { showError(this.error, err); }
  }

  async loadDocuments() {
    const { api } = this.ctx;
    const data = await api.get(`/api/patients/${this.patient.id}/documents`);
    clear(this.documents, data.documents.map((d) => {
      const details = h("div", { class: "document-details" });
      const li = h("li", { class: "document", dataset: { documentId: d.id, status: d.status } },
        h("strong", {}, d.filename), h("span", { class: "muted" }, ` ${d.status} · ${formatDateTime(d.uploaded_at)} `),
        h("button", { type: "button", onclick: () => this.ctx && saveDownload(this.ctx, d.download_url, d.filename) }, "Download"), details);
      if (d.status === "processed") this.showDocument(d.id, details);
      return li;
    }));
  }

  async showDocument(documentId, root) {
    const { api } = this.ctx;
    const { document: d } = await api.get(`/api/documents/${documentId}/details`);
    const error = errorBox();
    const decide = (s, verb, body) => (event) => busy(event.currentTarget, error, async () => {
      await api.post(`/api/patients/${this.patient.id}/documents/${d.id}/suggestions/${s.id}/${verb}`, body ? body() : {});
      toast(verb === "accept" ? "Added to the record." : "Suggestion rejected.", "success");
      await this.refresh();
    });
    const prescriptionFromForm = (s) => () => {
      const v = formValues(this.prescribe);
      return { prescription: { drug: v.drug || s.fields.drug, dose: v.dose || s.fields.strength || "as directed", times: (v.times || "08:00").split(",").map((t) => t.trim()).filter(Boolean), start_date: v.start_date, end_date: v.end_date } };
    };
    clear(root,
      d.summary ? h("p", { class: "summary" }, d.summary) : null,
      h("details", {}, h("summary", {}, "Text"), h("pre", { class: "document-text" }, d.text || "(no text)")),
      h("ul", { class: "plain-list suggestions", "aria-label": "Suggestions" }, d.suggestions.map((s) => h("li", { class: "suggestion", dataset: { suggestionId: s.id, status: s.status } },
        s.kind === "lab" ? `${s.fields.test_name} ${s.fields.value} ${s.fields.unit || ""}` : `${s.fields.drug} ${s.fields.strength || ""}`,
        h("span", { class: "muted" }, ` “${s.source_text}” `),
        s.status === "pending"
          ? [h("button", { type: "button", onclick: decide(s, "accept", s.kind === "medication" ? prescriptionFromForm(s) : null) }, "Accept"),
            h("button", { type: "button", onclick: decide(s, "reject") }, "Reject")]
          : h("span", { class: "status" }, s.status)))), error);
  }
}

export async function renderConsoleRecord(panel, ctx) {
  const record = new ConsoleRecord(panel, ctx);
  ctx.record = record;
  // Completing an appointment (the schedule) offers to write its note here.
  ctx.writeNote = async (appointment) => {
    ctx.showTab("record");
    if (![...record.picker.options].some((o) => o.value === appointment.patient_id)) {
      record.picker.append(h("option", { value: appointment.patient_id }, appointment.patient_name || "Patient of the appointment"));
    }
    await record.show({ id: appointment.patient_id });
    record.editor.load(null, appointment);
  };
  await record.loadPatients();
}
