// Forms: the list (#/forms), a new form (#/forms/new) and one form
// (#/forms/<id>): its definition (questions and rules, 422 errors beside each
// field), its version, archiving, a preview that submits a real response
// and shows the rule checks and actions of the reply, and every version's
// definition.

import { h, replace, append, timeEl, badge, jsonText } from '../dom.js';
import { api, enc } from '../api.js';
import { pagedTable, simpleTable } from '../table.js';
import { alertBox, showError, hideError, statusLine, setStatus, withBusy } from '../feedback.js';
import { field, textInput, textArea, showFieldErrors, resetErrors, parseJsonField } from '../fields.js';
import { questionsEditor, rulesEditor } from '../question-editor.js';
import { answerInputs } from '../answer-inputs.js';
import { submissionResult } from '../response-view.js';
import { confirmDialog } from '../dialog.js';
import { remember, forget } from '../names.js';

export function mount(root, route) {
  const id = route.segments[0];
  if (!id) return mountList(root);
  return mountForm(root, id === 'new' ? null : id);
}

function mountList(root) {
  const table = pagedTable({
    caption: 'Forms, oldest first (archived ones included)',
    empty: 'No forms yet.',
    load: (after) => api.get('/v1/forms', { limit: 50, after }),
    columns: [
      { label: 'Title', header: true, render: (f) => h('a', { href: `#/forms/${f.id}`, text: f.title }) },
      { label: 'Status', render: (f) => badge(f.status, f.status === 'active' ? 'ok' : 'muted') },
      { label: 'Version', render: (f) => String(f.version) },
      { label: 'Questions', render: (f) => String(f.questions.length) },
      { label: 'Rules', render: (f) => String(f.rules.length) },
      { label: 'Updated', render: (f) => timeEl(f.updated_at) },
      { label: 'Responses', render: (f) => h('a', { href: `#/responses/${f.id}`, text: 'Responses', 'aria-label': `Responses to ${f.title}` }) },
    ],
  });
  replace(root,
    h('h1', { text: 'Forms' }),
    h('p', { class: 'lede' }, 'Form definitions: questions, and rules that flag or reject answers. ',
      h('a', { href: '#/forms/new', class: 'button', text: 'New form' })),
    table.el);
  table.reload();
  return {};
}

function mountForm(root, formId) {
  let form = null;
  const heading = h('h1', { text: formId ? 'Form' : 'New form' });
  const meta = h('div', { class: 'meta' });
  const body = h('div');
  const pageBox = alertBox();
  replace(root, h('p', { class: 'crumbs' }, h('a', { href: '#/forms', text: 'Forms' })), heading, meta, pageBox, body);

  function drawMeta() {
    if (!form) {
      replace(meta);
      return;
    }
    replace(meta, h('p', null,
      badge(form.status, form.status === 'active' ? 'ok' : 'muted'),
      ` Version ${form.version} · created `, timeEl(form.created_at), ' · updated ', timeEl(form.updated_at),
      form.archived_at ? [' · archived ', timeEl(form.archived_at)] : null, ' · ',
      h('a', { href: `#/responses/${form.id}`, text: 'Responses' }), ' · ',
      h('a', { href: `#/integrations?form=${form.id}`, text: 'Integrations' }), ' · id ', h('code', { class: 'id', text: form.id })));
  }

  function draw() {
    heading.textContent = form ? form.title : 'New form';
    drawMeta();
    const archived = form && form.status === 'archived';
    const def = form || { title: '', description: '', metadata: {}, questions: [], rules: [] };

    // Definition.
    const title = textInput(def.title, { maxlength: 500 });
    const description = textArea(def.description || '', { rows: 2 });
    const metadata = textArea(def.metadata && Object.keys(def.metadata).length ? jsonText(def.metadata) : '', { rows: 3, class: 'code' });
    const qs = questionsEditor(def.questions);
    qs.el.dataset.field = 'questions';
    const rules = rulesEditor(def.rules);
    rules.el.dataset.field = 'rules';
    const defBox = alertBox();
    const saveStatus = statusLine();
    const saveBtn = h('button', { type: 'submit', text: form ? 'Save form' : 'Create form' });
    const fieldset = h('fieldset', { class: 'plain', disabled: archived },
      h('legend', { class: 'sr-only', text: 'Definition' }),
      field('Title', title, { path: 'title' }),
      field('Description', description, { path: 'description' }),
      field('Metadata (JSON object, optional)', metadata, { path: 'metadata' }),
      h('h3', { text: 'Questions' }), qs.el,
      h('h3', { text: 'Rules' }), rules.el);
    const defForm = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'form-def' },
      h('h2', { id: 'form-def', text: 'Definition' }),
      archived ? h('p', { class: 'hint', text: 'This form is archived: it can be read and exported but not changed.' }) : null,
      form ? h('p', { class: 'hint', text: `A change to the questions or rules makes a new version (now ${form.version}); responses record the version they were checked against. Every version's definition is listed under Versions, below.` }) : null,
      fieldset, defBox,
      h('div', { class: 'actions' }, archived ? null : saveBtn, saveStatus));

    defForm.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      resetErrors(defForm, defBox);
      setStatus(saveStatus, '');
      let payload;
      try {
        const md = parseJsonField(metadata.value, 'metadata');
        const rs = rules.value();
        payload = { title: title.value, description: description.value || null, metadata: md ?? null, questions: qs.value(), rules: rs.length ? rs : null };
        if (!form) {
          if (!payload.description) delete payload.description;
          if (!payload.metadata) delete payload.metadata;
          if (!payload.rules) delete payload.rules;
        }
      } catch (e) {
        showFieldErrors(defForm, defBox, e);
        return;
      }
      try {
        const before = form && form.version;
        const saved = await withBusy(saveBtn, () => (form ? api.patch(`/v1/forms/${enc(form.id)}`, payload) : api.post('/v1/forms', payload)), 'Saving…');
        remember('form', saved);
        if (!form) {
          location.hash = `#/forms/${saved.id}`;
          return;
        }
        form = saved;
        heading.textContent = form.title;
        drawMeta();
        drawPreview();
        if (before !== form.version) versions.reload();
        setStatus(saveStatus, before === form.version ? `Saved (version ${form.version} unchanged).` : `Saved as version ${form.version}.`);
      } catch (e) {
        showFieldErrors(defForm, defBox, e);
      }
    });

    const previewSlot = h('div');
    function drawPreview() {
      if (!form) {
        replace(previewSlot);
        return;
      }
      const inputs = answerInputs(form.questions);
      const box = alertBox();
      const result = h('div', { 'aria-live': 'polite' });
      const submit = h('button', { type: 'submit', text: 'Submit response' });
      const pf = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'form-preview' },
        h('h2', { id: 'form-preview', text: 'Preview' }),
        h('p', { class: 'hint', text: archived ? 'An archived form takes no responses.' : 'Fill it in as a respondent would. Submitting stores a real response (as the admin) and runs the rules and integrations.' }),
        inputs.el, box,
        h('div', { class: 'actions' }, archived ? null : submit), result);
      pf.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        resetErrors(pf, box);
        replace(result);
        try {
          const resp = await withBusy(submit, () => api.post(`/v1/forms/${enc(form.id)}/responses`, { answers: inputs.read() }), 'Submitting…');
          replace(result, submissionResult(resp, 'Submitted'));
        } catch (e) {
          showFieldErrors(pf, box, e);
        }
      });
      replace(previewSlot, pf);
    }
    drawPreview();
    const versions = form ? versionsSection(form.id, () => form.version) : null;

    let archiveSection = null;
    if (form && !archived) {
      const archiveBtn = h('button', { type: 'button', class: 'danger', text: 'Archive form' });
      archiveBtn.addEventListener('click', async () => {
        hideError(pageBox);
        if (!(await confirmDialog(`Archive "${form.title}"? It keeps its responses and can still be exported, but takes no more responses and cannot change. This cannot be undone.`, 'Archive form'))) return;
        try {
          form = await withBusy(archiveBtn, () => api.del(`/v1/forms/${enc(form.id)}`), 'Archiving…');
          forget('form');
          draw();
        } catch (e) {
          showError(pageBox, e);
        }
      });
      archiveSection = h('section', { class: 'card', 'aria-labelledby': 'form-archive' },
        h('h2', { id: 'form-archive', text: 'Archive' }),
        h('p', { text: 'Archiving keeps the form and its responses but stops new responses and changes.' }), archiveBtn);
    }
    replace(body, defForm, previewSlot, versions && versions.el, archiveSection);
  }

  if (formId) {
    replace(body, statusLine('Loading…'));
    api.get(`/v1/forms/${enc(formId)}`).then((f) => {
      form = f;
      draw();
    }).catch((e) => {
      replace(body);
      showError(pageBox, e);
    });
  } else draw();
  return {};
}

// Every version of the form (GET /v1/forms/{id}/versions, oldest first), each
// with its questions and rules in a <details> built when first opened.
function versionsSection(formId, current) {
  const table = pagedTable({
    caption: 'Versions, oldest first',
    empty: 'No versions recorded.',
    key: (v) => v.version,
    load: (after) => api.get(`/v1/forms/${enc(formId)}/versions`, { limit: 50, after }),
    columns: [
      { label: 'Version', header: true, render: (v) => [String(v.version), v.version === current() ? [' ', badge('current', 'info')] : null] },
      { label: 'Created', render: (v) => timeEl(v.created_at) },
      { label: 'Questions', render: (v) => String(v.questions.length) },
      { label: 'Rules', render: (v) => String(v.rules.length) },
      { label: 'Definition', cls: 'version-def', render: definitionOf },
    ],
  });
  table.reload();
  return {
    reload: table.reload,
    el: h('section', { class: 'card', 'aria-labelledby': 'form-versions' },
      h('h2', { id: 'form-versions', text: 'Versions' }),
      h('p', { class: 'hint', text: 'Each version is the whole definition as it was made; changing the title, description or metadata keeps the version.' }),
      table.el),
  };
}

function definitionOf(v) {
  const n = v.version;
  const det = h('details', null, h('summary', { text: `Definition of version ${n}` }));
  det.addEventListener('toggle', () => {
    if (!det.open || det.children.length > 1) return;
    append(det, [h('p', null, 'Title: ', v.title),
      simpleTable({ caption: `Questions of version ${n}`, empty: 'No questions.', items: v.questions, columns: [
        { label: 'Key', header: true, render: (q) => h('code', { text: q.key }) },
        { label: 'Type', render: (q) => q.type },
        { label: 'Label', render: (q) => q.label || '' },
        { label: 'Required', render: (q) => (q.required ? 'yes' : 'no') },
      ] }),
      simpleTable({ caption: `Rules of version ${n}`, empty: 'No rules.', items: v.rules, columns: [
        { label: 'Name', header: true, render: (r) => r.name },
        { label: 'Check', render: (r) => h('code', { text: r.check }) },
        { label: 'On fail', render: (r) => r.on_fail || 'flag' },
        { label: 'Message', render: (r) => r.message },
      ] })]);
  });
  return det;
}
