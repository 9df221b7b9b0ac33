// The SafeStream REST API, on the page's own origin. Every call returns
// parsed JSON or throws an ApiError that carries the API's error body
// ({"error": {"code", "message", "field"}}), so forms can show the message
// next to the field it names.

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field || null;
  }
}

async function call(method, path, { query, body, token, headers = {}, signal, contentType } = {}) {
  let url = path;
  if (query) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined || v === null || v === '') continue;
      if (Array.isArray(v)) { if (v.length) qs.set(k, v.join(',')); } else qs.set(k, String(v));
    }
    const s = qs.toString();
    if (s) url += (url.includes('?') ? '&' : '?') + s;
  }
  const h = { Accept: 'application/json', ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  const init = { method, headers: h, signal, credentials: 'same-origin' };
  if (body !== undefined) {
    h['Content-Type'] = contentType || 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url, init);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'The server cannot be reached. Check your connection and try again.');
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (!res.ok) {
    const err = data && data.error;
    if (err) throw new ApiError(res.status, err.code, err.message, err.field);
    throw new ApiError(res.status, 'http_' + res.status, `The server answered ${res.status}.`);
  }
  return data;
}

export const api = {
  get: (path, opts) => call('GET', path, opts),
  post: (path, body, opts = {}) => call('POST', path, { ...opts, body }),
  patch: (path, body, opts = {}) => call('PATCH', path, { ...opts, body, contentType: 'application/merge-patch+json' }),
  del: (path, opts) => call('DELETE', path, opts),
};

// Optional endpoints (the dashboard's statistics, the cities): null when the
// server does not have them (404), so the page can say so instead of failing.
export async function optional(promise) {
  try {
    return await promise;
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 405)) return null;
    throw e;
  }
}
