// The patient app in the clinic's colours: the logo in the top bar and the brand colour as the
// accent, for the clinic GET /api/me/clinic names (that of the patient's latest appointment, else
// of a care-team doctor: where they are being seen, as the assistant also reckons it).

import { h } from "./ui.js";

// White or dark text, whichever reads better on the colour (WCAG relative luminance).
function inkFor(hex) {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
    .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return (1.05 / (luminance + 0.05)) >= ((luminance + 0.05) / 0.05) ? "#fff" : "#17212b";
}

export async function applyClinicBranding(ctx) {
  let mine;
  try {
    mine = await ctx.api.get("/api/me/clinic");
  } catch {
    return; // the app works unbranded
  }
  if (!mine.clinic || !mine.branding) return;
  document.body.dataset.clinicId = mine.clinic.id;
  const { brand_color: colour, logo_url: logo } = mine.branding;
  if (colour) {
    document.documentElement.style.setProperty("--accent", colour);
    document.documentElement.style.setProperty("--accent-ink", inkFor(colour));
  }
  const brand = document.querySelector(".topbar .brand");
  if (logo && brand && !document.querySelector(".topbar .clinic-logo")) {
    brand.before(h("img", { class: "clinic-logo", src: logo, alt: mine.clinic.name, height: 28 }));
  }
}
