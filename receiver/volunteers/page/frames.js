// Seek and confirm: show frame i of a video and prove which frame the browser presented.
//
// Where frame i is on the video element's clock comes from a timeline (timeline.js): the
// frame's own presentation time when the receiver probed the video, i / fps otherwise.
// We seek to the middle of the frame's display interval and read back the presented
// frame's own timestamp (requestVideoFrameCallback's mediaTime) where the browser has it,
// and the timeline names the frame that timestamp belongs to. The frame is copied into a
// canvas inside the same callback, so the pixels kept are the ones confirmed.

const LOAD_TIMEOUT_MS = 20000;
const SEEK_TIMEOUT_MS = 10000;
const PRESENT_TIMEOUT_MS = 3000;
const FIRST_FRAME_WAIT_MS = 500;

export class FrameError extends Error {}

export function within(promise, ms, sentence) {
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
  delete video.dataset.frame;
  const done = new AbortController();
  const ready = Promise.race([once(video, "loadeddata"), failed(video, done.signal)]);
  video.src = url;
  try {
    await within(ready, LOAD_TIMEOUT_MS, "The video did not load in time; this frame cannot be labelled. Skip to the next one.");
  } finally {
    done.abort();
  }
  await firstPresented(video);
  return video;
}

// The first frame reaches the screen only after loading ends, and a seek begun before that
// is answered with it (Chromium, an MP4 whose stream starts at 10 s: the first seek's
// callback reported the first frame). Its time names it, so nothing is mislabelled, but the
// frame asked for is lost; so wait for that first frame. The wait is bounded because a frame
// already on screen before we asked brings no callback.
function firstPresented(video) {
  if (typeof video.requestVideoFrameCallback !== "function") return Promise.resolve();
  let timer;
  return new Promise((resolve) => {
    video.requestVideoFrameCallback(resolve);
    timer = setTimeout(resolve, FIRST_FRAME_WAIT_MS);
  }).finally(() => clearTimeout(timer));
}

// Seek to frame `index` of `timeline`, copy the presented frame into `canvas`, and return the
// index the browser confirms (null when what it presented is no frame of the timeline).
// Throws FrameError with a sentence when the browser does not present or say what it presented.
export async function presentFrame(video, canvas, index, timeline) {
  const target = timeline.target(index, video.duration);
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  const copy = () => context.drawImage(video, 0, 0, canvas.width, canvas.height);
  const done = new AbortController();
  try {
    return await seekAndConfirm(video, index, timeline, target, copy, done.signal);
  } finally {
    done.abort();
  }
}

async function seekAndConfirm(video, index, timeline, target, copy, signal) {
  const seeked = Promise.race([once(video, "seeked"), failed(video, signal)]);

  if (typeof video.requestVideoFrameCallback !== "function") {
    // Without the callback the best evidence is where the seek ended: inside frame `index`.
    video.currentTime = target;
    await within(seeked, SEEK_TIMEOUT_MS, "The video could not be seeked to this frame; it cannot be labelled. Skip to the next one.");
    copy();
    return timeline.frameDuring(video.currentTime);
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
  const confirmed = timeline.frameAt(mediaTime);
  if (confirmed === null) delete video.dataset.frame;
  else video.dataset.frame = String(confirmed);
  return confirmed;
}
