// Small DOM helpers shared by the three pages. No framework: elements are built with h().

import { errorMessage } from "./api.js";

// h("button", {class: "x", onclick: fn}, "text", child) → element
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "text") el.textContent = value;
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const $ = (selector, root = document) => root.querySelector(selector);

// Show an error (or clear it) in a role="alert" element so screen readers announce it.
export function showError(el, err) {
  if (!el) return;
  el.textContent = err ? errorMessage(err) : "";
  el.hidden = !err;
  if (err?.field) el.dataset.field = err.field;
  else delete el.dataset.field;
}

export function errorBox() {
  return h("p", { class: "error", role: "alert", hidden: true });
}

// A short-lived notice at the bottom of the screen (polite live region).
export function toast(text, kind = "info") {
  let region = document.getElementById("toasts");
  if (!region) {
    region = h("div", { id: "toasts", "aria-live": "polite" });
    document.body.append(region);
  }
  const item = h("div", { class: `toast ${kind}` }, text);
  region.append(item);
  setTimeout(() => item.remove(), 6000);
}

// Run an async action from a form or button: disable while busy, show its error.
export async function busy(button, errorEl, fn) {
  if (button) button.disabled = true;
  showError(errorEl, null);
  try {
    return await fn();
  } catch (err) {
    showError(errorEl, err);
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

export function formValues(form) {
  const values = {};
  for (const [key, value] of new FormData(form).entries()) values[key] = typeof value === "string" ? value.trim() : value;
  return values;
}

const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

export function formatTime(iso, timeZone) {
  if (!iso) return "";
  const date = new Date(iso);
  const today = new Date().toDateString() === date.toDateString();
  const opts = today ? { hour: "2-digit", minute: "2-digit" } : { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" };
  return new Intl.DateTimeFormat(undefined, { ...opts, timeZone: timeZone || browserZone }).format(date);
}

export function formatDateTime(iso, timeZone) {
  if (!iso) return "";
  return new Intl.DateTimeFormat(undefined, {
    weekday: "short", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZone: timeZone || browserZone,
  }).format(new Date(iso));
}

export function since(iso) {
  if (!iso) return "";
  const minutes = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 60000));
  if (minutes < 1) return "just now";
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} days`;
}

export function timezoneOptions(selected) {
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [browserZone, "UTC"];
  if (!zones.includes("UTC")) zones.unshift("UTC");
  return zones.map((zone) => h("option", { value: zone, selected: zone === selected }, zone));
}

export { browserZone };

// Tabs: buttons with role="tab" switch sections; arrow keys move between tabs (WAI-ARIA pattern).
export function tabs(nav, onShow) {
  const buttons = [...nav.querySelectorAll("[role=tab]")];
  const show = (button, focus = false) => {
    for (const b of buttons) {
      const selected = b === button;
      b.setAttribute("aria-selected", String(selected));
      b.tabIndex = selected ? 0 : -1;
      document.getElementById(b.getAttribute("aria-controls")).hidden = !selected;
    }
    if (focus) button.focus();
    onShow?.(button.dataset.tab);
  };
  for (const button of buttons) {
    button.addEventListener("click", () => show(button));
    button.addEventListener("keydown", (event) => {
      const i = buttons.indexOf(button);
      if (event.key === "ArrowRight" || event.key === "ArrowDown") { event.preventDefault(); show(buttons[(i + 1) % buttons.length], true); }
      if (event.key === "ArrowLeft" || event.key === "ArrowUp") { event.preventDefault(); show(buttons[(i - 1 + buttons.length) % buttons.length], true); }
      if (event.key === "Home") { event.preventDefault(); show(buttons[0], true); }
      if (event.key === "End") { event.preventDefault(); show(buttons[buttons.length - 1], true); }
    });
  }
  return { show: (name) => show(buttons.find((b) => b.dataset.tab === name) || buttons[0]) };
}
