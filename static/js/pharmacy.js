// The pharmacy: the patient's Pharmacy tab (search, cart, checkout, orders with live status) and
// the pharmacist desk (/pharmacy: orders by state, stock, receive and adjust).

import { boot } from "./shell.js";
import { clientId } from "./api.js";
import { h, clear, errorBox, busy, showError, formatDateTime } from "./ui.js";

const STATUS_LABEL = { placed: "Placed", ready: "Ready for pickup", collected: "Collected", cancelled: "Cancelled" };

function orderRow(order, actions = []) {
  return h("li", { class: "order", dataset: { order: order.id, status: order.status } },
    h("p", {}, h("strong", { class: "order-status" }, STATUS_LABEL[order.status]), ` · ${order.total} ${order.currency} · `,
      order.patient_name ? `${order.patient_name} · ` : "", formatDateTime(order.placed_at)),
    h("p", { class: "muted" }, order.lines.map((l) => `${l.quantity} × ${l.name} ${l.strength} (${l.form})`).join(", ")),
    order.cancel_reason ? h("p", { class: "muted" }, `Reason: ${order.cancel_reason}`) : null,
    actions.length ? h("div", { class: "row" }, actions) : null);
}

// ---- the patient's tab -------------------------------------------------------------------------

export async function renderPharmacy(panel, ctx) {
  const { api, live } = ctx;
  const clinicSelect = h("select", { id: "pharmacy-clinic", "aria-label": "Clinic" });
  const search = h("input", { id: "pharmacy-search", type: "search", placeholder: "Search medicines", "aria-label": "Search medicines" });
  const results = h("ul", { class: "plain-list pharmacy-results", "aria-label": "Items" });
  const cartEl = h("div", { class: "cart", "aria-label": "Cart" });
  const ordersEl = h("ul", { class: "plain-list my-orders", "aria-label": "My orders" });
  const error = errorBox();
  let cart = { clinic_id: null, lines: [] };
  const orders = new Map();

  const saveCart = async (lines) => {
    cart = (await api.put("/api/me/cart", { clinic_id: clinicSelect.value, lines })).cart;
    renderCart();
  };
  const cartLines = () => cart.lines.map((l) => ({ item_id: l.item.id, quantity: l.quantity }));
  // Cart changes run one after another: two quick clicks on Add make a quantity of two, not one.
  let cartQueue = Promise.resolve();
  const addToCart = (item) => { cartQueue = cartQueue.then(() => busy(null, error, async () => {
    const lines = cart.clinic_id === clinicSelect.value ? cartLines() : [];
    const found = lines.find((l) => l.item_id === item.id);
    if (found) found.quantity += 1;
    else lines.push({ item_id: item.id, quantity: 1 });
    await saveCart(lines);
  })); };
  const renderCart = () => {
    if (!cart.lines.length) return clear(cartEl, h("h3", {}, "Cart"), h("p", { class: "muted" }, "Your cart is empty."));
    const checkout = h("button", { type: "button", id: "checkout" }, "Place order (pay at pickup)");
    const id = clientId(); // one id per cart shown: a double click or a retry orders once
    checkout.addEventListener("click", () => busy(checkout, error, async () => {
      try {
        const { order } = await api.post("/api/orders", { clinic_id: cart.clinic_id, client_id: id });
        orders.set(order.id, order);
        cart = { clinic_id: cart.clinic_id, lines: [] };
        renderCart();
        renderOrders();
      } catch (err) {
        if (err.code === "out_of_stock" && err.body.items) {
          err.message = `Not enough in stock: ${err.body.items.map((i) => `${i.name} (${i.available} left)`).join(", ")}.`;
        }
        throw err;
      }
    }));
    clear(cartEl, h("h3", {}, "Cart"),
      h("ul", { class: "plain-list" }, cart.lines.map((l) => h("li", { class: "cart-line" }, `${l.quantity} × ${l.item.name} ${l.item.strength} — ${l.line_total}`,
        h("button", { type: "button", class: "link", onclick: () => busy(null, error, () => saveCart(cartLines().filter((x) => x.item_id !== l.item.id))) }, "Remove")))),
      h("p", { class: "cart-total" }, `Total: ${cart.total} ${cart.currency || ""}`), checkout);
  };
  const renderOrders = () => clear(ordersEl, [...orders.values()].sort((a, b) => b.placed_at.localeCompare(a.placed_at)).map((o) =>
    orderRow(o, o.status === "placed" ? [h("button", { type: "button", class: "link", onclick: () => busy(null, error, async () => {
      const { order } = await api.post(`/api/orders/${o.id}/cancel`);
      orders.set(order.id, order);
      renderOrders();
    }) }, "Cancel")] : [])));
  const runSearch = () => busy(null, error, async () => {
    if (!clinicSelect.value) return;
    const { items } = await api.get(`/api/clinics/${clinicSelect.value}/pharmacy/items`, { q: search.value });
    clear(results, items.length ? items.map((item) => h("li", { class: "pharmacy-item", dataset: { item: item.id } },
      h("span", {}, `${item.name} ${item.strength} ${item.form}, pack of ${item.pack_size} — ${item.price} ${item.currency}`,
        item.prescription_required ? h("span", { class: "badge" }, " prescription") : null, item.in_stock ? null : h("span", { class: "muted" }, " out of stock")),
      h("button", { type: "button", disabled: !item.in_stock, onclick: () => addToCart(item) }, "Add"))) : h("li", { class: "muted" }, "Nothing found."));
  });
  search.addEventListener("input", () => runSearch());
  clinicSelect.addEventListener("change", () => runSearch());
  live.on("order:updated", (e) => { orders.set(e.order.id, e.order); renderOrders(); });

  clear(panel, h("h2", {}, "Pharmacy"), h("div", { class: "row" }, clinicSelect, search), error, results, cartEl, h("h3", {}, "My orders"), ordersEl);
  const [clinics, mine, saved] = await Promise.all([api.get("/api/clinics"), api.get("/api/me/orders"), api.get("/api/me/cart")]);
  for (const c of clinics.clinics || []) clinicSelect.append(h("option", { value: c.id }, c.name));
  cart = saved.cart;
  if (cart.clinic_id) clinicSelect.value = cart.clinic_id;
  for (const o of mine.orders) orders.set(o.id, o);
  renderCart();
  renderOrders();
  ctx.pharmacy = { refresh: runSearch };
  await runSearch();
}

// ---- the pharmacist desk -----------------------------------------------------------------------

function renderDesk(panel, ctx) {
  const { api, live } = ctx;
  const clinic = h("input", { id: "desk-clinic", placeholder: "Clinic id", "aria-label": "Clinic id" });
  const ordersEl = h("div", { class: "desk-orders" });
  const stockEl = h("ul", { class: "plain-list desk-stock", "aria-label": "Stock" });
  const error = errorBox();
  const act = (orderId, step, body) => busy(null, error, async () => { await api.post(`/api/orders/${orderId}/${step}`, body); await load(); });
  const load = async () => {
    if (!clinic.value) return;
    const [{ orders }, { items }] = await Promise.all([
      api.get(`/api/clinics/${clinic.value}/pharmacy/orders`, { limit: 200 }), api.get(`/api/clinics/${clinic.value}/pharmacy/items`, { limit: 100 })]);
    clear(ordersEl, ["placed", "ready", "collected", "cancelled"].map((state) => h("section", { class: "desk-state", dataset: { state } },
      h("h3", {}, STATUS_LABEL[state]),
      h("ul", { class: "plain-list" }, orders.filter((o) => o.status === state).map((o) => orderRow(o, [
        state === "placed" ? h("button", { type: "button", onclick: () => act(o.id, "ready") }, "Ready") : null,
        ["placed", "ready"].includes(state) ? h("button", { type: "button", onclick: () => act(o.id, "collected") }, "Collected") : null,
        ["placed", "ready"].includes(state) ? h("button", { type: "button", class: "link", onclick: () => {
          const reason = window.prompt("Why cancel this order?");
          if (reason) act(o.id, "cancel", { reason });
        } }, "Cancel") : null,
      ].filter(Boolean)))))));
    clear(stockEl, items.map((item) => {
      const qty = h("input", { type: "number", step: "1", "aria-label": `Quantity of ${item.name}`, class: "qty" });
      const reason = h("input", { placeholder: "Reason (adjust)", "aria-label": `Reason for ${item.name}` });
      const change = (kind) => busy(null, error, async () => {
        await api.post(`/api/pharmacy/items/${item.id}/stock`, { kind, quantity: Number(qty.value), reason: reason.value || undefined });
        await load();
      });
      return h("li", { class: "stock-item", dataset: { item: item.id } },
        h("span", { class: item.stock < item.low_stock_threshold ? "low-stock" : "" }, `${item.name} ${item.strength}: ${item.stock} available, ${item.reserved} reserved`),
        qty, reason, h("button", { type: "button", onclick: () => change("received") }, "Receive"), h("button", { type: "button", onclick: () => change("adjusted") }, "Adjust"));
    }));
  };
  clinic.addEventListener("change", () => busy(null, error, load));
  live.on("pharmacy:order", () => load());
  live.on("pharmacy:low_stock", () => load());
  clinic.value = new URLSearchParams(location.search).get("clinic") || ctx.me.clinic_id || "";
  clear(panel, h("h2", {}, "Pharmacy desk"), h("label", { class: "field" }, "Clinic", clinic), error, h("h3", {}, "Orders"), ordersEl, h("h3", {}, "Stock"), stockEl);
  return load();
}

if (document.body.classList.contains("app-pharmacy")) {
  boot({ role: "pharmacist", title: "Engage pharmacy desk", sections: [{ name: "desk", label: "Desk", render: renderDesk, eager: true }] });
}
