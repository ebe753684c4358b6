// Tiny DOM-building helpers. Every piece of data goes in as text (textContent
// or text nodes); nothing here ever parses HTML.

// h('button', {class: 'x', type: 'button', on: {click}}, 'text', childNode, [more])
// Props: class, text, on {event: fn}, dataset {k: v}, htmlFor via `for`,
// boolean true sets an empty attribute, false/null/undefined skip it; `value`,
// `checked`, `disabled`, `selected`, `hidden` are set as properties.
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  applyProps(el, props);
  append(el, children);
  return el;
}

const PROPERTY_NAMES = new Set(['value', 'checked', 'disabled', 'selected', 'hidden', 'indeterminate']);

function applyProps(el, props) {
  if (!props) return;
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
    else if (k === 'text') el.textContent = String(v);
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (PROPERTY_NAMES.has(k)) el[k] = v;
    else el.setAttribute(k === 'htmlFor' ? 'for' : k, v === true ? '' : String(v));
  }
}

// Appends children: strings and numbers become text nodes, arrays flatten,
// null/undefined/false are skipped.
export function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  return append(el, children);
}

let idCounter = 0;
export function uid(prefix = 'f') {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

// SVG element with attributes (no data goes into attributes but numbers).
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  append(el, children);
  return el;
}

// Parses a server time (ISO 8601, up to 9 fractional digits) to a Date.
export function parseTime(s) {
  if (!s) return null;
  const m = /^(.*T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)?$/.exec(s);
  if (!m) return new Date(s);
  const frac = m[2] ? m[2].slice(0, 4) : '';
  return new Date(m[1] + frac + (m[3] || 'Z'));
}

function pad(n, w = 2) {
  return String(n).padStart(w, '0');
}

// Local "YYYY-MM-DD HH:MM:SS".
export function formatTime(s) {
  const d = s instanceof Date ? s : parseTime(s);
  if (!d || Number.isNaN(d.getTime())) return s ? String(s) : '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// <time> showing local time, with the server's UTC value as its datetime/title.
export function timeEl(s) {
  if (!s) return h('span', { class: 'muted', text: '—' });
  const d = parseTime(s);
  const valid = d && !Number.isNaN(d.getTime());
  return h('time', { datetime: valid ? d.toISOString() : undefined, title: s, text: formatTime(s) });
}

// Value of an <input type="datetime-local"> as an ISO 8601 UTC string, or ''.
export function localInputToIso(value) {
  if (!value) return '';
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? value : d.toISOString();
}

export function jsonText(v, indent = 2) {
  return JSON.stringify(v, null, indent);
}

// A short one-line rendering of any JSON value.
export function shortValue(v, max = 80) {
  let s;
  if (v === null || v === undefined) s = '';
  else if (typeof v === 'string') s = v;
  else if (Array.isArray(v) && v.every((x) => typeof x !== 'object')) s = v.join('; ');
  else s = JSON.stringify(v);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

// <pre> with pretty JSON.
export function jsonBlock(v, cls = '') {
  return h('pre', { class: ['json', cls], text: jsonText(v) });
}

export function badge(text, kind) {
  return h('span', { class: ['badge', kind ? `badge-${kind}` : ''], text });
}

// The part of an id that tells it apart: the last 8 hex digits of a UUIDv7
// (its first ones are its creation time), else the first 8 characters.
export function shortId(id) {
  const s = String(id || '');
  return /^[0-9a-f]{8}-[0-9a-f]{4}-7/i.test(s) ? s.slice(-8) : s.slice(0, 8);
}

// Visually hidden text for screen readers.
export function srOnly(text) {
  return h('span', { class: 'sr-only', text });
}

// A copy-to-clipboard button for `getText()`; says "Copied" for a moment.
export function copyButton(getText, label = 'Copy') {
  const btn = h('button', { type: 'button', class: 'secondary', text: label });
  btn.addEventListener('click', async () => {
    const text = getText();
    let ok = false;
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
        ok = true;
      }
    } catch {
      ok = false;
    }
    if (!ok) {
      const ta = h('textarea', { class: 'offscreen', 'aria-hidden': 'true', readonly: true });
      ta.value = text;
      document.body.appendChild(ta);
      ta.select();
      try {
        ok = document.execCommand('copy');
      } catch {
        ok = false;
      }
      ta.remove();
    }
    btn.textContent = ok ? 'Copied' : 'Copy failed: select the text';
    setTimeout(() => {
      btn.textContent = label;
    }, 1500);
  });
  return btn;
}
