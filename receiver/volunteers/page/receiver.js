// Talking to the receiver: every request the pages make, and what its answers mean.
// Nothing here keeps state or touches the page.

const TIMEOUT_MS = 10000;

export class Unreachable extends Error {}

export function makeClient(baseUrl) {
  const base = baseUrl.replace(/\/+$/, "");

  async function getJSON(path) {
    let response;
    try {
      response = await fetch(base + path, { signal: AbortSignal.timeout(TIMEOUT_MS), cache: "no-store" });
    } catch (error) {
      throw new Unreachable(`The receiver cannot be reached (${error.message}).`);
    }
    const body = await response.json().catch(() => null);
    if (!response.ok || body === null) {
      const sentence = (body && (body.error || body.message)) || `The receiver answered ${response.status}.`;
      throw new Unreachable(sentence);
    }
    return body;
  }

  const volunteerQuery = (volunteer) => `volunteer=${encodeURIComponent(volunteer)}`;

  return {
    skeleton: () => getJSON("/api/skeleton"),
    nextFrames: (volunteer, count) => getJSON(`/api/next-frame?${volunteerQuery(volunteer)}&count=${count}`),
    progress: (volunteer) => getJSON(`/api/progress?${volunteerQuery(volunteer)}`),
    review: (id) => getJSON(`/api/review/${encodeURIComponent(id)}`),

    // One submission. The answer is one of:
    //   {outcome: "kept"}     2xx: the receiver has it; forget our copy.
    //   {outcome: "refused"}  a 4xx the volunteer must read (the same bytes would be refused again).
    //   {outcome: "again"}    no answer, 408/425/429 or 5xx: keep our copy and send it later.
    async send(payload) {
      let response;
      try {
        response = await fetch(base + "/api/labels", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(payload),
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
      } catch (error) {
        return { outcome: "again", sentence: `The receiver cannot be reached (${error.message}); your labels are kept and will be sent.` };
      }
      const body = await response.json().catch(() => ({}));
      const sentence = body.error || body.message || `The receiver answered ${response.status}.`;
      if (response.ok) return { outcome: "kept", sentence, body };
      const transient = response.status >= 500 || [408, 425, 429].includes(response.status);
      return { outcome: transient ? "again" : "refused", status: response.status, sentence, body };
    },
  };
}
