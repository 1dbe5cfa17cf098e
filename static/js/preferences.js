// Notification preferences (filled in when the notifications API lands).

import { h, clear } from "./ui.js";

export async function renderPreferences(panel) {
  clear(panel, h("h2", {}, "Preferences"), h("p", { class: "muted" }, "Notification preferences are not available on this server yet."));
}
