// Pure helpers: names, times in a city's zone, distances, DOM building that
// only ever sets text (data from the API is never parsed as HTML).

export const CATEGORIES = [
  ['homicide', 'Homicide', 5], ['shooting', 'Shooting', 5], ['sexual-offense', 'Sexual offence', 4],
  ['robbery', 'Robbery', 4], ['assault', 'Assault', 3], ['weapons', 'Weapons', 3], ['arson', 'Arson', 3],
  ['burglary', 'Burglary', 3], ['vehicle-theft', 'Vehicle theft', 2], ['theft', 'Theft', 2],
  ['vandalism', 'Vandalism', 2], ['drugs', 'Drugs', 2], ['fraud', 'Fraud', 1], ['disturbance', 'Disturbance', 1],
  ['other', 'Other', 1],
];
const NAMES = new Map(CATEGORIES.map(([k, v]) => [k, v]));
export const categoryName = (c) => NAMES.get(c) || (c ? c.charAt(0).toUpperCase() + c.slice(1).replace(/-/g, ' ') : 'Unknown');

const SOURCES = { citizen: 'Resident', chicago: 'City of Chicago', spotcrime: 'SpotCrime', rapidapi: 'Crime data API' };
export const sourceName = (s) => SOURCES[s] || s || 'Unknown';

// "Hyde Park" for "HYDE PARK": boundary files shout their names.
export function placeName(n) {
  if (!n) return '';
  return n.toLowerCase().replace(/(^|[\s\-'(/])([a-z])/g, (m, p, c) => p + c.toUpperCase());
}

const fmtCache = new Map();
function formatter(zone, opts) {
  const key = zone + JSON.stringify(opts);
  let f = fmtCache.get(key);
  if (!f) {
    try { f = new Intl.DateTimeFormat(undefined, { ...opts, timeZone: zone || undefined }); } catch { f = new Intl.DateTimeFormat(undefined, opts); }
    fmtCache.set(key, f);
  }
  return f;
}
// A time as the city's residents read it, with the zone's abbreviation.
export function timeIn(iso, zone) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return formatter(zone, { year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZoneName: 'short' }).format(d);
}

export function ago(iso, now = Date.now()) {
  const s = Math.round((now - new Date(iso).getTime()) / 1000);
  if (!Number.isFinite(s)) return '';
  if (s < 45) return 'just now';
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 36) return `${h} h ago`;
  return `${Math.round(h / 24)} days ago`;
}

export const distance = (m) => (m == null ? '' : m < 1000 ? `${Math.round(m)} m` : `${(m / 1000).toFixed(m < 10000 ? 1 : 0)} km`);
export const number = (n) => (n == null ? '–' : Number(n).toLocaleString());
export function percent(x) {
  if (x == null || !Number.isFinite(x)) return '–';
  const v = Math.round(x * 100);
  return (v > 0 ? '+' : '') + v + ' %';
}

// el('li', {class: 'x', dataset: {id}}, 'text', child): children that are
// strings become text nodes. No innerHTML anywhere.
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else if (v === true) e.setAttribute(k, '');
    else e.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export function sevBadge(s) {
  const v = Math.min(5, Math.max(1, Number(s) || 1));
  return el('span', { class: `sev sev-${v}`, title: `Severity ${v} of 5` }, String(v), el('span', { class: 'sr-only' }, ' of 5 severity'));
}

// Dates for the filters: a <input type=date> value (local calendar day) to
// an RFC 3339 instant at the start of that day, in the browser's zone.
export function dayStart(value) {
  if (!value) return null;
  const d = new Date(value + 'T00:00:00');
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}
export function dayEnd(value) {
  if (!value) return null;
  const d = new Date(value + 'T00:00:00');
  if (Number.isNaN(d.getTime())) return null;
  d.setDate(d.getDate() + 1);
  return d.toISOString();
}
export function dateInput(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}
export function dateTimeInput(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${dateInput(d)}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
