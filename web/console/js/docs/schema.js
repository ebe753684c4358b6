// Renders a JSON Schema (OpenAPI 3.1 flavour) as nested property lists: each
// property with its type, required mark, enum, constraints and description.
// $refs to components are resolved through `resolve`; a referenced object is
// expanded lazily (a <details> filled on first open), which keeps large
// specs fast and stops cycles.
//
// renderSchema(schema, {resolve(ref) -> schema|undefined, refHref(ref) -> url,
//   depth}) -> Node

import { h } from '../dom.js';
import { markdown } from './markdown.js';

const CONSTRAINT_KEYS = [
  ['minLength', 'min length'], ['maxLength', 'max length'], ['minimum', 'min'], ['maximum', 'max'],
  ['exclusiveMinimum', 'more than'], ['exclusiveMaximum', 'less than'], ['minItems', 'min items'], ['maxItems', 'max items'],
  ['minProperties', 'min properties'], ['maxProperties', 'max properties'], ['pattern', 'pattern'], ['default', 'default'],
  ['multipleOf', 'multiple of'], ['uniqueItems', 'unique items'],
];

export function refName(ref) {
  return ref.split('/').pop();
}

function show(v) {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

// A one-line type summary: "string (uuid) | null", "array of Event", "Form".
export function typeSummary(s, opts) {
  if (!s || typeof s !== 'object') return 'any';
  if (s.$ref) return refName(s.$ref);
  if (s.const !== undefined) return `= ${show(s.const)}`;
  const alts = s.oneOf || s.anyOf;
  if (alts) return alts.map((a) => typeSummary(a, opts)).join(' | ');
  if (s.allOf && s.allOf.length === 1 && !s.type) return typeSummary(s.allOf[0], opts);
  let t = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  t = t.map((x) => {
    if (x === 'array') return `array of ${typeSummary(s.items, opts)}`;
    if (x === 'string' && s.format) return `string (${s.format})`;
    if (x === 'integer' && s.format) return `integer (${s.format})`;
    return x;
  });
  if (!t.length) {
    if (s.properties || s.additionalProperties) return 'object';
    if (s.allOf) return s.allOf.map((a) => typeSummary(a, opts)).join(' & ');
    return 'any';
  }
  return t.join(' | ');
}

function constraints(s) {
  const out = [];
  if (s.enum) out.push(h('span', { class: 'enum' }, 'one of: ', s.enum.map((v, i) => [i ? ', ' : '', h('code', { text: show(v) })])));
  for (const [k, label] of CONSTRAINT_KEYS) {
    if (s[k] !== undefined) out.push(h('span', null, `${label}: `, h('code', { text: show(s[k]) })));
  }
  if (s.readOnly) out.push(h('span', { text: 'read only' }));
  if (s.writeOnly) out.push(h('span', { text: 'write only' }));
  if (s.deprecated) out.push(h('span', { text: 'deprecated' }));
  if (s.example !== undefined) out.push(h('span', null, 'example: ', h('code', { text: show(s.example) })));
  return out.length ? h('div', { class: 'constraints' }, out.map((o, i) => [i ? ' · ' : '', o])) : null;
}

// Merges allOf parts (resolving refs) into one object schema, for display.
function mergeAllOf(s, resolve, seen = new Set()) {
  const out = { ...s, properties: { ...(s.properties || {}) }, required: [...(s.required || [])] };
  delete out.allOf;
  for (let part of s.allOf || []) {
    if (part.$ref) {
      if (seen.has(part.$ref)) continue;
      seen.add(part.$ref);
      part = resolve(part.$ref) || {};
    }
    const m = part.allOf ? mergeAllOf(part, resolve, seen) : part;
    Object.assign(out.properties, m.properties || {});
    out.required.push(...(m.required || []));
    if (!out.type && m.type) out.type = m.type;
    if (!out.description && m.description) out.description = m.description;
    for (const k of ['oneOf', 'anyOf', 'additionalProperties', 'if', 'then', 'else']) if (m[k] !== undefined && out[k] === undefined) out[k] = m[k];
  }
  return out;
}

function isObjectLike(s) {
  return s && (s.properties || s.allOf || s.oneOf || s.anyOf || (s.type === 'object') || (Array.isArray(s.type) && s.type.includes('object')));
}

// The body of a schema: description, constraints, then its structure.
export function renderSchema(schema, opts = {}) {
  const { depth = 0 } = opts;
  const s = schema || {};
  const el = h('div', { class: 'schema' });
  if (s.$ref) {
    el.appendChild(refBlock(s.$ref, opts));
    return el;
  }
  if (s.description && depth === 0) el.appendChild(h('div', { class: 'desc' }, markdown(s.description)));
  const c = constraints(s);
  if (c && depth === 0) el.appendChild(c);
  el.appendChild(structure(s, opts));
  return el;
}

// A $ref: its name (linked) and a lazily filled expansion.
function refBlock(ref, opts) {
  const resolve = opts.resolve || (() => undefined);
  const name = refName(ref);
  const target = resolve(ref);
  const link = opts.refHref ? h('a', { href: opts.refHref(ref), text: name }) : h('code', { text: name });
  if (!target || !isObjectLike(target) || (opts.depth || 0) > 8) return h('div', { class: 'ref' }, link, target ? constraints(target) : null);
  const det = h('details', { class: 'ref' }, h('summary', null, 'Fields of ', link));
  let filled = false;
  det.addEventListener('toggle', () => {
    if (!det.open || filled) return;
    filled = true;
    det.appendChild(renderSchema(target, { ...opts, depth: (opts.depth || 0) + 1 }));
  });
  return det;
}

function structure(s, opts) {
  const { resolve = () => undefined } = opts;
  const depth = opts.depth || 0;
  const frag = document.createDocumentFragment();
  const m = s.allOf ? mergeAllOf(s, resolve) : s;
  if (m.properties && Object.keys(m.properties).length) frag.appendChild(propertyList(m, opts));
  const ap = m.additionalProperties;
  if (ap && typeof ap === 'object' && Object.keys(ap).length) {
    frag.appendChild(h('div', { class: 'extra' }, 'Other keys: ', h('span', { class: 'type', text: typeSummary(ap) }), constraints(ap)));
  } else if (ap === false && m.properties) frag.appendChild(h('div', { class: 'extra muted', text: 'No other keys.' }));
  const alts = m.oneOf ? ['One of', m.oneOf] : m.anyOf ? ['Any of', m.anyOf] : null;
  if (alts) {
    frag.appendChild(h('div', { class: 'alts' }, h('p', { class: 'alts-head', text: `${alts[0]}:` }),
      h('ol', null, alts[1].map((a) => h('li', null, h('span', { class: 'type', text: typeSummary(a) }),
        a.description && !a.$ref ? h('div', { class: 'desc' }, markdown(a.description)) : null,
        a.$ref ? refBlock(a.$ref, { ...opts, depth: depth + 1 }) : structureOrNothing(a, { ...opts, depth: depth + 1 }))))));
  }
  const items = m.items;
  if (items && (items.$ref || isObjectLike(items))) {
    frag.appendChild(h('div', { class: 'items' }, h('p', { class: 'alts-head', text: 'Each item:' }),
      items.$ref ? refBlock(items.$ref, { ...opts, depth: depth + 1 }) : structure(items, { ...opts, depth: depth + 1 })));
  }
  if (m.if || m.propertyNames || m.not) {
    const extra = {};
    for (const k of ['if', 'then', 'else', 'propertyNames', 'not']) if (m[k] !== undefined) extra[k] = m[k];
    frag.appendChild(h('details', { class: 'raw' }, h('summary', { text: 'Further conditions (JSON Schema)' }), h('pre', { class: 'code', text: JSON.stringify(extra, null, 2) })));
  }
  return frag;
}

function structureOrNothing(s, opts) {
  return isObjectLike(s) ? structure(s, opts) : constraints(s);
}

function propertyList(s, opts) {
  const { resolve = () => undefined } = opts;
  const depth = opts.depth || 0;
  const required = new Set(s.required || []);
  return h('ul', { class: 'props' }, Object.entries(s.properties).map(([name, p]) => {
    const target = p.$ref ? resolve(p.$ref) : null;
    const desc = p.description || (target && !isObjectLike(target) ? target.description : '');
    let nested = null;
    if (p.$ref) nested = refBlock(p.$ref, { ...opts, depth: depth + 1 });
    else if (isObjectLike(p) || (p.items && (p.items.$ref || isObjectLike(p.items)))) {
      nested = depth >= 6 ? lazy(p, opts) : structure(p, { ...opts, depth: depth + 1 });
    }
    return h('li', null,
      h('div', { class: 'prop-head' },
        h('code', { class: 'prop-name', text: name }), ' ',
        h('span', { class: 'type', text: typeSummary(p) }),
        required.has(name) ? h('span', { class: 'req', text: ' required' }) : null),
      desc ? h('div', { class: 'desc' }, markdown(desc)) : null,
      constraints(p),
      nested);
  }));
}

function lazy(s, opts) {
  const det = h('details', null, h('summary', { text: 'Fields' }));
  let filled = false;
  det.addEventListener('toggle', () => {
    if (!det.open || filled) return;
    filled = true;
    det.appendChild(structure(s, { ...opts, depth: 0 }));
  });
  return det;
}
