// Inputs for answering a form's questions (the preview and corrections).
// answerInputs(questions, answers) -> {el, read()}: read() gives the answers
// object the API takes (unanswered questions left out). Each control carries
// its question key in data-field, the name a 422's errors use.

import { h, uid } from './dom.js';
import { field, textInput, selectEl } from './fields.js';

function describe(q) {
  const parts = [q.type.replace('_', ' ')];
  if (q.required) parts.push('required');
  if (q.min !== undefined) parts.push(`min ${q.min}`);
  if (q.max !== undefined) parts.push(`max ${q.max}`);
  if (q.min_length !== undefined) parts.push(`at least ${q.min_length} characters`);
  if (q.max_length !== undefined) parts.push(`at most ${q.max_length} characters`);
  if (q.pattern) parts.push(`matches ${q.pattern}`);
  if (q.min_selected !== undefined) parts.push(`select at least ${q.min_selected}`);
  if (q.max_selected !== undefined) parts.push(`select at most ${q.max_selected}`);
  if (q.type === 'datetime') parts.push('ISO 8601, e.g. 2026-11-22T08:30:00+01:00');
  if (q.type === 'phone') parts.push('E.164, e.g. +14155552671');
  return `${q.key}: ${parts.join(', ')}`;
}

function num(v) {
  const t = v.trim();
  if (t === '') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : t;
}

function questionInput(q, value) {
  const label = q.label || q.key;
  const hint = describe(q);
  switch (q.type) {
    case 'boolean': {
      const sel = selectEl([['', '(no answer)'], ['true', 'Yes'], ['false', 'No']], value === true ? 'true' : value === false ? 'false' : '');
      return { el: field(label, sel, { hint, path: q.key }), read: () => (sel.value === '' ? undefined : sel.value === 'true') };
    }
    case 'choice': {
      const opts = q.options || [];
      const sel = selectEl([['', '(no answer)'], ...opts.map((o) => [o, o])], typeof value === 'string' ? value : '');
      return { el: field(label, sel, { hint, path: q.key }), read: () => (sel.value === '' ? undefined : sel.value) };
    }
    case 'multi_choice': {
      const chosen = Array.isArray(value) ? value : [];
      const boxes = (q.options || []).map((o) => {
        const box = h('input', { type: 'checkbox', id: uid('cb'), value: o, checked: chosen.includes(o) });
        return { box, el: h('span', { class: 'check-inline' }, box, h('label', { for: box.id, text: o })) };
      });
      const fs = h('fieldset', { class: 'field group' }, h('legend', { text: label }), h('p', { class: 'hint', text: hint }),
        boxes.map((b) => b.el), h('p', { class: 'field-error', hidden: true }));
      fs.dataset.field = q.key;
      return {
        el: fs,
        read: () => {
          const v = boxes.filter((b) => b.box.checked).map((b) => b.box.value);
          return v.length ? v : undefined;
        },
      };
    }
    case 'geopoint': {
      const lat = h('input', { type: 'number', step: 'any', id: uid('in'), value: value?.lat ?? '' });
      const lon = h('input', { type: 'number', step: 'any', id: uid('in'), value: value?.lon ?? '' });
      const fs = h('fieldset', { class: 'field group' }, h('legend', { text: label }), h('p', { class: 'hint', text: hint }),
        h('div', { class: 'inline' },
          h('label', { for: lat.id, text: 'Latitude' }), lat,
          h('label', { for: lon.id, text: 'Longitude' }), lon),
        h('p', { class: 'field-error', hidden: true }));
      fs.dataset.field = q.key;
      return {
        el: fs,
        read: () => {
          const a = num(lat.value);
          const b = num(lon.value);
          return a === undefined && b === undefined ? undefined : { lat: a ?? null, lon: b ?? null };
        },
      };
    }
    case 'integer':
    case 'number': {
      const inp = h('input', { type: 'number', step: q.type === 'integer' ? '1' : 'any', value: value ?? '' });
      if (q.min !== undefined) inp.min = q.min;
      if (q.max !== undefined) inp.max = q.max;
      return { el: field(label, inp, { hint, path: q.key }), read: () => num(inp.value) };
    }
    case 'date': {
      const inp = h('input', { type: 'date', value: typeof value === 'string' ? value : '' });
      return { el: field(label, inp, { hint, path: q.key }), read: () => (inp.value === '' ? undefined : inp.value) };
    }
    default: {
      const type = { email: 'email', phone: 'tel' }[q.type] || 'text';
      const long = q.type === 'text' && (!q.max_length || q.max_length > 200);
      const inp = long ? h('textarea', { rows: 2, value: value ?? '' }) : textInput(value ?? '', { type });
      if (q.type === 'phone') inp.placeholder = '+14155552671';
      if (q.type === 'datetime') inp.placeholder = '2026-11-22T08:30:00Z';
      return { el: field(label, inp, { hint, path: q.key }), read: () => (inp.value === '' ? undefined : inp.value) };
    }
  }
}

export function answerInputs(questions, answers = {}) {
  const inputs = questions.map((q) => ({ q, ...questionInput(q, answers[q.key]) }));
  return {
    el: h('div', { class: 'answers' }, inputs.length ? inputs.map((i) => i.el) : h('p', { class: 'muted', text: 'This form has no questions.' })),
    read() {
      const out = {};
      for (const i of inputs) {
        const v = i.read();
        if (v !== undefined) out[i.q.key] = v;
      }
      return out;
    },
  };
}
