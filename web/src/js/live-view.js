// My alerts, live: one LiveFeed per subscription kept in this browser,
// merged newest first. Runs from page load on every view (the nav badge
// counts alerts that arrived while elsewhere). Digests and surge alerts are
// shown as what they are. Browser notifications only after the user opts in.
import { api } from './api.js';
import { LiveFeed } from './live-feed.js';
import { subscriptions, compareCursor } from './store.js';
import { el, categoryName, timeIn, ago, distance, placeName, sevBadge, number } from './format.js';

const MAX_SHOWN = 300;
let ctx;
const feeds = new Map();           // id -> LiveFeed
const alerts = [];                 // newest first
let unseen = 0;
let visible = false;

export async function init(c) {
  ctx = c;
  document.getElementById('notify-btn').addEventListener('click', askNotifications);
  showNotifyState();
  window.addEventListener('subscriptions-changed', sync);
  window.addEventListener('online', () => { for (const f of feeds.values()) f.nudge(); });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') for (const f of feeds.values()) f.nudge();
  });
  sync();
}

export function show() {
  visible = true;
  unseen = 0;
  badge();
  render();
}
export function hide() {
  visible = false;
  for (const a of alerts) a.fresh = false;
  for (const li of document.querySelectorAll('#live-feed li.fresh')) li.classList.remove('fresh');
}

const fetchJson = (path, token) => api.get(path, { token });

function sync() {
  const mine = subscriptions.all();
  const ids = new Set(mine.map((s) => s.id));
  for (const [id, f] of feeds) {
    if (!ids.has(id)) {
      f.stop();
      feeds.delete(id);
      for (let i = alerts.length - 1; i >= 0; i--) if (alerts[i].subscription_id === id) alerts.splice(i, 1);
    }
  }
  for (const s of mine) {
    let f = feeds.get(s.id);
    if (!f) {
      f = new LiveFeed({ id: s.id, token: s.token, cursor: null, fetchJson, onAlert: (a, o) => added(s.id, a, o), onState: () => renderConns() });
      feeds.set(s.id, f);
    }
    if (s.paused && !f.stopped) f.stop('paused');
    if (!s.paused && f.stopped && f.state !== 'gone') f.start();
  }
  document.getElementById('live-empty').hidden = mine.length > 0;
  renderConns();
  render();
}

function sortKey(a) { return a.cursor || '0-0'; }

function added(id, alert, { live }) {
  alert.subscription_id = alert.subscription_id || id;
  subscriptions.setCursor(id, alert.cursor);
  // Insert in order (newest first): history arrives oldest first and live
  // frames newest last, so a binary search keeps the list sorted either way.
  let lo = 0, hi = alerts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareCursor(sortKey(alerts[mid]), sortKey(alert)) > 0) lo = mid + 1; else hi = mid;
  }
  alerts.splice(lo, 0, alert);
  if (alerts.length > MAX_SHOWN) alerts.length = MAX_SHOWN;
  if (live) {
    alert.fresh = true;
    if (!visible) { unseen += 1; badge(); }
    notify(alert);
  }
  scheduleRender();
}

let renderTimer = null;
function scheduleRender() {
  if (renderTimer) return;
  renderTimer = requestAnimationFrame(() => { renderTimer = null; render(); });
}

function badge() {
  const b = document.getElementById('live-count');
  b.textContent = unseen > 99 ? '99+' : String(unseen);
  b.hidden = unseen === 0;
  b.setAttribute('aria-label', `${unseen} new`);
}

const STATE_TEXT = { connecting: 'connecting…', live: 'live', retrying: 'reconnecting…', paused: 'paused', gone: 'no longer exists' };
function renderConns() {
  const ul = document.getElementById('live-conns');
  ul.replaceChildren(...subscriptions.all().map((s) => {
    const f = feeds.get(s.id);
    const st = f ? f.state : 'paused';
    return el('li', { class: st === 'live' ? 'live' : st === 'retrying' || st === 'gone' ? 'down' : '', dataset: { id: s.id, state: st } },
      el('span', { class: 'dot', 'aria-hidden': 'true' }), `${s.label || 'Subscription'}: ${STATE_TEXT[st] || st}`);
  }));
}

function render() {
  const ol = document.getElementById('live-feed');
  if (!ol) return;
  const labels = new Map(subscriptions.all().map((s) => [s.id, s.label]));
  ol.replaceChildren(...alerts.map((a) => item(a, labels.get(a.subscription_id))));
  if (!alerts.length && subscriptions.all().length) {
    ol.append(el('li', { class: 'empty' }, 'No alerts yet. They appear here as soon as something is reported in your area.'));
  }
}

function item(a, label) {
  const zone = ctx.city ? ctx.city.zone : undefined;
  const type = a.type || 'report';
  const li = el('li', { class: `${type}${a.fresh ? ' fresh' : ''}`, dataset: { cursor: a.cursor || '', reportId: a.report_id || '', type } });
  if (type === 'digest') {
    li.append(el('div', { class: 'kind' }, 'Digest'),
      el('div', { class: 'title' }, `${number(a.held_back || 0)} more alert${a.held_back === 1 ? '' : 's'} held back in the last hour`),
      el('div', { class: 'meta' }, `${label || ''} · ${timeIn(a.created_at, zone)} · you asked for at most a few alerts an hour`));
  } else if (type === 'surge') {
    li.append(el('div', { class: 'kind' }, 'Surge'),
      el('div', { class: 'title' }, `Unusually many reports nearby: ${number(a.count)} in the last window`),
      el('div', { class: 'meta' }, [label || '', a.baseline_mean != null ? `usually about ${Number(a.baseline_mean).toFixed(1)}` : '',
        a.window_start ? `${timeIn(a.window_start, zone)} – ${timeIn(a.window_end, zone)}` : timeIn(a.created_at, zone)].filter(Boolean).join(' · ')));
  } else {
    li.append(el('div', { class: 'kind' }, 'Alert'),
      el('div', { class: 'title' }, sevBadge(a.severity), categoryName(a.category)),
      el('div', { class: 'meta' }, [timeIn(a.occurred_at || a.created_at, zone), ago(a.occurred_at || a.created_at),
        a.neighbourhood ? placeName(a.neighbourhood) : '', a.address || '', a.distance_m != null ? `${distance(a.distance_m)} from your centre` : '',
        label || ''].filter(Boolean).join(' · ')),
      a.description ? el('p', { class: 'text' }, a.description) : null);
    if (a.report_id && a.lat != null) {
      li.append(el('a', { href: `#/map?lat=${a.lat}&lon=${a.lon}&z=17&report=${encodeURIComponent(a.report_id)}` }, 'Show on the map'));
    }
  }
  return li;
}

// ---- browser notifications (opt-in) ------------------------------------------
function showNotifyState() {
  const btn = document.getElementById('notify-btn');
  const st = document.getElementById('notify-state');
  if (!('Notification' in window)) { btn.hidden = true; st.textContent = 'This browser has no notifications.'; return; }
  const p = Notification.permission;
  btn.hidden = p === 'granted' || p === 'denied';
  st.textContent = p === 'granted' ? 'Browser notifications are on.' : p === 'denied' ? 'Notifications are blocked in this browser’s settings.' : '';
}

async function askNotifications() {
  try { await Notification.requestPermission(); } catch { /* older API */ }
  showNotifyState();
}

function notify(a) {
  if (!('Notification' in window) || Notification.permission !== 'granted' || document.visibilityState === 'visible') return;
  const title = a.type === 'digest' ? 'SafeStream digest' : a.type === 'surge' ? 'SafeStream: unusually many reports' : `SafeStream: ${categoryName(a.category)}`;
  const body = a.type === 'report' || !a.type ? [a.address, a.description].filter(Boolean).join(' — ').slice(0, 180) : '';
  try { new Notification(title, { body, tag: a.alert_id || a.cursor }); } catch { /* not allowed here */ }
}

