// rsvpbot playground: a small Telegram-like client of the emulator.
// It speaks only to the emulator's control API (/_emu/...) and to the
// playground (/api/...); everything the bot shows arrives from the bot
// through the emulator, exactly as it would through Telegram.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { session: null, me: null, chat: null, chats: [], menu: [], shown: "" };

async function api(path, opts) {
  const res = await fetch(path, opts);
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error || res.statusText);
  return body;
}
const post = (path, body) => api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body || {}) });

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function toast(text) {
  const t = $("toast");
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 3500);
}
function alertBox(text) {
  $("alert-text").textContent = text;
  $("alert").hidden = false;
  $("alert-ok").focus();
}
$("alert-ok").onclick = () => { $("alert").hidden = true; $("composer-input").focus(); };

// ---- people and chats ----
const person = (id) => state.session.people.find((p) => p.id === id);
const group = (id) => state.session.groups.find((g) => g.id === id);
const userOf = (p) => ({ id: p.id, is_bot: false, first_name: p.name, username: p.name.toLowerCase(), language_code: p.lang });
function chatObject(id) {
  const g = group(id);
  if (g) return { id: g.id, type: "group", title: g.title };
  const p = person(id);
  return { id: p.id, type: "private", first_name: p.name, username: p.name.toLowerCase() };
}

async function loadSession() {
  state.session = await api("/api/session");
  const who = $("who");
  who.replaceChildren(...state.session.people.map((p) => el("option", { value: p.id }, `${p.name} (${p.lang})${p.admin ? " · bot admin" : ""}`)));
  if (!state.me || !person(state.me)) state.me = state.session.people[0].id;
  who.value = state.me;
  if (!state.chat) state.chat = state.session.groups.length ? state.session.groups[0].id : state.me;
  $("weather").textContent = "Forecasts: " + state.session.weather + ".";
  await refreshChats();
  await openChat(state.chat);
}

$("who").onchange = () => {
  state.me = Number($("who").value);
  if (state.chat > 0) openChat(state.me); else { loadMenu(); renderMessages(true); }
};

async function refreshChats() {
  state.chats = await api("/api/chats");
  $("chat-list").replaceChildren(...state.chats.map((c) => el("li", {},
    el("button", { class: "chat-item", "data-chat": c.id, "aria-current": String(c.id === state.chat), onclick: () => openChat(c.id) },
      el("span", { class: "t" }, (c.group ? "👥 " : "🤖 ") + c.title),
      el("span", { class: "p" }, c.preview || "no messages yet")))));
}

async function openChat(id) {
  state.chat = id;
  if (id > 0) { state.me = id; $("who").value = id; }
  const c = chatObject(id);
  $("chat-title").textContent = c.type === "group" ? c.title : `${c.first_name} ↔ @${state.session.bot.username}`;
  $("chat-sub").textContent = c.type === "group" ? `group · ${group(id).members.length} members + bot` : "private chat with the bot";
  state.shown = "";
  for (const b of document.querySelectorAll(".chat-item")) b.setAttribute("aria-current", String(Number(b.dataset.chat) === id));
  await Promise.all([renderMessages(true), loadMenu()]);
}

// ---- messages ----
async function renderMessages(scroll) {
  const msgs = await api(`/_emu/messages?chat=${state.chat}`);
  const key = JSON.stringify(msgs) + state.me;
  if (key === state.shown) return;
  state.shown = key;
  const list = $("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 60;
  list.replaceChildren(...msgs.map(renderMessage));
  if (scroll || atBottom) list.scrollTop = list.scrollHeight;
}

function renderMessage(m) {
  const fromBot = m.from && m.from.is_bot;
  const mine = !fromBot && m.from && m.from.id === state.me;
  const li = el("li", { class: "msg" + (mine ? " mine" : "") + (fromBot ? " bot" : ""), "data-id": m.message_id });
  if (!mine) li.append(el("div", { class: "from" }, fromBot ? m.from.first_name + " (bot)" : m.from.first_name));
  if (m.document) {
    li.append(el("a", { class: "doc", href: `/_emu/file?id=${encodeURIComponent(m.document.file_id)}`, download: m.document.file_name || "file" },
      "📎 " + (m.document.file_name || "file")));
  }
  const text = m.text || m.caption || "";
  if (text) li.append(el("div", { class: "body" }, renderEntities(text, m.text ? m.entities : m.caption_entities)));
  if (m.reply_markup && m.reply_markup.inline_keyboard) li.append(renderKeyboard(m));
  const time = new Date(m.date * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  li.append(el("div", { class: "meta" }, (m.edit_date ? "edited " : "") + time));
  return li;
}

// renderEntities builds the message from its text and entities, as
// Telegram shows it: only Telegram's formatting, every character of the
// text as text (never parsed as HTML). Offsets are UTF-16, like JS strings.
function renderEntities(text, entities) {
  const frag = document.createDocumentFragment();
  const ents = (entities || []).filter((e) => e.length > 0).sort((a, b) => a.offset - b.offset || b.length - a.length);
  (function build(start, end, list, parent) {
    let pos = start;
    for (let i = 0; i < list.length;) {
      const e = list[i];
      const eStart = Math.max(e.offset, pos), eEnd = Math.min(e.offset + e.length, end);
      let j = i + 1;
      const inner = [];
      while (j < list.length && list[j].offset < e.offset + e.length) inner.push(list[j++]);
      if (eStart < eEnd) {
        if (eStart > pos) parent.append(text.slice(pos, eStart));
        const node = entityElement(e, text.slice(eStart, eEnd));
        build(eStart, eEnd, inner, node.inner || node);
        parent.append(node);
        pos = eEnd;
      }
      i = j;
    }
    if (pos < end) parent.append(text.slice(pos, end));
  })(0, text.length, ents, frag);
  return frag;
}

function safeURL(u) {
  try {
    const url = new URL(u, location.href);
    return ["http:", "https:", "tg:", "mailto:"].includes(url.protocol) ? url.href : null;
  } catch { return null; }
}

function entityElement(e, slice) {
  const tags = { bold: "b", italic: "i", underline: "u", strikethrough: "s", code: "code", blockquote: "blockquote", expandable_blockquote: "blockquote" };
  if (tags[e.type]) return el(tags[e.type]);
  switch (e.type) {
    case "pre": { const code = el("code"); const pre = el("pre", {}, code); pre.inner = code; return pre; }
    case "spoiler": return el("span", { class: "spoiler", tabindex: "0", onclick: (ev) => ev.currentTarget.classList.add("shown") });
    case "text_link": case "url": {
      const href = safeURL(e.type === "url" ? slice : e.url);
      return href ? el("a", { href, target: "_blank", rel: "noopener noreferrer", onclick: linkClick }) : el("span");
    }
    case "bot_command": return el("a", { href: "#", onclick: (ev) => { ev.preventDefault(); send(slice); } });
    default: return el("span", { class: "e-" + e.type });
  }
}

function renderKeyboard(m) {
  const kb = el("div", { class: "kb" });
  for (const row of m.reply_markup.inline_keyboard) {
    const r = el("div", { class: "row" });
    for (const b of row) {
      r.append(el("button", { type: "button", "data-data": b.callback_data || "", onclick: () => pressButton(m, b) }, b.text));
    }
    kb.append(r);
  }
  return kb;
}

async function pressButton(m, b) {
  if (!b.callback_data) {
    if (b.url) return openURL(b.url);
    if (b.copy_text && b.copy_text.text) { if (navigator.clipboard) navigator.clipboard.writeText(b.copy_text.text); return toast("Copied"); }
    return toast("This button does nothing in the playground");
  }
  const me = person(state.me);
  try {
    const upd = await post("/_emu/push", { kind: "callback", from: userOf(me), chat: chatObject(state.chat), message_id: m.message_id, data: b.callback_data });
    const answer = await api(`/_emu/callback?id=${encodeURIComponent(upd.callback_query.id)}&wait=30s`);
    if (answer.url) openURL(answer.url);
    else if (answer.text && answer.show_alert) alertBox(answer.text);
    else if (answer.text) toast(answer.text);
  } catch (err) { toast("Could not press: " + err.message); }
}

// Deep links t.me/<bot>?start=PAYLOAD open the private chat with the bot
// and send /start PAYLOAD, as Telegram does; a share link opens the link
// it shares.
function deepLink(u) {
  let url;
  try { url = new URL(u); } catch { return null; }
  if (url.hostname === "t.me" && url.pathname === "/share/url") return deepLink(url.searchParams.get("url") || "");
  const bot = state.session.bot.username.toLowerCase();
  if ((url.hostname === "t.me" || url.hostname === "telegram.me") && url.pathname.replace("/", "").toLowerCase() === bot) {
    return { start: url.searchParams.get("start") };
  }
  if (url.protocol === "tg:" && url.searchParams.get("domain") === bot) return { start: url.searchParams.get("start") };
  return null;
}
function linkClick(ev) {
  if (deepLink(ev.currentTarget.href)) { ev.preventDefault(); openURL(ev.currentTarget.href); }
}
async function openURL(u) {
  const link = deepLink(u);
  if (!link) { window.open(u, "_blank", "noopener"); return; }
  await openChat(state.me);
  await send(link.start ? "/start " + link.start : "/start");
}

// ---- composer and menu ----
async function send(text) {
  text = text.trim();
  if (!text) return;
  const me = person(state.me);
  try {
    await post("/_emu/push", { from: userOf(me), chat: chatObject(state.chat), text });
    await renderMessages(true);
  } catch (err) { toast("Not sent: " + err.message); }
}
$("composer").onsubmit = (ev) => {
  ev.preventDefault();
  const input = $("composer-input");
  send(input.value);
  input.value = "";
  $("menu").hidden = true;
};

async function loadMenu() {
  const me = person(state.me);
  state.menu = await api(`/_emu/menu?chat=${state.chat}&user=${me.id}&lang=${me.lang}`);
  renderMenu();
}
function renderMenu() {
  const typed = $("composer-input").value;
  const filter = typed.startsWith("/") ? typed.slice(1).split(/\s/)[0].toLowerCase() : "";
  const items = state.menu.filter((c) => c.command.startsWith(filter));
  $("menu").replaceChildren(...items.map((c) => el("button", { type: "button", role: "option", onclick: () => pickCommand(c.command) },
    el("b", {}, "/" + c.command), c.description)));
  if (!items.length) $("menu").hidden = true;
}
function pickCommand(cmd) {
  const input = $("composer-input");
  input.value = "/" + cmd + " ";
  $("menu").hidden = true;
  input.focus();
}
$("menu-button").onclick = () => { renderMenu(); $("menu").hidden = !$("menu").hidden || !state.menu.length; };
$("composer-input").addEventListener("input", (ev) => {
  const v = ev.target.value;
  $("menu").hidden = !(v.startsWith("/") && !v.includes(" "));
  if (!$("menu").hidden) renderMenu();
});
document.addEventListener("keydown", (ev) => {
  if (ev.key === "Escape") { $("menu").hidden = true; $("alert").hidden = true; $("composer-input").focus(); return; }
  // Arrow keys move through the command menu, as in Telegram.
  if (ev.key !== "ArrowUp" && ev.key !== "ArrowDown") return;
  const items = [...$("menu").querySelectorAll("button")];
  if ($("menu").hidden || !items.length) return;
  const i = items.indexOf(document.activeElement);
  const next = ev.key === "ArrowDown" ? (i + 1) % items.length : (i <= 0 ? items.length - 1 : i - 1);
  items[next].focus();
  ev.preventDefault();
});

// ---- the pipeline panel ----
const chaos = [
  { key: "kill", label: "kill -9 the bot", why: "The bot dies mid-work; the playground starts it again. What people type meanwhile is answered after the restart, in order, once." },
  { key: "storm", label: "429 storm (20 s)", why: "Telegram answers every send 429 retry_after=3. The bot waits as told, keeps everything queued and sends it in order afterwards." },
  { key: "errors", label: "Telegram 5xx 20 %", why: "One send in five fails with 500/502. The bot retries with backoff; each reply still arrives once." },
  { key: "slow", label: "slow network", why: "Every call takes 0.7–2.5 s. Replies lag; order per chat holds and nothing is sent twice." },
  { key: "away", label: "Telegram away for 30 s", why: "No call is answered. The sender pauses (/readyz says Telegram unreachable), nothing is dropped, and it catches up in order." },
  { key: "weather", label: "weather service down", why: "Forecasts fail: /weather apologises, cards keep their last forecast, the weather breaker opens. RSVPs are unaffected." },
];
function renderChaosControls() {
  $("chaos").replaceChildren(...chaos.map((c) => el("li", {},
    el("button", { type: "button", id: "chaos-" + c.key, "aria-pressed": "false", onclick: () => toggleChaos(c.key) }, c.label),
    el("span", { class: "why" }, c.why))));
}
let lastPanel = null;
async function toggleChaos(key) {
  const on = $("chaos-" + key).getAttribute("aria-pressed") !== "true";
  try {
    if (key === "kill") { await post("/api/kill"); toast("SIGKILL sent to the bot"); return; }
    if (key === "weather") await post("/api/weather", { down: on });
    else await post("/_emu/chaos", { [key]: on });
    $("chaos-" + key).setAttribute("aria-pressed", String(on));
  } catch (err) { toast(err.message); }
}

function renderPanel(p) {
  lastPanel = p;
  const b = p.bot;
  $("bot-state").textContent = b.state;
  $("bot-state").className = "state " + b.state;
  const secs = Math.max(0, Math.round((Date.now() - new Date(b.since)) / 1000));
  $("bot-detail").textContent = (b.pid ? `pid ${b.pid} · ` : "") + `${secs}s · restarts ${b.restarts}` + (b.last_exit ? ` · last: ${b.last_exit}` : "");
  const m = p.metrics;
  const lanes = ["interactive", "edit", "bulk"];
  $("outbox").replaceChildren(...lanes.map((l) => el("tr", {}, el("td", {}, l),
    ...["pending", "sending", "dead"].map((s) => el("td", {}, m && m.outbox[s] ? String(m.outbox[s][l] || 0) : "–")))));
  const v = p.sends_per_second, max = Math.max(p.limit_per_second, ...v);
  const pts = v.map((n, i) => `${(i * 240 / (v.length - 1)).toFixed(1)},${(60 - n / max * 56).toFixed(1)}`).join(" ");
  const limitY = (60 - p.limit_per_second / max * 56).toFixed(1);
  $("chart").innerHTML = `<line x1="0" x2="240" y1="${limitY}" y2="${limitY}" stroke="#d9534f" stroke-dasharray="4 3"/>` +
    `<polyline fill="none" stroke="#3390ec" stroke-width="1.5" points="${pts}"/>`;
  $("rate-now").textContent = `now ${v[v.length - 1]}/s · limit ${p.limit_per_second}/s (dashed)`;
  const rows = [
    ["429s Telegram gave", p.too_many_requests], ["5xx / dropped given", p.server_errors],
    ["429s waited out (bot)", m ? m.rate_limited : "–"], ["retries after failures (bot)", m ? m.retries : "–"],
    ["dead letters (bot)", m ? m.dead_letters : "–"],
    ["sent (since bot start)", m ? m.sent : "–"], ["updates waiting in inbox", m ? m.inbox_pending : "–"],
    ["Telegram reachable", m ? (m.telegram_reachable ? "yes" : `no, paused ${Math.round(m.sender_paused_seconds)}s`) : "–"],
  ];
  $("counters").replaceChildren(...rows.flatMap(([k, val]) => [el("dt", {}, k), el("dd", {}, String(val))]));
  $("ledger").replaceChildren(...p.ledger.map((r) => el("li", { class: r.outcome === "ok" ? "" : "bad" },
    `${r.time} #${r.id} ${r.method} → ${r.chat_id} try ${r.attempt}: ${r.outcome}${r.http_status ? " " + r.http_status : ""}`)));
  const pressed = { storm: !!p.chaos.storm_until, errors: p.chaos.errors, slow: p.chaos.slow, away: !!p.chaos.away_until, weather: p.weather.down };
  for (const [k, on] of Object.entries(pressed)) $("chaos-" + k).setAttribute("aria-pressed", String(on));
  $("weather").textContent = "Forecasts: " + p.weather.source + (p.weather.down ? " — switched off (down)" : "") + ".";
  $("log").textContent = p.log.join("\n");
}

$("demo-reminder").onclick = async () => {
  toast("Creating the event…");
  try {
    const r = await post("/api/demo/reminder", { chat: state.chat, user: state.me });
    toast(`Event ${r.event} starts at ${new Date(r.starts).toLocaleTimeString()}; its reminder arrives a minute before.`);
  } catch (err) { toast(err.message); }
};
$("reset").onclick = async () => {
  if (!confirm("Delete every event, message and added person, and start afresh?")) return;
  await post("/api/reset");
  state.chat = null;
  await loadSession();
};
$("add-person").onsubmit = async (ev) => {
  ev.preventDefault();
  try {
    const p = await post("/api/people", { name: $("person-name").value, lang: $("person-lang").value });
    $("person-name").value = "";
    await loadSession();
    await openChat(p.id);
  } catch (err) { toast(err.message); }
};
$("add-group").onsubmit = async (ev) => {
  ev.preventDefault();
  try {
    const g = await post("/api/groups", { title: $("group-title").value, owner: state.me, members: state.session.people.map((p) => p.id) });
    $("group-title").value = "";
    await loadSession();
    await openChat(g.id);
  } catch (err) { toast(err.message); }
};

// ---- live updates ----
let refreshing = null;
function refresh() {
  if (refreshing) { refreshing.again = true; return; }
  refreshing = { again: false };
  Promise.all([renderMessages(false), refreshChats()]).catch(() => {}).finally(() => {
    const again = refreshing.again;
    refreshing = null;
    if (again) refresh();
  });
}
function connect() {
  const es = new EventSource("/api/events");
  es.addEventListener("changed", refresh);
  es.addEventListener("panel", (ev) => renderPanel(JSON.parse(ev.data)));
  es.addEventListener("bot", (ev) => { if (lastPanel) renderPanel({ ...lastPanel, bot: JSON.parse(ev.data) }); });
  es.addEventListener("roster", () => loadSession());
  es.addEventListener("open", refresh);
}

renderChaosControls();
loadSession().then(connect);
