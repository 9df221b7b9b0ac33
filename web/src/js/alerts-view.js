// Get alerts: an area (a circle on the map with a 50 m–20 km radius, a
// neighbourhood from the list or the map, or a drawn polygon), categories,
// minimum severity, quiet hours and a maximum per hour. The token comes back
// once; it is shown and kept in localStorage (store.js), which is how this
// page can later change, pause or delete the subscription.
import { api, ApiError } from './api.js';
import { createMap, setCity } from './basemap.js';
import { categoryPicker } from './categories.js';
import { el, categoryName, distance, placeName } from './format.js';
import { subscriptions } from './store.js';
import { serverCities } from './cities.js';

const L = () => window.L;
const MIN_R = 50, MAX_R = 20000;
// The slider is logarithmic: 0..1000 → 50 m..20 km, so both a street and a
// district are easy to pick.
export const sliderToRadius = (v) => Math.round(MIN_R * Math.pow(MAX_R / MIN_R, v / 1000));
export const radiusToSlider = (r) => Math.round(1000 * Math.log(Math.min(MAX_R, Math.max(MIN_R, r)) / MIN_R) / Math.log(MAX_R / MIN_R));

let ctx, handle, form, cats, shape = null, centreMarker = null, corners = [], editing = null, chosenLayer = null;

export async function init(c) {
  ctx = c;
  form = document.getElementById('sub-form');
  cats = categoryPicker(form.querySelector('.multi'), { name: 'sub-category' });
  handle = await createMap(document.getElementById('map-alerts'), ctx.city, { onNeighbourhood: pickNeighbourhood });
  ctx.maps.alerts = handle.map;
  handle.map.on('click', onMapClick);
  for (const r of form.querySelectorAll('input[name=area]')) r.addEventListener('change', areaChanged);
  const radius = form.elements.radius;
  radius.addEventListener('input', () => { showRadius(); drawCircle(); });
  for (const n of ['lat', 'lon']) form.elements[n].addEventListener('change', () => drawCircle(true));
  document.getElementById('sub-center').addEventListener('click', () => { const m = handle.map.getCenter(); setCentre(m.lat, m.lng); });
  document.getElementById('sub-locate').addEventListener('click', locate);
  document.getElementById('poly-add').addEventListener('click', () => { const m = handle.map.getCenter(); addCorner(m.lat, m.lng); });
  document.getElementById('poly-undo').addEventListener('click', () => { corners.pop(); drawPolygon(); });
  document.getElementById('poly-clear').addEventListener('click', () => { corners = []; drawPolygon(); });
  form.elements.neighbourhood.addEventListener('change', () => highlightNeighbourhood(form.elements.neighbourhood.value));
  document.getElementById('sub-cancel-edit').addEventListener('click', () => stopEditing());
  form.addEventListener('submit', submit);
  fillNeighbourhoods();
  showRadius();
  areaChanged();
  window.addEventListener('subscriptions-changed', renderList);
}

export async function show() {
  handle.map.invalidateSize();
  await renderList();
}

export async function cityChanged(c) {
  await setCity(handle, c.city, { onNeighbourhood: pickNeighbourhood });
  fillNeighbourhoods();
}

const areaType = () => form.querySelector('input[name=area]:checked').value;

function areaChanged() {
  const t = areaType();
  form.querySelector('.area-circle').hidden = t !== 'circle';
  form.querySelector('.area-neighbourhood').hidden = t !== 'neighbourhood';
  form.querySelector('.area-polygon').hidden = t !== 'polygon';
  document.getElementById('area-hint').textContent = {
    circle: 'Click or tap the map to put the centre of the circle, or use the buttons or coordinates below; then choose the radius.',
    neighbourhood: 'Pick the neighbourhood from the list, or click it on the map.',
    polygon: 'Click or tap the map at each corner of the area (at least three), or move the map and add its centre as a corner.',
  }[t];
  if (shape) { shape.remove(); shape = null; }
  if (centreMarker) { centreMarker.remove(); centreMarker = null; }
  if (t === 'circle') drawCircle();
  if (t === 'polygon') drawPolygon();
  if (t === 'neighbourhood') highlightNeighbourhood(form.elements.neighbourhood.value);
  else highlightNeighbourhood(null);
}

function fillNeighbourhoods() {
  const select = form.elements.neighbourhood;
  const names = [...(ctx.city.neighbourhoods || [])];
  const fill = (list) => select.replaceChildren(el('option', { value: '' }, 'Choose…'),
    ...[...new Set(list)].sort().map((n) => el('option', { value: n }, placeName(n))));
  fill(names);
  if (!names.length && handle.boundaryLayer) {
    const fromMap = [];
    handle.boundaryLayer.eachLayer((l) => { const p = l.feature && l.feature.properties; if (p && p.name) fromMap.push(p.name); });
    fill(fromMap);
  }
}

function onMapClick(e) {
  const t = areaType();
  if (t === 'circle') setCentre(e.latlng.lat, e.latlng.lng);
  else if (t === 'polygon') addCorner(e.latlng.lat, e.latlng.lng);
}

function pickNeighbourhood(name) {
  if (areaType() !== 'neighbourhood') return;
  form.elements.neighbourhood.value = name;
  highlightNeighbourhood(name);
}

function highlightNeighbourhood(name) {
  if (chosenLayer) { handle.boundaryLayer && handle.boundaryLayer.resetStyle(chosenLayer); chosenLayer = null; }
  if (!name || !handle.boundaryLayer) return;
  handle.boundaryLayer.eachLayer((l) => {
    const p = l.feature && l.feature.properties;
    if (p && p.name === name) {
      chosenLayer = l;
      l.setStyle({ fillColor: '#0b5cad', fillOpacity: 0.35, color: '#08437f', weight: 2 });
    }
  });
}

const round = (x) => Math.round(x * 1e6) / 1e6;

function setCentre(lat, lon) {
  form.elements.lat.value = round(lat);
  form.elements.lon.value = round(lon);
  drawCircle();
}

function showRadius() {
  document.getElementById('radius-out').textContent = distance(sliderToRadius(Number(form.elements.radius.value)));
  form.elements.radius.setAttribute('aria-valuetext', document.getElementById('radius-out').textContent);
}

function centre() {
  const lat = Number(form.elements.lat.value), lon = Number(form.elements.lon.value);
  if (form.elements.lat.value === '' || form.elements.lon.value === '' || !Number.isFinite(lat) || !Number.isFinite(lon)) return null;
  if (Math.abs(lat) > 90 || Math.abs(lon) > 180) return null;
  return [lat, lon];
}

function drawCircle(pan = false) {
  if (areaType() !== 'circle') return;
  const c = centre();
  const r = sliderToRadius(Number(form.elements.radius.value));
  if (!c) { if (shape) { shape.remove(); shape = null; } return; }
  if (!shape) shape = L().circle(c, { radius: r, color: '#0b5cad', weight: 2, fillOpacity: 0.15, interactive: false }).addTo(handle.map);
  else { shape.setLatLng(c); shape.setRadius(r); }
  if (!centreMarker) {
    centreMarker = L().marker(c, { draggable: true, keyboard: true, title: 'Centre of the alert area (drag to move)', alt: 'Centre of the alert area' }).addTo(handle.map);
    centreMarker.on('drag', () => { const p = centreMarker.getLatLng(); shape && shape.setLatLng(p); });
    centreMarker.on('dragend', () => { const p = centreMarker.getLatLng(); setCentre(p.lat, p.lng); });
  } else centreMarker.setLatLng(c);
  if (pan) handle.map.fitBounds(shape.getBounds(), { animate: false, maxZoom: 16 });
}

function addCorner(lat, lon) {
  corners.push([round(lat), round(lon)]);
  drawPolygon();
}

function drawPolygon() {
  if (shape) { shape.remove(); shape = null; }
  const n = corners.length;
  document.getElementById('poly-count').textContent = n === 0 ? 'No corners yet.' : `${n} corner${n === 1 ? '' : 's'}${n < 3 ? ' (at least 3 needed)' : ''}.`;
  if (!n || areaType() !== 'polygon') return;
  shape = (n < 3 ? L().polyline(corners, { color: '#0b5cad', weight: 2, dashArray: '4 4' })
    : L().polygon(corners, { color: '#0b5cad', weight: 2, fillOpacity: 0.15 })).addTo(handle.map);
}

function locate() {
  if (!navigator.geolocation) { document.getElementById('err-sub-form').textContent = 'This browser cannot tell your location.'; return; }
  navigator.geolocation.getCurrentPosition(
    (p) => { setCentre(p.coords.latitude, p.coords.longitude); drawCircle(true); },
    (e) => { document.getElementById('err-sub-form').textContent = `Your location is not available (${e.message || 'denied'}).`; },
    { timeout: 10000, maximumAge: 60000 });
}

// ---- the request ----------------------------------------------------------
function area() {
  const t = areaType();
  if (t === 'circle') {
    const c = centre();
    return { type: 'circle', lat: c ? c[0] : null, lon: c ? c[1] : null, radius_m: sliderToRadius(Number(form.elements.radius.value)) };
  }
  // A neighbourhood is named within its city (names repeat across cities);
  // only a server that lists its cities knows the city ids.
  if (t === 'neighbourhood') {
    const a = { type: 'neighbourhood', name: form.elements.neighbourhood.value };
    if (serverCities) a.city = ctx.city.id;
    return a;
  }
  const ring = corners.map(([lat, lon]) => [lon, lat]);
  if (ring.length) ring.push(ring[0]);
  return { type: 'polygon', coordinates: [ring] };
}

function requestBody() {
  const f = form.elements;
  const body = {
    area: area(),
    categories: cats.values(),
    min_severity: Number(f.min_severity.value),
    time_zone: ctx.city.zone,
    quiet_hours: f.quiet_start.value && f.quiet_end.value ? { start: f.quiet_start.value, end: f.quiet_end.value } : null,
    max_per_hour: f.max_per_hour.value === '' ? null : Number(f.max_per_hour.value),
  };
  return body;
}

const ERROR_SLOTS = ['area.lat', 'area.lon', 'area.radius_m', 'area.name', 'area.coordinates', 'area', 'categories',
  'min_severity', 'quiet_hours', 'max_per_hour'];
function errorSlot(field) {
  if (!field) return 'sub-form';
  for (const s of ERROR_SLOTS) if (field === s || field.startsWith(s + '[') || field.startsWith(s + '.')) return s.replace('.', '-');
  return 'sub-form';
}
function clearErrors() {
  for (const p of form.querySelectorAll('.field-error')) p.textContent = '';
  for (const i of form.querySelectorAll('[aria-invalid]')) i.removeAttribute('aria-invalid');
}
function showError(field, message) {
  const slot = errorSlot(field);
  const p = document.getElementById(`err-${slot}`);
  p.textContent = message;
  const input = { 'area-lat': 'lat', 'area-lon': 'lon', 'area-radius_m': 'radius', 'area-name': 'neighbourhood',
    min_severity: 'min_severity', quiet_hours: 'quiet_start', max_per_hour: 'max_per_hour' }[slot];
  if (input) { form.elements[input].setAttribute('aria-invalid', 'true'); form.elements[input].focus(); }
  else if (slot === 'area-coordinates') document.getElementById('poly-add').focus();
}

function localCheck(body) {
  const a = body.area;
  if (a.type === 'circle' && (a.lat == null || a.lon == null)) return ['area.lat', 'Put the centre on the map, use your location, or type the coordinates.'];
  if (a.type === 'neighbourhood' && !a.name) return ['area.name', 'Choose a neighbourhood.'];
  if (a.type === 'polygon' && corners.length < 3) return ['area.coordinates', 'The area needs at least three corners.'];
  if ((form.elements.quiet_start.value === '') !== (form.elements.quiet_end.value === '')) return ['quiet_hours', 'Give both the start and the end of the quiet hours, or neither.'];
  return null;
}

async function submit(e) {
  e.preventDefault();
  clearErrors();
  const body = requestBody();
  const local = localCheck(body);
  if (local) { showError(...local); return; }
  const button = document.getElementById('sub-submit');
  button.disabled = true;
  try {
    if (editing) {
      const s = subscriptions.get(editing);
      await api.patch(`/v1/subscriptions/${editing}`, body, { token: s.token });
      subscriptions.update(editing, { label: describe(body) });
      stopEditing();
      document.getElementById('token-box').hidden = true;
    } else {
      if (body.quiet_hours === null) delete body.quiet_hours;
      if (body.max_per_hour === null) delete body.max_per_hour;
      const res = await api.post('/v1/subscriptions', body);
      subscriptions.add({ id: res.id, token: res.token, label: describe(body), city: ctx.city.id });
      document.getElementById('token-value').textContent = res.token;
      document.getElementById('token-link').textContent =
        `${location.origin}/#/live?add=${res.id}:${encodeURIComponent(res.token)}&name=${encodeURIComponent(describe(body))}`;
      const box = document.getElementById('token-box');
      box.hidden = false;
      box.dataset.id = res.id;
      box.tabIndex = -1;
      box.focus();
    }
  } catch (err) {
    if (err instanceof ApiError) showError(err.field, err.message);
    else showError(null, err.message);
  } finally {
    button.disabled = false;
  }
}

export function describe(s) {
  const a = s.area || {};
  let where = 'Area';
  if (a.type === 'circle') where = `${distance(a.radius_m)} around ${Number(a.lat).toFixed(4)}, ${Number(a.lon).toFixed(4)}`;
  else if (a.type === 'neighbourhood') where = placeName(a.name);
  else if (a.type === 'polygon') where = `Drawn area (${Math.max(0, ((a.coordinates || [[]])[0].length || 1) - 1)} corners)`;
  return where;
}

function describeFilters(s) {
  const parts = [];
  parts.push(s.categories && s.categories.length ? s.categories.map(categoryName).join(', ') : 'All categories');
  parts.push(`severity ${s.min_severity || 1}+`);
  if (s.quiet_hours) parts.push(`quiet ${s.quiet_hours.start}–${s.quiet_hours.end}`);
  if (s.max_per_hour) parts.push(`at most ${s.max_per_hour} an hour`);
  return parts.join(' · ');
}

// After a re-render, focus goes back to the control the user pressed
// (the list is rebuilt, so the old element is gone): {id, action}.
let pendingFocus = null;
// Renders overlap (each change event starts one): only the newest is shown.
let renderGen = 0;

async function renderList() {
  const gen = ++renderGen;
  const list = document.getElementById('subs-list');
  const mine = subscriptions.all();
  document.getElementById('subs-empty').hidden = mine.length > 0;
  const items = await Promise.all(mine.map(async (s) => {
    let remote = null, gone = false;
    try { remote = await api.get(`/v1/subscriptions/${s.id}`, { token: s.token }); } catch (e) {
      gone = e instanceof ApiError && [401, 403, 404].includes(e.status);
    }
    // The server's pause is the truth (it may have been set on another
    // device); this browser's copy only stops the live feed meanwhile.
    const paused = remote ? remote.paused === true : !!s.paused;
    if (remote && paused !== !!s.paused) subscriptions.update(s.id, { paused });
    const title = remote ? describe(remote) : s.label || 'Subscription';
    const li = el('li', { dataset: { id: s.id, paused: String(paused) } },
      el('h3', {}, title),
      el('p', {}, remote ? describeFilters(remote) : gone ? 'This subscription no longer exists on the server.' : 'Could not be read just now.'),
      el('p', { class: 'sub-state' }, paused ? 'Paused: no alerts and no digest until you resume. Nothing is sent later for the time paused.' : 'Alerts on.'));
    const row = el('div', { class: 'row' });
    if (remote) {
      row.append(
        el('button', { type: 'button', class: 'secondary', 'data-action': paused ? 'resume' : 'pause', 'aria-label': `${paused ? 'Resume' : 'Pause'} alerts for ${title}`,
          onclick: (e) => setPaused(s.id, !paused, e.currentTarget) }, paused ? 'Resume' : 'Pause'),
        el('button', { type: 'button', class: 'secondary', 'data-action': 'change', 'aria-label': `Change alerts for ${title}`, onclick: () => startEditing(s.id, remote) }, 'Change'));
    }
    row.append(el('button', { type: 'button', class: 'danger', 'data-action': gone ? 'forget' : 'delete', 'aria-label': `${gone ? 'Forget' : 'Delete'} alerts for ${title}`,
      onclick: () => remove(s.id, gone) }, gone ? 'Forget' : 'Delete'));
    li.append(row);
    return li;
  }));
  if (gen !== renderGen) return;
  list.replaceChildren(...items);
  if (pendingFocus) {
    const b = list.querySelector(`li[data-id="${pendingFocus.id}"] button[data-action=${pendingFocus.action}]`);
    if (b) { b.focus(); pendingFocus = null; }
  }
}

// Pause or resume on the server (PATCH {"paused"}): the processor then
// sends this subscription nothing until it is resumed.
async function setPaused(id, paused, button) {
  const s = subscriptions.get(id);
  if (!s) return;
  button.disabled = true;
  try {
    const updated = await api.patch(`/v1/subscriptions/${id}`, { paused }, { token: s.token });
    pendingFocus = { id, action: updated.paused ? 'resume' : 'pause' };
    subscriptions.update(id, { paused: updated.paused === true });  // re-renders the list
  } catch (e) {
    button.disabled = false;
    ctx.error(e.message);
  }
}

async function remove(id, gone) {
  const s = subscriptions.get(id);
  if (!s) return;
  if (!gone) {
    try { await api.del(`/v1/subscriptions/${id}`, { token: s.token }); } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) { ctx.error(e.message); return; }
    }
  }
  subscriptions.remove(id);
  document.getElementById('h-alerts').focus();
}

function startEditing(id, remote) {
  editing = id;
  const a = remote.area || {};
  const radio = form.querySelector(`input[name=area][value=${a.type}]`);
  if (radio) radio.checked = true;
  if (a.type === 'circle') {
    form.elements.lat.value = a.lat; form.elements.lon.value = a.lon;
    form.elements.radius.value = radiusToSlider(a.radius_m);
    showRadius();
  } else if (a.type === 'neighbourhood') {
    form.elements.neighbourhood.value = a.name;
  } else if (a.type === 'polygon') {
    const ring = (a.coordinates && a.coordinates[0]) || [];
    corners = ring.slice(0, -1).map(([lon, lat]) => [lat, lon]);
  }
  areaChanged();
  if (a.type === 'circle') drawCircle(true);
  if (shape && a.type === 'polygon') handle.map.fitBounds(shape.getBounds(), { animate: false });
  cats.set(remote.categories || []);
  form.elements.min_severity.value = String(remote.min_severity || 1);
  form.elements.quiet_start.value = remote.quiet_hours ? remote.quiet_hours.start : '';
  form.elements.quiet_end.value = remote.quiet_hours ? remote.quiet_hours.end : '';
  form.elements.max_per_hour.value = remote.max_per_hour || '';
  document.getElementById('sub-submit').textContent = 'Save changes';
  document.getElementById('sub-cancel-edit').hidden = false;
  document.getElementById('h-alerts').scrollIntoView();
  form.querySelector('input[name=area]:checked').focus();
}

function stopEditing() {
  editing = null;
  document.getElementById('sub-submit').textContent = 'Get alerts';
  document.getElementById('sub-cancel-edit').hidden = true;
}
