// Queue and retry: every submission is written to localStorage before it is sent, and
// removed only when the receiver has answered for it (2xx kept, or a 4xx refusal the
// volunteer is shown). Anything else is sent again, with a backoff capped at a few
// seconds so labels flow within moments of the receiver's return, and at once when the
// browser says it is back online. A reload picks the queue up where it was.

const KEY = "pose-receiver.outbox.v1";
const FIRST_WAIT_MS = 500;
const LONGEST_WAIT_MS = 5000;

export function backoff(attempts) {
  const wait = Math.min(LONGEST_WAIT_MS, FIRST_WAIT_MS * 2 ** Math.max(0, attempts - 1));
  return wait * (0.8 + 0.2 * Math.random());
}

export function createOutbox({ storage, send, onChange }) {
  const box = { items: load(), sending: false, timer: null };

  function load() {
    try {
      const items = JSON.parse(storage.getItem(KEY) || "[]");
      return Array.isArray(items) ? items : [];
    } catch (error) {
      return [];
    }
  }

  function save() {
    storage.setItem(KEY, JSON.stringify(box.items));
  }

  function schedule() {
    clearTimeout(box.timer);
    if (box.items.length === 0) return;
    const due = Math.min(...box.items.map((item) => item.due));
    box.timer = setTimeout(pump, Math.max(0, due - Date.now()));
  }

  async function pump() {
    if (box.sending) return;
    box.sending = true;
    try {
      for (;;) {
        const item = box.items.find((candidate) => candidate.due <= Date.now());
        if (!item) break;
        const answer = await send(item.payload, item.lease || null);
        if (answer.outcome === "again") {
          item.attempts += 1;
          item.due = Date.now() + backoff(item.attempts);
          save();
          onChange({ item, answer });
          break; // the receiver is away: the others would meet the same fate now
        }
        box.items = box.items.filter((candidate) => candidate.key !== item.key);
        save();
        onChange({ item, answer });
      }
    } finally {
      box.sending = false;
      schedule();
    }
  }

  return {
    get size() { return box.items.length; },
    keys() { return box.items.map((item) => item.frame); },
    add(payload, frame, lease = null) {
      const key = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
      box.items.push({ key, frame, payload, lease, attempts: 0, due: Date.now() });
      save(); // kept before it is sent
      onChange({});
      pump();
    },
    // Now: the browser is back online, or the page just opened.
    retryNow() {
      for (const item of box.items) item.due = Date.now();
      save();
      pump();
    },
  };
}
