// Who the volunteer is. The receiver issues the identity (a session, kept in localStorage);
// the random id made here is only a display name sent in metadata, never trusted.

const KEY = "pose-receiver.volunteer";
const SESSION_KEY = "pose-receiver.session.v1";
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

export function volunteerId(storage) {
  const kept = storage.getItem(KEY);
  if (kept && /^[A-Za-z0-9_-]{8,64}$/.test(kept)) return kept;
  const bytes = crypto.getRandomValues(new Uint8Array(22));
  const made = Array.from(bytes, (byte) => ALPHABET[byte & 63]).join("");
  storage.setItem(KEY, made);
  return made;
}

// The session the receiver issued to this browser: {token, pseudonym}, or null before the first.
export function keptSession(storage) {
  try {
    const kept = JSON.parse(storage.getItem(SESSION_KEY) || "null");
    return kept && typeof kept.token === "string" ? kept : null;
  } catch (error) {
    return null;
  }
}

export function keepSession(storage, session) {
  if (session) storage.setItem(SESSION_KEY, JSON.stringify(session));
  else storage.removeItem(SESSION_KEY);
}
