// The annotation viewer `medsam serve` serves at /viewer/. It speaks only the native JSON API
// (docs/openapi.yaml) of the server it came from, and loads nothing from elsewhere.
//
// Coordinates: the API takes boxes and points in the pixels of a slice in array order (the
// slice PNG the server sends). The viewer shows that slice transformed for display (the
// server says, per axis, how to turn it for the radiological convention), so every pointer
// position goes back through the inverse of the drawing transform before it is sent.
'use strict';

const $ = (id) => document.getElementById(id);

const state = {
  token: sessionStorage.getItem('medsam-token'),
  info: null,            // ImageInfo of the open image
  axis: 'axial',
  slice: 0,
  orientation: 'radiological',
  windowPreset: '',
  tool: 'box',
  // Prompts by "axis/slice/label": { box: [x0,y0,x1,y1] | null, points: [[x, y, label01]] }.
  prompts: new Map(),
  // Prompt states before each label edit this viewer made, for undo.
  history: [],
  sliceBitmap: null,     // the slice, array order
  labels: null,          // Uint8Array of the slice's label values, array order
  drag: null,            // box being drawn, in slice pixels
  requestSeq: 0,
  busy: 0,
};

// MARK: API

async function api(path, options = {}, retry = true) {
  const headers = new Headers(options.headers || {});
  if (state.token) headers.set('Authorization', 'Bearer ' + state.token);
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401 && retry) {
    const token = window.prompt('This server needs its access token (medsam serve --token):');
    if (token) {
      state.token = token;
      sessionStorage.setItem('medsam-token', token);
      return api(path, options, false);
    }
  }
  if (!response.ok) {
    let message = response.status + ' ' + response.statusText;
    try { message = (await response.json()).error.message; } catch (_) { /* not a JSON error */ }
    throw new Error(message);
  }
  return response;
}

const json = async (path, options) => (await api(path, options)).json();
const post = (path, body) => json(path, {
  method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
});

function setStatus(text, isError = false) {
  const s = $('status');
  s.textContent = text;
  s.classList.toggle('error', isError);
}

async function busy(what, work) {
  state.busy += 1;
  document.body.dataset.busy = String(state.busy);
  try {
    return await work();
  } catch (e) {
    setStatus(what + ': ' + e.message, true);
    return undefined;
  } finally {
    state.busy -= 1;
    document.body.dataset.busy = String(state.busy);
  }
}

// MARK: Geometry

function axisInfo() { return state.info && state.info.axes[state.axis]; }

/** How the array-order slice is turned for display: transpose, then flips (display pixels). */
function displayTransform() {
  const a = axisInfo();
  const none = { transpose: false, flipX: false, flipY: false };
  if (!a || state.orientation === 'array' || !a.radiological) return none;
  return a.radiological;
}

/** The matrix from slice pixels (array order) to canvas pixels, fitted into the canvas. */
function drawingMatrix(canvas) {
  const a = axisInfo();
  const t = displayTransform();
  const spacing = state.info.spacing;
  const names = ['i', 'j', 'k'];
  // Millimetres per pixel along the slice's x and y, so anisotropic slices keep their shape.
  const mmX = spacing[names.indexOf(a.x)] || 1;
  const mmY = spacing[names.indexOf(a.y)] || 1;
  const dw = t.transpose ? a.height : a.width;            // display width in slice pixels
  const dh = t.transpose ? a.width : a.height;
  const mmU = t.transpose ? mmY : mmX;
  const mmV = t.transpose ? mmX : mmY;
  const scale = Math.min(canvas.width / (dw * mmU), canvas.height / (dh * mmV));
  const su = scale * mmU, sv = scale * mmV;
  const ox = (canvas.width - dw * su) / 2, oy = (canvas.height - dh * sv) / 2;
  const gx = t.flipX ? -su : su, gy = t.flipY ? -sv : sv;
  const e = ox + (t.flipX ? su * dw : 0), f = oy + (t.flipY ? sv * dh : 0);
  // (x, y) -> (a x + c y + e, b x + d y + f)
  return t.transpose ? new DOMMatrix([0, gy, gx, 0, e, f]) : new DOMMatrix([gx, 0, 0, gy, e, f]);
}

function canvasToSlice(event) {
  const canvas = $('view');
  const rect = canvas.getBoundingClientRect();
  const cx = (event.clientX - rect.left) * canvas.width / rect.width;
  const cy = (event.clientY - rect.top) * canvas.height / rect.height;
  const p = drawingMatrix(canvas).inverse().transformPoint(new DOMPoint(cx, cy));
  const a = axisInfo();
  return [Math.min(Math.max(p.x, 0), a.width), Math.min(Math.max(p.y, 0), a.height)];
}

// MARK: Drawing

const palette = (label) => {
  // Distinct hues for neighbouring labels (golden-angle steps), fully saturated.
  const h = (label * 137.508) % 360 / 60, c = 255, x = Math.round(c * (1 - Math.abs(h % 2 - 1)));
  return [[c, x, 0], [x, c, 0], [0, c, x], [0, x, c], [x, 0, c], [c, 0, x]][Math.floor(h) % 6];
};

let labelCanvas = null;

function renderLabelCanvas() {
  const a = axisInfo();
  if (!state.labels || !a) { labelCanvas = null; return; }
  labelCanvas = labelCanvas || document.createElement('canvas');
  labelCanvas.width = a.width;
  labelCanvas.height = a.height;
  const ctx = labelCanvas.getContext('2d');
  const img = ctx.createImageData(a.width, a.height);
  const alpha = Math.round(255 * $('opacity').value / 100);
  for (let p = 0; p < state.labels.length; p++) {
    const l = state.labels[p];
    if (l === 0) continue;
    const [r, g, b] = palette(l);
    img.data.set([r, g, b, alpha], p * 4);
  }
  ctx.putImageData(img, 0, 0);
}

function draw() {
  const canvas = $('view');
  const ctx = canvas.getContext('2d');
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  if (!state.info || !state.sliceBitmap) return;
  const m = drawingMatrix(canvas);
  ctx.setTransform(m);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(state.sliceBitmap, 0, 0);
  if (labelCanvas) ctx.drawImage(labelCanvas, 0, 0);
  // Prompts are drawn in canvas pixels so line widths do not scale with the image.
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  const toCanvas = (x, y) => m.transformPoint(new DOMPoint(x, y));
  const prompt = currentPrompt(false);
  const box = state.drag ? state.drag : prompt && prompt.box;
  if (box) {
    const p = toCanvas(box[0], box[1]), q = toCanvas(box[2], box[3]);
    ctx.strokeStyle = '#4af';
    ctx.lineWidth = 2;
    ctx.strokeRect(Math.min(p.x, q.x), Math.min(p.y, q.y), Math.abs(q.x - p.x), Math.abs(q.y - p.y));
  }
  for (const [x, y, l] of (prompt ? prompt.points : [])) {
    const p = toCanvas(x, y);
    ctx.fillStyle = l ? '#3f3' : '#f33';
    ctx.beginPath();
    ctx.arc(p.x, p.y, 5, 0, 2 * Math.PI);
    ctx.fill();
  }
}

// MARK: Loading

function label() { return Math.min(255, Math.max(1, parseInt($('label').value, 10) || 1)); }
function promptKey() { return `${state.axis}/${state.slice}/${label()}`; }

function currentPrompt(create) {
  const key = promptKey();
  if (!state.prompts.has(key) && create) state.prompts.set(key, { box: null, points: [] });
  return state.prompts.get(key);
}

async function loadSlice() {
  if (!state.info) return;
  const seq = ++state.requestSeq;
  const { id } = state.info;
  const base = `/v1/images/${encodeURIComponent(id)}`;
  const query = state.windowPreset ? `?windowPreset=${encodeURIComponent(state.windowPreset)}` : '';
  const [pixels, labels] = await Promise.all([
    api(`${base}/slices/${state.axis}/${state.slice}${query}`).then((r) => r.blob()),
    api(`${base}/labels/${state.axis}/${state.slice}?format=raw`).then((r) => r.arrayBuffer()),
  ]);
  const bitmap = await createImageBitmap(pixels, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  if (seq !== state.requestSeq) return;   // a newer slice was asked for meanwhile
  state.sliceBitmap = bitmap;
  state.labels = new Uint8Array(labels);
  renderLabelCanvas();
  draw();
  const a = axisInfo();
  // The axis names the array axis; say so when the slices lie in another anatomical plane.
  const plane = a.plane && a.plane !== state.axis ? ` (${a.plane} plane)` : '';
  $('slice-label').textContent = `${state.axis}${plane} ${state.slice + 1} / ${a.slices}`;
  document.body.dataset.loadedSlice = `${state.axis}/${state.slice}`;
}

async function reloadLabels() {
  const { id } = state.info;
  const r = await api(`/v1/images/${encodeURIComponent(id)}/labels/${state.axis}/${state.slice}?format=raw`);
  state.labels = new Uint8Array(await r.arrayBuffer());
  renderLabelCanvas();
  draw();
}

async function openImage(id) {
  state.info = await json(`/v1/images/${encodeURIComponent(id)}`);
  state.prompts.clear();
  state.history = [];
  const axes = Object.keys(state.info.axes);
  for (const b of document.querySelectorAll('#axes button')) b.disabled = !axes.includes(b.dataset.axis);
  $('propagate').disabled = state.info.kind !== 'volume';
  // A 2-D image has no patient axes: it is shown in array order, and the selector says so
  // (keeping the user's choice for the next volume).
  const canTurn = Object.values(state.info.axes).some((a) => a.radiological);
  $('orientation').disabled = !canTurn;
  $('orientation').value = canTurn ? state.orientation : 'array';
  await setAxis(axes.includes(state.axis) ? state.axis : axes[0]);
  setStatus(`${state.info.name}: ${state.info.shape.join(' x ')} voxels, ${state.info.spacing.map((s) => s.toFixed(2)).join(' x ')} mm`);
}

async function setAxis(axis) {
  state.axis = axis;
  for (const b of document.querySelectorAll('#axes button')) b.classList.toggle('active', b.dataset.axis === axis);
  const n = axisInfo().slices;
  $('slice').max = String(n - 1);
  await setSlice(Math.floor(n / 2));
}

async function setSlice(index) {
  const n = axisInfo().slices;
  state.slice = Math.min(n - 1, Math.max(0, index));
  $('slice').value = String(state.slice);
  await loadSlice();
  // The first click on a slice waits for its encoder run; start it now, behind any clicks.
  api(`/v1/images/${encodeURIComponent(state.info.id)}/encode`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ axis: state.axis, slices: [state.slice] }),
  }).catch(() => {});
}

async function refreshImageList(select) {
  const images = await json('/v1/images');
  const s = $('image-select');
  s.replaceChildren(...images.map((im) => new Option(`${im.name} (${im.id.slice(0, 8)})`, im.id)));
  if (select) s.value = select;
  if (s.value) await openImage(s.value);
}

// MARK: Actions

function savePromptHistory() {
  state.history.push({ key: promptKey(), prompt: JSON.parse(JSON.stringify(currentPrompt(false) || null)) });
}

async function segment() {
  const prompt = currentPrompt(false);
  if (!prompt || (!prompt.box && prompt.points.length === 0)) return;
  const body = { axis: state.axis, slice: state.slice, label: label(), maskFormat: 'rle' };
  if (prompt.box) body.boxes = [prompt.box];
  if (prompt.points.length) {
    body.points = prompt.points.map(([x, y]) => [x, y]);
    body.labels = prompt.points.map(([, , l]) => l);
  }
  const r = await post(`/v1/images/${encodeURIComponent(state.info.id)}/segment`, body);
  const best = r.masks.find((m) => m.best);
  await reloadLabels();
  const t = r.timings;
  setStatus(`label ${label()}: ${best.area} px, predicted IoU ${best.iou.toFixed(3)}\n` +
            `${t.totalMs.toFixed(0)} ms (encode ${t.encodeMs.toFixed(0)}, decode ${t.decodeMs.toFixed(0)}, queue ${t.queueMs.toFixed(0)})`);
  document.body.dataset.lastMaskArea = String(best.area);
}

async function propagate() {
  const prompt = currentPrompt(false);
  if (!prompt || !prompt.box) { setStatus('Draw a box on the key slice first; propagation starts from it.', true); return; }
  setStatus('Propagating…');
  savePromptHistory();
  const r = await post(`/v1/images/${encodeURIComponent(state.info.id)}/propagate`,
                       { axis: state.axis, slice: state.slice, box: prompt.box, label: label() });
  await reloadLabels();
  const stops = Object.entries(r.stops).map(([k, v]) => `${k}: ${v}`).join('; ');
  setStatus(`label ${r.label}: ${r.voxels} voxels on ${r.slices.length} slices in ${(r.milliseconds / 1000).toFixed(1)} s\n${stops}`);
  document.body.dataset.lastPropagatedVoxels = String(r.voxels);
}

async function undo() {
  const r = await post(`/v1/images/${encodeURIComponent(state.info.id)}/labels/undo`, {});
  const last = state.history.pop();
  if (last) {
    if (last.prompt) state.prompts.set(last.key, last.prompt); else state.prompts.delete(last.key);
  }
  await reloadLabels();
  setStatus(`Undone; ${r.remaining} earlier change(s) can be undone.`);
}

async function download() {
  const r = await api(`/v1/images/${encodeURIComponent(state.info.id)}/labels`);
  const name = /filename="([^"]+)"/.exec(r.headers.get('Content-Disposition') || '');
  const url = URL.createObjectURL(await r.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name ? name[1] : 'labels';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

async function upload(file) {
  setStatus(`Uploading ${file.name} (${(file.size / 1e6).toFixed(1)} MB)…`);
  const r = await api(`/v1/images?name=${encodeURIComponent(file.name)}`, { method: 'POST', body: file });
  const info = await r.json();
  await refreshImageList(info.id);
}

// MARK: Pointer and keyboard

function onPointerDown(event) {
  if (!state.info || event.button !== 0) return;
  const [x, y] = canvasToSlice(event);
  if (state.tool === 'box') {
    state.drag = [x, y, x, y];
    $('view').setPointerCapture(event.pointerId);
    return;
  }
  savePromptHistory();
  currentPrompt(true).points.push([x, y, state.tool === 'fg' ? 1 : 0]);
  draw();
  busy('segment', segment);
}

function onPointerMove(event) {
  if (!state.drag) return;
  const [x, y] = canvasToSlice(event);
  state.drag[2] = x;
  state.drag[3] = y;
  draw();
}

function onPointerUp() {
  if (!state.drag) return;
  const [x0, y0, x1, y1] = state.drag;
  state.drag = null;
  const box = [Math.min(x0, x1), Math.min(y0, y1), Math.max(x0, x1), Math.max(y0, y1)].map((v) => Math.round(v));
  if (box[2] - box[0] < 2 || box[3] - box[1] < 2) { draw(); return; }  // a click, not a box
  savePromptHistory();
  currentPrompt(true).box = box;
  draw();
  busy('segment', segment);
}

function selectTool(tool) {
  state.tool = tool;
  for (const b of document.querySelectorAll('#tools button')) b.classList.toggle('active', b.dataset.tool === tool);
}

function init() {
  const canvas = $('view');
  canvas.addEventListener('pointerdown', onPointerDown);
  canvas.addEventListener('pointermove', onPointerMove);
  canvas.addEventListener('pointerup', onPointerUp);
  canvas.addEventListener('contextmenu', (e) => e.preventDefault());
  canvas.addEventListener('wheel', (e) => {
    if (!state.info) return;
    e.preventDefault();
    busy('slice', () => setSlice(state.slice + Math.sign(e.deltaY)));
  }, { passive: false });
  $('slice').addEventListener('input', (e) => busy('slice', () => setSlice(parseInt(e.target.value, 10))));
  for (const b of document.querySelectorAll('#axes button')) b.addEventListener('click', () => busy('axis', () => setAxis(b.dataset.axis)));
  for (const b of document.querySelectorAll('#tools button')) b.addEventListener('click', () => selectTool(b.dataset.tool));
  $('orientation').addEventListener('change', (e) => { state.orientation = e.target.value; draw(); });
  $('window').addEventListener('change', (e) => { state.windowPreset = e.target.value; busy('window', loadSlice); });
  $('opacity').addEventListener('input', () => { renderLabelCanvas(); draw(); });
  $('label').addEventListener('change', draw);
  $('image-select').addEventListener('change', (e) => busy('open', () => openImage(e.target.value)));
  $('upload').addEventListener('change', (e) => { if (e.target.files[0]) busy('upload', () => upload(e.target.files[0])); });
  $('propagate').addEventListener('click', () => busy('propagate', propagate));
  $('undo').addEventListener('click', () => busy('undo', undo));
  $('download').addEventListener('click', () => busy('download', download));
  $('clear-prompt').addEventListener('click', () => { state.prompts.delete(promptKey()); draw(); });
  document.addEventListener('keydown', (e) => {
    if (e.target.tagName === 'INPUT' || !state.info) return;
    if ((e.ctrlKey || e.metaKey) && e.key === 'z') { e.preventDefault(); busy('undo', undo); return; }
    const tools = { b: 'box', f: 'fg', g: 'bg' };
    if (tools[e.key]) selectTool(tools[e.key]);
    else if (e.key === 'Escape') { state.prompts.delete(promptKey()); draw(); }
    else if (e.key === 'ArrowUp' || e.key === 'ArrowDown') {
      e.preventDefault();
      busy('slice', () => setSlice(state.slice + (e.key === 'ArrowUp' ? 1 : -1)));
    }
  });
  busy('start', async () => {
    const health = await json('/v1/health');
    $('server-info').textContent = `${health.model} on ${health.backend}`;
    const presets = await json('/v1/window-presets');
    for (const name of Object.keys(presets).sort()) {
      const w = presets[name];
      $('window').append(new Option(`${name} (${w.level}, ${w.width})`, name));
    }
    await refreshImageList(new URLSearchParams(location.search).get('image'));
    document.body.dataset.ready = 'true';
  });
}

// What the browser test (scripts/tests/check_viewer.py) reads: the labelled pixels of the slice
// shown, and where a slice pixel is on the page, so it can drag a box at known coordinates.
window.medsamViewer = {
  state,
  labelledPixels: () => (state.labels ? state.labels.reduce((n, v) => n + (v !== 0 ? 1 : 0), 0) : 0),
  sliceToClient: (x, y) => {
    const canvas = $('view');
    const rect = canvas.getBoundingClientRect();
    const p = drawingMatrix(canvas).transformPoint(new DOMPoint(x, y));
    return [rect.left + p.x * rect.width / canvas.width, rect.top + p.y * rect.height / canvas.height];
  },
};

init();
