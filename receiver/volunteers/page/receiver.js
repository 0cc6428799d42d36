// Talking to the receiver: every request the pages make, and what its answers mean.
// Nothing here keeps state or touches the page.

const TIMEOUT_MS = 10000;

export class Unreachable extends Error {}

// `sessions` keeps the volunteer session between requests ({load, save}); without it the
// client asks as nobody in particular (the review page).
export function makeClient(baseUrl, sessions = null) {
  const base = baseUrl.replace(/\/+$/, "");
  let asking = null; // one request for a session at a time

  // The session to send, asked for once when there is none (null while the receiver cannot give one).
  async function session() {
    if (!sessions) return null;
    const kept = sessions.load();
    if (kept) return kept;
    if (!asking) {
      asking = (async () => {
        try {
          const response = await fetch(base + "/api/sessions", { method: "POST", signal: AbortSignal.timeout(TIMEOUT_MS) });
          const body = await response.json().catch(() => null);
          if (response.status !== 201 || !body || typeof body.session !== "string") return null;
          const made = { token: body.session, pseudonym: body.pseudonym };
          sessions.save(made);
          return made;
        } catch (error) {
          return null;
        } finally {
          asking = null;
        }
      })();
    }
    return asking;
  }

  async function headers(extra = {}) {
    const current = await session();
    return current ? { ...extra, "X-Volunteer-Session": current.token } : extra;
  }

  // A 401 means the session is not (or no longer) one the receiver issued: forget it, so the next request asks anew.
  function forgetOn401(response) {
    if (response.status === 401 && sessions) sessions.save(null);
  }

  async function getJSON(path) {
    let response;
    try {
      response = await fetch(base + path, { headers: await headers(), signal: AbortSignal.timeout(TIMEOUT_MS), cache: "no-store" });
    } catch (error) {
      throw new Unreachable(`The receiver cannot be reached (${error.message}).`);
    }
    forgetOn401(response);
    const body = await response.json().catch(() => null);
    if (!response.ok || body === null) {
      const sentence = (body && (body.error || body.message)) || `The receiver answered ${response.status}.`;
      throw new Unreachable(sentence);
    }
    return body;
  }

  const volunteerQuery = (volunteer) => `volunteer=${encodeURIComponent(volunteer)}`;

  // The receiver's image of one frame: `template` is a video's frame_url, a path on the receiver
  // (or a full URL) with "{index}" where the frame's index goes. Sent without the session, as an
  // <img> would be: the image is public, and a plain GET needs no CORS preflight.
  async function frameImage(template, index) {
    const path = template.replaceAll("{index}", String(index));
    const url = /^https?:\/\//.test(path) ? path : base + (path.startsWith("/") ? "" : "/") + path;
    let response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    } catch (error) {
      throw new Unreachable(`The receiver cannot be reached for this frame's image (${error.message}).`);
    }
    if (!response.ok) {
      const body = await response.json().catch(() => null);
      throw new Unreachable((body && (body.error || body.message)) || `The receiver answered ${response.status} for this frame's image.`);
    }
    try {
      return await response.blob();
    } catch (error) {
      throw new Unreachable(`The receiver stopped sending this frame's image (${error.message}).`);
    }
  }

  return {
    skeleton: () => getJSON("/api/skeleton"),
    frameImage,
    nextFrames: (volunteer, count) => getJSON(`/api/next-frame?${volunteerQuery(volunteer)}&count=${count}`),
    progress: (volunteer) => getJSON(`/api/progress?${volunteerQuery(volunteer)}`),
    review: (id) => getJSON(`/api/review/${encodeURIComponent(id)}`),

    // One submission. The answer is one of:
    //   {outcome: "kept"}     2xx: the receiver has it; forget our copy.
    //   {outcome: "refused"}  a 4xx the volunteer must read (the same bytes would be refused again).
    //   {outcome: "again"}    no answer, 408/425/429 or 5xx: keep our copy and send it later.
    // `lease` is the ticket next-frame gave for this frame: with it the label counts toward the frame's retirement.
    async send(payload, lease = null) {
      let response;
      try {
        const extra = lease ? { "Content-Type": "application/json", "X-Volunteer-Lease": lease } : { "Content-Type": "application/json" };
        response = await fetch(base + "/api/labels", {
          method: "POST",
          headers: await headers(extra),
          body: JSON.stringify(payload),
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
      } catch (error) {
        return { outcome: "again", sentence: `The receiver cannot be reached (${error.message}); your labels are kept and will be sent.` };
      }
      forgetOn401(response);
      const body = await response.json().catch(() => ({}));
      const sentence = body.error || body.message || `The receiver answered ${response.status}.`;
      if (response.ok) return { outcome: "kept", sentence, body };
      // 401: the session was refused and is forgotten; the labels go again with a new one.
      const transient = response.status >= 500 || [401, 408, 425, 429].includes(response.status);
      return { outcome: transient ? "again" : "refused", status: response.status, sentence, body };
    },
  };
}
