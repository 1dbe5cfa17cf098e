// The doctor's schedule for today and the availability editor (filled in when booking lands).

import { h, clear } from "./ui.js";

export async function renderSchedule(panel) {
  clear(panel, h("h2", {}, "Today"), h("p", { class: "muted" }, "Schedules are not available on this server yet."));
}

export async function renderAvailability(panel) {
  clear(panel, h("h2", {}, "Availability"), h("p", { class: "muted" }, "Availability is not available on this server yet."));
}
