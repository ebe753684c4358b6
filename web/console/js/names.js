// Names of forms, apps, integrations and providers by id, for tables that
// only hold ids. Each kind is loaded once (admin token only); an unknown id
// makes it load again (at most once per 2 s), and the links showing that id
// take its name when it arrives. An id still unknown after such a load is not
// asked again for a minute (it may name something deleted).

import { listAll, isAdmin } from './api.js';
import { h, shortId } from './dom.js';

const KINDS = {
  form: { path: '/v1/forms', name: (x) => x.title, href: (id) => `#/forms/${id}` },
  app: { path: '/v1/apps', name: (x) => x.name, href: () => '#/apps' },
  integration: { path: '/v1/integrations', name: (x) => x.name, href: (id) => `#/integrations/${id}` },
  provider: { path: '/v1/providers', name: (x) => x.name, href: (id) => `#/providers/${id}` },
};
const GAP = 2000;

const caches = {};

function cacheOf(kind) {
  if (!caches[kind]) caches[kind] = { map: new Map(), loading: null, loadedAt: 0, startedAt: 0, next: null, missing: new Map() };
  return caches[kind];
}

export function forget(kind) {
  delete caches[kind];
}

export function remember(kind, item) {
  cacheOf(kind).map.set(item.id, item);
}

// Loads (or reloads) every item of `kind`; resolves to the Map id -> item.
export function loadAll(kind, force = false) {
  const c = cacheOf(kind);
  if (!isAdmin()) return Promise.resolve(c.map);
  if (c.loading) return c.loading;
  if (!force && c.loadedAt && Date.now() - c.loadedAt < 10000) return Promise.resolve(c.map);
  c.startedAt = Date.now();
  c.loading = listAll(KINDS[kind].path)
    .then((items) => {
      for (const it of items) c.map.set(it.id, it);
      c.loadedAt = Date.now();
      return c.map;
    })
    .catch(() => c.map)
    .finally(() => {
      c.loading = null;
    });
  return c.loading;
}

// A load of `kind` that starts from now on, GAP ms after the previous one at
// the earliest; the callers of one wait share it.
function freshLoad(kind, c) {
  if (!c.next) {
    c.next = new Promise((r) => {
      setTimeout(r, c.startedAt + GAP - Date.now());
    }).then(() => c.loading).then(() => {
      c.next = null;
      return loadAll(kind, true);
    });
  }
  return c.next;
}

// The item of `id` (undefined when it cannot be found).
export async function lookup(kind, id) {
  const c = cacheOf(kind);
  if (c.map.has(id) || !isAdmin() || Date.now() - c.missing.get(id) < 60000) return c.map.get(id);
  const map = await freshLoad(kind, c);
  if (!map.has(id)) c.missing.set(id, Date.now());
  return map.get(id);
}

// A link to the item showing its name once known (its short id before).
export function refLink(kind, id) {
  if (!id) return h('span', { class: 'muted', text: kind === 'app' ? 'admin' : '—' });
  const k = KINDS[kind];
  const a = h('a', { href: k.href(id), title: id, text: shortId(id) });
  const item = cacheOf(kind).map.get(id);
  if (item) a.textContent = k.name(item);
  else lookup(kind, id).then((it) => {
    if (it) a.textContent = k.name(it);
  });
  return a;
}
