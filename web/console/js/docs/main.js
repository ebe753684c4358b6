// The API reference (/docs): reads /openapi.json and renders it: the
// introduction, one section per tag with each operation (method, path,
// summary, description, authentication, parameters, request body and
// responses with their schemas), then every component schema, with a table
// of contents that can be filtered. All spec text goes in as text nodes.

import { h, replace } from '../dom.js';
import { markdown, inline } from './markdown.js';
import { renderSchema, refName, typeSummary } from './schema.js';

const METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete', 'options'];
const mainEl = document.getElementById('docs-main');
const tocEl = document.getElementById('docs-toc');
const statusEl = document.getElementById('docs-status');

let spec = null;

function resolve(ref) {
  if (!ref || !ref.startsWith('#/')) return undefined;
  let node = spec;
  for (const part of ref.slice(2).split('/')) {
    node = node?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return node;
}

// Follows $refs (of parameters, responses...) to the object itself.
function deref(o) {
  let n = o;
  for (let i = 0; i < 10 && n && n.$ref; i += 1) n = resolve(n.$ref);
  return n || {};
}

function refHref(ref) {
  return ref.startsWith('#/components/schemas/') ? `#schema-${refName(ref)}` : '#';
}

const schemaOpts = { resolve, refHref };

function slug(s) {
  return s.replace(/[^A-Za-z0-9_-]+/g, '-');
}

function opId(method, path, op) {
  return `op-${slug(op.operationId || `${method}-${path}`)}`;
}

// A schema at the top of a body: a $ref is named and expanded.
function topSchema(schema) {
  if (!schema) return h('p', { class: 'muted', text: 'No schema.' });
  if (schema.$ref) {
    const target = resolve(schema.$ref);
    return h('div', null, h('p', null, 'Schema: ', h('a', { href: refHref(schema.$ref), text: refName(schema.$ref) })),
      target ? renderSchema(target, schemaOpts) : null);
  }
  return h('div', null, h('p', null, 'Schema: ', h('span', { class: 'type', text: typeSummary(schema) })), renderSchema(schema, schemaOpts));
}

function contentBlock(content, lazy) {
  return Object.entries(content || {}).map(([type, media]) => {
    const ex = media.example !== undefined ? h('details', null, h('summary', { text: 'Example' }),
      h('pre', { class: 'code', text: typeof media.example === 'string' ? media.example : JSON.stringify(media.example, null, 2) })) : null;
    if (!lazy) return h('div', { class: 'media' }, h('p', null, 'Content type: ', h('code', { text: type })), topSchema(media.schema), ex);
    const holder = h('div', { class: 'media' }, h('p', null, 'Content type: ', h('code', { text: type })));
    holder.appendChild(media.schema ? topSchema(media.schema) : h('p', { class: 'muted', text: 'No schema.' }));
    if (ex) holder.appendChild(ex);
    return holder;
  });
}

function authText(op) {
  const sec = op.security ?? spec.security ?? [];
  if (!sec.length) return 'No token needed.';
  const names = sec.flatMap((s) => Object.keys(s));
  const label = { adminToken: 'the admin token', appToken: 'an app token' };
  return `Needs ${names.map((n) => label[n] || n).join(' or ')} (Authorization: Bearer <token>).`;
}

function paramsTable(params) {
  if (!params.length) return null;
  return h('div', { class: 'table-wrap' }, h('table', null,
    h('caption', { text: 'Parameters' }),
    h('thead', null, h('tr', null, ['Name', 'In', 'Type', 'Required', 'Description'].map((t) => h('th', { scope: 'col', text: t })))),
    h('tbody', null, params.map((p) => h('tr', null,
      h('th', { scope: 'row' }, h('code', { text: p.name })),
      h('td', { text: p.in }),
      h('td', null, h('span', { class: 'type', text: typeSummary(p.schema) }), p.schema?.enum ? h('div', { class: 'constraints', text: `one of: ${p.schema.enum.join(', ')}` }) : null,
        p.schema?.default !== undefined ? h('div', { class: 'constraints', text: `default: ${JSON.stringify(p.schema.default)}` }) : null),
      h('td', { text: p.required ? 'yes' : 'no' }),
      h('td', { class: 'desc' }, markdown(p.description || (p.schema?.$ref ? deref(p.schema).description : '') || '')))))));
}

// The first sentence of a description, on one line, at most ~140 characters
// (cut at a word, without an unmatched backtick).
function firstSentence(desc) {
  const flat = desc.replace(/\s+/g, ' ');
  let s = flat;
  for (const m of flat.matchAll(/\.(\s|$)/g)) {
    const head = flat.slice(0, m.index + 1);
    if ((head.match(/`/g) || []).length % 2 === 0) {
      s = head;
      break;
    }
  }
  if (s.length > 140) {
    s = `${s.slice(0, 140).replace(/\s+\S*$/, '')}…`;
    if ((s.match(/`/g) || []).length % 2) s = s.replace(/`/g, '');
  }
  return s;
}

function responseItem(code, resp) {
  const r = deref(resp);
  const desc = (r.description || '').trim();
  const summary = firstSentence(desc);
  const det = h('details', null, h('summary', null, h('span', { class: 'status-code', text: code }), inline(summary)));
  let filled = false;
  det.addEventListener('toggle', () => {
    if (!det.open || filled) return;
    filled = true;
    if (summary !== desc.replace(/\s+/g, ' ')) det.appendChild(h('div', { class: 'desc' }, markdown(desc)));
    const headers = Object.entries(r.headers || {});
    if (headers.length) {
      det.appendChild(h('p', { class: 'alts-head', text: 'Headers:' }));
      det.appendChild(h('ul', null, headers.map(([name, hd]) => {
        const d = deref(hd);
        return h('li', null, h('code', { text: name }), ' ', h('span', { class: 'type', text: typeSummary(d.schema) }), d.description ? h('div', { class: 'desc' }, markdown(d.description)) : null);
      })));
    }
    for (const c of contentBlock(r.content, true)) det.appendChild(c);
  });
  return det;
}

function operation(method, path, op, pathItem) {
  const params = [...(pathItem.parameters || []), ...(op.parameters || [])].map(deref);
  const body = op.requestBody ? deref(op.requestBody) : null;
  return h('article', { class: 'op', id: opId(method, path, op), 'aria-labelledby': `${opId(method, path, op)}-h` },
    h('h3', { id: `${opId(method, path, op)}-h` }, h('span', { class: `method method-${method}`, text: method.toUpperCase() }), h('span', { class: 'path', text: path })),
    op.summary ? h('p', { class: 'op-summary', text: op.summary }) : null,
    op.description ? h('div', { class: 'desc' }, markdown(op.description)) : null,
    h('p', { class: 'hint', text: authText(op) }),
    params.length ? [h('h4', { text: 'Parameters' }), paramsTable(params)] : null,
    body ? [h('h4', { text: `Request body${body.required ? ' (required)' : ''}` }), body.description ? h('div', { class: 'desc' }, markdown(body.description)) : null, contentBlock(body.content, false)] : null,
    h('h4', { text: 'Responses' }),
    h('div', { class: 'response-list' }, Object.entries(op.responses || {}).map(([code, r]) => responseItem(code, r))));
}

function schemaSection(name, schema) {
  const det = h('details', { id: `schema-${slug(name)}`, class: 'op' }, h('summary', null, h('strong', { text: name }), ' ', h('span', { class: 'type', text: typeSummary(schema) })));
  let filled = false;
  det.addEventListener('toggle', () => {
    if (!det.open || filled) return;
    filled = true;
    det.appendChild(renderSchema(schema, schemaOpts));
  });
  return det;
}

function render() {
  const info = spec.info || {};
  document.title = `${info.title || 'API'} ${info.version || ''} – API reference`;
  const byTag = new Map((spec.tags || []).map((t) => [t.name, { tag: t, ops: [] }]));
  for (const [path, item] of Object.entries(spec.paths || {})) {
    for (const m of METHODS) {
      const op = item[m];
      if (!op) continue;
      for (const t of op.tags?.length ? op.tags : ['other']) {
        if (!byTag.has(t)) byTag.set(t, { tag: { name: t }, ops: [] });
        byTag.get(t).ops.push({ m, path, op, item });
      }
    }
  }
  const frag = document.createDocumentFragment();
  frag.appendChild(h('h1', { id: 'docs-title', text: `${info.title || 'API'} API reference` }));
  frag.appendChild(h('p', { class: 'lede' }, `Version ${info.version || '?'} · OpenAPI ${spec.openapi || ''}`, info.summary ? ` · ${info.summary}` : '', ' · ', h('a', { href: '/ui', text: 'Back to the console' })));
  frag.appendChild(h('section', { id: 'introduction', 'aria-labelledby': 'intro-h' }, h('h2', { id: 'intro-h', text: 'Introduction' }), h('div', { class: 'desc' }, markdown(info.description || ''))));
  const tocTags = [];
  for (const { tag, ops } of byTag.values()) {
    if (!ops.length) continue;
    const id = `tag-${slug(tag.name)}`;
    frag.appendChild(h('section', { class: 'tag', id, 'aria-labelledby': `${id}-h` },
      h('h2', { id: `${id}-h`, text: tag.name }),
      tag.description ? h('div', { class: 'desc' }, markdown(tag.description)) : null,
      ops.map((o) => operation(o.m, o.path, o.op, o.item))));
    tocTags.push(h('li', null, h('a', { class: 'tag-link', href: `#${id}`, text: tag.name }),
      h('ul', null, ops.map((o) => h('li', { class: 'toc-op' }, h('a', { href: `#${opId(o.m, o.path, o.op)}` },
        h('span', { class: `method method-${o.m}`, text: o.m.toUpperCase() }), ' ', o.path))))));
  }
  const schemas = Object.entries(spec.components?.schemas || {});
  frag.appendChild(h('section', { class: 'tag', id: 'schemas', 'aria-labelledby': 'schemas-h' },
    h('h2', { id: 'schemas-h', text: 'Schemas' }),
    h('p', { class: 'hint', text: 'Every schema the operations refer to. Open one to see its fields.' }),
    schemas.map(([n, s]) => schemaSection(n, s))));
  replace(mainEl, frag);

  const filter = h('input', { type: 'search', class: 'docs-filter', id: 'docs-filter', placeholder: 'e.g. responses, POST' });
  const tocList = h('ul', null, h('li', null, h('a', { class: 'tag-link', href: '#introduction', text: 'Introduction' })), tocTags,
    h('li', null, h('a', { class: 'tag-link', href: '#schemas', text: 'Schemas' }),
      h('ul', null, schemas.map(([n]) => h('li', { class: 'toc-op' }, h('a', { href: `#schema-${slug(n)}`, text: n }))))));
  replace(tocEl, h('label', { for: 'docs-filter', text: 'Filter the contents' }), filter, h('nav', { 'aria-label': 'API contents' }, tocList));
  filter.addEventListener('input', () => {
    const q = filter.value.trim().toLowerCase();
    for (const li of tocList.querySelectorAll('li.toc-op')) li.hidden = Boolean(q) && !li.textContent.toLowerCase().includes(q);
  });
  openTarget();
}

// Opens the <details> the URL's fragment points into, and scrolls to it.
function openTarget() {
  const id = decodeURIComponent(location.hash.slice(1));
  if (!id) return;
  const el = document.getElementById(id);
  if (!el) return;
  for (let n = el; n; n = n.parentElement) if (n.tagName === 'DETAILS') n.open = true;
  el.scrollIntoView();
}

window.addEventListener('hashchange', openTarget);

fetch('/openapi.json', { headers: { Accept: 'application/json' } })
  .then((res) => {
    if (!res.ok) throw new Error(`GET /openapi.json answered HTTP ${res.status}.`);
    return res.json();
  })
  .then((doc) => {
    spec = doc;
    const t0 = performance.now();
    render();
    mainEl.dataset.renderMs = String(Math.round(performance.now() - t0));
  })
  .catch((e) => {
    statusEl.setAttribute('role', 'alert');
    statusEl.className = 'alert';
    statusEl.textContent = `The API document could not be loaded: ${e.message}`;
  });
