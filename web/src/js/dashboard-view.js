// The public statistics dashboard: heat map, trend by month and by year,
// most affected neighbourhoods, categories, hour × weekday and the change
// from a year before, all on the same filters (city, neighbourhood, date
// range, categories) through GET /v1/stats/*. Each chart has a table of its
// numbers (the accessible view, and what the browser tests compare to SQL).
import { api, optional } from './api.js';
import { createMap, setCity, boundsOf } from './basemap.js';
import { serverCities } from './cities.js';
import { categoryPicker } from './categories.js';
import { el, categoryName, placeName, number, percent, dayStart, dayEnd, dateInput } from './format.js';

const L = () => window.L;
const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const BRAND = '#0b5cad', BRAND_LIGHT = '#9dbbe0', GREY = '#8a96a3';
const DAY_COLOURS = ['#0b5cad', '#2a7f62', '#8a6d00', '#c05600', '#7a0f45', '#5a3ea8', '#4a5563'];

let ctx, form, cats, heat, heatLayer, charts = {}, timer = null, seq = 0;

// Chart.js (about a third of the app's bytes) loads with the dashboard, not
// with the first page: a <script src> of the same origin, which the CSP
// allows.
function loadChartJs() {
  if (window.Chart) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = 'vendor/chart.js/chart.umd.min.js';
    s.onload = () => resolve();
    s.onerror = () => reject(new Error('The chart library could not be loaded.'));
    document.head.append(s);
  });
}

export async function init(c) {
  ctx = c;
  await loadChartJs();
  form = document.getElementById('dash-filters');
  cats = categoryPicker(form.querySelector('.multi'), { name: 'dash-category', onChange: schedule });
  const to = new Date(), from = new Date();
  from.setFullYear(from.getFullYear() - 1);
  form.elements.from.value = dateInput(from);
  form.elements.to.value = dateInput(to);
  form.addEventListener('change', (e) => { if (e.target.name !== 'dash-category') schedule(); });
  form.addEventListener('submit', (e) => e.preventDefault());
  fillNeighbourhoods();
  window.Chart.defaults.animation = false;
  window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  window.Chart.defaults.color = '#1b2430';
  window.Chart.defaults.maintainAspectRatio = false;
  heat = await createMap(document.getElementById('map-heat'), ctx.city);
  heat.map.keyboard.disable();
  heatLayer = L().layerGroup().addTo(heat.map);
  ctx.maps.heat = heat.map;
}

export async function show(c, params) {
  heat.map.invalidateSize();
  if (params && params.get('from')) form.elements.from.value = params.get('from');
  if (params && params.get('to')) form.elements.to.value = params.get('to');
  await refresh();
}

export async function cityChanged(c) {
  await setCity(heat, c.city);
  fillNeighbourhoods();
  schedule();
}

function fillNeighbourhoods() {
  const select = form.elements.neighbourhood;
  select.replaceChildren(el('option', { value: '' }, `All of ${ctx.city.name}`),
    ...[...(ctx.city.neighbourhoods || [])].sort().map((n) => el('option', { value: n }, placeName(n))));
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(() => refresh().catch((e) => ctx.error(e.message)), 150);
}

// The common filters of every /v1/stats/* request. A server that lists its
// cities filters by city= (and neighbourhood=); an older one by the city's
// bounding box.
export function filters() {
  const f = form.elements;
  const q = { since: dayStart(f.from.value), until: dayEnd(f.to.value), category: cats.values() };
  if (serverCities) {
    q.city = ctx.city.id;
    if (f.neighbourhood.value) q.neighbourhood = f.neighbourhood.value;
  } else {
    q.bbox = ctx.city.bbox.join(',');
  }
  return q;
}

async function refresh() {
  const mine = ++seq;
  const q = filters();
  ctx.dashboardQuery = q; // what the browser tests compare with SQL
  const get = (path, extra = {}) => optional(api.get(path, { query: { ...q, ...extra } }));
  const [heatmap, months, years, neigh, categories, hours, change] = await Promise.all([
    get('/v1/stats/heatmap', q.bbox ? {} : { bbox: ctx.city.bbox.join(',') }),
    get('/v1/stats/trends', { interval: 'month' }),
    get('/v1/stats/trends', { interval: 'year' }),
    get('/v1/stats/neighbourhoods', { limit: 10 }),
    get('/v1/stats/categories'),
    get('/v1/stats/hours'),
    get('/v1/stats/change'),
  ]);
  if (mine !== seq) return;
  const total = categories ? categories.categories.reduce((a, c) => a + c.count, 0) : null;
  document.getElementById('dash-total').textContent = total == null
    ? 'The statistics are not available on this server.'
    : `${number(total)} reports in ${q.neighbourhood ? placeName(q.neighbourhood) + ', ' : ''}${ctx.city.name} from ${form.elements.from.value} to ${form.elements.to.value}.`;
  drawHeat(heatmap);
  drawTrend('card-month', 'month', months && months.points, (p) => p.period);
  drawTrend('card-year', 'year', years && years.points, (p) => p.period);
  drawNeighbourhoods(neigh && neigh.neighbourhoods);
  drawCategories(categories && categories.categories);
  drawHours(hours && hours.cells);
  drawChange(change);
  document.body.dataset.dashboardLoaded = String(Date.now());
}

// ---- tables ---------------------------------------------------------------
// rows: arrays of cell texts; keys: each row's raw key (data-key, e.g. the
// category or month as the API names it) and values its raw numbers
// (data-values), so tests read the numbers without parsing the text.
function table(card, caption, head, rows, numeric, keys = [], values = []) {
  const wrap = document.querySelector(`#${card} [data-table]`);
  wrap.replaceChildren(el('table', {},
    el('caption', {}, caption),
    el('thead', {}, el('tr', {}, head.map((h, i) => el('th', { scope: 'col', class: numeric[i] ? 'num' : null }, h)))),
    el('tbody', {}, rows.map((r, ri) => el('tr', { 'data-key': keys[ri], 'data-values': values[ri] ? values[ri].join(',') : null }, r.map((v, i) => (i === 0
      ? el('th', { scope: 'row' }, v)
      : el('td', { class: numeric[i] ? 'num' : null }, v))))))));
  return wrap.firstChild;
}

function setEmpty(card, message) {
  const c = document.getElementById(card);
  c.dataset.total = '0';
  let p = c.querySelector('.empty');
  if (!p) { p = el('p', { class: 'empty' }); c.querySelector('h2').after(p); }
  p.textContent = message;
  p.hidden = false;
}
function clearEmpty(card, total) {
  const c = document.getElementById(card);
  c.dataset.total = String(total);
  const p = c.querySelector('.empty');
  if (p) p.hidden = true;
}

function chart(card, config) {
  if (charts[card]) charts[card].destroy();
  const canvas = document.querySelector(`#${card} canvas`);
  charts[card] = new window.Chart(canvas, config);
}

const NODATA = 'No reports for these filters.';
const UNAVAILABLE = 'Not available on this server.';

// ---- the charts -------------------------------------------------------------
function drawHeat(res) {
  heatLayer.clearLayers();
  heat.map.fitBounds(boundsOf(ctx.city.bbox), { animate: false });
  if (!res) { setEmpty('card-heatmap', UNAVAILABLE); table('card-heatmap', 'Reports per area', ['Area', 'Latitude', 'Longitude', 'Reports'], [], [0, 1, 1, 1]); return; }
  const cells = [...res.cells].sort((a, b) => b.count - a.count);
  const total = cells.reduce((a, c) => a + c.count, 0);
  if (!cells.length) setEmpty('card-heatmap', NODATA); else clearEmpty('card-heatmap', total);
  const max = Math.max(1, ...cells.map((c) => c.count));
  // Approximate S2 cell edge in metres at this level (level 13 ≈ 1.2 km).
  const edge = 1200 * Math.pow(2, 13 - (res.level || 13));
  for (const c of cells) {
    const t = Math.sqrt(c.count / max);
    L().circle([c.lat, c.lon], {
      radius: edge * 0.6, stroke: false, fillOpacity: 0.25 + 0.6 * t,
      fillColor: t > 0.66 ? '#b00020' : t > 0.33 ? '#e06d00' : '#f2b600', interactive: true,
    }).bindTooltip(`${number(c.count)} reports`).addTo(heatLayer);
  }
  table('card-heatmap', `Reports per area (S2 cells of level ${res.level}), most first`, ['Area (S2 cell)', 'Latitude', 'Longitude', 'Reports'],
    cells.map((c) => [c.cell, c.lat.toFixed(4), c.lon.toFixed(4), number(c.count)]), [0, 1, 1, 1],
    cells.map((c) => c.cell), cells.map((c) => [c.count]));
}

function drawTrend(card, unit, points, label) {
  if (!points) { setEmpty(card, UNAVAILABLE); table(card, '', [unit, 'Reports'], [], [0, 1]); if (charts[card]) charts[card].destroy(); return; }
  const total = points.reduce((a, p) => a + p.count, 0);
  if (!points.length) setEmpty(card, NODATA); else clearEmpty(card, total);
  chart(card, {
    type: unit === 'month' ? 'line' : 'bar',
    data: { labels: points.map(label), datasets: [{ label: 'Reports', data: points.map((p) => p.count), borderColor: BRAND, backgroundColor: unit === 'month' ? 'rgba(11,92,173,0.15)' : BRAND, fill: unit === 'month', tension: 0.25 }] },
    options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  table(card, `Reports per ${unit}`, [unit === 'month' ? 'Month' : 'Year', 'Reports'], points.map((p) => [label(p), number(p.count)]), [0, 1],
    points.map((p) => p.period), points.map((p) => [p.count]));
}

function drawNeighbourhoods(list) {
  const card = 'card-neighbourhoods';
  if (!list) { setEmpty(card, UNAVAILABLE); return; }
  const total = list.reduce((a, n) => a + n.count, 0);
  if (!list.length) setEmpty(card, NODATA); else clearEmpty(card, total);
  chart(card, {
    type: 'bar',
    data: { labels: list.map((n) => placeName(n.name)), datasets: [
      { label: 'This period', data: list.map((n) => n.count), backgroundColor: BRAND },
      { label: 'Period before', data: list.map((n) => n.previous), backgroundColor: BRAND_LIGHT },
    ] },
    options: { indexAxis: 'y', scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  table(card, 'Neighbourhoods with the most reports, and the same-length period just before', ['Neighbourhood', 'Reports', 'Period before', 'Change'],
    list.map((n) => [placeName(n.name), number(n.count), number(n.previous), percent(n.change)]), [0, 1, 1, 1],
    list.map((n) => n.name), list.map((n) => [n.count, n.previous]));
}

function drawCategories(list) {
  const card = 'card-categories';
  if (!list) { setEmpty(card, UNAVAILABLE); return; }
  const sorted = [...list].sort((a, b) => b.count - a.count);
  const total = sorted.reduce((a, c) => a + c.count, 0);
  if (!sorted.length) setEmpty(card, NODATA); else clearEmpty(card, total);
  chart(card, {
    type: 'bar',
    data: { labels: sorted.map((c) => categoryName(c.category)), datasets: [{ label: 'Reports', data: sorted.map((c) => c.count), backgroundColor: BRAND }] },
    options: { indexAxis: 'y', plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  table(card, 'Reports per category', ['Category', 'Reports', 'Share'],
    sorted.map((c) => [categoryName(c.category), number(c.count), total ? `${((100 * c.count) / total).toFixed(1)} %` : '–']), [0, 1, 1],
    sorted.map((c) => c.category), sorted.map((c) => [c.count]));
}

function drawHours(cells) {
  const card = 'card-hours';
  if (!cells) { setEmpty(card, UNAVAILABLE); return; }
  const grid = WEEKDAYS.map(() => new Array(24).fill(0));
  for (const c of cells) if (c.weekday >= 0 && c.weekday < 7 && c.hour >= 0 && c.hour < 24) grid[c.weekday][c.hour] += c.count;
  const total = cells.reduce((a, c) => a + c.count, 0);
  if (!total) setEmpty(card, NODATA); else clearEmpty(card, total);
  chart(card, {
    type: 'line',
    data: { labels: [...Array(24).keys()].map((h) => `${h}:00`), datasets: WEEKDAYS.map((d, i) => ({
      label: d, data: grid[i], borderColor: DAY_COLOURS[i], backgroundColor: DAY_COLOURS[i], pointRadius: 2, tension: 0.2, borderWidth: 2 })) },
    options: { interaction: { mode: 'index', intersect: false }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  // The table is itself a heat grid: darker cells have more reports.
  const max = Math.max(1, ...grid.flat());
  const t = table(card, 'Reports by weekday (rows) and hour of day (columns), in the city’s time zone',
    ['Weekday', ...[...Array(24).keys()].map(String), 'Total'],
    grid.map((row, i) => [WEEKDAYS[i], ...row.map(String), number(row.reduce((a, b) => a + b, 0))]), [0, ...new Array(25).fill(1)],
    WEEKDAYS.map((d, i) => String(i)), grid);
  for (const tr of t.tBodies[0].rows) {
    for (let h = 1; h <= 24; h++) {
      const cell = tr.cells[h];
      const v = Number(cell.textContent) / max;
      cell.style.backgroundColor = `rgba(11, 92, 173, ${(0.08 + 0.8 * v).toFixed(2)})`;
      if (v > 0.5) cell.style.color = '#ffffff';
    }
  }
}

function drawChange(res) {
  const card = 'card-change';
  if (!res) { setEmpty(card, UNAVAILABLE); return; }
  const list = [...res.categories].sort((a, b) => b.current - a.current);
  const total = list.reduce((a, c) => a + c.current, 0);
  if (!list.length) setEmpty(card, NODATA); else clearEmpty(card, total);
  const d = (s) => (s ? s.slice(0, 10) : '');
  document.getElementById('change-periods').textContent = res.current && res.previous
    ? `${d(res.current.since)} – ${d(res.current.until)} compared with ${d(res.previous.since)} – ${d(res.previous.until)}.` : '';
  chart(card, {
    type: 'bar',
    data: { labels: list.map((c) => categoryName(c.category)), datasets: [
      { label: 'This period', data: list.map((c) => c.current), backgroundColor: BRAND },
      { label: 'A year before', data: list.map((c) => c.previous), backgroundColor: GREY },
    ] },
    options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  table(card, 'Reports per category, this period and the same period a year before', ['Category', 'This period', 'A year before', 'Change'],
    list.map((c) => [categoryName(c.category), number(c.current), number(c.previous), percent(c.change)]), [0, 1, 1, 1],
    list.map((c) => c.category), list.map((c) => [c.current, c.previous]));
}
