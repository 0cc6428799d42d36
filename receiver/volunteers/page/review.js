// The review view: one stored submission drawn over its own frame (through the same
// seek-and-confirm as the labeling page), beside the other volunteers' labels for that
// frame and the current consensus.

import config from "./config.js";
import { makeClient, Unreachable } from "./receiver.js";
import { FrameError } from "./frames.js";
import { showFrame } from "./showing.js";
import { render, newView, markerRadius } from "./draw.js";

export const RECORD_COLOUR = "#ff2d95";
const OTHER_COLOURS = ["#00c8ff", "#ffd000", "#7cff4f", "#ff8c00", "#b388ff"];
const CONSENSUS_COLOUR = "#ffffff";

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

function pointsOf(submission, keypoints) {
  const byId = new Map((submission.labels || []).map((label) => [label.id, label]));
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
  try {
    await showFrame({ video: $("video"), canvas: frameCanvas, entry, index: submission.frame_index, image, unplayable: new Set() });
  } catch (error) {
    if (!(error instanceof FrameError)) throw error;
    say(error.message, "error");
    return;
  }
  const radius = markerRadius(frameCanvas.width);
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
  const canvas = $("frame");
  canvas.style.aspectRatio = `${frameCanvas.width} / ${frameCanvas.height}`;
  render(canvas, frameCanvas, newView(), layers);
  canvas.dataset.frameIndex = String(submission.frame_index);
  say(`Frame ${submission.frame_index}, confirmed. Pink: this submission; dashed rings are hidden keypoints; white crosshairs the consensus.`);
  document.body.dataset.ready = "true";
}

start();
