// The volunteer's id: opaque and random, made once per browser and kept in localStorage.

const KEY = "pose-receiver.volunteer";
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

export function volunteerId(storage) {
  const kept = storage.getItem(KEY);
  if (kept && /^[A-Za-z0-9_-]{8,64}$/.test(kept)) return kept;
  const bytes = crypto.getRandomValues(new Uint8Array(22));
  const made = Array.from(bytes, (byte) => ALPHABET[byte & 63]).join("");
  storage.setItem(KEY, made);
  return made;
}
