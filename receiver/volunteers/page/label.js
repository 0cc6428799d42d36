// The labeling page: one state object, the other modules do the work.
// Frames come from the receiver (never from a field the volunteer edits); each is shown
// through seek-and-confirm, labelled, queued in the outbox and sent.

import config from "./config.js";
import { makeClient, Unreachable } from "./receiver.js";
import { FrameError } from "./frames.js";
import { showFrame } from "./showing.js";
import { render, newView, toFrame, zoomAt, panBy, markerRadius, PALETTE } from "./draw.js";
import { createOutbox } from "./outbox.js";
import { keepSession, keptSession, volunteerId } from "./volunteer.js";

const AHEAD = 3;
const AHEAD_KEY = "pose-receiver.ahead.v1";
const SKELETON_KEY = "pose-receiver.skeleton.v1";
const CLICK_SLOP_PX = 6;

const $ = (id) => document.querySelector(`[data-testid="${id}"]`);

const state = {
  client: makeClient(config.receiverUrl || location.origin, { load: () => keptSession(localStorage), save: (session) => keepSession(localStorage, session) }),
  volunteer: volunteerId(localStorage),
  skeleton: null,       // {keypoints: [{id, name}], edges: [[a, b]]}
  edges: [],            // edges as keypoint positions
  ahead: [],            // frames to label next: [{video, frame_index}]
  submitted: new Set(), // "url#index" sent this session (the receiver may not count them yet)
  current: null,        // {video, frame_index, confirmed: int | null}
  labels: [],           // per keypoint: {x, y, placed, hidden}
  active: 0,
  history: [],          // undo: earlier {labels, active}
  view: newView(),
  pointers: new Map(),  // pointerId -> {x, y} in canvas pixels
  gesture: null,        // {kind: "tap" | "drag" | "pan" | "pinch", ...}
  refillTimer: null,
  refilling: false,     // a request for frames is out
  refillAgain: false,
  presenting: Promise.resolve(), // the last seek and confirm: one at a time on the one video
  unplayable: new Set(), // video URLs this browser could not load: their frames come from the receiver
  finished: false,
  sticky: false,        // a refusal's sentence is on screen
  outbox: null,
};

const canvas = $("frame");
const video = $("video");
const frameCanvas = document.createElement("canvas");

// A refusal stays on screen until the volunteer acts again: the frame loading behind it
// must not wipe the sentence that says why labels were not saved.
function say(sentence, kind = "info", { sticky = false } = {}) {
  if (state.sticky && kind !== "error") return;
  state.sticky = sticky;
  const message = $("message");
  message.textContent = sentence;
  message.dataset.kind = kind;
}

const frameKey = (video, index) => `${video.url}#${index}`;

function blankLabels() {
  return state.skeleton.keypoints.map(() => ({ x: null, y: null, placed: false, hidden: false }));
}

// ---- drawing -------------------------------------------------------------------------

function redraw() {
  const ready = state.current && state.current.confirmed !== null;
  canvas.dataset.frameIndex = ready ? String(state.current.confirmed) : "";
  canvas.dataset.source = ready ? state.current.source : ""; // "video" or "receiver": whose pixels are labelled
  canvas.dataset.zoom = state.view.scale.toFixed(2);
  $("submit").disabled = !ready;
  if (!ready) return;
  render(canvas, frameCanvas, state.view, [{
    points: state.labels, colours: PALETTE, edges: state.edges, active: state.active, radius: markerRadius(frameCanvas.width),
  }]);
  renderKeypoints();
}

function renderKeypoints() {
  const list = $("keypoints");
  list.replaceChildren(...state.skeleton.keypoints.map((keypoint, i) => {
    const label = state.labels[i];
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.testid = `keypoint-${keypoint.id}`;
    button.setAttribute("aria-pressed", String(i === state.active));
    button.style.setProperty("--swatch", PALETTE[i % PALETTE.length]);
    const status = label.placed ? (label.hidden ? "placed, hidden" : "placed") : (label.hidden ? "hidden, not placed" : "not placed");
    button.textContent = `${i + 1}. ${keypoint.name}`;
    const note = document.createElement("small");
    note.textContent = status;
    button.append(note);
    button.addEventListener("click", () => { state.active = i; if (labelling()) prompt(); redraw(); });
    item.append(button);
    return item;
  }));
}

function showPending() {
  $("pending").textContent = String(state.outbox.size);
}

// ---- frames --------------------------------------------------------------------------

function saveAhead() {
  localStorage.setItem(AHEAD_KEY, JSON.stringify(state.ahead));
  $("ahead").textContent = String(state.ahead.length);
}

// One request for frames at a time; a call while one is out asks again when it ends.
async function refill() {
  if (state.refilling) {
    state.refillAgain = true;
    return;
  }
  state.refilling = true;
  try {
    await refillOnce();
  } finally {
    state.refilling = false;
  }
  if (state.refillAgain) {
    state.refillAgain = false;
    await refill();
  }
}

async function refillOnce() {
  clearTimeout(state.refillTimer);
  if (state.ahead.length >= AHEAD) return;
  const held = new Set([...state.ahead.map((f) => frameKey(f.video, f.frame_index)), ...state.submitted, ...state.outbox.keys()]);
  let answer;
  try {
    // Ask past the frames held here (the receiver may not have counted those still in the outbox);
    // the receiver hands out at most 10 at once.
    answer = await state.client.nextFrames(state.volunteer, Math.min(10, AHEAD + held.size));
  } catch (error) {
    if (!(error instanceof Unreachable)) throw error;
    state.refillTimer = setTimeout(refill, 3000);
    if (!state.current) say("The receiver cannot be reached; waiting for frames to label. Your labels are kept.", "warn");
    return;
  }
  const offered = answer.frames && answer.frames.length ? answer.frames
    : (answer.frame_index === null || answer.frame_index === undefined ? [] : [{ video: answer.video, frame_index: answer.frame_index, lease: answer.lease || null }]);
  for (const frame of offered) {
    if (state.ahead.length >= AHEAD) break;
    if (!held.has(frameKey(frame.video, frame.frame_index))) {
      state.ahead.push({ video: frame.video, frame_index: frame.frame_index, lease: frame.lease || null });
      held.add(frameKey(frame.video, frame.frame_index));
    }
  }
  saveAhead();
  state.finished = state.ahead.length === 0;
  if (state.finished && !state.current) say(answer.message || "Nothing is left to label. Thank you!", "done");
  if (!state.current) await showNext();
}

async function showNext() {
  if (state.current || state.ahead.length === 0) return;
  const frame = state.ahead[0];
  state.current = { ...frame, confirmed: null };
  state.labels = blankLabels();
  state.active = 0;
  state.history = [];
  state.view = newView();
  redraw();
  say(`Loading frame ${frame.frame_index}…`);
  const earlier = state.presenting;
  let finish;
  state.presenting = new Promise((resolve) => { finish = resolve; });
  const stillCurrent = () => state.current !== null && state.current.frame_index === frame.frame_index && state.current.video.url === frame.video.url;
  try {
    await earlier;
    if (!stillCurrent()) return;
    const entry = frame.video;
    const image = entry.frame_url ? (index) => state.client.frameImage(entry.frame_url, index) : null;
    const source = await showFrame({ video, canvas: frameCanvas, entry, index: frame.frame_index, image, unplayable: state.unplayable });
    if (!stillCurrent()) return;
    state.current.confirmed = frame.frame_index;
    state.current.source = source;
    canvas.style.aspectRatio = `${frameCanvas.width} / ${frameCanvas.height}`;
    canvas.style.maxWidth = `calc(70vh * ${frameCanvas.width / frameCanvas.height})`;
    prompt();
  } catch (error) {
    if (!(error instanceof FrameError)) throw error;
    if (stillCurrent()) say(error.message, "error");
  } finally {
    finish();
  }
  redraw();
}

function leaveFrame() {
  state.ahead.shift();
  saveAhead();
  state.current = null;
  showNext();
  refill();
}

// ---- tools ---------------------------------------------------------------------------

function remember() {
  state.history.push({ labels: state.labels.map((label) => ({ ...label })), active: state.active });
  if (state.history.length > 200) state.history.shift();
}

function undo() {
  const earlier = state.history.pop();
  if (!earlier || !labelling()) return;
  state.labels = earlier.labels;
  state.active = earlier.active;
  prompt();
  redraw();
}

// Tell the volunteer what the next click does.
function prompt() {
  const frame = state.current.confirmed;
  const active = state.labels[state.active];
  const name = state.skeleton.keypoints[state.active].name;
  if (state.labels.every((label) => label.placed)) say(`Frame ${frame}: every keypoint is placed; drag one to adjust it, then Submit.`);
  else say(`Frame ${frame}: click where the ${name} is${active.hidden ? " (hidden: where it probably is)" : ""}.`);
}

function place(point) {
  state.sticky = false;
  remember();
  const label = state.labels[state.active];
  state.labels[state.active] = { ...label, x: point.x, y: point.y, placed: true };
  const count = state.labels.length;
  for (let step = 1; step <= count; step += 1) {
    const next = (state.active + step) % count;
    if (!state.labels[next].placed) { state.active = next; break; }
  }
  prompt();
  redraw();
}

function labelling() {
  return Boolean(state.current && state.current.confirmed !== null);
}

function toggleHidden() {
  if (!labelling()) return;
  remember();
  const label = state.labels[state.active];
  state.labels[state.active] = { ...label, hidden: !label.hidden };
  prompt();
  redraw();
}

function canvasPoint(event) {
  const box = canvas.getBoundingClientRect();
  return { x: (event.clientX - box.left) * canvas.width / box.width, y: (event.clientY - box.top) * canvas.height / box.height };
}

function nearestPlaced(point) {
  const reach = (markerRadius(canvas.width) * 2.5) / state.view.scale;
  let best = null;
  state.labels.forEach((label, i) => {
    if (!label.placed) return;
    const distance = Math.hypot(label.x - point.x, label.y - point.y);
    if (distance <= reach && (best === null || distance < best.distance)) best = { i, distance };
  });
  return best && best.i;
}

function clampToFrame(point) {
  return { x: Math.min(Math.max(0, point.x), canvas.width), y: Math.min(Math.max(0, point.y), canvas.height) };
}

function onPointerDown(event) {
  if (!state.current || state.current.confirmed === null) return;
  try {
    canvas.setPointerCapture(event.pointerId); // a drag that leaves the canvas still ends here
  } catch (error) {
    if (!(error instanceof DOMException && error.name === "NotFoundError")) throw error;
  }
  const at = canvasPoint(event);
  state.pointers.set(event.pointerId, at);
  if (state.pointers.size === 2) {
    const [a, b] = [...state.pointers.values()];
    state.gesture = { kind: "pinch", distance: Math.hypot(a.x - b.x, a.y - b.y) };
    return;
  }
  const hit = nearestPlaced(toFrame(state.view, at.x, at.y));
  state.gesture = hit === null ? { kind: "tap", start: at, last: at } : { kind: "drag", index: hit, start: at, moved: false };
}

function onPointerMove(event) {
  if (!state.pointers.has(event.pointerId) || !state.gesture) return;
  const at = canvasPoint(event);
  state.pointers.set(event.pointerId, at);
  const gesture = state.gesture;
  if (gesture.kind === "pinch" && state.pointers.size === 2) {
    const [a, b] = [...state.pointers.values()];
    const distance = Math.hypot(a.x - b.x, a.y - b.y);
    if (gesture.distance > 0) zoomAt(state.view, distance / gesture.distance, (a.x + b.x) / 2, (a.y + b.y) / 2, canvas.width, canvas.height);
    gesture.distance = distance;
    redraw();
  } else if (gesture.kind === "drag") {
    if (!gesture.moved) { remember(); gesture.moved = true; }
    const point = clampToFrame(toFrame(state.view, at.x, at.y));
    state.labels[gesture.index] = { ...state.labels[gesture.index], x: point.x, y: point.y };
    redraw();
  } else if ((gesture.kind === "tap" || gesture.kind === "pan") && state.view.scale > 1) {
    if (gesture.kind === "tap" && Math.hypot(at.x - gesture.start.x, at.y - gesture.start.y) < CLICK_SLOP_PX) return;
    gesture.kind = "pan";
    panBy(state.view, at.x - gesture.last.x, at.y - gesture.last.y, canvas.width, canvas.height);
    gesture.last = at;
    redraw();
  }
}

function onPointerUp(event) {
  if (!state.pointers.has(event.pointerId)) return;
  state.pointers.delete(event.pointerId);
  const gesture = state.gesture;
  if (gesture && gesture.kind === "tap" && state.pointers.size === 0) place(clampToFrame(toFrame(state.view, gesture.start.x, gesture.start.y)));
  if (state.pointers.size === 0) state.gesture = null;
  else if (gesture && gesture.kind === "pinch") state.gesture = { kind: "none" };
}

function onWheel(event) {
  if (!state.current || state.current.confirmed === null) return;
  event.preventDefault();
  const at = canvasPoint(event);
  zoomAt(state.view, Math.exp(-event.deltaY * 0.002), at.x, at.y, canvas.width, canvas.height);
  redraw();
}

function onKey(event) {
  if (event.target instanceof HTMLInputElement || event.ctrlKey || event.metaKey || event.altKey) return;
  const key = event.key;
  if (/^[1-9]$/.test(key) && Number(key) <= state.labels.length) { state.active = Number(key) - 1; if (labelling()) prompt(); redraw(); }
  else if (key === "z" || key === "Z" || key === "Backspace") { event.preventDefault(); undo(); }
  else if (key === "h" || key === "H") toggleHidden();
  else if (key === "Enter" && !(event.target instanceof HTMLButtonElement)) { event.preventDefault(); submit(); }
  else if (key === "0") { state.view = newView(); redraw(); }
}

// ---- submitting ----------------------------------------------------------------------

function payloadFor(current) {
  const round = (value) => Math.round(value * 10) / 10;
  return {
    video_url: current.video.url,
    frame_index: current.confirmed,
    total_frames: current.video.frames,
    fps: current.video.fps,
    frame_width: frameCanvas.width,
    frame_height: frameCanvas.height,
    timestamp: new Date().toISOString(),
    labels: state.skeleton.keypoints.map((keypoint, i) => {
      const label = state.labels[i];
      const entry = { id: keypoint.id, name: keypoint.name, placed: label.placed, pixel_x: label.placed ? round(label.x) : null, pixel_y: label.placed ? round(label.y) : null };
      if (label.hidden && label.placed) entry.visible = false;
      return entry;
    }),
    metadata: { volunteer: state.volunteer },
  };
}

function submit() {
  state.sticky = false;
  const current = state.current;
  if (!current || current.confirmed === null) {
    say("This frame could not be confirmed, so it cannot be submitted. Skip to the next one.", "error");
    return;
  }
  if (!state.labels.some((label) => label.placed)) {
    say("Place at least one keypoint before submitting.", "warn");
    return;
  }
  const key = frameKey(current.video, current.confirmed);
  // The lease is for the frame the receiver handed out; a frame the browser confirmed otherwise has none.
  state.outbox.add(payloadFor(current), key, current.confirmed === current.frame_index ? current.lease || null : null);
  state.submitted.add(key);
  say(`Frame ${current.confirmed} is saved in this browser and on its way.`);
  leaveFrame();
}

function onOutbox({ item, answer }) {
  showPending();
  if (!answer) return;
  if (answer.outcome === "kept") {
    $("receipt").textContent = answer.sentence;
    showProgress();
  } else if (answer.outcome === "refused") {
    const sentence = answer.sentence.startsWith("Not saved") ? answer.sentence : `Not saved: ${answer.sentence}`;
    say(sentence, "error", { sticky: true });
  } else if (state.outbox.size > 0) {
    $("pending").dataset.state = "waiting";
  }
  if (state.ahead.length < AHEAD) refill();
}

async function showProgress() {
  try {
    const progress = await state.client.progress(state.volunteer);
    const done = progress.volunteer ? progress.volunteer.done : 0;
    $("progress").textContent = `${progress.frames_left} frames left to label · you have labelled ${done}`;
  } catch (error) {
    if (!(error instanceof Unreachable)) throw error;
  }
}

// ---- start ---------------------------------------------------------------------------

async function loadSkeleton() {
  try {
    const skeleton = await state.client.skeleton();
    localStorage.setItem(SKELETON_KEY, JSON.stringify(skeleton));
    return skeleton;
  } catch (error) {
    if (!(error instanceof Unreachable)) throw error;
    const kept = localStorage.getItem(SKELETON_KEY);
    if (kept) return JSON.parse(kept);
    say("The receiver cannot be reached, so the keypoints are unknown; trying again…", "warn");
    await new Promise((resolve) => setTimeout(resolve, 3000));
    return loadSkeleton();
  }
}

async function start() {
  state.outbox = createOutbox({ storage: localStorage, send: (payload, lease) => state.client.send(payload, lease), onChange: onOutbox });
  showPending();
  state.outbox.retryNow();
  window.addEventListener("online", () => state.outbox.retryNow());

  state.skeleton = await loadSkeleton();
  const position = new Map(state.skeleton.keypoints.map((keypoint, i) => [keypoint.id, i]));
  state.edges = (state.skeleton.edges || []).map(([a, b]) => [position.get(a), position.get(b)]);
  try {
    state.ahead = JSON.parse(localStorage.getItem(AHEAD_KEY) || "[]");
  } catch (error) {
    state.ahead = [];
  }
  const queued = new Set(state.outbox.keys());
  state.ahead = state.ahead.filter((frame) => !queued.has(frameKey(frame.video, frame.frame_index)));

  canvas.addEventListener("pointerdown", onPointerDown);
  canvas.addEventListener("pointermove", onPointerMove);
  canvas.addEventListener("pointerup", onPointerUp);
  canvas.addEventListener("pointercancel", onPointerUp);
  canvas.addEventListener("wheel", onWheel, { passive: false });
  document.addEventListener("keydown", onKey);
  $("submit").addEventListener("click", submit);
  $("undo").addEventListener("click", undo);
  $("hidden").addEventListener("click", toggleHidden);
  $("zoom-reset").addEventListener("click", () => { state.view = newView(); redraw(); });
  $("skip").addEventListener("click", () => { if (state.current) { say(`Skipped frame ${state.current.frame_index}.`); leaveFrame(); } });

  renderKeypointsIfReady();
  showProgress();
  await showNext();
  await refill();
  document.body.dataset.ready = "true";
}

function renderKeypointsIfReady() {
  if (state.skeleton) { state.labels = blankLabels(); renderKeypoints(); }
}

start();
