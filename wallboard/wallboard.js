// genius-wh wallboard: polls wallboard.json and redraws. No libraries, no build step.
// Every value goes in through textContent, never as HTML.
"use strict";

const POLL_MS = 3000;          // CONTRACT section 9: at least every 5 s
const STALE_MS = 15000;        // no good answer for this long: say so in red
const SL_WARN = 0.8, SL_BAD = 0.6, WAIT_WARN = 60, WAIT_BAD = 120;

const ACTIONS = { sessionended: "SessionEnded", agentactivity: "AgentActivity",
  queueinfo: "QueueInfo", cardpayment: "CardPayment" };
const LARGEST = 40, SMALLEST = 11;  // root font sizes (px) that fit() chooses between

let lastOk = 0, lastFigures = null, failure = "";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(child ?? ""));
  }
  return node;
}

const num = (v) => (v === null || v === undefined ? "–" : Number(v).toLocaleString("en-GB"));
const pct = (v) => (v === null || v === undefined ? "–" : (100 * v).toFixed(1) + "%");
// preview and manual dialling are outbound but outside the Ofcom rate (ofcom_calltypes)
const ofcomPct = (v) => (v === null || v === undefined ? "n/a" : pct(v));
const secs = (v) => (v === null || v === undefined ? "–" : Number(v).toFixed(0) + " s");
function wait(v) {
  if (!v) return "0:00";
  const s = Math.round(v);
  return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
}
function ago(seconds) {
  if (seconds === null || seconds === undefined) return "never";
  if (seconds < 90) return Math.round(seconds) + " s";
  if (seconds < 5400) return Math.round(seconds / 60) + " min";
  if (seconds < 172800) return Math.round(seconds / 3600) + " h";
  return Math.round(seconds / 86400) + " d";
}
const level = (v, warn, bad, higherIsBetter) => {
  if (v === null || v === undefined) return "";
  if (higherIsBetter) return v < bad ? "bad" : v < warn ? "warn" : "good";
  return v >= bad ? "bad" : v >= warn ? "warn" : "good";
};
const cell = (text, cls) => el("td", { class: "n " + (cls || "") }, text);
const nameCell = (name, detail) => el("td", { class: "name" }, name ?? "–",
  detail ? el("small", {}, detail) : "");

function table(id, headings, rows, emptyText) {
  const box = document.getElementById(id);
  if (!rows.length) {
    box.className = "empty";
    box.textContent = emptyText;
    return;
  }
  box.className = "";
  const head = el("tr", {}, ...headings.map((h) => el("th", {}, h)));
  box.replaceChildren(el("table", {}, el("thead", {}, head), el("tbody", {}, ...rows)));
}

function drawAgents(agents) {
  const states = agents.states;
  const rows = agents.campaigns.map((c) => el("tr", { "data-campaign": c.campaign },
    nameCell(c.campaign),
    ...states.map((s) => {
      const n = c.by_state[String(s.code)] || 0;
      return cell(num(n), n ? "" : "zero");
    }),
    cell(num(c.total))));
  table("agents", ["Campaign", ...states.map((s) => s.name), "Logged in"], rows,
    "no agent logged in");
}

function drawQueues(queues) {
  const rows = queues.map((q) => el("tr", { "data-queue": q.queuenumber },
    nameCell(q.queuename || "Queue " + q.queuenumber, q.campaign + " · " + q.queuenumber),
    cell(num(q.waiting), q.waiting ? "warn" : "zero"),
    cell(wait(q.oldest_wait_seconds), level(q.oldest_wait_seconds, WAIT_WARN, WAIT_BAD, false)),
    cell(num(q.offered)), cell(num(q.answered)),
    cell(num(q.abandoned), q.abandoned ? "" : "zero"),
    cell(pct(q.service_level), level(q.service_level, SL_WARN, SL_BAD, true)),
    cell(secs(q.asa_seconds))));
  table("queues", ["Queue", "Waiting", "Oldest wait", "Offered", "Answered", "Abandoned",
    "Service level", "ASA"], rows, "no queue has reported");
}

function drawCampaigns(campaigns, centre, limit) {
  const ofcom = (rate, over) => cell(ofcomPct(rate),
    rate === null || rate === undefined ? "" : over || rate > limit ? "bad"
      : rate > 0.8 * limit ? "warn" : "good");
  const rows = campaigns.map((c) => el("tr", { "data-campaign": c.campaign },
    nameCell(c.campaign), cell(num(c.dials)), cell(num(c.connects)),
    cell(pct(c.connect_rate)), ofcom(c.ofcom_rate_now, false),
    ofcom(c.ofcom_rate_24h, c.ofcom_over_limit)));
  if (centre) {
    rows.push(el("tr", { class: "total" }, nameCell("Whole centre"), cell(""), cell(""),
      cell(""), ofcom(centre.rate_now, false), ofcom(centre.rate_24h, centre.over_limit)));
  }
  table("campaigns", ["Campaign", "Dials", "Connects", "Connect rate", "Ofcom 24 h now",
    "Worst today (limit " + pct(limit) + ")"], rows, "no outbound calls today");
}

function drawFeeds(figures) {
  const box = document.getElementById("feeds");
  const chips = figures.feeds.map((f) => el("span", {
    class: "feed" + (f.silent ? " silent" : ""), "data-feed": f.action + "/" + f.integration },
  (ACTIONS[f.action] || f.action) + " · " + f.integration + " ",
  el("b", {}, f.silent ? "SILENT " + Math.round(f.silent_minutes) + " min" : ago(f.age_seconds))));
  box.className = chips.length ? "" : "note";
  box.replaceChildren(...(chips.length ? chips : ["no event received yet"]));
  const alarm = document.getElementById("alarm");
  alarm.hidden = !figures.silent.length;
  alarm.textContent = figures.silent.length ? "Feed silent: " + figures.silent.map(
    (f) => (ACTIONS[f.action] || f.action) + " from " + f.integration + " (" + Math.round(f.silent_minutes)
      + " min)").join(", ") + ". Check the dialler's webhook." : "";
  document.getElementById("unavailable").textContent = figures.unavailable.length
    ? "not available yet: " + figures.unavailable.join(", ") : "";
}

function draw(figures) {
  document.getElementById("day").textContent = figures.local_day;
  drawAgents(figures.agents);
  drawQueues(figures.queues);
  drawCampaigns(figures.campaigns, figures.centre_ofcom, figures.ofcom_limit);
  drawFeeds(figures);
  fit();
}

// A wallboard never scrolls: the largest type with which the page fits, in whichever of
// two layouts (two columns, or the three tables stacked) lets it be larger. Not on a phone.
function fit() {
  const root = document.documentElement, body = document.body;
  if (window.innerWidth < 900) {
    root.style.fontSize = "";
    body.classList.remove("stacked");
    return;
  }
  const stacked = largestFit(true), columns = largestFit(false);
  body.classList.toggle("stacked", stacked > columns);
  root.style.fontSize = Math.max(stacked, columns) + "px";
}

function largestFit(stacked) {
  const root = document.documentElement;
  document.body.classList.toggle("stacked", stacked);
  const sections = [...document.querySelectorAll("section")];
  const fits = () => root.scrollHeight <= window.innerHeight
    && sections.every((s) => s.scrollWidth <= s.clientWidth);
  let low = SMALLEST, high = LARGEST;
  while (low < high) {  // binary search: a handful of layouts, not thirty
    const mid = Math.ceil((low + high) / 2);
    root.style.fontSize = mid + "px";
    if (fits()) low = mid; else high = mid - 1;
  }
  return low;
}

function tick() {
  const box = document.getElementById("freshness");
  const f = lastFigures;
  const since = lastOk ? (Date.now() - lastOk) / 1000 : null;
  if (f) {  // the time the figures are for, ticking on between answers
    const moment = new Date(Date.parse(f.generated_at) + (Date.now() - lastOk));
    document.getElementById("clock").textContent = moment.toLocaleTimeString("en-GB",
      { timeZone: f.timezone });
  }
  let text = since === null ? "waiting for the first figures…" : "updated " + ago(since) + " ago";
  if (f && f.last_batch_at) {
    const behind = (Date.parse(f.generated_at) - Date.parse(f.last_batch_at)) / 1000;
    text += " · warehouse " + ago(Math.max(behind, 0)) + " old";
  } else if (f) {
    text += " · no batch yet";
  }
  const stale = since === null ? Boolean(failure) : since * 1000 > STALE_MS;
  box.textContent = (stale ? "STALE: " : "") + text + (failure ? " · " + failure : "");
  box.className = "freshness" + (stale ? " stale" : "");
}

async function poll() {
  try {
    const answer = await fetch("wallboard.json", { cache: "no-store", credentials: "same-origin" });
    const figures = await answer.json();
    if (!answer.ok) throw new Error(figures.error || "HTTP " + answer.status);
    lastFigures = figures;
    lastOk = Date.now();
    failure = "";
    draw(figures);
  } catch (err) {
    failure = String(err.message || err);
  }
  tick();
}

window.addEventListener("resize", fit);
poll();
setInterval(poll, POLL_MS);
setInterval(tick, 1000);
