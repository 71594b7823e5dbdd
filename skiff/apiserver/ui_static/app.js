// The skiff dashboard: nodes and pods from the real API (list, then watch from the list's
// resourceVersion; relist on 410 Gone), rendered in batches once per animation frame, and a chosen pod's
// journey from /ui/api/trace/NS/POD (skiff trace's own steps, computed by the API server).
"use strict";

const state = {
  nodes: new Map(), // name -> Node
  pods: new Map(), // "ns/name" -> Pod
  podsByNode: new Map(), // node name ("" = not scheduled) -> Set of pod keys
  cards: new Map(), // node name -> card element
  dirty: new Set(), // node names whose card must be redrawn
  chosen: null, // "ns/name" of the pod whose journey is shown
  synced: { nodes: false, pods: false },
};
// Read by the tests and bench/ui.py.
const stats = { renders: 0, totalMs: 0, maxMs: 0, lastMs: 0, firstFullRenderAt: null, events: 0 };
window.skiffUI = { state, stats };

// ---------------------------------------------------------------- quantities

const SUFFIX = {
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
  n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
};

function qty(s) {
  if (s === undefined || s === null) return 0;
  const m = /^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$/.exec(String(s).trim());
  if (!m) return 0;
  return parseFloat(m[1]) * (SUFFIX[m[2]] || 1);
}

function fmtCpu(v) { return v >= 10 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : `${Math.round(v * 1000)}m`; }
function fmtMem(v) {
  for (const [u, f] of [["Gi", 2 ** 30], ["Mi", 2 ** 20], ["Ki", 2 ** 10]]) {
    if (v >= f) return `${(v / f).toFixed(v / f >= 10 ? 0 : 1)}${u}`;
  }
  return `${Math.round(v)}`;
}

function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// ---------------------------------------------------------------- state changes

function podKey(p) { return `${p.metadata.namespace}/${p.metadata.name}`; }
function podNode(p) { return (p && p.spec && p.spec.nodeName) || ""; }
function podPhase(p) { return (p.status && p.status.phase) || "Pending"; }

function setPod(type, pod) {
  const key = podKey(pod);
  const old = state.pods.get(key);
  if (old) {
    const n = podNode(old);
    const set = state.podsByNode.get(n);
    if (set) set.delete(key);
    state.dirty.add(n);
  }
  if (type === "DELETED") {
    state.pods.delete(key);
  } else {
    state.pods.set(key, pod);
    const n = podNode(pod);
    if (!state.podsByNode.has(n)) state.podsByNode.set(n, new Set());
    state.podsByNode.get(n).add(key);
    state.dirty.add(n);
  }
  if (key === state.chosen) refreshJourneySoon();
}

function setNode(type, node) {
  const name = node.metadata.name;
  if (type === "DELETED") state.nodes.delete(name);
  else state.nodes.set(name, node);
  state.dirty.add(name);
}

function resetPods(items) {
  state.pods.clear();
  for (const set of state.podsByNode.values()) set.clear();
  for (const n of state.cards.keys()) state.dirty.add(n);
  for (const p of items) setPod("ADDED", p);
}

function resetNodes(items) {
  for (const n of state.nodes.keys()) state.dirty.add(n);
  state.nodes.clear();
  for (const n of items) setNode("ADDED", n);
}

// ---------------------------------------------------------------- list + watch

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function setStatus(text) { document.getElementById("status").textContent = text; }

async function informer(kind, path, reset, apply) {
  for (;;) {
    try {
      const r = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!r.ok) throw new Error(`list ${kind}: HTTP ${r.status}`);
      const list = await r.json();
      reset(list.items || []);
      state.synced[kind] = true;
      scheduleRender();
      let rv = list.metadata.resourceVersion;
      for (;;) {
        const url = `${path}?watch=true&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(rv)}`;
        const w = await fetch(url, { credentials: "same-origin" });
        if (w.status === 410) break; // too old: relist
        if (!w.ok) throw new Error(`watch ${kind}: HTTP ${w.status}`);
        setStatus("live");
        const reader = w.body.getReader();
        const decoder = new TextDecoder();
        let buf = "";
        let gone = false;
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += decoder.decode(value, { stream: true });
          let nl;
          while ((nl = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line) continue;
            const ev = JSON.parse(line);
            if (ev.type === "ERROR") {
              if (ev.object && ev.object.code === 410) gone = true;
              else throw new Error(`watch ${kind}: ${ev.object && ev.object.message}`);
              break;
            }
            rv = ev.object.metadata.resourceVersion;
            if (ev.type === "BOOKMARK") continue;
            stats.events += 1;
            apply(ev.type, ev.object);
          }
          if (gone) break;
          scheduleRender();
        }
        if (gone) { try { await reader.cancel(); } catch (e) { /* already closed */ } break; }
        // The server ended the watch (its timeout): watch again from the last resourceVersion.
      }
    } catch (e) {
      setStatus(`reconnecting: ${e.message}`);
      await sleep(1000);
    }
  }
}

// ---------------------------------------------------------------- rendering

let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(render);
}

function bar(alloc, used, cap, fmt) {
  const a = cap > 0 ? Math.min(100, (100 * alloc) / cap) : 0;
  const u = cap > 0 ? Math.min(100, (100 * used) / cap) : 0;
  return `<div class="bar" title="allocated ${fmt(alloc)} · used ${fmt(used)} · capacity ${fmt(cap)}">` +
    `<div class="alloc" style="width:${a.toFixed(1)}%"></div><div class="used" style="width:${u.toFixed(1)}%"></div>` +
    `<span>${fmt(alloc)} / ${fmt(used)} / ${fmt(cap)}</span></div>`;
}

function cardHTML(name) {
  const node = state.nodes.get(name);
  const keys = [...(state.podsByNode.get(name) || [])].sort();
  let cpuReq = 0;
  let memReq = 0;
  let pods = "";
  for (const key of keys) {
    const p = state.pods.get(key);
    const phase = podPhase(p);
    if (phase !== "Succeeded" && phase !== "Failed") {
      for (const c of (p.spec && p.spec.containers) || []) {
        const req = (c.resources && c.resources.requests) || {};
        cpuReq += qty(req.cpu);
        memReq += qty(req.memory);
      }
    }
    const chosen = key === state.chosen ? " chosen" : "";
    pods += `<span class="pod ${esc(phase)}${chosen}" data-key="${esc(key)}" data-phase="${esc(phase)}" ` +
      `title="${esc(key)} · ${esc(phase)}">${esc(p.metadata.name)}</span>`;
  }
  if (!node) {
    const title = name === "" ? "not scheduled" : `${esc(name)} (no such node)`;
    return `<h3><span>${title}</span><span>${keys.length} pods</span></h3><div class="pods">${pods}</div>`;
  }
  const cap = (node.status && (node.status.allocatable || node.status.capacity)) || {};
  let usage = {};
  try { usage = JSON.parse((node.metadata.annotations || {})["skiff.io/usage"] || "{}"); } catch (e) { usage = {}; }
  const ready = ((node.status && node.status.conditions) || []).some((c) => c.type === "Ready" && c.status === "True");
  return `<h3><span>${esc(name)}</span><span>${ready ? "Ready" : "NotReady"} · ${keys.length} pods</span></h3>` +
    `<div class="res"><span>cpu</span>${bar(cpuReq, qty(usage.cpu), qty(cap.cpu), fmtCpu)}` +
    `<span>memory</span>${bar(memReq, qty(usage.memory), qty(cap.memory), fmtMem)}</div>` +
    `<div class="pods">${pods}</div>`;
}

function render() {
  renderQueued = false;
  const t0 = performance.now();
  const container = document.getElementById("nodes");
  let added = false;
  for (const name of state.dirty) {
    // A card for every node, and for pods bound to no node or to a node that is not (or no longer) there.
    const exists = state.nodes.has(name) || (state.podsByNode.get(name) || new Set()).size > 0;
    let card = state.cards.get(name);
    if (!exists) {
      if (card) { card.remove(); state.cards.delete(name); }
      continue;
    }
    if (!card) {
      card = document.createElement("div");
      card.className = "node";
      card.dataset.node = name;
      state.cards.set(name, card);
      added = true;
    }
    const node = state.nodes.get(name);
    const ready = !node || ((node.status && node.status.conditions) || []).some((c) => c.type === "Ready" && c.status === "True");
    card.classList.toggle("notready", !ready);
    card.innerHTML = cardHTML(name);
  }
  state.dirty.clear();
  if (added) {
    // Unscheduled pods first, then the nodes by name.
    const names = [...state.cards.keys()].sort((a, b) => (a === "" ? -1 : b === "" ? 1 : a.localeCompare(b, undefined, { numeric: true })));
    for (const n of names) container.appendChild(state.cards.get(n));
  }
  let running = 0;
  for (const p of state.pods.values()) if (podPhase(p) === "Running") running += 1;
  document.getElementById("summary").textContent =
    `${state.nodes.size} nodes · ${state.pods.size} pods · ${running} running`;
  const ms = performance.now() - t0;
  stats.renders += 1;
  stats.totalMs += ms;
  stats.lastMs = ms;
  stats.maxMs = Math.max(stats.maxMs, ms);
  if (stats.firstFullRenderAt === null && state.synced.nodes && state.synced.pods) {
    stats.firstFullRenderAt = performance.now();
  }
  if (window.skiffUI.afterRender) window.skiffUI.afterRender();
}

// ---------------------------------------------------------------- the journey

let journeyTimer = null;
let journeyLateTimer = null;
function refreshJourneySoon() {
  clearTimeout(journeyTimer);
  clearTimeout(journeyLateTimer);
  journeyTimer = setTimeout(loadJourney, 300);
  // Events (Started, ...) may be recorded a moment after the pod change that announced them.
  journeyLateTimer = setTimeout(loadJourney, 2000);
}

async function loadJourney() {
  const key = state.chosen;
  if (!key) return;
  const [ns, name] = key.split("/");
  const r = await fetch(`/ui/api/trace/${encodeURIComponent(ns)}/${encodeURIComponent(name)}`, { credentials: "same-origin" });
  if (key !== state.chosen) return;
  if (!r.ok) {
    document.getElementById("journey-title").textContent = `${key}: HTTP ${r.status}`;
    return;
  }
  drawJourney(await r.json());
}

const LANE_NAMES = { user: "user", apiserver: "API server", store: "store", scheduler: "scheduler", kubelet: "kubelet", docker: "Docker" };

function drawJourney(j) {
  document.getElementById("journey-title").textContent = `${j.namespace}/${j.name} · ${j.phase || "?"}`;
  const W = 640;
  const top = 40;
  const rowH = 34;
  const left = 70;
  const laneW = (W - left - 40) / (j.lanes.length - 1);
  const x = {};
  j.lanes.forEach((l, i) => { x[l] = left + i * laneW; });
  const H = top + rowH * j.steps.length + 20;
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" data-pod="${esc(`${j.namespace}/${j.name}`)}" data-arrows="${j.steps.length}" ` +
    `data-seen="${j.steps.filter((s) => s.at).length}">` +
    `<defs><marker id="ah" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">` +
    `<path d="M0,0 L10,5 L0,10 z" fill="#1d3557"/></marker>` +
    `<marker id="ahg" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">` +
    `<path d="M0,0 L10,5 L0,10 z" fill="#aab4c0"/></marker></defs>`;
  for (const l of j.lanes) {
    svg += `<text class="lane-label" x="${x[l]}" y="16" text-anchor="middle">${esc(LANE_NAMES[l] || l)}</text>` +
      `<line x1="${x[l]}" y1="22" x2="${x[l]}" y2="${H - 6}" stroke="#c5ced9" stroke-dasharray="3 3"/>`;
  }
  j.steps.forEach((s, i) => {
    const y = top + i * rowH + 14;
    const seen = s.at !== null;
    const color = seen ? "#1d3557" : "#aab4c0";
    const marker = seen ? "ah" : "ahg";
    const dash = seen ? "" : ' stroke-dasharray="4 3"';
    const x1 = x[s.from];
    const x2 = x[s.to];
    const time = seen ? `+${s.deltaMs} ms` : "not seen";
    svg += `<g class="arrow" data-step="${s.step}" data-seen="${seen}">`;
    svg += `<text class="arrow-label" x="4" y="${y + 4}" fill="${color}">${esc(time)}</text>`;
    if (x1 === x2) {
      svg += `<path d="M${x1},${y - 6} h22 v12 h-20" fill="none" stroke="${color}" stroke-width="1.5"${dash} marker-end="url(#${marker})"/>` +
        `<text class="arrow-label" x="${x1 + 26}" y="${y + 4}" fill="${color}">${s.step}. ${esc(s.what)}</text>`;
    } else {
      svg += `<line x1="${x1}" y1="${y}" x2="${x2}" y2="${y}" stroke="${color}" stroke-width="1.5"${dash} marker-end="url(#${marker})"/>` +
        `<text class="arrow-label" x="${(x1 + x2) / 2}" y="${y - 4}" text-anchor="middle" fill="${color}">${s.step}. ${esc(s.what)}</text>`;
    }
    svg += "</g>";
  });
  svg += "</svg>";
  document.getElementById("journey").innerHTML = svg;
  document.getElementById("journey-steps").innerHTML = j.steps.map((s) =>
    `<tr><td>${s.step}</td><td>${esc(s.what)}</td><td>${esc(s.component)}</td>` +
    `<td>${esc(s.at || "not seen")}</td><td>${esc(s.detail)}</td></tr>`).join("");
}

function choose(key) {
  const previous = state.chosen;
  state.chosen = key;
  for (const k of [previous, key]) {
    const p = k && state.pods.get(k);
    if (p) state.dirty.add(podNode(p));
  }
  scheduleRender();
  loadJourney();
}
window.skiffUI.choose = choose;

document.getElementById("nodes").addEventListener("click", (e) => {
  const el = e.target.closest(".pod");
  if (el) choose(el.dataset.key);
});

informer("nodes", "/api/v1/nodes", resetNodes, setNode);
informer("pods", "/api/v1/pods", resetPods, setPod);
