// Subscriptions kept in this browser (localStorage): id, token (shown once
// by the API, so this is the only copy the page has), a label, a copy of
// the server's pause ("paused" of GET /v1/subscriptions/{id}: the live feed
// is stopped meanwhile), and the cursor of the last alert seen so the feed
// resumes after it without a gap.
const KEY = 'safestream.subscriptions.v1';

function read() {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) || '[]');
    return Array.isArray(v) ? v.filter((s) => s && typeof s.id === 'string' && typeof s.token === 'string') : [];
  } catch {
    return [];
  }
}
function write(list) {
  try { localStorage.setItem(KEY, JSON.stringify(list)); } catch { /* quota or private mode */ }
  window.dispatchEvent(new CustomEvent('subscriptions-changed'));
}

export const subscriptions = {
  all: read,
  get: (id) => read().find((s) => s.id === id) || null,
  add(entry) {
    const list = read().filter((s) => s.id !== entry.id);
    list.push({ paused: false, cursor: null, created: new Date().toISOString(), ...entry });
    write(list);
  },
  update(id, changes) {
    const list = read();
    const s = list.find((x) => x.id === id);
    if (!s) return;
    Object.assign(s, changes);
    write(list);
  },
  // The cursor is written often (each alert); no change event for it.
  setCursor(id, cursor) {
    const list = read();
    const s = list.find((x) => x.id === id);
    if (!s || !cursor) return;
    if (s.cursor && compareCursor(cursor, s.cursor) <= 0) return;
    s.cursor = cursor;
    try { localStorage.setItem(KEY, JSON.stringify(list)); } catch { /* ignore */ }
  },
  remove(id) { write(read().filter((s) => s.id !== id)); },
};

// Redis stream ids "ms-seq": compare numerically, not as strings.
export function compareCursor(a, b) {
  const [am, as] = String(a).split('-').map(Number);
  const [bm, bs] = String(b).split('-').map(Number);
  if (am !== bm) return am < bm ? -1 : 1;
  if ((as || 0) !== (bs || 0)) return (as || 0) < (bs || 0) ? -1 : 1;
  return 0;
}
