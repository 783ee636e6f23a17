// SIGEC-VE operator page: plain DOM, only the public REST API, no build step.
"use strict";

const API = "/api/v1";
const REFRESH_MS = 5000;
const TOKEN = "sigec.accessToken";
let timer = null;

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) {
      node.append(child instanceof Node ? child : String(child));
    }
  }
  return node;
}

class HttpError extends Error {
  constructor(status, detail) { super(`HTTP ${status}${detail ? ": " + detail : ""}`); this.status = status; }
}

async function api(method, path, body, raw) {
  const headers = { "Accept": "application/json" };
  const token = sessionStorage.getItem(TOKEN);
  if (token) headers["Authorization"] = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (resp.status === 401 && token) { logout(); throw new HttpError(401, "session expired"); }
  if (!resp.ok) {
    let detail = "";
    try { const problem = await resp.json(); detail = problem.detail || problem.title || ""; } catch (e) { /* not JSON */ }
    throw new HttpError(resp.status, detail);
  }
  if (raw) return resp;
  return resp.status === 204 ? null : resp.json();
}

function when(iso) { return iso ? new Date(iso).toLocaleString() : "—"; }

// -- login ---------------------------------------------------------------------------------
async function login(event) {
  event.preventDefault();
  $("login-error").textContent = "";
  try {
    const tokens = await api("POST", "/auth/login", { email: $("email").value, password: $("password").value });
    sessionStorage.setItem(TOKEN, tokens.accessToken);
    sessionStorage.setItem("sigec.email", $("email").value);
    $("password").value = "";
    show();
  } catch (err) {
    $("login-error").textContent = err.status === 401 ? "Wrong email or password." : `Login failed (${err.message}).`;
  }
}

function logout() {
  sessionStorage.removeItem(TOKEN);
  if (timer) clearInterval(timer);
  timer = null;
  show();
}

function show() {
  const signedIn = Boolean(sessionStorage.getItem(TOKEN));
  $("login-view").hidden = signedIn;
  $("app-view").hidden = !signedIn;
  $("who").hidden = !signedIn;
  $("who-name").textContent = sessionStorage.getItem("sigec.email") || "";
  if (signedIn && !timer) { refresh(); timer = setInterval(refresh, REFRESH_MS); }
}

function refresh() {
  // the lists first: the dashboard falls back on what they tell when its own route fails
  const lists = Promise.allSettled([stations(), alerts()]).then(dashboard);
  return Promise.allSettled([lists, actors(), reports()]);
}

// -- dashboard figures (GET /admin/dashboard; degrades to what the lists tell) --------------
const FIGURES = [
  ["Stations", (d) => d.stations.total], ["Online", (d) => d.stations.online],
  ["Offline", (d) => d.stations.offline], ["Faulted", (d) => d.stations.faulted],
  ["Connectors available", (d) => d.connectors.available], ["Occupied", (d) => d.connectors.occupied],
  ["Active sessions", (d) => d.sessions.active], ["Sessions today", (d) => d.today.sessions],
  ["Energy today (kWh)", (d) => (d.today.energyWh / 1000).toFixed(1)],
  ["Revenue today (R$)", (d) => (d.today.revenueCentavos / 100).toFixed(2)],
  ["V2G active", (d) => d.v2g.activeSessions], ["V2G exported today (kWh)", (d) => (d.v2g.exportedWhToday / 1000).toFixed(1)],
  ["Open alerts", (d) => d.alerts.open], ["Critical alerts", (d) => d.alerts.critical],
];
const fallback = { stations: null, alerts: null };

async function dashboard() {
  let figures;
  try {
    const d = await api("GET", "/admin/dashboard");
    $("dash-note").hidden = true;
    figures = FIGURES.map(([label, pick]) => { try { return [label, pick(d)]; } catch (e) { return [label, "—"]; } });
    for (const node of (d.nodes || [])) {
      figures.push([`stations on ${node.name} (deepest mailbox ${node.mailboxDepthMax})`, node.stations]);
    }
  } catch (err) {
    $("dash-note").hidden = false;
    $("dash-note").textContent = `Dashboard figures are not available from this server (${err.message}); showing what the station and alert lists tell.`;
    const s = fallback.stations;
    figures = [["Stations", s ? s.total : "—"], ["Online", s ? s.online : "—"],
               ["Offline", s ? s.total - s.online : "—"], ["Open alerts", fallback.alerts ?? "—"]];
  }
  $("figures").replaceChildren(...figures.map(([label, value]) =>
    el("div", { class: "figure" }, el("b", {}, value ?? "—"), el("span", {}, label))));
  $("dash-updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
}

// -- stations and their command menu -------------------------------------------------------
const COMMANDS = {
  "": null,
  "reset-idle": ["Reset (when idle)", "/reset", { type: "OnIdle" }],
  "reset-now": ["Reset (immediate)", "/reset", { type: "Immediate" }],
  "unlock-1": ["Unlock connector 1", "/unlock/1", { evseId: 1 }],
  "inoperative": ["Make inoperative", "/availability", { operationalStatus: "Inoperative" }],
  "operative": ["Make operative", "/availability", { operationalStatus: "Operative" }],
  "heartbeat": ["Trigger Heartbeat", "/trigger/Heartbeat", {}],
  "status": ["Trigger StatusNotification", "/trigger/StatusNotification", {}],
};

const SHOWN_STATIONS = 100;

async function stations() {
  const filter = $("stations-filter").value;
  const page = await api("GET", `/devices?limit=${SHOWN_STATIONS}${filter ? "&status=" + filter : ""}`);
  if (!filter && page.total <= SHOWN_STATIONS) {
    fallback.stations = { total: page.total, online: page.items.filter((s) => s.online).length };
  }
  $("stations-count").textContent = page.total > page.items.length
    ? `${page.items.length} of ${page.total} ${filter || "registered"}` : `${page.total} ${filter || "registered"}`;
  $("stations-body").replaceChildren(...page.items.map((s) => {
    const menu = el("select", { "aria-label": `command for ${s.id}`, "data-station": s.id, onchange: command },
      ...Object.entries(COMMANDS).map(([key, spec]) => el("option", { value: key }, spec ? spec[0] : "Send…")));
    return el("tr", { "data-station": s.id },
      el("td", {}, s.id),
      el("td", {}, el("span", { class: `badge ${s.online ? "online" : "offline"}` }, s.online ? "online" : "offline"),
         s.adminStatus !== "Operative" ? ` ${s.adminStatus}` : ""),
      el("td", {}, [s.vendor, s.model].filter(Boolean).join(" / ") || "—"),
      el("td", {}, when(s.lastSeen)),
      el("td", {}, menu));
  }));
}

async function command(event) {
  const select = event.target;
  const spec = COMMANDS[select.value];
  select.value = "";
  if (!spec) return;
  const station = select.dataset.station;
  const [label, path, body] = spec;
  $("command-result").textContent = `${label} → ${station}…`;
  try {
    const answer = await api("POST", `/devices/${encodeURIComponent(station)}${path}`, body);
    $("command-result").textContent = `${label} → ${station}: ${answer.status || "sent"}`;
  } catch (err) {
    $("command-result").textContent = `${label} → ${station} failed: ${err.message}`;
  }
}

// -- alerts ----------------------------------------------------------------------------------
async function alerts() {
  const [open, acked] = await Promise.all([
    api("GET", "/admin/alerts?status=open&limit=50"), api("GET", "/admin/alerts?status=acknowledged&limit=50")]);
  const items = [...open.items, ...acked.items];
  fallback.alerts = open.total + acked.total;
  $("alerts-count").textContent = `${open.total} open, ${acked.total} acknowledged`;
  $("alerts-body").replaceChildren(...items.map((a) => el("tr", { "data-alert": a.id },
    el("td", {}, el("span", { class: `badge ${a.severity}` }, a.severity)),
    el("td", {}, el("b", {}, a.kind), " ", a.message),
    el("td", {}, a.chargePointId || "—"),
    el("td", {}, when(a.createdAt)),
    el("td", {},
      a.status === "open" ? el("button", { type: "button", class: "secondary", onclick: () => closeAlert(a.id, "acknowledge") }, "Acknowledge") : "acknowledged ",
      el("button", { type: "button", onclick: () => closeAlert(a.id, "resolve") }, "Resolve")))));
}

async function closeAlert(id, action) {
  try { await api("POST", `/admin/alerts/${id}/${action}`); } catch (err) { alert(`${action} failed: ${err.message}`); }
  await alerts();
}

// -- actor tree --------------------------------------------------------------------------------
const SHOWN_CHILDREN = 25;

function actorNode(a) {
  const key = a.path.split("/").pop() || a.path;
  const item = el("li", { "data-path": a.path }, `${key} `, el("span", { class: "kind" }, `${a.kind} `),
    el("span", { class: "depth" }, `mbox ${a.mailboxDepth}`), " ",
    el("span", { class: a.restarts ? "restarts" : "" }, `restarts ${a.restarts}`),
    a.state ? ` · ${a.state}` : "", a.lastError ? el("span", { class: "error" }, ` · ${a.lastError}`) : null);
  const children = a.children || [];
  if (children.length) {
    const list = el("ul", {}, ...children.slice(0, SHOWN_CHILDREN).map(actorNode));
    if (children.length > SHOWN_CHILDREN) list.append(el("li", {}, `… ${children.length - SHOWN_CHILDREN} more`));
    item.append(list);
  }
  return item;
}

async function actors() {
  try {
    $("actor-tree").replaceChildren(actorNode(await api("GET", "/admin/actors")));
  } catch (err) {
    $("actor-tree").replaceChildren(el("li", { class: "note" }, `actor tree not available (${err.message})`));
  }
}

// -- reports (everyone's, newest first) ------------------------------------------------------
let reportTimer = null;

async function requestReport(event) {
  event.preventDefault();
  const to = new Date();
  const from = new Date(to.getTime() - Number($("report-days").value) * 86400000);
  try {
    await api("POST", "/admin/reports", {
      kind: $("report-kind").value, groupBy: $("report-group").value, format: $("report-format").value,
      from: from.toISOString(), to: to.toISOString() });
    await reports();
  } catch (err) { alert(`report refused: ${err.message}`); }
}

async function download(report) {
  const resp = await api("GET", `/admin/reports/${report.id}/download`, undefined, true);
  const link = el("a", { href: URL.createObjectURL(await resp.blob()), download: `${report.kind}-by-${report.groupBy}.${report.format}` });
  document.body.append(link);
  link.click();
  link.remove();
}

async function reports() {
  const page = await api("GET", "/admin/reports?limit=8");
  // follow unfinished reports every second (the page's refresh is every 5 s)
  const running = page.items.some((r) => r.status === "queued" || r.status === "running");
  if (running && !reportTimer) reportTimer = setTimeout(() => { reportTimer = null; reports(); }, 1000);
  $("report-list").replaceChildren(...page.items.map((r) =>
    el("li", { "data-report": r.id }, `${r.kind} by ${r.groupBy} (${r.format}): ${r.status} ${r.progress}%`,
      r.rowCount !== null && r.rowCount !== undefined ? `, ${r.rowCount} rows ` : " ",
      r.status === "done" ? el("button", { type: "button", onclick: () => download(r) }, "Download") : null,
      r.error ? el("span", { class: "error" }, ` ${r.error}`) : null)));
}

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);
  $("report-form").addEventListener("submit", requestReport);
  $("stations-filter").addEventListener("change", () => stations());
  show();
});
