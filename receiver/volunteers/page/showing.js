// Which pixels stand for frame i: the browser's own frame of the video when it plays the
// video and confirms that frame, otherwise the receiver's image of it.
//
// The receiver names an image of each frame (`frame_url`) for videos it can decode. The page
// labels that image, drawn at the video's size, when the entry asks for it (`decode`), when
// the browser cannot play the video (MJPEG in AVI, HEVC in Chromium), or when it presents or
// reports a frame other than the one asked for. Either way the canvas holds frame i at the
// video's size, so the submission is the same. Without `frame_url` the video is all there is,
// and a frame it cannot confirm is refused with the browser's reason.

import { openVideo, presentFrame, FrameError, within } from "./frames.js";
import { timelineOf } from "./timeline.js";
import { Unreachable } from "./receiver.js";

const IMAGE_TIMEOUT_MS = 20000;

// Draw frame `index` of `entry` (a next-frame video) into `canvas`; answers where it came from,
// "video" or "receiver". `image(index)` fetches the receiver's image (a Blob), null without one.
// `unplayable` holds the URLs this browser failed to load, so each is tried once.
// Throws FrameError with a sentence the volunteer reads when neither can show the frame.
export async function showFrame({ video, canvas, entry, index, image, unplayable }) {
  if (!image) {
    await fromVideo(video, canvas, entry, index);
    return "video";
  }
  if (!entry.decode && !unplayable.has(entry.url)) {
    try {
      await fromVideo(video, canvas, entry, index, unplayable);
      return "video";
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
    }
  }
  await fromReceiver(canvas, entry, index, image);
  return "receiver";
}

async function fromVideo(video, canvas, entry, index, unplayable = null) {
  try {
    await openVideo(video, entry.url);
  } catch (error) {
    if (error instanceof FrameError && unplayable) unplayable.add(entry.url);
    throw error;
  }
  if (video.videoWidth !== entry.width || video.videoHeight !== entry.height) {
    throw new FrameError(`The video is ${video.videoWidth}×${video.videoHeight} but the receiver expects ${entry.width}×${entry.height}; this frame cannot be labelled. Skip to the next one.`);
  }
  const confirmed = await presentFrame(video, canvas, index, timelineOf(entry));
  if (confirmed !== index) {
    const shown = confirmed === null ? "a frame the receiver does not list" : `frame ${confirmed}`;
    throw new FrameError(`The browser showed ${shown} instead of frame ${index}; it cannot be labelled. Skip to the next one.`);
  }
}

async function fromReceiver(canvas, entry, index, image) {
  let bitmap;
  try {
    const blob = await within(image(index), IMAGE_TIMEOUT_MS, "The receiver did not send this frame's image in time; it cannot be labelled. Skip to the next one.");
    bitmap = await createImageBitmap(blob);
  } catch (error) {
    if (error instanceof Unreachable) throw new FrameError(`${error.message} This frame cannot be labelled; skip to the next one.`);
    if (error instanceof DOMException) throw new FrameError("The receiver's image of this frame could not be read; it cannot be labelled. Skip to the next one.");
    throw error;
  }
  canvas.width = entry.width;
  canvas.height = entry.height;
  canvas.getContext("2d", { willReadFrequently: true }).drawImage(bitmap, 0, 0, entry.width, entry.height);
  bitmap.close();
}
