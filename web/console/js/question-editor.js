// Editors for a form's questions and rules. Each control carries the API path
// it edits in data-field (questions[2].key, rules[0].check), renumbered on
// every add, move and remove, so that a 422's errors land beside it.
//
// questionsEditor(questions) / rulesEditor(rules) -> {el, value(), setDisabled(bool)}

import { h, replace } from './dom.js';
import { field, textInput, selectEl, textArea, checkField } from './fields.js';

export const QUESTION_TYPES = ['text', 'integer', 'number', 'boolean', 'choice', 'multi_choice', 'date', 'datetime', 'email', 'phone', 'geopoint'];

// name, label, kind: int | num | text | lines
const CONSTRAINTS = {
  text: [['min_length', 'Min length', 'int'], ['max_length', 'Max length', 'int'], ['pattern', 'Pattern (RE2, whole answer)', 'text']],
  integer: [['min', 'Min', 'int'], ['max', 'Max', 'int']],
  number: [['min', 'Min', 'num'], ['max', 'Max', 'num']],
  choice: [['options', 'Options (one per line)', 'lines']],
  multi_choice: [['options', 'Options (one per line)', 'lines'], ['min_selected', 'Min selected', 'int'], ['max_selected', 'Max selected', 'int']],
};
const COMMON = new Set(['key', 'type', 'label', 'required']);

function numberValue(s) {
  const t = s.trim();
  if (t === '') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : t;
}

// A list of items with move up/down and remove buttons; `make(data)` builds
// one item: {el, controls: [[name, control]], value()}. `noun` names items
// in button labels.
function listEditor({ items, make, noun, prefix, addLabel, emptyText }) {
  const list = h('ol', { class: 'editor-list' });
  const empty = h('p', { class: 'muted', text: emptyText });
  const entries = [];

  function renumber() {
    entries.forEach((e, i) => {
      e.fs.dataset.field = `${prefix}[${i}]`;
      for (const [name, ctl] of e.controls()) ctl.dataset.field = `${prefix}[${i}]${name ? `.${name}` : ''}`;
      e.legend.textContent = `${noun} ${i + 1}${e.title() ? `: ${e.title()}` : ''}`;
      e.up.disabled = i === 0;
      e.down.disabled = i === entries.length - 1;
      e.up.setAttribute('aria-label', `Move ${noun.toLowerCase()} ${i + 1} up`);
      e.down.setAttribute('aria-label', `Move ${noun.toLowerCase()} ${i + 1} down`);
      e.del.setAttribute('aria-label', `Remove ${noun.toLowerCase()} ${i + 1}`);
    });
    empty.hidden = entries.length > 0;
  }

  function add(data, focus) {
    const item = make(data, renumber);
    const legend = h('legend');
    const up = h('button', { type: 'button', class: 'secondary small', text: '↑' });
    const down = h('button', { type: 'button', class: 'secondary small', text: '↓' });
    const del = h('button', { type: 'button', class: 'secondary small', text: 'Remove' });
    const fs = h('fieldset', { class: 'editor-item' }, legend, item.el,
      h('div', { class: 'item-actions' }, up, down, del));
    const li = h('li', null, fs);
    const entry = { ...item, legend, up, down, del, li, fs };
    entries.push(entry);
    list.appendChild(li);
    const move = (d) => {
      const i = entries.indexOf(entry);
      const j = i + d;
      if (j < 0 || j >= entries.length) return;
      entries.splice(i, 1);
      entries.splice(j, 0, entry);
      if (d < 0) list.insertBefore(li, entries[j + 1].li);
      else list.insertBefore(li, entries[j - 1].li.nextSibling);
      renumber();
      (d < 0 ? up : down).focus();
    };
    up.addEventListener('click', () => move(-1));
    down.addEventListener('click', () => move(1));
    del.addEventListener('click', () => {
      const i = entries.indexOf(entry);
      entries.splice(i, 1);
      li.remove();
      renumber();
      const next = entries[i] || entries[i - 1];
      (next ? next.del : addBtn).focus();
    });
    renumber();
    if (focus) item.focus();
  }

  const addBtn = h('button', { type: 'button', class: 'secondary', text: addLabel });
  addBtn.addEventListener('click', () => add(null, true));
  for (const d of items) add(d, false);
  const el = h('div', { class: 'list-editor' }, empty, list, addBtn);
  return {
    el,
    value: () => entries.map((e) => e.value()),
    setDisabled(v) {
      for (const c of el.querySelectorAll('input, select, textarea, button')) c.disabled = v;
    },
    renumber,
  };
}

function questionItem(q, renumber) {
  const data = q || { key: '', type: 'text', required: false };
  const extra = {};
  for (const [k, v] of Object.entries(data)) {
    if (!COMMON.has(k) && !Object.values(CONSTRAINTS).flat().some(([n]) => n === k)) extra[k] = v;
  }
  const key = textInput(data.key, { pattern: '[a-z][a-z0-9_]{0,63}', spellcheck: 'false' });
  const type = selectEl(QUESTION_TYPES, data.type);
  const label = textInput(data.label || '');
  const req = checkField('Required', Boolean(data.required));
  const consBox = h('div', { class: 'question-constraints grid' });
  let consControls = [];
  let current = { ...data };

  function drawConstraints() {
    // Keep what was typed under the same names across type changes.
    for (const [name, ctl, kind] of consControls) current[name] = readConstraint(ctl, kind);
    consControls = [];
    const defs = CONSTRAINTS[type.value] || [];
    replace(consBox, defs.map(([name, text, kind]) => {
      const v = current[name];
      let ctl;
      if (kind === 'lines') ctl = textArea(Array.isArray(v) ? v.join('\n') : '', { rows: 3 });
      else if (kind === 'text') ctl = textInput(v ?? '', { spellcheck: 'false' });
      else ctl = h('input', { type: 'number', step: kind === 'int' ? '1' : 'any', value: v ?? '' });
      consControls.push([name, ctl, kind]);
      return field(text, ctl, { cls: kind === 'lines' ? 'wide' : '' });
    }));
    if (!defs.length) consBox.appendChild(h('p', { class: 'muted', text: `A ${type.value} question takes no constraints.` }));
    renumber();
  }
  function readConstraint(ctl, kind) {
    if (kind === 'lines') {
      const lines = ctl.value.split('\n').map((s) => s.trim()).filter(Boolean);
      return lines.length ? lines : undefined;
    }
    if (kind === 'text') return ctl.value === '' ? undefined : ctl.value;
    return numberValue(ctl.value);
  }
  type.addEventListener('change', drawConstraints);
  key.addEventListener('input', renumber);

  const el = h('div', { class: 'grid' },
    field('Key', key, { hint: 'Lower case letters, digits and _; names the answer.' }),
    field('Type', type),
    field('Label', label, { cls: 'wide' }),
    req.el,
    consBox);
  drawConstraints();
  return {
    el,
    title: () => key.value,
    focus: () => key.focus(),
    controls: () => [['key', key], ['type', type], ['label', label], ['required', req.box], ...consControls.map(([n, c]) => [n, c])],
    value() {
      const out = { ...extra, key: key.value.trim(), type: type.value };
      if (label.value.trim()) out.label = label.value;
      out.required = req.box.checked;
      for (const [name, ctl, kind] of consControls) {
        const v = readConstraint(ctl, kind);
        if (v !== undefined) out[name] = v;
      }
      return out;
    },
  };
}

function ruleItem(r, renumber) {
  const data = r || { name: '', check: '', message: '', on_fail: 'flag' };
  const name = textInput(data.name);
  const check = textArea(data.check, { rows: 2, class: 'code' });
  const message = textInput(data.message);
  const onFail = selectEl([['flag', 'flag (store as flagged)'], ['reject', 'reject (refuse with 422)']], data.on_fail || 'flag');
  name.addEventListener('input', renumber);
  return {
    el: h('div', { class: 'grid' },
      field('Name', name),
      field('On fail', onFail),
      field('Check (Lua expression over answers)', check, { cls: 'wide', hint: 'e.g. answers.savings == nil or answers.savings <= answers.income' }),
      field('Message', message, { cls: 'wide' })),
    title: () => name.value,
    focus: () => name.focus(),
    controls: () => [['name', name], ['check', check], ['message', message], ['on_fail', onFail]],
    value: () => ({ name: name.value, check: check.value, message: message.value, on_fail: onFail.value }),
  };
}

export function questionsEditor(questions) {
  return listEditor({ items: questions, make: questionItem, noun: 'Question', prefix: 'questions', addLabel: 'Add question', emptyText: 'No questions yet.' });
}

export function rulesEditor(rules) {
  return listEditor({ items: rules, make: ruleItem, noun: 'Rule', prefix: 'rules', addLabel: 'Add rule', emptyText: 'No rules.' });
}

