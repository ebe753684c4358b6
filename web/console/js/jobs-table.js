// A live table of jobs for given filters {status, integration_id, source_id}:
// rows change as job.updated messages arrive (new jobs that match appear at
// the top), and each row has Retry and Cancel where the job's status allows.
// jobsTable(filters, {box}) -> {el, reload(), destroy()}

import { h, timeEl, shortValue, shortId } from './dom.js';
import { api, enc } from './api.js';
import * as stream from './stream.js';
import { pagedTable } from './table.js';
import { actionButton } from './feedback.js';
import { refLink } from './names.js';
import { statusBadge } from './response-view.js';

export const JOB_STATUSES = ['pending', 'running', 'awaiting_callback', 'succeeded', 'failed', 'dead', 'cancelled'];
export const RETRYABLE = new Set(['failed', 'dead', 'cancelled']);
export const CANCELLABLE = new Set(['pending', 'failed', 'running', 'awaiting_callback']);

export function sourceLink(job) {
  const d = job.data;
  if (d && d.form_id) return h('a', { href: `#/responses/${d.form_id}/${job.source_id}`, title: job.source_id, text: `response ${shortId(job.source_id)}` });
  if (d && d.session_id) return h('a', { href: `#/events/session/${d.session_id}`, title: job.source_id, text: `event ${shortId(job.source_id)}` });
  return h('code', { class: 'id', title: job.source_id, text: shortId(job.source_id) });
}

export function jobActions(job, { box, onChange }) {
  const out = [];
  if (RETRYABLE.has(job.status)) out.push(actionButton('Retry', async () => onChange(await api.post(`/v1/jobs/${enc(job.id)}/retry`)), { box, cls: 'secondary small', busyLabel: 'Retrying…' }));
  if (CANCELLABLE.has(job.status)) out.push(actionButton('Cancel', async () => onChange(await api.post(`/v1/jobs/${enc(job.id)}/cancel`)), { box, cls: 'secondary small', busyLabel: 'Cancelling…' }));
  for (const b of out) b.setAttribute('aria-label', `${b.textContent} job ${shortId(job.id)}`);
  return h('div', { class: 'row-actions' }, out);
}

export function jobsTable(filters, { box, showIntegration = true } = {}) {
  const columns = [
    { label: 'Created', render: (j) => timeEl(j.created_at) },
    { label: 'Job', render: (j) => h('a', { href: `#/jobs/${j.id}`, title: j.id, text: shortId(j.id), 'aria-label': `Job ${j.id}` }) },
    showIntegration ? { label: 'Integration', render: (j) => refLink('integration', j.integration_id) } : null,
    { label: 'Trigger', render: (j) => j.type },
    { label: 'Source', render: (j) => sourceLink(j) },
    { label: 'Status', render: (j) => statusBadge(j.status) },
    { label: 'Attempts', render: (j) => String(j.attempts) },
    { label: 'Next attempt', render: (j) => timeEl(j.next_attempt_at) },
    { label: 'Last error', cls: 'error-cell', render: (j) => shortValue(j.last_error || '', 160) },
    { label: 'Actions', render: (j) => jobActions(j, { box, onChange: (nj) => table.upsert({ ...table.get(nj.id), ...nj }) }) },
  ].filter(Boolean);
  const table = pagedTable({
    caption: 'Jobs, oldest first; jobs that change appear at the top',
    empty: 'No jobs match.',
    load: (after) => api.get('/v1/jobs', { limit: 50, after, ...filters }),
    columns,
  });
  const matches = (m) => (!filters.status || m.status === filters.status)
    && (!filters.integration_id || m.integration_id === filters.integration_id)
    && (!filters.source_id || m.source_id === filters.source_id);
  let fetching = 0;
  const off = stream.subscribe(['job.updated'], (msg) => {
    if (msg.type === 'gap') {
      table.reload();
      return;
    }
    const m = msg.data;
    if (!m) return;
    const known = table.get(m.id);
    const merged = { ...(known || { created_at: null, next_attempt_at: null }), ...m, last_error: m.error ?? null };
    delete merged.outcome;
    delete merged.error;
    if (known && !matches(m)) table.remove(m.id);
    else if (matches(m)) {
      table.upsert(merged, { prepend: true });
      // A message holds no creation time nor snapshot: read the whole job
      // of a new row (a few at a time; the rest keep the message's fields).
      if (!known && fetching < 4) {
        fetching += 1;
        api.get(`/v1/jobs/${enc(m.id)}`).then((full) => {
          delete full.attempts_log;
          if (table.get(full.id)) table.upsert(full);
        }).catch(() => {}).finally(() => {
          fetching -= 1;
        });
      }
    }
  });
  return { el: table.el, reload: () => table.reload(), destroy: off };
}
