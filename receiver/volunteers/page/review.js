// The review view: one stored submission drawn over its own frame (through the same
// seek-and-confirm as the labeling page), beside the other volunteers' labels for that
// frame and the current consensus. A submission of several animals draws each in its own
// colour, and each other volunteer's animal in the colour of the one it matches.

import config from "./config.js";
import { makeClient, Unreachable } from "./receiver.js";
import { FrameError } from "./frames.js";
import { showFrame } from "./showing.js";
import { render, newView, markerRadius, ANIMAL_COLOURS } from "./draw.js";

export const RECORD_COLOUR = "#ff2d95";
const OTHER_COLOURS = ["#00c8ff", "#ffd000", "#7cff4f", "#ff8c00", "#b388ff"];
const CONSENSUS_COLOUR = "#ffffff";
// Another volunteer's animal that matches none of this submission's.
export const UNMATCHED_COLOUR = "#9e9e9e";
// Behind the points when the video cannot be shown: a mid grey, on which every colour above reads.
export const BLANK_COLOUR = "#777777";

const $ = (id) => document.querySelector(`[data-testid="${id}"]`);

const state = {
  client: makeClient(config.receiverUrl || location.origin),
  id: null,
  review: null,
  skeleton: null,
};

function say(sentence, kind = "info") {
  $("message").textContent = sentence;
  $("message").dataset.kind = kind;
}

function submissionId() {
  const query = new URLSearchParams(location.search).get("id");
  if (query) return query;
  const match = location.pathname.match(/\/review\/([^/]+)\/?$/);
  return match ? decodeURIComponent(match[1]) : null;
}

// Each animal of a submission: its one `labels`, or one per instance, with its track.
function animalsOf(submission) {
  if (submission.instances) return submission.instances.map((instance) => ({ labels: instance.labels || [], track: instance.track || null }));
  return [{ labels: submission.labels || [], track: null }];
}

function pointsOf(submission, keypoints) {
  return pointsOfLabels(submission.labels || [], keypoints);
}

function pointsOfLabels(labels, keypoints) {
  const byId = new Map(labels.map((label) => [label.id, label]));
  return keypoints.map((keypoint) => {
    const label = byId.get(keypoint.id);
    if (!label || !label.placed) return { placed: false };
    return { x: label.pixel_x, y: label.pixel_y, placed: true, hidden: label.visible === false };
  });
}

// A session's pseudonym (issued by the receiver), else the token's owner; never a name the client chose.
function volunteerOf(record) {
  return record.receipt.volunteer || record.receipt.submitter || "unknown";
}

function swatch(colour) {
  const mark = document.createElement("span");
  mark.className = "swatch";
  mark.style.background = colour;
  return mark;
}

function describe(review, keypoints) {
  const submission = review.record.submission;
  $("summary").textContent = `Frame ${submission.frame_index} of ${submission.video_url} · volunteer ${volunteerOf(review.record)}`;
  if (submission.instances) {
    describeAnimals(review, keypoints);
    return;
  }
  $("labels").replaceChildren(...keypoints.map((keypoint, i) => {
    const point = pointsOf(submission, keypoints)[i];
    const item = document.createElement("li");
    item.dataset.testid = `label-${keypoint.id}`;
    item.textContent = point.placed
      ? `${keypoint.name}: (${point.x}, ${point.y})${point.hidden ? " · hidden" : ""}`
      : `${keypoint.name}: not placed`;
    return item;
  }));
  const others = review.others || [];
  $("others").replaceChildren(...(others.length ? others.map((other, i) => {
    const item = document.createElement("li");
    const placed = (other.submission.labels || []).filter((label) => label.placed).length;
    item.append(swatch(OTHER_COLOURS[i % OTHER_COLOURS.length]), `${volunteerOf(other)}: ${placed} keypoints placed`);
    return item;
  }) : [Object.assign(document.createElement("li"), { textContent: "None yet." })]));
  const agreed = review.consensus && Object.values(review.consensus).some((point) => point);
  $("consensus").textContent = agreed
    ? `White crosshairs: the consensus of ${others.length + 1} volunteers.`
    : "No consensus for this frame yet.";
}

function animalName(animal, k) {
  return `Animal ${k + 1}${animal.track ? ` (${animal.track})` : ""}`;
}

function pointText(keypoint, point) {
  return point.placed ? `${keypoint.name}: (${point.x}, ${point.y})${point.hidden ? " · hidden" : ""}` : `${keypoint.name}: not placed`;
}

// A submission of several animals: its keypoints animal by animal, each under its colour, and what each other volunteer's animals match.
function describeAnimals(review, keypoints) {
  const animals = animalsOf(review.record.submission);
  $("labels").replaceChildren(...animals.flatMap((animal, k) => {
    const heading = document.createElement("li");
    heading.dataset.testid = `animal-${k + 1}`;
    heading.className = "animal";
    heading.append(swatch(ANIMAL_COLOURS[k % ANIMAL_COLOURS.length]), animalName(animal, k));
    const points = pointsOfLabels(animal.labels, keypoints);
    return [heading, ...keypoints.map((keypoint, i) => {
      const item = document.createElement("li");
      item.dataset.testid = `label-${k + 1}-${keypoint.id}`;
      item.textContent = pointText(keypoint, points[i]);
      return item;
    })];
  }));
  const others = review.others || [];
  const matched = review.matched || [];
  $("others").replaceChildren(...(others.length ? others.map((other, i) => {
    const item = document.createElement("li");
    const theirs = animalsOf(other.submission);
    const matches = theirs.map((animal, j) => {
      const k = (matched[i] || [])[j];
      return k === null || k === undefined ? "one that matches none (grey)" : `animal ${k + 1}`;
    });
    item.append(swatch(UNMATCHED_COLOUR), `${volunteerOf(other)}: ${theirs.length} animal${theirs.length === 1 ? "" : "s"}: ${matches.join(", ")}`);
    return item;
  }) : [Object.assign(document.createElement("li"), { textContent: "None yet." })]));
  $("consensus").textContent = "";
}

// The layers of a submission of several animals: the others' animals, small, in the colour of the animal they match; then each of its own.
function animalLayers(review, keypoints, edges, radius) {
  const layers = [];
  const matched = review.matched || [];
  (review.others || []).forEach((other, i) => {
    animalsOf(other.submission).forEach((animal, j) => {
      const k = (matched[i] || [])[j];
      const colour = k === null || k === undefined ? UNMATCHED_COLOUR : ANIMAL_COLOURS[k % ANIMAL_COLOURS.length];
      layers.push({ points: pointsOfLabels(animal.labels, keypoints), colours: colour, edges, edgeColour: colour, radius: radius * 0.6, alpha: 0.75 });
    });
  });
  animalsOf(review.record.submission).forEach((animal, k) => {
    const colour = ANIMAL_COLOURS[k % ANIMAL_COLOURS.length];
    layers.push({ points: pointsOfLabels(animal.labels, keypoints), colours: colour, edges, edgeColour: colour, radius });
  });
  return layers;
}

async function start() {
  state.id = submissionId();
  if (!state.id) {
    say("No submission named: open /review/<id>.", "error");
    return;
  }
  try {
    [state.review, state.skeleton] = await Promise.all([state.client.review(state.id), state.client.skeleton()]);
  } catch (error) {
    if (!(error instanceof Unreachable)) throw error;
    say(error.message, "error");
    return;
  }
  const review = state.review;
  const submission = review.record.submission;
  const keypoints = state.skeleton.keypoints;
  const position = new Map(keypoints.map((keypoint, i) => [keypoint.id, i]));
  const edges = (state.skeleton.edges || []).map(([a, b]) => [position.get(a), position.get(b)]);
  describe(review, keypoints);

  // A video no longer configured is seeked by the rate the submission names.
  const entry = review.video || {
    url: submission.video_url, fps: submission.fps, width: submission.frame_width, height: submission.frame_height,
  };
  const image = entry.frame_url ? (index) => state.client.frameImage(entry.frame_url, index) : null;
  const frameCanvas = document.createElement("canvas");
  let shown = true;
  try {
    await showFrame({ video: $("video"), canvas: frameCanvas, entry, index: submission.frame_index, image, unplayable: new Set() });
  } catch (error) {
    if (!(error instanceof FrameError)) throw error;
    // The points are the submission's whatever became of its video: draw them where they are
    // on a plain frame of the size the volunteer labelled.
    shown = false;
    blankFrame(frameCanvas, submission.frame_width, submission.frame_height);
  }
  const radius = markerRadius(frameCanvas.width);
  const several = Boolean(submission.instances);
  const layers = several ? animalLayers(review, keypoints, edges, radius) : singleLayers(review, keypoints, edges, radius);
  const canvas = $("frame");
  canvas.style.aspectRatio = `${frameCanvas.width} / ${frameCanvas.height}`;
  render(canvas, frameCanvas, newView(), layers);
  canvas.dataset.frameIndex = String(submission.frame_index);
  canvas.dataset.source = shown ? "video" : "none";
  const legend = several
    ? "Each animal of this submission in its own colour, the other volunteers' animals smaller in the colour of the one they match (grey: none); dashed rings are hidden keypoints."
    : "Pink: this submission; dashed rings are hidden keypoints; white crosshairs the consensus.";
  if (shown) say(`Frame ${submission.frame_index}, confirmed. ${legend}`);
  else say(`The video could not be shown in this browser (it may have moved, or this browser cannot play it), so the keypoints`
    + ` are drawn on a plain background the size of the frame, ${frameCanvas.width}×${frameCanvas.height}. ${legend}`, "warn");
  document.body.dataset.ready = "true";
}

// One animal: the others' labels each in a volunteer's colour, the consensus, then the submission in pink.
function singleLayers(review, keypoints, edges, radius) {
  const submission = review.record.submission;
  const layers = (review.others || []).map((other, i) => ({
    points: pointsOf(other.submission, keypoints), colours: OTHER_COLOURS[i % OTHER_COLOURS.length], edges, radius: radius * 0.7,
    edgeColour: OTHER_COLOURS[i % OTHER_COLOURS.length],
  }));
  if (review.consensus) {
    const points = keypoints.map((keypoint) => {
      const point = review.consensus[keypoint.id];
      return point ? { x: point.x, y: point.y, placed: true } : { placed: false };
    });
    layers.push({ points, colours: CONSENSUS_COLOUR, edges: [], radius, style: "cross" });
  }
  layers.push({ points: pointsOf(submission, keypoints), colours: RECORD_COLOUR, edges, radius, edgeColour: RECORD_COLOUR });
  return layers;
}

function blankFrame(frameCanvas, width, height) {
  frameCanvas.width = width;
  frameCanvas.height = height;
  const context = frameCanvas.getContext("2d");
  context.fillStyle = BLANK_COLOUR;
  context.fillRect(0, 0, width, height);
}

start();
