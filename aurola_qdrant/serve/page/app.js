// The search page: plain JavaScript, no build step, no network beyond this service.
"use strict";

const $ = (id) => document.getElementById(id);
const HIDDEN_FIELDS = new Set(["file_id", "sources", "segment_index", "n_segments", "sample_rate", "channels"]);
let info = null;
let objectUrls = [];

function key() { return sessionStorage.getItem("aurola-key") || ""; }
function headers(extra = {}) {
  const h = { ...extra };
  if (key()) h["Authorization"] = "Bearer " + key();
  return h;
}

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: headers(options.headers || {}) });
  if (response.status === 401) {
    $("key-form").hidden = false;
    $("key").focus();
    throw new Error("this service needs its API key");
  }
  const body = response.headers.get("content-type")?.includes("json") ? await response.json() : null;
  if (!response.ok) {
    const message = body && body.error ? body.error.message : response.statusText;
    throw new Error(`${response.status}: ${message}`);
  }
  return body;
}

function clock(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const m = Math.floor(seconds / 60);
  return `${m}:${(seconds - 60 * m).toFixed(1).padStart(4, "0")}`;
}

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "muted";
}

function buildFilters(fields) {
  const box = $("filter-fields");
  box.replaceChildren();
  const usable = Object.entries(fields).filter(([name, kind]) =>
    !HIDDEN_FIELDS.has(name) && !name.startsWith("complete_") && kind !== "json");
  for (const [name, kind] of usable) {
    if (kind === "float" || kind === "integer") {
      for (const [op, word] of [["gte", "≥"], ["lte", "≤"]]) {
        const label = document.createElement("label");
        label.textContent = `${name} ${word}`;
        const input = Object.assign(document.createElement("input"), { type: "number", step: "any" });
        input.dataset.field = name; input.dataset.op = op;
        label.append(input); box.append(label);
      }
    } else if (kind === "keyword" || kind === "bool") {
      const label = document.createElement("label");
      label.textContent = name;
      const input = Object.assign(document.createElement("input"), { type: "text" });
      input.dataset.field = name; input.dataset.op = kind === "bool" ? "bool" : "match";
      label.append(input); box.append(label);
    }
  }
  $("filters").hidden = usable.length === 0;
}

function currentFilter() {
  const must = [];
  const ranges = {};
  for (const input of $("filter-fields").querySelectorAll("input")) {
    const value = input.value.trim();
    if (!value) continue;
    const { field, op } = input.dataset;
    if (op === "match") must.push({ key: field, match: { value } });
    else if (op === "bool") must.push({ key: field, match: { value: value === "true" } });
    else (ranges[field] = ranges[field] || {})[op] = Number(value);
  }
  for (const [field, range] of Object.entries(ranges)) must.push({ key: field, range });
  return must.length ? { must } : null;
}

async function loadInfo() {
  try {
    info = await api("/v1/collection");
  } catch (err) {
    $("about").textContent = String(err.message);
    return;
  }
  $("about").textContent = `${info.collection}: ${info.points} segments, model ${info.model}` +
    (info.reranker ? `, re-ranker loaded (α = ${info.alpha})` : ", no re-ranker");
  $("rerank").checked = info.reranker;
  $("rerank").disabled = !info.reranker;
  buildFilters(info.fields);
}

async function audioSource(url) {
  if (!key()) return url;  // streamed with range requests
  const response = await fetch(url, { headers: headers() });
  if (!response.ok) throw new Error(`${response.status} for the audio`);
  const blobUrl = URL.createObjectURL(await response.blob());
  objectUrls.push(blobUrl);
  return blobUrl;
}

function renderHits(result) {
  for (const u of objectUrls) URL.revokeObjectURL(u);
  objectUrls = [];
  const list = $("results");
  list.replaceChildren();
  result.hits.forEach((hit, i) => {
    const item = document.createElement("li");
    item.className = "hit";
    const head = document.createElement("div");
    head.className = "hit-head";
    const play = Object.assign(document.createElement("button"), { type: "button", className: "play" });
    play.textContent = "▶ Play";
    play.setAttribute("aria-label", `Play hit ${i + 1}, ${clock(hit.start_s)} to ${clock(hit.end_s)}`);
    const source = Object.assign(document.createElement("span"), { className: "source" });
    source.textContent = hit.source || hit.id;
    const span = Object.assign(document.createElement("span"), { className: "span" });
    span.textContent = `${clock(hit.start_s)}–${clock(hit.end_s)}`;
    const scores = Object.assign(document.createElement("span"), { className: "scores" });
    scores.textContent = `score ${hit.score.toFixed(4)} · cos ${hit.retrieval_score.toFixed(4)}` +
      (hit.rerank_score === null ? "" : ` · P(yes) ${hit.rerank_score.toFixed(3)}`);
    head.append(play, source, span, scores);
    item.append(head);
    if (hit.rerank_error) {
      const note = Object.assign(document.createElement("div"), { className: "error" });
      note.textContent = "not re-ranked: " + hit.rerank_error;
      item.append(note);
    }
    const player = Object.assign(document.createElement("audio"), { controls: true, preload: "none" });
    player.dataset.url = hit.audio_url;
    player.addEventListener("play", () => { item.classList.add("playing"); play.textContent = "❚❚ Pause"; });
    player.addEventListener("pause", () => { item.classList.remove("playing"); play.textContent = "▶ Play"; });
    play.addEventListener("click", async () => {
      try {
        for (const other of list.querySelectorAll("audio")) if (other !== player) other.pause();
        if (!player.src) player.src = await audioSource(player.dataset.url);
        if (player.paused) await player.play(); else player.pause();
      } catch (err) { setStatus(String(err.message), true); }
    });
    item.append(player);
    list.append(item);
  });
  const t = result.timings;
  const stages = ["queue", "embed", "retrieve", "rerank"].filter((s) => t[s] !== undefined)
    .map((s) => `${s} ${(1000 * t[s]).toFixed(0)} ms`).join(", ");
  setStatus(`${result.hits.length} hit(s)` + (result.reranked ? ", re-ranked" : "") +
    ` in ${(1000 * t.total).toFixed(0)} ms (${stages})`);
}

async function search(event) {
  event.preventDefault();
  const file = $("audio-file").files[0];
  const query = $("query").value.trim();
  const limit = Number($("limit").value) || 10;
  const filter = currentFilter();
  if (!file && !query) { setStatus("Type a query or choose an audio file.", true); $("query").focus(); return; }
  setStatus("Searching…");
  try {
    let result;
    if (file) {
      const form = new FormData();
      form.append("audio", file);
      form.append("limit", String(limit));
      if (filter) form.append("filter", JSON.stringify(filter));
      result = await api("/v1/search/audio", { method: "POST", body: form });
    } else {
      const body = { query, limit, filter, rerank: info && info.reranker ? $("rerank").checked : false };
      result = await api("/v1/search", { method: "POST", body: JSON.stringify(body),
                                         headers: { "Content-Type": "application/json" } });
    }
    renderHits(result);
  } catch (err) {
    setStatus(String(err.message), true);
  }
}

$("search-form").addEventListener("submit", search);
$("audio-file").addEventListener("change", () => { if ($("audio-file").files.length) $("query").value = ""; });
$("query").addEventListener("input", () => { if ($("query").value) $("audio-file").value = ""; });
$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem("aurola-key", $("key").value.trim());
  $("key-form").hidden = true;
  loadInfo();
});
document.addEventListener("keydown", (event) => {
  if (event.key === "/" && document.activeElement !== $("query") && !(document.activeElement instanceof HTMLInputElement)) {
    event.preventDefault();
    $("query").focus();
  }
});
loadInfo();
