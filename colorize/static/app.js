// colorize serve: the page. Plain JavaScript, no build step: every action is one call to the local server.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { photo: null, hints: [], keepPainted: true, dragging: null, rendering: 0, again: false };

function say(text, error = false) {
  $("status").textContent = text;
  $("status").className = error ? "error" : "";
}

// The token `colorize serve` printed in the page's address (beyond 127.0.0.1): sent with every call in a header, and
// in the address of the images the page loads; never kept in a cookie, which other servers on this host would see.
const TOKEN = new URLSearchParams(location.search).get("token");
const withToken = (url) => (TOKEN ? `${url}${url.includes("?") ? "&" : "?"}token=${encodeURIComponent(TOKEN)}` : url);

async function call(path, body, asJson = true) {
  const headers = TOKEN ? { "X-Colorize-Token": TOKEN } : {};
  const options = body instanceof FormData ? { method: "POST", body, headers }
    : body ? { method: "POST", headers: { ...headers, "Content-Type": "application/json" }, body: JSON.stringify(body) }
    : { headers };
  const response = await fetch(path, options);
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try { message = (await response.json()).error || message; } catch (e) { /* not JSON */ }
    throw new Error(message);
  }
  return asJson ? response.json() : response;
}

function settings() {
  const factor = Math.min(parseInt($("render-factor").value, 10), Number($("render-factor").max));
  return {
    photo: state.photo && state.photo.id,
    hints: state.hints.map(({ x, y, color }) => ({ x, y, color })),
    keep_painted: state.keepPainted,
    version: state.photo && state.photo.version,
    vividness: parseFloat($("vividness").value),
    render_factor: Number.isFinite(factor) ? factor : null,
  };
}

// Re-render after every change; changes made while a render runs are folded into one more render.
async function render() {
  if (!state.photo) return;
  if (state.rendering) { state.again = true; return; }
  state.rendering = performance.now();
  try {
    const response = await call("api/render", settings(), false);
    const blob = await response.blob();
    const old = $("after").src;
    $("after").src = URL.createObjectURL(blob);
    if (old.startsWith("blob:")) URL.revokeObjectURL(old);
    await $("after").decode();
    $("after").dataset.rendered = String(++renderCount);
    say(`${state.photo.name}: ${state.hints.length} hint(s), rendered in ${response.headers.get("X-Render-Ms")} ms`);
  } catch (e) {
    say(e.message, true);
  } finally {
    state.rendering = 0;
    if (state.again) { state.again = false; render(); }
  }
}
let renderCount = 0;

// A photo's hints file (NAME.hints.png, painted in another program or saved here): its clicks become markers, its
// strokes an overlay kept unless the user clears it; Save never drops strokes the page did not show.
function showPainted() {
  const photo = state.photo;
  $("painted-row").hidden = !photo.strokes && !photo.painted_error;
  $("painted").hidden = !photo.strokes || !state.keepPainted;
  if (photo.strokes) $("painted").src = withToken(`api/painted?photo=${encodeURIComponent(photo.id)}&v=${Date.now()}`);
  $("painted-name").textContent = photo.painted || "";
  $("own-reference").hidden = !photo.reference && !photo.reference_error;
  $("own-reference").textContent = photo.reference_error ? `Its reference cannot be used: ${photo.reference_error}`
    : photo.reference ? `Its own reference photo ${photo.reference} is applied, as colorize photos applies it.` : "";
  $("painted-toggle").textContent = state.keepPainted ? "Clear" : "Keep";
  $("painted-state").textContent = photo.painted_error ? `cannot be read (${photo.painted_error})`
    : state.keepPainted ? "strokes shown and kept" : "strokes cleared: Save keeps the old file as ~";
}

async function show(described) {
  state.photo = described;
  state.hints = described.dots.map((d) => ({ ...d }));
  state.keepPainted = true;  // an unreadable hints file stays until the user clears it
  showPainted();
  $("before").src = withToken(`api/original?photo=${encodeURIComponent(described.id)}`);
  $("stage").hidden = false;
  $("empty").hidden = true;
  fit();
  for (const id of ["download", "download-hints"]) $(id).disabled = false;
  $("save").disabled = !described.folder;
  document.querySelectorAll("#thumbs figure").forEach((f) => f.classList.toggle("open", f.dataset.id === described.id));
  drawHints();
  await render();
}

async function openFolderPhoto(path) {
  try { await show(await call("api/open", { path })); } catch (e) { say(e.message, true); }
}

async function upload(files) {
  for (const file of files) {
    const form = new FormData();
    form.append("file", file);
    try {
      const described = await call("api/upload", form);
      addThumb(described.id, described.name, URL.createObjectURL(file), () => show(described));
      await show(described);
    } catch (e) {
      say(e.message, true);
    }
  }
}

// A colour photo of the same scene: where the server finds it in the open photo, its colours there become hints,
// which the user moves and deletes like their own.
async function addReference(file) {
  if (!state.photo || !file) return;
  const photo = state.photo;
  const form = new FormData();
  form.append("photo", photo.id);
  form.append("file", file);
  say(`${file.name}: looking for it in ${photo.name}…`);
  try {
    const found = await call("api/reference", form);
    if (state.photo !== photo) return;  // another photo was opened meanwhile: these places are not its own
    if (!found.hints.length) {
      say(`${found.name}: nothing of it was found in ${state.photo.name}; the colour stays the model's`, true);
      return;
    }
    state.hints.push(...found.hints);
    drawHints();
    await render();
    say(`${found.name}: found; its colours are ${found.hints.length} hints: move or delete any of them`);
  } catch (e) {
    say(e.message, true);
  }
}

function addThumb(id, name, src, onClick, done = false) {
  const figure = document.createElement("figure");
  figure.dataset.id = id;
  figure.title = name;
  figure.classList.toggle("done", done);
  const img = document.createElement("img");
  img.src = src;
  img.alt = name;
  const caption = document.createElement("figcaption");
  caption.textContent = name;
  img.onerror = () => { figure.classList.add("bad"); caption.textContent = `${name}: cannot be read`; };
  figure.append(img, caption);
  figure.onclick = onClick;
  $("thumbs").append(figure);
}

async function loadAlbum() {
  const album = await call("api/photos");
  $("render-factor").max = album.render_factor;  // the model is never run above its own
  $("folder").textContent = album.folder ? `Folder: ${album.folder}` : "No folder: open or drop photos.";
  $("all").hidden = !album.photos.length;
  for (const p of album.photos) {
    let src = "";  // a name that is not valid Unicode cannot go in an address: no thumbnail, but it still opens
    try { src = withToken(`api/thumbnail?path=${encodeURIComponent(p.path)}`); } catch (e) { /* shown as unreadable */ }
    addThumb(p.path, p.path, src, () => openFolderPhoto(p.path), p.done);
  }
  state.album = album.photos;
  // Open on a photo, not on an empty viewer: the first one not yet done, else the first.
  const first = album.photos.find((p) => !p.done) || album.photos[0];
  if (first && !state.photo) await openFolderPhoto(first.path);
}

// The photo fills the viewer, small ones enlarged too, unless "Zoom to 100 %" shows it pixel for pixel.
function fit() {
  if (!state.photo) return;
  const viewer = $("viewer");
  const actual = $("zoom").checked;
  const scale = Math.min((viewer.clientWidth - 32) / state.photo.width, (viewer.clientHeight - 32) / state.photo.height);
  $("stage").style.width = actual ? `${state.photo.width}px` : `${Math.max(1, Math.floor(state.photo.width * scale))}px`;
}

// Colorize every folder photo without hints (photos already done are kept), with progress.
async function colorizeAll() {
  const todo = state.album.filter((p) => !p.done);
  $("progress").hidden = false;
  $("progress").max = todo.length;
  let failed = 0;
  for (const [i, p] of todo.entries()) {
    $("progress").value = i;
    say(`colorizing ${i + 1} of ${todo.length}: ${p.path}`);
    try {
      const opened = await call("api/open", { path: p.path });
      // Each photo with its own hints file as it is: nothing added, nothing cleared.
      await call("api/save", { ...settings(), photo: opened.id, hints: opened.dots, keep_painted: true, version: opened.version });
      p.done = true;
      document.querySelector(`#thumbs figure[data-id="${CSS.escape(p.path)}"]`).classList.add("done");
    } catch (e) {
      failed += 1;
      say(e.message, true);
    }
  }
  $("progress").value = todo.length;
  say(`colorized ${todo.length - failed}, failed ${failed}, skipped ${state.album.length - todo.length} (already done)`, failed > 0);
}

function photoPoint(event) {
  const box = $("before").getBoundingClientRect();
  const scale = state.photo.width / box.width;
  const x = Math.min(state.photo.width - 1, Math.max(0, Math.floor((event.clientX - box.left) * scale)));
  const y = Math.min(state.photo.height - 1, Math.max(0, Math.floor((event.clientY - box.top) * scale)));
  return { x, y };
}

function drawHints() {
  const markers = $("markers");
  const list = $("hints");
  markers.replaceChildren();
  list.replaceChildren();
  state.hints.forEach((hint, i) => {
    const dot = document.createElement("div");
    dot.className = "marker";
    dot.style.left = `${(100 * (hint.x + 0.5)) / state.photo.width}%`;
    dot.style.top = `${(100 * (hint.y + 0.5)) / state.photo.height}%`;
    dot.style.background = hint.color;
    dot.onmousedown = (e) => { e.stopPropagation(); e.preventDefault(); state.dragging = i; };
    markers.append(dot);
    const item = document.createElement("li");
    const swatch = document.createElement("input");
    swatch.type = "color";
    swatch.value = hint.color;
    swatch.onchange = () => { hint.color = swatch.value; drawHints(); render(); };
    const remove = document.createElement("button");
    remove.textContent = "×";
    remove.title = "delete this hint";
    remove.onclick = () => { state.hints.splice(i, 1); drawHints(); render(); };
    item.append(swatch, `${hint.x}, ${hint.y}`, remove);
    list.append(item);
  });
}

function pickColour(event) {
  const img = $("after");
  const canvas = document.createElement("canvas");
  canvas.width = state.photo.width;
  canvas.height = state.photo.height;
  const context = canvas.getContext("2d");
  context.drawImage(img, 0, 0);
  const { x, y } = photoPoint(event);
  const [r, g, b] = context.getImageData(x, y, 1, 1).data;
  $("colour").value = "#" + [r, g, b].map((v) => v.toString(16).padStart(2, "0")).join("");
  $("eyedropper").setAttribute("aria-pressed", "false");
  say(`picked ${$("colour").value}`);
}

function onStageClick(event) {
  if (!state.photo || event.target.id === "divider") return;
  if ($("eyedropper").getAttribute("aria-pressed") === "true") { pickColour(event); return; }
  state.hints.push({ ...photoPoint(event), color: $("colour").value });
  drawHints();
  render();
}

function wire() {
  $("file").onchange = (e) => upload(e.target.files);
  document.addEventListener("dragover", (e) => e.preventDefault());
  document.addEventListener("drop", (e) => {
    e.preventDefault();
    if (e.target.closest && e.target.closest("#reference-drop")) addReference(e.dataTransfer.files[0]);
    else upload(e.dataTransfer.files);
  });
  $("reference").onchange = (e) => { addReference(e.target.files[0]); e.target.value = ""; };
  $("stage").addEventListener("click", onStageClick);
  $("eyedropper").onclick = () => {
    const on = $("eyedropper").getAttribute("aria-pressed") !== "true";
    $("eyedropper").setAttribute("aria-pressed", String(on));
  };
  let splitting = false;
  $("divider").onmousedown = (e) => { e.preventDefault(); splitting = true; };
  document.addEventListener("mousemove", (e) => {
    if (splitting) {
      const box = $("stage").getBoundingClientRect();
      const share = Math.min(100, Math.max(0, (100 * (e.clientX - box.left)) / box.width));
      $("stage").style.setProperty("--split", `${share}%`);
    } else if (state.dragging !== null) {
      Object.assign(state.hints[state.dragging], photoPoint(e));
      drawHints();
    }
  });
  document.addEventListener("mouseup", () => {
    splitting = false;
    if (state.dragging !== null) { state.dragging = null; render(); }
  });
  $("vividness").oninput = () => { $("vividness-value").value = Number($("vividness").value).toFixed(2); render(); };
  $("render-factor").onchange = render;
  $("zoom").onchange = fit;
  window.addEventListener("resize", fit);
  $("all").onclick = colorizeAll;
  $("painted-toggle").onclick = () => { state.keepPainted = !state.keepPainted; showPainted(); render(); };
  $("save").onclick = async () => {
    try {
      const saved = await call("api/save", settings());
      const kept = saved.kept.length ? `; the previous hints file is kept as ${saved.kept.join(", ")}` : "";
      say(`saved ${saved.written.join(" and ")} beside the photo${kept}`);
      for (const key of ["version", "painted", "strokes", "painted_error"]) state.photo[key] = saved[key];
      state.keepPainted = true;
      showPainted();
      const figure = document.querySelector(`#thumbs figure[data-id="${CSS.escape(state.photo.id)}"]`);
      if (figure) figure.classList.add("done");
    } catch (e) { say(e.message, true); }
  };
  const fetchFile = async (path) => {
    try {
      const response = await call(path, settings(), false);
      const disposition = response.headers.get("Content-Disposition");
      const extended = /filename\*=UTF-8''([^;]+)/.exec(disposition);
      const name = extended ? decodeURIComponent(extended[1]) : /filename="([^"]+)"/.exec(disposition)[1];
      const link = document.createElement("a");
      link.href = URL.createObjectURL(await response.blob());
      link.download = name;
      link.click();
    } catch (e) { say(e.message, true); }
  };
  $("download").onclick = () => fetchFile("api/download");
  $("download-hints").onclick = () => fetchFile("api/hints-file");
}

wire();
loadAlbum().catch((e) => say(e.message, true));
