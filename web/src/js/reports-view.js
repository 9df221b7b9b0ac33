// Map and list of recent reports for the visible area. Zoomed out, the map
// shows counts per S2 cell (GET /v1/stats/heatmap); zoomed in, each report.
// The list shows the same reports with the same filters and is the
// accessible alternative to the map; a report's detail opens from either.
import { api, optional } from './api.js';
import { createMap, setCity, bboxParam, heatLevel, cellPixels } from './basemap.js';
import { categoryPicker } from './categories.js';
import { serverCities } from './cities.js';
import {
  el, categoryName, sourceName, placeName, timeIn, ago, sevBadge, dayStart, dayEnd, number, dateInput,
} from './format.js';

const POINT_ZOOM = 14;     // from this zoom on, single reports instead of cells
const PAGE = 100;
const L = () => window.L;

let ctx, handle, layer, form, cats, state = { reports: [], cursor: null }, abort = null, timer = null;

export const SEV_COLOURS = ['#5a6b7d', '#8a6d00', '#c05600', '#c0182c', '#7a0f45'];

export async function init(c) {
  ctx = c;
  form = document.getElementById('map-filters');
  cats = categoryPicker(form.querySelector('.multi'), { onChange: schedule });
  const to = new Date(), from = new Date(Date.now() - 30 * 86400e3);
  form.elements.from.value = dateInput(from);
  form.elements.to.value = dateInput(to);
  form.addEventListener('change', (e) => {
    if (e.target.name === 'window') form.querySelector('.custom-range').hidden = e.target.value !== 'custom';
    if (e.target.name !== 'category') schedule();
  });
  form.addEventListener('submit', (e) => e.preventDefault());
  for (const b of form.querySelectorAll('[data-show]')) b.addEventListener('click', () => showAs(b.dataset.show));
  document.getElementById('list-more').addEventListener('click', more);
  document.getElementById('detail-close').addEventListener('click', closeDetail);
  document.getElementById('report-detail').addEventListener('keydown', (e) => { if (e.key === 'Escape') closeDetail(); });

  handle = await createMap(document.getElementById('map-reports'), ctx.city);
  layer = L().layerGroup().addTo(handle.map);
  ctx.maps.reports = handle.map;
  handle.map.on('moveend', schedule);
}

export async function show(c, params) {
  handle.map.invalidateSize();
  const lat = Number(params.get('lat')), lon = Number(params.get('lon'));
  if (params.has('lat') && Number.isFinite(lat) && Number.isFinite(lon)) {
    handle.map.setView([lat, lon], Number(params.get('z')) || 16, { animate: false });
  }
  await refresh();
  if (params.get('report')) openDetail(params.get('report'));
}

export function hide() { closeDetail(); }

export async function cityChanged(c) {
  await setCity(handle, c.city);
  schedule();
}

function showAs(which) {
  for (const b of form.querySelectorAll('[data-show]')) b.setAttribute('aria-pressed', String(b.dataset.show === which));
  const split = document.getElementById('map-split');
  split.classList.toggle('show-list', which === 'list');
  if (which === 'map') handle.map.invalidateSize();
}

function filters() {
  const f = form.elements;
  const q = { category: cats.values(), source: f.source.value };
  // The chosen city's reports only (a map near a city's edge also shows the
  // next one); a server without GET /v1/cities knows no city ids.
  if (serverCities) q.city = ctx.city.id;
  const w = f.window.value;
  if (w === 'custom') {
    q.since = dayStart(f.from.value);
    q.until = dayEnd(f.to.value);
  } else {
    const hours = { '24h': 24, '7d': 168, '30d': 720 }[w] || 168;
    // Whole minutes, so the same window asked by many visitors is one question.
    q.since = new Date(Math.floor((Date.now() - hours * 3600e3) / 60e3) * 60e3).toISOString();
  }
  return q;
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(() => refresh().catch((e) => ctx.error(e.message)), 200);
}

async function refresh() {
  if (abort) abort.abort();
  abort = new AbortController();
  const signal = abort.signal;
  const map = handle.map;
  const q = { ...filters(), bbox: bboxParam(map) };
  const zoomedOut = map.getZoom() < POINT_ZOOM;
  let page, heat = null;
  try {
    [page, heat] = await Promise.all([
      api.get('/v1/reports', { query: { ...q, limit: PAGE }, signal }),
      zoomedOut ? optional(api.get('/v1/stats/heatmap', { query: { ...q, level: heatLevel(map) }, signal })) : null,
    ]);
  } catch (e) {
    if (e.name === 'AbortError') return;
    throw e;
  }
  state = { reports: page.reports || [], cursor: page.next_cursor || null, query: q };
  drawMap(zoomedOut, heat);
  renderList(heat);
  // The first map with its data on screen (bench/web measures it).
  if (!document.body.dataset.reportsLoaded) performance.mark('safestream:first-map-render');
  document.body.dataset.reportsLoaded = String(Date.now());
}

async function more() {
  if (!state.cursor) return;
  const page = await api.get('/v1/reports', { query: { ...state.query, limit: PAGE, cursor: state.cursor } });
  state.reports.push(...(page.reports || []));
  state.cursor = page.next_cursor || null;
  if (handle.map.getZoom() >= POINT_ZOOM) drawMap(false, null);
  renderList(null);
}

function drawMap(zoomedOut, heat) {
  layer.clearLayers();
  const note = document.getElementById('map-note');
  if (zoomedOut && heat && heat.cells) {
    const max = Math.max(1, ...heat.cells.map((c) => c.count));
    const px = cellPixels(handle.map, heat.level);
    for (const c of heat.cells) drawCell(c.lat, c.lon, c.count, max, px);
    note.textContent = heat.cells.length ? 'Numbers are reports per area; zoom in to see each report.' : '';
    return;
  }
  if (zoomedOut) {
    // No heat-map endpoint: group the loaded reports on a screen grid.
    const groups = new Map();
    for (const r of state.reports) {
      if (r.lat == null) continue;
      const p = handle.map.latLngToLayerPoint([r.lat, r.lon]);
      const key = `${Math.floor(p.x / 60)}:${Math.floor(p.y / 60)}`;
      const g = groups.get(key) || { lat: 0, lon: 0, count: 0 };
      g.lat += r.lat; g.lon += r.lon; g.count += 1;
      groups.set(key, g);
    }
    const max = Math.max(1, ...[...groups.values()].map((g) => g.count));
    for (const g of groups.values()) drawCell(g.lat / g.count, g.lon / g.count, g.count, max, 60);
    note.textContent = groups.size ? 'Numbers are reports per area; zoom in to see each report.' : '';
    return;
  }
  note.textContent = state.reports.length ? 'Select a dot for the details.' : '';
  for (const r of state.reports) {
    if (r.lat == null || r.lon == null) continue;
    const sev = Math.min(5, Math.max(1, r.severity || 1));
    const m = L().circleMarker([r.lat, r.lon], {
      radius: 6 + sev, color: '#ffffff', weight: 2, fillColor: SEV_COLOURS[sev - 1], fillOpacity: 0.9,
      className: 'report-dot',
    });
    m.bindTooltip(`${categoryName(r.category)} · ${ago(r.occurred_at)}`);
    m.on('click', () => openDetail(r.id));
    m.addTo(layer);
    const path = m.getElement && m.getElement();
    if (path) path.dataset.id = r.id;
  }
}

// A count as a disc no wider than its cell (so neighbours do not overlap),
// larger for busier cells.
function drawCell(lat, lon, count, max, cellPx) {
  const top = Math.max(24, Math.min(52, cellPx * 0.92));
  const size = Math.round(Math.min(top, 22 + (top - 22) * Math.sqrt(count / max)));
  const label = el('div', { class: 'cell-icon' }, number(count));
  label.style.width = label.style.height = `${size}px`;
  const icon = L().divIcon({ html: label, className: 'cell-marker', iconSize: [size, size] });
  const m = L().marker([lat, lon], { icon, title: `${number(count)} reports here: zoom in`, keyboard: true });
  m.on('click', () => handle.map.setView([lat, lon], Math.max(handle.map.getZoom() + 2, POINT_ZOOM - 1)));
  m.on('keypress', (e) => { if (e.originalEvent.key === 'Enter') m.fire('click'); });
  m.addTo(layer);
}

function renderList(heat) {
  const list = document.getElementById('report-list');
  const zone = ctx.city.zone;
  list.replaceChildren(...state.reports.map((r) => el('li', { dataset: { id: r.id } },
    el('button', { type: 'button', class: 'item', onclick: () => openDetail(r.id) },
      el('span', { class: 'what' }, sevBadge(r.severity), categoryName(r.category)),
      el('span', { class: 'meta' }, [timeIn(r.occurred_at, r.time_zone || zone), r.neighbourhood ? ' · ' + placeName(r.neighbourhood) : '',
        r.address ? ' · ' + r.address : ''].join('')),
      r.description ? el('span', { class: 'text' }, r.description.length > 160 ? r.description.slice(0, 157) + '…' : r.description) : null))));
  const total = heat && heat.cells ? heat.cells.reduce((a, c) => a + c.count, 0) : null;
  const shown = state.reports.length;
  let text;
  if (shown === 0) text = 'No reports in this area for these filters. Zoom out or widen the time window.';
  else if (total != null && total > shown) text = `${number(total)} reports in this area; the newest ${number(shown)} are listed.`;
  else text = `${number(shown)} report${shown === 1 ? '' : 's'} in this area${state.cursor ? ' (newest first)' : ''}.`;
  document.getElementById('list-count').textContent = text;
  document.getElementById('list-more').hidden = !state.cursor;
}

// A ring around the report whose detail is open.
let ring = null;
function highlight(r) {
  if (ring) { ring.remove(); ring = null; }
  if (!r || r.lat == null) return;
  ring = L().circleMarker([r.lat, r.lon], { radius: 16, color: '#f2a900', weight: 4, fill: false, interactive: false, className: 'selected-ring' })
    .addTo(handle.map);
}

let lastFocus = null;
// `fromDetail`: opened through a duplicate's link inside the detail, so the
// focus still returns, on close, to where it was before the first detail.
async function openDetail(id, { fromDetail = false } = {}) {
  const box = document.getElementById('report-detail');
  if (!fromDetail || box.hidden) lastFocus = document.activeElement;
  let r = state.reports.find((x) => x.id === id);
  try { r = await api.get(`/v1/reports/${encodeURIComponent(id)}`); } catch (e) { if (!r) { ctx.error(e.message); return; } }
  const zone = r.time_zone || ctx.city.zone;
  document.getElementById('detail-title').replaceChildren(sevBadge(r.severity), ' ', categoryName(r.category));
  const rows = [
    ['Severity', `${r.severity} of 5`],
    ['When', timeIn(r.occurred_at, zone)],
    ['Reported', timeIn(r.reported_at, zone)],
    ['Address', r.address || '—'],
    ['Neighbourhood', r.neighbourhood ? placeName(r.neighbourhood) : '—'],
    ['Source', sourceName(r.source)],
  ];
  if (r.lat != null) rows.push(['Coordinates', `${r.lat.toFixed(5)}, ${r.lon.toFixed(5)}`]);
  document.getElementById('detail-fields').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
  document.getElementById('detail-desc').textContent = r.description || '';
  document.getElementById('detail-dups').replaceChildren(...duplicateLinks(r, zone));
  box.hidden = false;
  box.dataset.id = r.id;
  highlight(r);
  document.getElementById('detail-close').focus();
}

// The processor links near-identical reports of one incident (same
// category, close in place and time): a duplicate names its group's first
// report (duplicate_of), which lists the others (duplicates). Each is a link
// that opens that report's detail here.
function duplicateLinks(r, zone) {
  const dups = r.duplicate_of ? [r.duplicate_of] : (r.duplicates || []);
  if (!dups.length) return [];
  const label = (d) => {
    const parts = [d.source ? sourceName(d.source) : 'Report', d.occurred_at ? timeIn(d.occurred_at, zone) : ''];
    return parts.filter(Boolean).join(' · ');
  };
  const items = dups.map((d) => el('li', {}, el('a', {
    href: `#/map?report=${encodeURIComponent(d.id)}`,
    dataset: { reportId: d.id },
    onclick: (e) => {
      e.preventDefault();
      history.replaceState(null, '', `#/map?report=${encodeURIComponent(d.id)}`);
      openDetail(d.id, { fromDetail: true });
    },
  }, label(d))));
  if (r.duplicates_more) items.push(el('li', {}, 'and more'));
  return [
    el('h3', {}, r.duplicate_of ? 'Same incident, first reported as' : 'Same incident, also reported as'),
    el('ul', { class: 'dups' }, items),
  ];
}

function closeDetail() {
  const box = document.getElementById('report-detail');
  if (box.hidden) return;
  box.hidden = true;
  highlight(null);
  if (lastFocus && document.contains(lastFocus)) lastFocus.focus();
}
