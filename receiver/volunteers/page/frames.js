// Seek and confirm: show frame i of a video and prove which frame the browser presented.
//
// Seeking to exactly i / fps lands on the boundary between frames i - 1 and i, and
// rounding in the player or the container's timestamps then shows either. We seek
// to the middle of the frame, (i + 0.5) / fps, and read back the presented frame's
// own timestamp (requestVideoFrameCallback's mediaTime) where the browser has it:
// frame = floor(mediaTime * fps + EPSILON). EPSILON absorbs containers that store
// timestamps in whole milliseconds (up to 0.015 of a frame early at 30 fps) and is
// far below the half frame of margin the seek target leaves. The frame is copied
// into a canvas inside the same callback, so the pixels kept are the ones confirmed.

const EPSILON = 0.1;
const LOAD_TIMEOUT_MS = 20000;
const SEEK_TIMEOUT_MS = 10000;
const PRESENT_TIMEOUT_MS = 3000;

export class FrameError extends Error {}

function within(promise, ms, sentence) {
  let timer;
  const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new FrameError(sentence)), ms); });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

function once(target, name) {
  return new Promise((resolve) => target.addEventListener(name, resolve, { once: true }));
}

// Rejects when the video reports an error, until `signal` aborts (the wait is over).
function failed(video, signal) {
  return new Promise((_, reject) =>
    video.addEventListener("error", () => reject(new FrameError("The video could not be loaded; this frame cannot be labelled. Skip to the next one.")), { once: true, signal }));
}

// Point `video` at `url` and wait until its first frame can be drawn.
export async function openVideo(video, url) {
  if (video.dataset.url === url && video.readyState >= 2) return video;
  video.crossOrigin = "anonymous"; // frames must stay readable from the canvas
  video.muted = true;
  video.playsInline = true;
  video.preload = "auto";
  video.dataset.url = url;
  const done = new AbortController();
  const ready = Promise.race([once(video, "loadeddata"), failed(video, done.signal)]);
  video.src = url;
  try {
    await within(ready, LOAD_TIMEOUT_MS, "The video did not load in time; this frame cannot be labelled. Skip to the next one.");
  } finally {
    done.abort();
  }
  return video;
}

export function frameOf(seconds, fps) {
  return Math.floor(seconds * fps + EPSILON);
}

// Seek to frame `index`, copy the presented frame into `canvas`, and return the index
// the browser confirms. Throws FrameError with a sentence when it cannot be confirmed.
export async function presentFrame(video, canvas, index, fps) {
  const duration = Number.isFinite(video.duration) ? video.duration : Infinity;
  const target = Math.min((index + 0.5) / fps, Math.max(0, duration - 0.25 / fps));
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  const copy = () => context.drawImage(video, 0, 0, canvas.width, canvas.height);
  const done = new AbortController();
  try {
    return await seekAndConfirm(video, index, fps, target, copy, done.signal);
  } finally {
    done.abort();
  }
}

async function seekAndConfirm(video, index, fps, target, copy, signal) {
  const seeked = Promise.race([once(video, "seeked"), failed(video, signal)]);

  if (typeof video.requestVideoFrameCallback !== "function") {
    // Without the callback the best evidence is where the seek ended: inside frame `index`.
    video.currentTime = target;
    await within(seeked, SEEK_TIMEOUT_MS, "The video could not be seeked to this frame; it cannot be labelled. Skip to the next one.");
    copy();
    return frameOf(video.currentTime, fps);
  }

  // A seek to where the video already is presents no new frame, so no callback would come.
  if (video.dataset.frame === String(index) && Math.abs(video.currentTime - target) < 1e-6) {
    copy();
    return index;
  }
  const presented = new Promise((resolve) => {
    video.requestVideoFrameCallback((now, metadata) => { copy(); resolve(metadata.mediaTime); });
  });
  video.currentTime = target;
  await within(seeked, SEEK_TIMEOUT_MS, "The video could not be seeked to this frame; it cannot be labelled. Skip to the next one.");
  const mediaTime = await within(presented, PRESENT_TIMEOUT_MS, "The browser did not show which frame it presented; this frame cannot be labelled. Skip to the next one.");
  const confirmed = frameOf(mediaTime, fps);
  video.dataset.frame = String(confirmed);
  return confirmed;
}
