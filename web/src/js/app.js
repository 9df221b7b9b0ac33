// The app's shell: a hash router over five views (#/map, #/report,
// #/alerts, #/live, #/dashboard), the city picker, and lazy start of each
// view the first time it is shown. Views are modules with
// init(ctx) / show(ctx, params) / hide() / cityChanged(ctx).
import { loadCities, savedCity, saveCity } from './cities.js';
import { el } from './format.js';
import { subscriptions } from './store.js';
import * as reportsView from './reports-view.js';
import * as reportForm from './report-form.js';
import * as alertsView from './alerts-view.js';
import * as liveView from './live-view.js';
import * as dashboardView from './dashboard-view.js';

const VIEWS = { map: reportsView, report: reportForm, alerts: alertsView, live: liveView, dashboard: dashboardView };
const TITLES = { map: 'Recent reports', report: 'Report an incident', alerts: 'Get alerts', live: 'My alerts', dashboard: 'Dashboard' };

const ctx = {
  cities: [],
  maps: {},           // the views' Leaflet maps (for the browser tests)
  city: null,
  error(message) {
    const b = document.getElementById('global-error');
    b.textContent = message || '';
    b.hidden = !message;
  },
  go(hash) { if (location.hash !== hash) location.hash = hash; else route(); },
};
window.SafeStream = ctx; // for the browser tests and the console

const started = new Set();
let current = null;

function parseHash() {
  const h = location.hash.replace(/^#\/?/, '');
  const [name, query] = h.split('?');
  return { name: VIEWS[name] ? name : 'map', params: new URLSearchParams(query || '') };
}

// ?add=<id>:<token>[&name=<label>] (repeatable, on any view) keeps
// subscriptions made elsewhere in this browser: deploy/local/up.sh prints
// such a link for the demo's subscriptions, and a key copied from another
// device works the same way. The tokens are then dropped from the address
// bar and the history. (A fragment never reaches a server.)
function adopt(name, params) {
  const adds = params.getAll('add');
  if (!adds.length) return;
  const names = params.getAll('name');
  adds.forEach((add, i) => {
    const at = add.indexOf(':');
    const id = add.slice(0, at), token = add.slice(at + 1);
    if (at > 0 && /^[0-9a-f-]{36}$/i.test(id) && token && !subscriptions.get(id)) {
      subscriptions.add({ id, token, label: names[i] || 'Subscription' });
    }
  });
  params.delete('add');
  params.delete('name');
  const rest = params.toString();
  history.replaceState(null, '', `#/${name}${rest ? '?' + rest : ''}`);
}

async function route() {
  // In-page anchors (#main) are not views.
  if (location.hash && !location.hash.startsWith('#/')) return;
  const { name, params } = parseHash();
  adopt(name, params);
  if (current && current !== name) {
    VIEWS[current].hide?.();
    document.getElementById(`view-${current}`).hidden = true;
  }
  const first = current === null;
  const changed = current !== name;
  current = name;
  document.getElementById(`view-${name}`).hidden = false;
  for (const a of document.querySelectorAll('.top nav a')) {
    if (a.dataset.view === name) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  document.title = `${TITLES[name]} · SafeStream`;
  ctx.error('');
  try {
    if (!started.has(name)) {
      started.add(name);
      await VIEWS[name].init(ctx);
    }
    await VIEWS[name].show?.(ctx, params);
  } catch (e) {
    console.warn(e);
    ctx.error(e.message || String(e));
  }
  // Move focus to the new view's heading for keyboard and screen-reader
  // users, except on the first load (focus stays at the top of the page).
  if (changed && !first) {
    const h = document.querySelector(`#view-${name} h1`);
    h.tabIndex = -1;
    h.focus({ preventScroll: false });
  }
  document.body.dataset.view = name;
  document.body.dataset.ready = 'true';
}

async function start() {
  ctx.cities = await loadCities();
  const select = document.getElementById('city');
  for (const c of ctx.cities) select.append(el('option', { value: c.id }, c.name));
  const saved = savedCity();
  ctx.city = ctx.cities.find((c) => c.id === saved) || ctx.cities[0];
  select.value = ctx.city.id;
  select.addEventListener('change', async () => {
    ctx.city = ctx.cities.find((c) => c.id === select.value) || ctx.cities[0];
    saveCity(ctx.city.id);
    for (const name of started) {
      try { await VIEWS[name].cityChanged?.(ctx); } catch (e) { ctx.error(e.message); }
    }
  });
  // The live feed runs in the background on every page, so "My alerts"
  // counts new alerts wherever the user is.
  started.add('live');
  await liveView.init(ctx);
  // The skip link moves focus without touching the URL (the hash is the view).
  document.querySelector('.skip').addEventListener('click', (e) => {
    e.preventDefault();
    document.getElementById('main').focus();
  });
  window.addEventListener('hashchange', route);
  await route();
}

start().catch((e) => { console.warn(e); ctx.error(`The app could not start: ${e.message}`); });
