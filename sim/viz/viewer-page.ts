// The trace viewer's page: one self-contained HTML document (style and script inline, no
// external assets, so it works offline). It steps through the trace with the JSON API of
// viewer-server.ts: back / forward one event (buttons or arrow keys), jump to a time, to the
// next message of a key, to a violation (or the operation / dot it names); it shows every
// node's state after the current step and the diagram around it; and for seed runs it
// re-runs the seed without one fault episode, side by side. A trace with ownership handoff
// gets a panel of its ring epochs and partition transfers (click one to jump to it) and
// buttons to the next transfer step and the next epoch.
export const VIEWER_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>MecDB trace viewer</title>
<style>
  body { font-family: "DejaVu Sans", Verdana, sans-serif; font-size: 13px; margin: 0; color: #222; }
  header { background: #1f3a5f; color: white; padding: 8px 14px; }
  header h1 { font-size: 16px; margin: 0 0 2px 0; }
  #controls { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; padding: 8px 14px; background: #eef2f7; border-bottom: 1px solid #ccd; }
  #controls button { padding: 3px 9px; }
  #controls input[type=number] { width: 80px; }
  .group { display: flex; gap: 4px; align-items: center; padding-right: 10px; border-right: 1px solid #ccd; }
  #event { font-family: "DejaVu Sans Mono", monospace; font-size: 12px; padding: 6px 14px; background: #fafafa; border-bottom: 1px solid #ddd; white-space: pre-wrap; word-break: break-all; max-height: 5.5em; overflow: auto; }
  main { display: flex; gap: 10px; padding: 10px 14px; align-items: flex-start; }
  #state { flex: 0 0 560px; display: flex; flex-direction: column; gap: 8px; }
  #diagram { flex: 1 1 auto; overflow: auto; border: 1px solid #ddd; max-height: 86vh; background: white; }
  .node { border: 1px solid #bbc; border-radius: 4px; padding: 6px 8px; background: white; }
  .node h3 { margin: 0 0 4px 0; font-size: 14px; }
  .badge { display: inline-block; border-radius: 3px; padding: 0 5px; font-size: 11px; margin-left: 6px; color: white; }
  .up { background: #1b8a3a; } .down { background: #c0392b; } .paused { background: #777; } .booting { background: #d68910; }
  table { border-collapse: collapse; width: 100%; margin-top: 3px; }
  td, th { border-top: 1px solid #eee; padding: 2px 4px; text-align: left; vertical-align: top; font-size: 12px; }
  th { color: #555; font-weight: normal; }
  .sib2 { background: #fff6cc; }
  .muted { color: #777; }
  .viol { color: #c0392b; }
  #cf-result table td { font-family: "DejaVu Sans Mono", monospace; font-size: 11px; }
  #cf-result { padding: 0 14px 14px 14px; }
  #handoff { padding: 6px 14px; border-bottom: 1px solid #ddd; background: #fdf2f6; display: none; }
  #handoff h2 { font-size: 13px; margin: 0 0 4px 0; color: #c2185b; }
  #handoff .row { cursor: pointer; font-family: "DejaVu Sans Mono", monospace; font-size: 11.5px; padding: 1px 4px; }
  #handoff .row:hover { background: #f8d7e4; }
  #handoff .row.active { background: #f3b6cd; font-weight: bold; }
  #handoff .epoch { color: #9a7d0a; }
  #handoff .unfinished { color: #c0392b; }
  .xfer { color: #c2185b; }
</style>
</head>
<body>
<header><h1>MecDB trace viewer</h1><div id="summary">loading…</div></header>
<div id="controls">
  <div class="group"><button id="first" title="first step">|◀</button><button id="back" title="back one event (←)">◀</button>
    step <input id="step" type="number" min="0" value="0"> / <span id="steps">?</span>
    <button id="fwd" title="forward one event (→)">▶</button></div>
  <div class="group">time <input id="time" type="number" min="0" step="1" placeholder="ms"><button id="jump-time">jump</button> <span id="now" class="muted"></span></div>
  <div class="group">key <select id="key"></select><button id="next-key" title="next message carrying this key">next message</button></div>
  <div class="group"><select id="violations"></select><button id="jump-violation">jump to violation</button></div>
  <div class="group" id="handoff-controls" style="display:none"><button id="next-transfer" title="next transfer message or transfer event">next transfer</button><button id="next-epoch" title="next ring epoch">next ring epoch</button></div>
  <div class="group" id="cf"><select id="cf-episode"></select><button id="cf-without">re-run without</button>
    <input id="cf-shift" type="number" step="100" value="500" title="ms to move the episode by"><button id="cf-move">re-run moved</button></div>
</div>
<div id="event"></div>
<div id="handoff"></div>
<main><div id="state"></div><div id="diagram"></div></main>
<div id="cf-result"></div>
<script>
"use strict";
let info = null;
let step = 0;
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
function shortActor(a) {
  const m = /^([^.]+)\\.([0-9a-f]{4})[0-9a-f]*$/.exec(a);
  return m ? m[1] + "." + m[2] : a;
}
function shortDot(d) { const i = d.lastIndexOf(":"); return shortActor(d.slice(0, i)) + ":" + d.slice(i + 1); }
function clockText(c) { return "{" + Object.entries(c).map(([a, n]) => shortActor(a) + ":" + n).sort().join(", ") + "}"; }
function objectsTable(objs, hint) {
  if (objs.length === 0) return '<div class="muted">' + (hint ? "no hints" : "no objects") + "</div>";
  let h = "<table><tr><th>" + (hint ? "hint (for)" : "key") + "</th><th>siblings (dot = value)</th><th>clock</th></tr>";
  for (const o of objs) {
    const live = o.siblings.filter((s) => s.value !== null).length;
    const sibs = o.siblings.map((s) => esc(shortDot(s.dot)) + " = " + (s.value === null ? "<i>tombstone</i>" : esc(s.value))).join("<br>");
    h += '<tr class="' + (live > 1 ? "sib2" : "") + '"><td>' + esc(o.key) + (hint ? " (" + esc(o.forNode) + ")" : "") + "</td><td>" + sibs + "</td><td>" + esc(clockText(o.clock)) + "</td></tr>";
  }
  return h + "</table>";
}
function ringLine(n) {
  if (!n.ring || (n.ring.epoch === 0 && !n.ring.pendingTransfers && !(n.transfers || []).length)) return ""; // a fixed ring: nothing to say
  const active = (n.transfers || []).map((t) => "p" + t.partition + " → " + t.to + " (" + t.sent + " sent, " + t.remaining + " left)").join(", ");
  return '<div class="xfer">ring epoch ' + esc(n.ring.epoch) + (n.ring.pendingTransfers ? " · " + esc(n.ring.pendingTransfers) + " transfers still planned (cluster-wide, as this node knows)" : "") + (active ? " · sending " + esc(active) : "") + "</div>";
}
function renderHandoff() {
  const h = info.handoff;
  if (!h || !h.any) return;
  $("handoff").style.display = "block";
  $("handoff-controls").style.display = "flex";
  let html = "<h2>Ownership handoff: " + esc(h.summary) + "</h2>";
  for (const e of h.epochs) html += '<div class="row epoch" data-step="' + e.step + '">' + esc(e.text) + "</div>";
  h.transfers.forEach((r, i) => {
    html += '<div class="row transfer' + (r.done ? "" : " unfinished") + '" data-step="' + (r.startStep ?? r.firstStep) + '" data-transfer="' + i + '">' + esc(r.text) + "</div>";
  });
  $("handoff").innerHTML = html;
  for (const row of $("handoff").querySelectorAll(".row")) row.onclick = () => go(Number(row.dataset.step));
}
function markHandoff() {
  const h = info.handoff;
  if (!h || !h.any) return;
  for (const row of $("handoff").querySelectorAll(".row.transfer")) {
    const r = h.transfers[Number(row.dataset.transfer)];
    row.classList.toggle("active", r.firstStep <= step && step <= r.lastStep);
  }
}
function renderState(nodes) {
  if (nodes === null) { $("state").innerHTML = '<div class="muted">node state unavailable: ' + esc(info.replayNote || "") + "</div>"; return; }
  $("state").innerHTML = nodes.map((n) => {
    const badge = !n.up ? '<span class="badge down">down</span>' : n.paused ? '<span class="badge paused">paused</span>' : n.phase === "ready" ? '<span class="badge up">up</span>' : '<span class="badge booting">' + esc(n.phase || "starting") + "</span>";
    const pend = n.pending ? "get " + n.pending.get + ", put " + n.pending.put + ", replicate " + n.pending.replicate : "-";
    return '<div class="node" data-node="' + esc(n.node) + '"><h3>' + esc(n.node) + badge + ' <span class="muted">' + esc(n.actor ? shortActor(n.actor) : "") + "</span></h3>" +
      "<div>suspects: " + (n.suspected.length ? esc(n.suspected.join(", ")) : '<span class="muted">none</span>') + " · pending requests: " + esc(pend) + "</div>" + ringLine(n) +
      objectsTable(n.objects, false) + (n.hints.length ? objectsTable(n.hints, true) : "") + "</div>";
  }).join("");
}
async function go(n) {
  step = Math.max(0, Math.min(info.steps - 1, n));
  $("step").value = step;
  const [s, svg] = await Promise.all([fetch("/api/step/" + step).then((r) => r.json()), fetch("/api/svg?step=" + step).then((r) => r.text())]);
  $("event").textContent = "step " + step + ": " + JSON.stringify(s.line);
  $("now").textContent = "t = " + s.t + " ms";
  renderState(s.nodes);
  markHandoff();
  $("diagram").innerHTML = svg;
  document.body.dataset.step = String(step);
}
function nextWhere(pred) {
  for (let i = step + 1; i < info.rows.length; i++) if (pred(info.rows[i])) return i;
  return -1;
}
async function counterfactual(q) {
  $("cf-result").innerHTML = '<p class="muted">re-running…</p>';
  const r = await fetch("/api/counterfactual?" + q).then((x) => x.json());
  if (r.error) { $("cf-result").innerHTML = '<p class="viol">' + esc(r.message) + "</p>"; return; }
  const col = (v) => [v.label, "ops " + v.ops + ": " + v.ok + " ok, " + v.failed + " failed, " + v.unknown + " unknown", ...(v.violations.length ? v.violations.slice(0, 6).map((x) => "VIOLATION " + x.property + ": " + x.detail) : ["no violation"])];
  const a = col(r.original), b = col(r.changed);
  let h = "<h3>Counterfactual: " + esc(r.change) + "</h3><table><tr><th>as run</th><th>changed</th></tr>";
  for (let i = 0; i < Math.max(a.length, b.length); i++) h += "<tr><td>" + esc(a[i] || "") + "</td><td>" + esc(b[i] || "") + "</td></tr>";
  $("cf-result").innerHTML = h + '</table><p id="cf-verdict"><b>' + esc(r.summary) + "</b></p>";
}
async function init() {
  info = await fetch("/api/trace").then((r) => r.json());
  const src = info.header.source || {};
  const c = info.header.cluster || {};
  const what = src.kind === "scenario" ? "scenario " + src.name : src.kind && src.kind !== "seed" ? src.kind + " trace " + (src.name || "") : "seed " + (src.seed ?? c.seed);
  $("summary").innerHTML = esc(what + " · " + info.nodes.length + " nodes, N=" + c.n + " R=" + c.r + " W=" + c.w + " · " + info.steps + " steps, " + info.endMs + " ms") +
    (info.violations.length ? ' · <b class="viol" style="color:#ffb3a7">' + info.violations.length + " violation(s)</b>" : " · no violation") +
    (info.replayNote ? " · " + esc(info.replayNote) : "");
  $("steps").textContent = String(info.steps - 1);
  $("key").innerHTML = info.keys.map((k) => "<option>" + esc(k) + "</option>").join("");
  $("violations").innerHTML = info.violations.length ? info.violations.map((v, i) => '<option value="' + i + '">' + esc(v.property + ": " + v.detail.slice(0, 80)) + "</option>").join("") : "<option>no violation</option>";
  $("cf-episode").innerHTML = info.episodes.map((e) => '<option value="' + esc(e.split(" ")[0]) + '">' + esc(e) + "</option>").join("");
  if (!info.counterfactual || info.episodes.length === 0) $("cf").style.display = "none";
  renderHandoff();
  $("next-transfer").onclick = () => { const i = (info.handoff.steps || []).find((x) => x > step); if (i !== undefined) go(i); };
  $("next-epoch").onclick = () => { const e = (info.handoff.epochs || []).find((x) => x.step > step); if (e) go(e.step); };
  $("fwd").onclick = () => go(step + 1);
  $("back").onclick = () => go(step - 1);
  $("first").onclick = () => go(0);
  $("step").onchange = () => go(Number($("step").value));
  $("jump-time").onclick = () => { const t = Number($("time").value); const i = info.rows.findIndex((r) => r[0] >= t); go(i < 0 ? info.steps - 1 : i); };
  $("next-key").onclick = () => { const k = $("key").value; const i = nextWhere((r) => r[1] === "send" && r[3] === k); if (i >= 0) go(i); };
  $("jump-violation").onclick = () => { const v = info.violations[Number($("violations").value)]; if (v) go(v.related.length ? v.related[v.related.length - 1] : v.step); };
  $("cf-without").onclick = () => counterfactual("without=" + encodeURIComponent($("cf-episode").value));
  $("cf-move").onclick = () => counterfactual("shift=" + encodeURIComponent($("cf-episode").value + ":" + (Number($("cf-shift").value) >= 0 ? "+" : "") + Number($("cf-shift").value)));
  document.addEventListener("keydown", (e) => {
    if (e.target && e.target.tagName === "INPUT") return;
    if (e.key === "ArrowRight") go(step + 1);
    else if (e.key === "ArrowLeft") go(step - 1);
  });
  await go(0);
  document.body.dataset.ready = "1";
}
init();
</script>
</body>
</html>
`;
