// Where each frame of a video sits on the video element's clock, and which frame a time belongs to.
//
// A video the receiver probed comes with `times`: the presentation time of every frame as
// the container stores it (pts × time_base). Debian's Chromium puts the video element's
// clock on those same times, whatever the frame rate or first timestamp: a variable-rate
// MP4's frames present at their own times, an MP4 whose stream starts at 10 s presents its
// first frame at currentTime 10 (while `duration` still says the stream's length), a
// 29.97 fps MP4 at multiples of 1001/30000 s. The browser reports mediaTime in whole
// microseconds, so a frame is matched to the nearest time within TOLERANCE_S, and each seek
// aims at the middle of the frame's display interval, never at its first microsecond.
//
// A hand-written entry has only `fps`: frame i spans [i / fps, (i + 1) / fps), the seek aims
// at its middle, and a presented time t is frame floor(t * fps + EPSILON). EPSILON absorbs
// containers that store timestamps in whole milliseconds (up to 0.015 of a frame early at
// 30 fps) and is far below the half frame of margin the seek target leaves.

const TOLERANCE_S = 0.001;
const EPSILON = 0.1;

// The timeline of a video as next-frame describes it ({fps, times?}).
export function timelineOf(entry) {
  return Array.isArray(entry.times) && entry.times.length > 0 ? byTimes(entry.times) : byRate(entry.fps);
}

function byRate(fps) {
  const frameAt = (seconds) => Math.floor(seconds * fps + EPSILON);
  return {
    target(index, duration) {
      const end = Number.isFinite(duration) ? duration : Infinity;
      return Math.min((index + 0.5) / fps, Math.max(0, end - 0.25 / fps));
    },
    frameAt,
    frameDuring: frameAt,
  };
}

function byTimes(times) {
  const last = times.length - 1;
  // The index of the last frame presented at or before `seconds` (-1 before the first).
  const during = (seconds) => {
    let low = 0;
    let high = last;
    if (seconds < times[0] - TOLERANCE_S) return -1;
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      if (times[middle] <= seconds + TOLERANCE_S) low = middle;
      else high = middle - 1;
    }
    return low;
  };
  return {
    // The middle of the frame's interval; the last frame has no next time, so a quarter of
    // the interval before it past its own time (the container's end is not known here).
    target(index) {
      if (index < last) return (times[index] + times[index + 1]) / 2;
      return times[last] + (last > 0 ? (times[last] - times[last - 1]) / 4 : TOLERANCE_S);
    },
    // The frame whose time the browser reported, or null when it reported no frame's time.
    frameAt(seconds) {
      const index = during(seconds);
      for (const candidate of [index, index + 1]) {
        if (candidate >= 0 && candidate <= last && Math.abs(times[candidate] - seconds) <= TOLERANCE_S) return candidate;
      }
      return null;
    },
    frameDuring(seconds) {
      const index = during(seconds);
      return index < 0 ? null : index;
    },
  };
}
