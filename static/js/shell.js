// What the three pages share: session, API client, login screen, top bar, socket, tabs.

import { Api, Session } from "./api.js";
import { renderAuth } from "./auth.js";
import { Live } from "./socket.js";
import { h, clear, tabs } from "./ui.js";

// Boot one page: show the login screen until there is a session of the right role, then build().
// sections: [{name, label, render(panel, ctx)}]; build gets {api, live, me, session, panels}.
export function boot({ role, title, sections, withSocket = true, onReady }) {
  const session = new Session(role);
  const api = new Api(session);
  const root = document.getElementById("app");
  const banner = document.getElementById("banner");
  let live = null;

  const showLogin = () => {
    live?.stop();
    live = null;
    document.body.dataset.state = "login";
    renderAuth(root, { api, role, title, onLoggedIn: () => start() });
  };
  session.onLogout(showLogin);

  const start = async () => {
    const me = session.user;
    if (!me || me.role !== role) return showLogin();
    try {
      await api.get("/api/me"); // refreshes an expired access token; a dead session goes back to login
    } catch (err) {
      if (err.status === 401) return session.data ? session.clear() : undefined;
    }
    if (withSocket) {
      live = new Live(session, banner);
      window.engageLive = live; // for diagnostics and tests: the transport in use
      live.start();
    }
    const nav = h("nav", { class: "tabs", role: "tablist", "aria-label": "Sections" });
    const main = h("main", { id: "main", tabindex: "-1" });
    const panels = {};
    const ctx = { api, live, me, session, panels, root: main };
    for (const section of sections) {
      const panelId = `panel-${section.name}`;
      nav.append(h("button", { type: "button", role: "tab", id: `tab-${section.name}`, "aria-controls": panelId, dataset: { tab: section.name } }, section.label));
      panels[section.name] = h("section", { id: panelId, role: "tabpanel", class: `panel panel-${section.name}`, "aria-labelledby": `tab-${section.name}`, hidden: true });
      main.append(panels[section.name]);
    }
    const header = h("header", { class: "topbar" },
      h("span", { class: "brand" }, title),
      h("span", { class: "who" }, me.name),
      h("button", { type: "button", class: "link", onclick: () => session.logout() }, "Log out"));
    clear(root, header, nav, main);
    // Sections render when first shown (eager ones at start), then refresh on each later show.
    const rendered = new Map();
    const render = (section) => {
      if (!rendered.has(section.name)) {
        rendered.set(section.name, Promise.resolve(section.render(panels[section.name], ctx)).catch((err) => {
          console.warn(`section ${section.name} failed to render`, err);
        }));
        return rendered.get(section.name);
      }
      return rendered.get(section.name).then(() => section.onShow?.(ctx));
    };
    const switcher = tabs(nav, (name) => {
      const section = sections.find((s) => s.name === name);
      if (section) render(section);
    });
    ctx.showTab = (name) => switcher.show(name);
    ctx.ensure = (name) => render(sections.find((s) => s.name === name));
    await Promise.all(sections.filter((s) => s.eager).map((s) => render(s)));
    const wanted = location.hash.slice(1);
    switcher.show(sections.some((s) => s.name === wanted) ? wanted : sections[0].name);
    document.body.dataset.state = "ready";
    onReady?.(ctx);
  };

  start();
}
