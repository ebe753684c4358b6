// The console's only way to the server: fetch with the bearer token kept in
// the tab's sessionStorage, JSON in and out, and problem+json errors turned
// into ApiError (status, detail, errors [{field, message}]).

const TOKEN_KEY = 'daisy.console.token';
const ROLE_KEY = 'daisy.console.role';

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

// 'admin' or 'app'.
export function getRole() {
  return sessionStorage.getItem(ROLE_KEY) || 'admin';
}

export function isAdmin() {
  return getRole() === 'admin';
}

export function setSession(token, role) {
  sessionStorage.setItem(TOKEN_KEY, token);
  sessionStorage.setItem(ROLE_KEY, role);
}

export function clearSession() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(ROLE_KEY);
}

const unauthorizedListeners = new Set();
// fn(problem) is called when the server answers 401 to a signed-in request
// (the token was rotated or deleted).
export function onUnauthorized(fn) {
  unauthorizedListeners.add(fn);
  return () => unauthorizedListeners.delete(fn);
}

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.detail = problem.detail || problem.title || `The server answered HTTP ${status}.`;
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
    this.type = problem.type || '';
  }
}

export const enc = encodeURIComponent;

// "/v1/x" + {a: 1, b: '', c: null} -> "/v1/x?a=1" (empty values are dropped).
export function url(path, query) {
  if (!query) return path;
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue;
    qs.append(k, String(v));
  }
  const s = qs.toString();
  return s ? `${path}${path.includes('?') ? '&' : '?'}${s}` : path;
}

async function problemOf(res) {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text);
    if (body && typeof body === 'object') {
      // /search keeps the Fever shape: {data: null, error: {code, message}}.
      if (body.error && typeof body.error === 'object' && body.error.message && !body.detail) {
        return { title: body.error.code, detail: body.error.message };
      }
      return body;
    }
  } catch {
    // not JSON
  }
  return { detail: text.trim() || `The server answered HTTP ${res.status} ${res.statusText}.` };
}

// Sends one request. Options: query {}, body (JSON-encoded unless a string),
// headers {}, auth (default true), signal. Resolves to the parsed JSON body
// (null for 204 or an empty body); rejects with ApiError.
export async function request(method, path, opts = {}) {
  const headers = { Accept: 'application/json', ...(opts.headers || {}) };
  const token = getToken();
  if (opts.auth !== false && token) headers.Authorization = `Bearer ${token}`;
  let body;
  if (opts.body !== undefined) {
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    if (!headers['Content-Type']) headers['Content-Type'] = 'application/json';
  }
  let res;
  try {
    res = await fetch(url(path, opts.query), { method, headers, body, signal: opts.signal, cache: 'no-store' });
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, { detail: 'The server could not be reached. Check that Daisy is running.' });
  }
  if (!res.ok) {
    const problem = await problemOf(res);
    const err = new ApiError(res.status, problem);
    if (res.status === 401 && opts.auth !== false && token) for (const fn of unauthorizedListeners) fn(err);
    throw err;
  }
  // Always read the body: Chrome reports an unread one (even a 204's) as aborted.
  const text = await res.text();
  if (res.status === 204 || !text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export const api = {
  get: (path, query, opts = {}) => request('GET', path, { ...opts, query }),
  post: (path, body, opts = {}) => request('POST', path, { ...opts, body }),
  put: (path, body, opts = {}) => request('PUT', path, { ...opts, body }),
  patch: (path, body, opts = {}) => request('PATCH', path, { ...opts, body }),
  del: (path, opts = {}) => request('DELETE', path, opts),
};

// Every item of a cursor-paged listing, up to `max` items.
export async function listAll(path, query = {}, max = 5000) {
  const items = [];
  let after;
  for (;;) {
    const page = await api.get(path, { ...query, limit: 1000, after });
    items.push(...page.items);
    if (!page.next_cursor || page.items.length === 0 || items.length >= max) return items;
    after = page.next_cursor;
  }
}

// Fetches `path` with the token and saves the body as a file through a Blob
// URL (the server's Content-Disposition name when it gives one).
export async function download(path, query, fallbackName) {
  const token = getToken();
  let res;
  try {
    res = await fetch(url(path, query), { headers: { Authorization: `Bearer ${token}` }, cache: 'no-store' });
  } catch {
    throw new ApiError(0, { detail: 'The server could not be reached.' });
  }
  if (!res.ok) throw new ApiError(res.status, await problemOf(res));
  const blob = await res.blob();
  const cd = res.headers.get('Content-Disposition') || '';
  const m = /filename="?([^";]+)"?/i.exec(cd);
  const name = m ? m[1] : fallbackName;
  const href = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = href;
  a.download = name;
  a.className = 'offscreen';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60000);
  return { name, size: blob.size };
}

// Prometheus text of GET /metrics -> Map of "name{labels}" -> number.
export async function metrics() {
  const res = await fetch('/metrics', { cache: 'no-store' });
  if (!res.ok) throw new ApiError(res.status, await problemOf(res));
  const out = new Map();
  for (const line of (await res.text()).split('\n')) {
    if (!line || line[0] === '#') continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}
