// Report an incident: a pin on the map (click, drag, "use my location",
// the map's centre, or typed coordinates), category, description and time.
// POST /v1/reports with an Idempotency-Key (a double click or a retry files
// one report), then the report's status until the processor has published
// it. The API's error is shown next to the field it names.
import { api, ApiError } from './api.js';
import { createMap, setCity } from './basemap.js';
import { el, CATEGORIES, categoryName, dateTimeInput } from './format.js';

const L = () => window.L;
const FIELDS = ['category', 'description', 'lat', 'lon', 'occurred_at', 'address', 'contact'];
let ctx, handle, pin = null, form, busy = false;

export async function init(c) {
  ctx = c;
  form = document.getElementById('report-form');
  const select = form.elements.category;
  let services = null;
  try { services = await api.get('/open311/v2/services.json'); } catch { /* fall back to the built-in list */ }
  const codes = Array.isArray(services) && services.length
    ? services.map((s) => [s.service_code, categoryName(s.service_code)])
    : CATEGORIES.map(([k, v]) => [k, v]);
  select.append(el('option', { value: '' }, 'Choose…'), ...codes.map(([k, v]) => el('option', { value: k }, v)));
  form.elements.occurred_at.value = dateTimeInput(new Date());

  handle = await createMap(document.getElementById('map-report'), ctx.city);
  ctx.maps.report = handle.map;
  handle.map.on('click', (e) => placePin(e.latlng.lat, e.latlng.lng, false));
  for (const n of ['lat', 'lon']) form.elements[n].addEventListener('change', fromInputs);
  document.getElementById('report-center').addEventListener('click', () => {
    const c = handle.map.getCenter();
    placePin(c.lat, c.lng, false);
  });
  document.getElementById('report-locate').addEventListener('click', locate);
  form.addEventListener('submit', submit);
}

export function show() {
  handle.map.invalidateSize();
}

export async function cityChanged(c) { await setCity(handle, c.city); }

function round(x) { return Math.round(x * 1e6) / 1e6; }

function placePin(lat, lon, pan) {
  form.elements.lat.value = round(lat);
  form.elements.lon.value = round(lon);
  setError('lat', ''); setError('lon', '');
  if (!pin) {
    pin = L().marker([lat, lon], { draggable: true, keyboard: true, title: 'Report location (drag to move)', alt: 'Report location' }).addTo(handle.map);
    pin.on('dragend', () => { const p = pin.getLatLng(); form.elements.lat.value = round(p.lat); form.elements.lon.value = round(p.lng); });
  } else {
    pin.setLatLng([lat, lon]);
  }
  if (pan) handle.map.setView([lat, lon], Math.max(handle.map.getZoom(), 15));
}

function fromInputs() {
  const lat = Number(form.elements.lat.value), lon = Number(form.elements.lon.value);
  if (form.elements.lat.value !== '' && form.elements.lon.value !== '' && Number.isFinite(lat) && Number.isFinite(lon) &&
      Math.abs(lat) <= 90 && Math.abs(lon) <= 180) {
    placePin(lat, lon, true);
  }
}

function locate() {
  const status = document.getElementById('report-status');
  if (!navigator.geolocation) { status.textContent = 'This browser cannot tell your location; place the pin or type the coordinates.'; return; }
  status.textContent = 'Finding your location…';
  navigator.geolocation.getCurrentPosition(
    (p) => { status.textContent = 'Pin placed at your location.'; placePin(p.coords.latitude, p.coords.longitude, true); },
    (e) => { status.textContent = `Your location is not available (${e.message || 'denied'}); place the pin or type the coordinates.`; },
    { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
}

function setError(field, message) {
  const p = document.getElementById(`err-${field}`);
  if (p) p.textContent = message;
  const input = form.elements[field];
  if (input) { if (message) input.setAttribute('aria-invalid', 'true'); else input.removeAttribute('aria-invalid'); }
}

function clearErrors() {
  for (const f of FIELDS) setError(f, '');
  document.getElementById('err-form').textContent = '';
}

// Checks the browser can make before asking the server, which checks again
// (and is the one whose messages count).
function localErrors(body) {
  const errs = {};
  if (!body.category) errs.category = 'Choose a category.';
  if (!body.description.trim()) errs.description = 'Describe what happened.';
  if (form.elements.lat.value === '' || !Number.isFinite(body.lat)) errs.lat = 'Place the pin on the map or type the latitude.';
  else if (Math.abs(body.lat) > 90) errs.lat = 'Latitude is between -90 and 90.';
  if (form.elements.lon.value === '' || !Number.isFinite(body.lon)) errs.lon = 'Place the pin on the map or type the longitude.';
  else if (Math.abs(body.lon) > 180) errs.lon = 'Longitude is between -180 and 180.';
  if (!body.occurred_at) errs.occurred_at = 'Say when it happened.';
  return errs;
}

async function submit(e) {
  e.preventDefault();
  if (busy) return;
  clearErrors();
  const f = form.elements;
  const when = f.occurred_at.value ? new Date(f.occurred_at.value) : null;
  const body = {
    category: f.category.value,
    description: f.description.value,
    lat: Number(f.lat.value),
    lon: Number(f.lon.value),
    occurred_at: when && !Number.isNaN(when.getTime()) ? when.toISOString() : '',
  };
  if (f.address.value.trim()) body.address = f.address.value.trim();
  if (f.contact.value.trim()) body.contact = f.contact.value.trim();
  const errs = localErrors(body);
  if (Object.keys(errs).length) {
    for (const [k, v] of Object.entries(errs)) setError(k, v);
    form.elements[Object.keys(errs)[0]].focus();
    return;
  }
  const status = document.getElementById('report-status');
  const button = form.querySelector('button[type=submit]');
  busy = true; button.disabled = true;
  status.replaceChildren('Sending…');
  try {
    const key = form.dataset.idempotencyKey || (form.dataset.idempotencyKey = crypto.randomUUID());
    const res = await api.post('/v1/reports', body, { headers: { 'Idempotency-Key': key } });
    delete form.dataset.idempotencyKey;
    status.replaceChildren(el('p', { class: 'ok' }, 'Thank you: your report was received.'),
      el('p', { 'data-report-status': res.status }, `Status: ${res.status === 'accepted' ? 'accepted, being checked' : res.status}.`));
    f.description.value = '';
    follow(res.id, body, status);
  } catch (err) {
    if (err instanceof ApiError && err.field && FIELDS.includes(err.field)) {
      setError(err.field, err.message);
      form.elements[err.field].focus();
    } else {
      const retry = err instanceof ApiError && err.status === 429 ? ' Too many reports from here just now; try again in a minute.' : '';
      document.getElementById('err-form').textContent = (err.message || 'The report could not be sent.') + retry;
    }
    status.replaceChildren();
    // A network error keeps the idempotency key, so "Send" again retries
    // the same report instead of filing a second one.
    if (!(err instanceof ApiError && err.status === 0)) delete form.dataset.idempotencyKey;
  } finally {
    busy = false; button.disabled = false;
  }
}

// Polls for the report until the processor has stored it (a second or
// two), then links to it on the map. It asks for reports near the pin (an
// answer of 200 even while empty) rather than GET /v1/reports/{id}, whose
// 404s until then would read as errors in the browser's console.
// A report the processor links to an earlier one of the same incident (same
// category, within its dedupe radius, 150 m, and 30 minutes) is stored but
// left out of lists and the map's dots; it is found in the earlier report's
// `duplicates` instead: the roots of its category near the pin and within
// the window are in the same answer, and the nearest few are asked on each
// poll (the earlier report is usually there before this one is stored).
const DEDUPE_REACH_M = 200;
const DEDUPE_WINDOW_MS = 31 * 60000;

async function follow(id, body, status) {
  const deadline = Date.now() + 120000;
  const at = new Date(body.occurred_at).getTime();
  const since = new Date(at - DEDUPE_WINDOW_MS).toISOString();
  const mapLink = `#/map?lat=${body.lat}&lon=${body.lon}&z=17&report=${encodeURIComponent(id)}`;
  let wait = 500;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, wait));
    wait = Math.min(wait * 1.5, 4000);
    let page;
    try {
      page = await api.get('/v1/reports', { query: { near: `${body.lat},${body.lon}`, radius: DEDUPE_REACH_M, since, category: body.category, limit: 100 } });
    } catch (e) {
      break;
    }
    const reports = page.reports || [];
    if (reports.some((r) => r.id === id)) {
      status.append(el('p', { 'data-report-status': 'published' }, 'Published: it is on the map now. ',
        el('a', { href: mapLink }, 'See it on the map')));
      return;
    }
    const roots = reports.filter((r) => Math.abs(new Date(r.occurred_at).getTime() - at) <= DEDUPE_WINDOW_MS)
      .sort((a, b) => (a.distance_m ?? 0) - (b.distance_m ?? 0)).slice(0, 5);
    for (const r of roots) {
      let root;
      try { root = await api.get(`/v1/reports/${encodeURIComponent(r.id)}`); } catch { continue; }
      if ((root.duplicates || []).some((d) => d.id === id)) {
        status.append(el('p', { 'data-report-status': 'published', 'data-duplicate-of': r.id },
          'Published: someone reported the same incident a little earlier, so your report was added to theirs. ',
          el('a', { href: mapLink }, 'See both on the map')));
        return;
      }
    }
  }
  status.append(el('p', {}, 'It will show on the map once it has been checked.'));
}
