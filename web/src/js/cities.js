// Cities, their neighbourhood boundaries and the page's configuration, each
// fetched once. Without GET /v1/cities (an older server) the app still works
// with a built-in list of the cities whose samples ship with SafeStream.
import { api, optional } from './api.js';

const FALLBACK = [
  { id: 'chicago', name: 'Chicago', zone: 'America/Chicago', bbox: [-87.94, 41.64, -87.52, 42.03], neighbourhoods: [] },
  { id: 'austin', name: 'Austin', zone: 'America/Chicago', bbox: [-97.94, 30.1, -97.56, 30.52], neighbourhoods: [] },
];

let citiesPromise = null;
let configPromise = null;
const boundaries = new Map();

// True once GET /v1/cities answered: the server knows its cities, so the
// statistics can filter by city= (else by the city's bounding box).
export let serverCities = false;

export function loadCities() {
  if (!citiesPromise) {
    citiesPromise = optional(api.get('/v1/cities')).then((r) => {
      serverCities = Boolean(r && r.cities && r.cities.length);
      return serverCities ? r.cities : FALLBACK;
    });
  }
  return citiesPromise;
}

export function loadWebConfig() {
  if (!configPromise) {
    configPromise = optional(api.get('/v1/web-config')).then((r) => r || { tile_url: null, tile_attribution: null });
  }
  return configPromise;
}

// The base map's boundaries, simplified by the server to this tolerance
// (metres): under 3 pixels at street zoom, none at city zoom, and Chicago's
// 738 KB (gzipped) become 23 KB (docs/api.md, Cities).
export const BOUNDARY_SIMPLIFY_M = 5;

// GeoJSON FeatureCollection of the city's neighbourhoods, or null (also
// for the built-in list, whose cities the server does not know).
export async function loadBoundaries(cityId) {
  await loadCities();
  if (!serverCities) return null;
  if (!boundaries.has(cityId)) {
    boundaries.set(cityId, optional(api.get(`/v1/cities/${encodeURIComponent(cityId)}/boundaries`,
      { query: { simplify: BOUNDARY_SIMPLIFY_M } })).catch(() => null));
  }
  return boundaries.get(cityId);
}

const KEY = 'safestream.city';
export function savedCity() { try { return localStorage.getItem(KEY); } catch { return null; } }
export function saveCity(id) { try { localStorage.setItem(KEY, id); } catch { /* private mode */ } }
