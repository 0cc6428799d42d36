// The labeling page: one state object, the other modules do the work.
// Frames come from the receiver (never from a field the volunteer edits); each is shown
// through seek-and-confirm, labelled, queued in the outbox and sent.

import config from "./config.js";
import { makeClient, Unreachable } from "./receiver.js";
import { FrameError } from "./frames.js";
import { showFrame } from "./showing.js";
import { render, newView, toFrame, zoomAt, panBy, markerRadius, PALETTE, ANIMAL_COLOURS } from "./draw.js";
import { createOutbox } from "./outbox.js";
import { keepSession, keptSession, volunteerId } from "./volunteer.js";
import { suggestionsFor, showsSuggestion, accepted, suggestionLayerPoints } from "./suggestions.js";

const AHEAD = 3;
const AHEAD_KEY = "pose-receiver.ahead.v1";
const SKELETON_KEY = "pose-receiver.skeleton.v1";
const CLICK_SLOP_PX = 6;
// Asking before a frame goes with keypoints unplaced, until the volunteer says not to.
const ASK_KEY = "pose-receiver.ask-unplaced.v1";
// One wheel event zooms by at most this factor: a fast wheel (or one event carrying a large
// delta) would otherwise jump several times in at once and lose the volunteer's place.
const ZOOM_STEP = 1.25;
// A touch screen has no pointer to hover and no keyboard at hand: it is told to tap, and key hints are hidden.
const TOUCH_QUERY = "(hover: none), (pointer: coarse)";

const $ = (id) => document.querySelector(`[data-testid="${id}"]`);

const state = {
  client: makeClient(config.receiverUrl || location.origin, { load: () => keptSession(localStorage), save: (session) => keepSession(localStorage, session) }),
  volunteer: volunteerId(localStorage),
  skeleton: null,       // {keypoints: [{id, name}], edges: [[a, b]]}
  edges: [],            // edges as keypoint positions
  ahead: [],            // frames to label next: [{video, frame_index}]
  submitted: new Set(), // "url#index" sent this session (the receiver may not count them yet)
  current: null,        // {video, frame_index, confirmed: int | null, animals, tracks}
  // The animals placed on the shown frame: one unless its video allows several (then sent as `instances`).
  instances: [{ labels: [], track: null }],
  animal: 0,            // the animal being placed: its index in instances
  // Per keypoint of the animal being placed: {x, y, placed, hidden, origin?: "suggested" | "placed"}.
  get labels() { return this.instances[this.animal].labels; },
  set labels(value) { this.instances[this.animal].labels = value; },
  predicted: [],        // per keypoint: the model's point {x, y} or null (suggestions.js)
  // The prediction is of one animal: it suggests points for the first only.
  get suggestions() { return this.animal === 0 ? this.predicted : []; },
  set suggestions(value) { this.predicted = value; },
  model: null,          // the model version of the shown frame's prediction, sent as metadata.model
  active: 0,
  history: [],          // undo: earlier {instances, animal, active}
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
  touch: false,         // the primary pointer is a finger (TOUCH_QUERY)
  progressAsked: 0,     // the latest progress request: an earlier answer arriving late is dropped
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

// "Left" and "Right" in a keypoint's name are the animal's sides, not the volunteer's: a mouse
// facing the camera has its left paw on the screen's right. The name sent stays the skeleton's.
function sideOf(name) {
  const found = /(?:^|[^a-z])(left|right)(?:[^a-z]|$)/i.exec(name);
  return found ? found[1].toLowerCase() : null;
}

function shownName(keypoint) {
  const side = sideOf(keypoint.name);
  return side ? `${keypoint.name} (the animal's ${side})` : keypoint.name;
}

function useInput(touch) {
  state.touch = touch;
  document.documentElement.dataset.input = touch ? "touch" : "pointer";
  canvas.setAttribute("aria-label", `The video frame: ${touch ? "tap" : "click"} where the active keypoint is`);
  if (labelling()) prompt();
}

function blankLabels() {
  return state.skeleton.keypoints.map(() => ({ x: null, y: null, placed: false, hidden: false }));
}

// Whether the shown frame's video allows several animals: then the page places each and sends `instances`.
function several() {
  return Boolean(state.current) && state.current.animals > 1;
}

function firstUnplaced(labels) {
  const found = labels.findIndex((label) => !label.placed);
  return found < 0 ? 0 : found;
}

// ---- drawing -------------------------------------------------------------------------

function redraw() {
  const ready = state.current && state.current.confirmed !== null;
  canvas.dataset.frameIndex = ready ? String(state.current.confirmed) : "";
  canvas.dataset.source = ready ? state.current.source : ""; // "video" or "receiver": whose pixels are labelled
  canvas.dataset.zoom = state.view.scale.toFixed(2);
  $("zoom-level").textContent = `${Math.round(state.view.scale * 100)}%`;
  $("submit").disabled = !ready;
  renderAnimals();
  if (!ready) return;
  const radius = markerRadius(frameCanvas.width);
  const shown = suggestionLayerPoints(state.labels, state.suggestions);
  // The drawn suggestions, in frame pixels, for whoever reads the page's state (tests, tools).
  canvas.dataset.suggestions = JSON.stringify(shown.map((point) => point && { x: point.x, y: point.y }));
  $("accept-all").hidden = !shown.some(Boolean);
  if (several()) {
    // The other animals first and faded, the one being placed on top, each in its own colour.
    const others = state.instances.map((instance, j) => ({
      points: instance.labels, colours: ANIMAL_COLOURS[j % ANIMAL_COLOURS.length], edges: state.edges,
      edgeColour: ANIMAL_COLOURS[j % ANIMAL_COLOURS.length], active: null, radius: radius * 0.8, alpha: 0.65,
    })).filter((layer, j) => j !== state.animal);
    const colour = ANIMAL_COLOURS[state.animal % ANIMAL_COLOURS.length];
    render(canvas, frameCanvas, state.view, [
      ...others,
      { points: shown, colours: colour, edges: [], active: state.active, radius, style: "suggestion" },
      { points: state.labels, colours: colour, edges: state.edges, edgeColour: colour, active: state.active, radius },
    ]);
  } else {
    render(canvas, frameCanvas, state.view, [
      { points: shown, colours: PALETTE, edges: [], active: state.active, radius, style: "suggestion" },
      { points: state.labels, colours: PALETTE, edges: state.edges, active: state.active, radius },
    ]);
  }
  // Every animal's points as the page holds them, in frame pixels, for whoever reads the page's state (tests, tools).
  canvas.dataset.animals = JSON.stringify(state.instances.map((instance) => ({
    track: instance.track, points: instance.labels.map((label) => (label.placed ? { x: label.x, y: label.y } : null)),
  })));
  renderKeypoints();
}

// The animals of a frame that may hold several: one button each, add, remove, and the track of the one being placed.
function renderAnimals() {
  const box = $("animals");
  box.hidden = !several();
  $("help-animals").hidden = !several();
  if (!several()) return;
  const count = state.skeleton.keypoints.length;
  $("animal-list").replaceChildren(...state.instances.map((instance, j) => {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.testid = `animal-${j + 1}`;
    button.setAttribute("aria-pressed", String(j === state.animal));
    button.style.setProperty("--swatch", ANIMAL_COLOURS[j % ANIMAL_COLOURS.length]);
    const placed = instance.labels.filter((label) => label.placed).length;
    button.textContent = `Animal ${j + 1}${instance.track ? ` (${instance.track})` : ""}`;
    const note = document.createElement("small");
    note.textContent = `${placed} of ${count} placed`;
    button.append(note);
    button.addEventListener("click", () => chooseAnimal(j));
    return button;
  }));
  $("add-animal").disabled = state.instances.length >= state.current.animals;
  $("remove-animal").disabled = state.instances.length <= 1;
  const tracks = state.current.tracks || [];
  $("track-field").hidden = tracks.length === 0;
  if (tracks.length) {
    // A track another animal of this frame has is not offered: one track names one animal.
    const taken = new Set(state.instances.filter((instance, j) => j !== state.animal && instance.track).map((instance) => instance.track));
    const select = $("track");
    select.replaceChildren(new Option("No track", ""), ...tracks.map((track) => {
      const option = new Option(taken.has(track) ? `${track} (another animal's)` : track, track);
      option.disabled = taken.has(track);
      return option;
    }));
    select.value = state.instances[state.animal].track || "";
  }
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
    button.style.setProperty("--swatch", several() ? ANIMAL_COLOURS[state.animal % ANIMAL_COLOURS.length] : PALETTE[i % PALETTE.length]);
    const whence = label.origin === "suggested" ? "suggestion accepted" : "placed";
    const status = label.placed ? (label.hidden ? `${whence}, hidden` : whence)
      : `${showsSuggestion(state.labels, state.suggestions, i) ? "suggested" : "not placed"}${label.hidden ? ", hidden" : ""}`;
    button.textContent = `${i + 1}. ${keypoint.name}`;
    const side = sideOf(keypoint.name);
    if (side) {
      const whose = document.createElement("span");
      whose.className = "side";
      whose.textContent = ` (the animal's ${side})`;
      button.append(whose);
    }
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
    : (answer.frame_index === null || answer.frame_index === undefined ? [] : [{ video: answer.video, frame_index: answer.frame_index, lease: answer.lease || null, prediction: answer.prediction, animals: answer.animals, tracks: answer.tracks }]);
  for (const frame of offered) {
    if (state.ahead.length >= AHEAD) break;
    if (!held.has(frameKey(frame.video, frame.frame_index))) {
      const animals = frame.animals || frame.video.animals || 1;
      const tracks = frame.tracks || frame.video.tracks || [];
      state.ahead.push({ video: frame.video, frame_index: frame.frame_index, lease: frame.lease || null, prediction: frame.prediction || null, ...(animals > 1 || tracks.length ? { animals, tracks } : {}) });
      held.add(frameKey(frame.video, frame.frame_index));
    }
  }
  saveAhead();
  showProgress();
  state.finished = state.ahead.length === 0;
  if (state.finished && !state.current) say(answer.message || "Nothing is left to label. Thank you!", "done");
  if (!state.current) await showNext();
}

async function showNext() {
  if (state.current || state.ahead.length === 0) return;
  const frame = state.ahead[0];
  state.current = { ...frame, animals: frame.animals || 1, tracks: frame.tracks || [], confirmed: null };
  state.instances = [{ labels: blankLabels(), track: null }];
  state.animal = 0;
  state.suggestions = [];
  state.model = null;
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
    showSuggestions(frame.prediction);
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
  const instances = state.instances.map((instance) => ({ ...instance, labels: instance.labels.map((label) => ({ ...label })) }));
  state.history.push({ instances, animal: state.animal, active: state.active });
  if (state.history.length > 200) state.history.shift();
}

function undo() {
  const earlier = state.history.pop();
  if (!earlier || !labelling()) return;
  state.instances = earlier.instances;
  state.animal = earlier.animal;
  state.active = earlier.active;
  prompt();
  redraw();
}

// ---- several animals -----------------------------------------------------------------

function chooseAnimal(j) {
  if (!labelling() || !several() || j < 0 || j >= state.instances.length) return;
  state.animal = j;
  state.active = firstUnplaced(state.labels);
  prompt();
  redraw();
}

// The next (step 1) or previous (step -1) animal, round the end.
function stepAnimal(step) {
  if (!several()) return;
  chooseAnimal((state.animal + step + state.instances.length) % state.instances.length);
}

function addAnimal() {
  if (!labelling() || !several()) return;
  if (state.instances.length >= state.current.animals) {
    say(`This video's frames hold at most ${state.current.animals} animals; each one is placed already.`, "warn");
    return;
  }
  state.sticky = false;
  remember();
  state.instances.push({ labels: blankLabels(), track: null });
  state.animal = state.instances.length - 1;
  state.active = 0;
  prompt();
  redraw();
}

// The animal being placed goes, with its points (Undo brings it back).
function removeAnimal() {
  if (!labelling() || !several() || state.instances.length <= 1) return;
  state.sticky = false;
  remember();
  state.instances.splice(state.animal, 1);
  state.animal = Math.min(state.animal, state.instances.length - 1);
  state.active = firstUnplaced(state.labels);
  prompt();
  redraw();
}

function chooseTrack(track) {
  if (!labelling() || !several()) return;
  const taken = state.instances.some((instance, j) => j !== state.animal && instance.track === track);
  if (track && taken) {
    say(`Another animal of this frame is ${track} already: each track names one animal.`, "warn");
    redraw();
    return;
  }
  remember();
  state.instances[state.animal].track = track || null;
  redraw();
}

// Tell the volunteer what the next click does.
function prompt() {
  const frame = several() ? `${state.current.confirmed}, animal ${state.animal + 1}` : state.current.confirmed;
  const active = state.labels[state.active];
  const name = shownName(state.skeleton.keypoints[state.active]);
  if (state.labels.every((label) => label.placed)) {
    const next = several() && state.instances.length < state.current.animals ? `; Add animal${state.touch ? "" : " (N)"} for another, or Submit` : ", then Submit";
    say(`Frame ${frame}: every keypoint is placed; drag one to adjust it${next}.`);
  }
  else if (showsSuggestion(state.labels, state.suggestions, state.active)) {
    const how = state.touch ? "tap it to accept, drag it to correct, or tap where it is; Accept all takes every suggestion" : "click it (or press S) to accept, drag it to correct, or click where it is; A accepts all";
    say(`Frame ${frame}: the ring is the model's guess for the ${name}: ${how}.`);
  } else say(`Frame ${frame}: ${state.touch ? "tap" : "click"} where the ${name} is${active.hidden ? " (hidden: where it probably is)" : ""}.`);
}

function place(point) {
  state.sticky = false;
  remember();
  const label = state.labels[state.active];
  state.labels[state.active] = { ...label, x: point.x, y: point.y, placed: true, ...(state.model ? { origin: "placed" } : {}) };
  advance();
}

// Take the suggestion of keypoint i as it is; the next keypoint still open becomes active.
function accept(i) {
  if (!labelling() || !showsSuggestion(state.labels, state.suggestions, i)) return;
  state.sticky = false;
  remember();
  state.labels[i] = accepted(state.labels[i], state.suggestions[i]);
  state.active = i;
  advance();
}

// Every suggestion not yet acted on is taken at once (one undo step brings them all back).
function acceptAll() {
  if (!labelling() || !state.labels.some((label, i) => showsSuggestion(state.labels, state.suggestions, i))) return;
  state.sticky = false;
  remember();
  state.labels = state.labels.map((label, i) => (showsSuggestion(state.labels, state.suggestions, i) ? accepted(label, state.suggestions[i]) : label));
  advance();
}

// The shown frame's prediction as suggestions; none when the frame has none.
function showSuggestions(prediction) {
  state.suggestions = prediction ? suggestionsFor(prediction, state.skeleton.keypoints, frameCanvas.width, frameCanvas.height) : [];
  state.model = state.suggestions.some(Boolean) ? String(prediction.model) : null;
}

// The next keypoint still unplaced, after the active one, becomes active.
function advance() {
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

// The suggestion under the pointer, if any: a placed point near it wins (it is drawn on top).
function nearestSuggestion(point) {
  const reach = (markerRadius(canvas.width) * 2.5) / state.view.scale;
  let best = null;
  state.suggestions.forEach((suggestion, i) => {
    if (!showsSuggestion(state.labels, state.suggestions, i)) return;
    const distance = Math.hypot(suggestion.x - point.x, suggestion.y - point.y);
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
  const where = toFrame(state.view, at.x, at.y);
  const hit = nearestPlaced(where);
  const suggested = hit === null ? nearestSuggestion(where) : null;
  if (hit !== null) state.gesture = { kind: "drag", index: hit, start: at, moved: false };
  else if (suggested !== null) state.gesture = { kind: "drag", index: suggested, start: at, moved: false, suggestion: true };
  else state.gesture = { kind: "tap", start: at, last: at };
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
    // A press on a suggestion that barely moves is a click that accepts it, not a drag.
    if (gesture.suggestion && !gesture.moved && Math.hypot(at.x - gesture.start.x, at.y - gesture.start.y) < CLICK_SLOP_PX) return;
    if (!gesture.moved) { remember(); gesture.moved = true; }
    const point = clampToFrame(toFrame(state.view, at.x, at.y));
    // A moved point, suggested or not, is the volunteer's own.
    const origin = state.model ? { origin: "placed" } : {};
    state.labels[gesture.index] = { ...state.labels[gesture.index], x: point.x, y: point.y, placed: true, ...origin };
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
  else if (gesture && gesture.kind === "drag" && gesture.suggestion && state.pointers.size === 0) {
    if (gesture.moved) { state.active = gesture.index; prompt(); redraw(); } else accept(gesture.index);
  }
  if (state.pointers.size === 0) state.gesture = null;
  else if (gesture && gesture.kind === "pinch") state.gesture = { kind: "none" };
}

// Pixels per wheel delta unit: deltaMode 0 is pixels, 1 lines, 2 pages.
const WHEEL_UNIT = [1, 16, 400];

function onWheel(event) {
  if (!state.current || state.current.confirmed === null) return;
  event.preventDefault();
  const at = canvasPoint(event);
  const delta = event.deltaY * (WHEEL_UNIT[event.deltaMode] || 1);
  // A touchpad's small deltas zoom a little each; a wheel's notch, or a burst, one step at most.
  const factor = Math.min(ZOOM_STEP, Math.max(1 / ZOOM_STEP, Math.exp(-delta * 0.002)));
  zoomAt(state.view, factor, at.x, at.y, canvas.width, canvas.height);
  redraw();
}

// Zoom by `factor` about the middle of what is shown (the keys and buttons have no pointer position).
function zoomCentre(factor) {
  if (!labelling()) return;
  zoomAt(state.view, factor, canvas.width / 2, canvas.height / 2, canvas.width, canvas.height);
  redraw();
}

function wholeFrame() {
  state.view = newView();
  redraw();
}

function onKey(event) {
  if (event.target instanceof HTMLInputElement || event.target instanceof HTMLSelectElement || event.ctrlKey || event.metaKey || event.altKey) return;
  if ($("confirm").open) return; // the question's own buttons take the keys
  const key = event.key;
  if (/^[1-9]$/.test(key) && Number(key) <= state.labels.length) { state.active = Number(key) - 1; if (labelling()) prompt(); redraw(); }
  else if (key === "z" || key === "Z" || key === "Backspace") { event.preventDefault(); undo(); }
  else if (key === "h" || key === "H") toggleHidden();
  else if (key === "a" || key === "A") acceptAll();
  else if (key === "s" || key === "S") accept(state.active);
  else if (key === "Enter" && !(event.target instanceof HTMLButtonElement)) { event.preventDefault(); submit(); }
  else if (key === "0") wholeFrame();
  else if (key === "+" || key === "=") zoomCentre(ZOOM_STEP);
  else if (key === "-" || key === "_") zoomCentre(1 / ZOOM_STEP);
  else if (key === "n" || key === "N") addAnimal();
  else if (key === "]") stepAnimal(1);
  else if (key === "[") stepAnimal(-1);
}

// ---- submitting ----------------------------------------------------------------------

function labelsOf(labels) {
  const round = (value) => Math.round(value * 10) / 10;
  return state.skeleton.keypoints.map((keypoint, i) => {
    const label = labels[i];
    const entry = { id: keypoint.id, name: keypoint.name, placed: label.placed, pixel_x: label.placed ? round(label.x) : null, pixel_y: label.placed ? round(label.y) : null };
    if (label.hidden && label.placed) entry.visible = false;
    if (label.placed && label.origin) entry.origin = label.origin;
    return entry;
  });
}

function payloadFor(current) {
  return {
    video_url: current.video.url,
    frame_index: current.confirmed,
    total_frames: current.video.frames,
    fps: current.video.fps,
    frame_width: frameCanvas.width,
    frame_height: frameCanvas.height,
    timestamp: new Date().toISOString(),
    // One animal as `labels`, as ever; a video that allows several gets `instances`, never both.
    ...(current.animals > 1
      ? { instances: state.instances.map((instance) => ({ labels: labelsOf(instance.labels), ...(instance.track ? { track: instance.track } : {}) })) }
      : { labels: labelsOf(state.labels) }),
    metadata: state.model ? { volunteer: state.volunteer, model: state.model } : { volunteer: state.volunteer },
  };
}

function submit() {
  state.sticky = false;
  const current = state.current;
  if (!current || current.confirmed === null) {
    say("This frame could not be confirmed, so it cannot be submitted. Skip to the next one.", "error");
    return;
  }
  if (several()) {
    const empty = state.instances.findIndex((instance) => !instance.labels.some((label) => label.placed));
    if (empty >= 0) {
      chooseAnimal(empty);
      say(`Animal ${empty + 1} has no keypoint placed: place its keypoints, or remove it.`, "warn");
      return;
    }
    const tracks = state.instances.map((instance) => instance.track).filter(Boolean);
    if (new Set(tracks).size !== tracks.length) {
      say("Two animals have the same track: each track names one animal; choose another for one of them.", "warn");
      return;
    }
  } else if (!state.labels.some((label) => label.placed)) {
    say("Place at least one keypoint before submitting.", "warn");
    return;
  }
  if (state.instances.some((instance) => instance.labels.some((label) => !label.placed)) && localStorage.getItem(ASK_KEY) !== "no") {
    askFirst();
    return;
  }
  send(current);
}

// A frame with keypoints unplaced is asked about before it goes: Enter pressed too early must not send it unseen.
function askFirst() {
  if (several()) {
    askFirstOfAnimals();
    return;
  }
  const missing = state.skeleton.keypoints.filter((keypoint, i) => !state.labels[i].placed);
  const placed = state.labels.length - missing.length;
  const names = missing.map(shownName);
  $("confirm-text").textContent = `${placed} of ${state.labels.length} keypoints are placed. ${names.join(", ")} ${missing.length === 1 ? "is" : "are"} not,`
    + ` and will be sent as not placed. If ${missing.length === 1 ? "it is" : "they are"} out of sight, you can place ${missing.length === 1 ? "it" : "them"} where ${missing.length === 1 ? "it" : "they"} probably ${missing.length === 1 ? "is" : "are"} and mark ${missing.length === 1 ? "it" : "them"} Hidden.`;
  $("confirm-remember").checked = false;
  $("confirm").showModal();
}

// The same question for several animals: each animal with keypoints unplaced, and which.
function askFirstOfAnimals() {
  const count = state.skeleton.keypoints.length;
  const lines = state.instances.map((instance, j) => {
    const missing = state.skeleton.keypoints.filter((keypoint, i) => !instance.labels[i].placed).map(shownName);
    return missing.length ? `Animal ${j + 1}: ${count - missing.length} of ${count} placed; ${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} not.` : null;
  }).filter(Boolean);
  $("confirm-text").textContent = `${lines.join(" ")} Unplaced keypoints are sent as not placed. If some are out of sight, you can place them where they`
    + " probably are and mark them Hidden.";
  $("confirm-remember").checked = false;
  $("confirm").showModal();
}

// Acted on in the answer's own click (a dialog's "close" event comes a task later, when a
// second Enter or Submit could already have acted on the frame).
function answer(sending) {
  if ($("confirm-remember").checked) localStorage.setItem(ASK_KEY, "no");
  $("confirm").close();
  if (!labelling()) return;
  if (sending) send(state.current);
  else prompt();
}

function send(current) {
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

// This volunteer's labelled frames (the receiver counts those it has, under the session) and
// the frames still open (not yet agreed on by enough volunteers), asked again after each
// label the receiver keeps and whenever frames are fetched, since others label too.
async function showProgress() {
  state.progressAsked += 1;
  const asked = state.progressAsked;
  let progress;
  try {
    progress = await state.client.progress(state.volunteer);
  } catch (error) {
    if (!(error instanceof Unreachable)) throw error;
    return;
  }
  if (asked !== state.progressAsked) return;
  const done = progress.volunteer ? progress.volunteer.done : 0;
  const total = (progress.videos || []).reduce((sum, video) => sum + video.frames, 0);
  const left = progress.frames_left;
  $("progress-mine").textContent = `You have labelled ${done} frame${done === 1 ? "" : "s"}`;
  $("progress-open").textContent = `· ${left} of ${total} frame${total === 1 ? "" : "s"} still need${left === 1 ? "s" : ""} labels`;
  $("progress").dataset.done = String(done);
  $("progress").dataset.left = String(left);
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
  const touch = window.matchMedia(TOUCH_QUERY);
  useInput(touch.matches);
  touch.addEventListener("change", () => useInput(touch.matches));
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
  $("accept-all").addEventListener("click", acceptAll);
  $("zoom-reset").addEventListener("click", wholeFrame);
  $("zoom-in").addEventListener("click", () => zoomCentre(ZOOM_STEP));
  $("zoom-out").addEventListener("click", () => zoomCentre(1 / ZOOM_STEP));
  $("confirm-send").addEventListener("click", () => answer(true));
  $("confirm-back").addEventListener("click", () => answer(false));
  $("confirm").addEventListener("cancel", (event) => { event.preventDefault(); answer(false); }); // Escape
  $("add-animal").addEventListener("click", addAnimal);
  $("previous-animal").addEventListener("click", () => stepAnimal(-1));
  $("next-animal").addEventListener("click", () => stepAnimal(1));
  $("remove-animal").addEventListener("click", removeAnimal);
  $("track").addEventListener("change", (event) => chooseTrack(event.target.value));
  $("skip").addEventListener("click", () => { if (state.current) { say(`Skipped frame ${state.current.frame_index}.`); leaveFrame(); } });

  renderKeypointsIfReady();
  showProgress();
  await showNext();
  await refill();
  document.body.dataset.ready = "true";
}

function renderKeypointsIfReady() {
  if (state.skeleton) { state.instances = [{ labels: blankLabels(), track: null }]; state.animal = 0; renderKeypoints(); }
}

start();
