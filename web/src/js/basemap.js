// A Leaflet map whose base layer needs no tile server: the city's
// neighbourhood boundaries (GET /v1/cities/{id}/boundaries) drawn as the
// map. A tile layer is added only when the server configures one
// (GET /v1/web-config tile_url), and then it comes from that URL only.
import { loadBoundaries, loadWebConfig } from './cities.js';
import { placeName } from './format.js';

const L = () => window.L;

export function boundsOf(bbox) {
  const [w, s, e, n] = bbox;
  return L().latLngBounds([s, w], [n, e]);
}

export async function createMap(container, city, { onNeighbourhood } = {}) {
  const map = L().map(container, {
    zoomSnap: 0.5,
    keyboard: true,
    attributionControl: true,
    // SVG: each report dot is an element (focus rings, tests, print).
    preferCanvas: false,
    worldCopyJump: false,
  });
  map.attributionControl.setPrefix('');
  const handle = { map, boundaryLayer: null, city: null };
  const config = await loadWebConfig();
  if (config.tile_url) {
    L().tileLayer(config.tile_url, { attribution: config.tile_attribution || '', maxZoom: 19 }).addTo(map);
  }
  handle.hasTiles = Boolean(config.tile_url);
  await setCity(handle, city, { onNeighbourhood });
  return handle;
}

export async function setCity(handle, city, { onNeighbourhood, keepView = false } = {}) {
  const { map } = handle;
  handle.city = city;
  if (!keepView) map.fitBounds(boundsOf(city.bbox), { animate: false });
  if (handle.boundaryLayer) { handle.boundaryLayer.remove(); handle.boundaryLayer = null; }
  const geo = await loadBoundaries(city.id);
  if (handle.city !== city) return handle;
  if (geo && geo.features) {
    handle.boundaryLayer = L().geoJSON(geo, {
      interactive: Boolean(onNeighbourhood),
      style: () => ({
        color: '#5d6f83', weight: 1, opacity: 0.9,
        fillColor: handle.hasTiles ? '#ffffff' : '#fbfcfd', fillOpacity: handle.hasTiles ? 0.05 : 1,
      }),
      onEachFeature: (f, layer) => {
        const name = f.properties && (f.properties.name || f.properties.community);
        if (name) layer.bindTooltip(placeName(name), { sticky: true, direction: 'top', opacity: 0.9 });
        if (onNeighbourhood && name) layer.on('click', () => onNeighbourhood(name));
      },
    }).addTo(map);
    handle.boundaryLayer.bringToBack();
  }
  map.attributionControl.addAttribution(`Boundaries: ${city.name}`);
  return handle;
}

// The visible area as the API's bbox parameter (w,s,e,n), clamped to the
// world and rounded so that repeated pans hit the same cache entries.
// The view's bbox for the reports and heat-map requests, widened outwards to
// a grid whose step is a power of two of a degree, between an eighth and a
// quarter of the view's larger side. Visitors looking at about the same
// place at about the same zoom then ask the same question, which the API
// answers from its short answer cache (as map tile caches share tiles).
export function bboxParam(map) {
  const b = map.getBounds();
  const span = Math.max(b.getEast() - b.getWest(), b.getNorth() - b.getSouth(), 1e-4);
  const step = Math.pow(2, Math.floor(Math.log2(span / 4)));
  const down = (x) => Math.floor(x / step) * step, up = (x) => Math.ceil(x / step) * step;
  const r = (x) => Math.round(x * 1e6) / 1e6;
  const w = Math.max(-180, down(b.getWest())), e = Math.min(180, up(b.getEast()));
  const s = Math.max(-85, down(b.getSouth())), n = Math.min(85, up(b.getNorth()));
  return [r(w), r(s), r(e), r(n)].join(',');
}

// S2 level for the heat map so that a cell is at least `minPx` pixels wide
// on screen (an S2 cell edge is about 1.22 km at level 13 and halves with
// each level); returns the level and the cell's width in pixels.
export function heatLevel(map, minPx = 34) {
  const lat = map.getCenter().lat * Math.PI / 180;
  const metresPerPx = 156543.03 * Math.cos(lat) / Math.pow(2, map.getZoom());
  let level = 16;
  while (level > 6 && (1220 * Math.pow(2, 13 - level)) / metresPerPx < minPx) level -= 1;
  return level;
}
export function cellPixels(map, level) {
  const lat = map.getCenter().lat * Math.PI / 180;
  const metresPerPx = 156543.03 * Math.cos(lat) / Math.pow(2, map.getZoom());
  return (1220 * Math.pow(2, 13 - level)) / metresPerPx;
}
