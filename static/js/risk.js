// Risk scores: the patient's "My risk" tab (plain words, what would lower each, the questionnaire)
// and a compact summary the console shows beside a patient's vitals.

import { h, clear, errorBox, busy, formValues, showError } from "./ui.js";

const SOURCE_LABEL = { answers: "your answers", vitals: "vitals", lab_results: "lab result", problems: "problem list", prescriptions: "prescriptions" };

function valueText(score) {
  if (score.value === null || score.value === undefined) return "—";
  return score.unit === "%" ? `${score.value}%` : `${score.value} points`;
}

function inputsList(score) {
  return h("ul", { class: "plain-list risk-inputs" }, score.inputs.map((i) =>
    h("li", {}, `${i.name.replaceAll("_", " ")}: ${i.value} (${SOURCE_LABEL[i.source] || i.source}${i.date ? ", " + i.date.slice(0, 10) : ""})`)));
}

// The console: one line per applicable score, its category, and where the inputs came from.
export async function renderRiskSummary(root, api, patientId) {
  clear(root, h("p", { class: "muted" }, "Loading risk scores…"));
  try {
    const risk = await api.get(`/api/patients/${patientId}/risk`);
    clear(root, risk.scores.filter((s) => s.applicable).map((s) => h("div", { class: "risk-score", dataset: { score: s.score } },
      h("p", {}, h("strong", {}, s.name), ": ", valueText(s), s.category ? ` (${s.category.replaceAll("_", " ")})` : ""),
      s.value === null ? h("p", { class: "muted" }, s.reason) : inputsList(s),
      h("p", { class: "muted small" }, s.citation))));
  } catch (err) {
    clear(root, h("p", { class: "muted" }, "Risk scores are unavailable."));
  }
}

const QUESTIONS = [
  ["birth_date", "Date of birth", "date"],
  ["sex", "Sex (as the equations use it)", ["female", "male"]],
  ["race_group", "Race group (the heart equations were built for these groups)", ["white", "african_american", "other"]],
  ["smoker", "Do you smoke?", "bool"],
  ["height_cm", "Height (cm)", "number"],
  ["waist_cm", "Waist (cm, at the navel)", "number"],
  ["physically_active", "Active at least 30 minutes a day?", "bool"],
  ["daily_fruit_veg", "Vegetables, fruit or berries every day?", "bool"],
  ["bp_medication", "Ever taken blood-pressure medicine regularly?", "bool"],
  ["high_glucose_history", "Ever been told your blood sugar was high?", "bool"],
  ["family_diabetes", "Family members with diabetes", ["none", "second_degree", "first_degree"]],
];

function questionField([name, label, kind]) {
  let input;
  if (kind === "bool") input = h("select", { name }, h("option", { value: "" }, "—"), h("option", { value: "true" }, "Yes"), h("option", { value: "false" }, "No"));
  else if (Array.isArray(kind)) input = h("select", { name }, h("option", { value: "" }, "—"), kind.map((v) => h("option", { value: v }, v.replaceAll("_", " "))));
  else input = h("input", { name, type: kind, step: kind === "number" ? "0.1" : undefined });
  return h("label", { class: "field" }, label, input);
}

// The patient's tab: each score in plain words, what would lower it, and the questions that fill gaps.
export function renderRisk(panel, ctx) {
  const list = h("div", { class: "risk-list" });
  const error = errorBox();
  const form = h("form", { class: "risk-questions" }, h("h3", {}, "A few questions"), QUESTIONS.map(questionField), h("button", { type: "submit" }, "Save answers"));
  const show = (risk) => clear(list, risk.scores.map((s) => h("article", { class: "card risk-card", dataset: { score: s.score } },
    h("h3", {}, s.name), h("p", { class: "risk-value" }, valueText(s)),
    h("p", {}, s.explanation),
    s.what_lowers_it.length ? h("div", {}, h("p", {}, "What would lower it:"), h("ul", {}, s.what_lowers_it.map((t) => h("li", {}, t)))) : null,
    h("details", {}, h("summary", {}, "How this was worked out"), inputsList(s), h("p", { class: "muted small" }, s.citation)))));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(form.querySelector("button"), error, async () => {
      const body = {};
      for (const [name, value] of Object.entries(formValues(form))) {
        if (value === "") continue;
        const kind = QUESTIONS.find((q) => q[0] === name)[2];
        body[name] = kind === "bool" ? value === "true" : kind === "number" ? Number(value) : value;
      }
      show((await ctx.api.put("/api/me/risk-answers", body)).risk);
    });
  });
  const refresh = async () => show(await ctx.api.get(`/api/patients/${ctx.me.id}/risk`));
  ctx.risk = { refresh };
  clear(panel, h("h2", {}, "My risk"), h("p", { class: "muted" }, "Scores doctors use, worked out from your record. They are estimates, not a diagnosis."), error, list, form);
  return refresh().catch((err) => showError(error, err));
}
