// Per-minute counts of what the server takes in and does, for the overview's
// charts: submissions, events, rejections and job outcomes over the last
// WINDOW minutes. Counted from the live stream for the whole signed-in
// session, and seeded once from the listings that take a time filter
// (responses, events, rejections). Job attempts have no time-filtered
// listing, so their chart starts when the console does.

import * as stream from './stream.js';
import { api, isAdmin, listAll } from './api.js';
import { parseTime } from './dom.js';

export const WINDOW = 30;
const MINUTE = 60000;

let buckets = new Map(); // minute start (ms) -> counts
let seen = new Set(); // ids already counted (responses, events, rejections)
let unsubscribe = null;
let seeding = null;
let seedNote = '';
let startedAt = 0;
const listeners = new Set();

function minuteOf(ms) {
  return Math.floor(ms / MINUTE) * MINUTE;
}

function bucket(ms) {
  const m = minuteOf(ms);
  let b = buckets.get(m);
  if (!b) {
    b = { submissions: 0, events: 0, rejections: 0, succeeded: 0, failed: 0, other: 0 };
    buckets.set(m, b);
  }
  return b;
}

function count(kind, id, time) {
  if (id) {
    if (seen.has(id)) return;
    seen.add(id);
  }
  const ms = time ? parseTime(time).getTime() : Date.now();
  if (Number.isNaN(ms) || ms < Date.now() - (WINDOW + 1) * MINUTE) return;
  bucket(ms)[kind] += 1;
}

let notifyPending = false;
function notify() {
  if (notifyPending) return;
  notifyPending = true;
  setTimeout(() => {
    notifyPending = false;
    for (const fn of listeners) fn();
  }, 250);
}

const OUTCOME_KIND = { succeeded: 'succeeded', failed: 'failed', timeout: 'failed', gone: 'failed' };

export function start() {
  stop();
  startedAt = Date.now();
  unsubscribe = stream.subscribe(['response.created', 'event.created', 'event.rejected', 'job.updated'], (msg) => {
    const d = msg.data || {};
    if (msg.type === 'response.created') count('submissions', `r:${d.id}`, d.received_at);
    else if (msg.type === 'event.created') count('events', `e:${d.id}`, d.received_at);
    else if (msg.type === 'event.rejected') count('rejections', `x:${d.received_at}:${d.app_id}`, d.received_at);
    else if (msg.type === 'job.updated') count(OUTCOME_KIND[d.outcome] || 'other', null, null);
    else return;
    notify();
  });
}

export function stop() {
  if (unsubscribe) unsubscribe();
  unsubscribe = null;
  buckets = new Map();
  seen = new Set();
  seeding = null;
  seedNote = '';
}

export function onChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function since() {
  return startedAt;
}

export function note() {
  return seedNote;
}

// The last WINDOW minutes, oldest first: [{t, submissions, ...}].
export function series() {
  const now = minuteOf(Date.now());
  const out = [];
  for (let i = WINDOW - 1; i >= 0; i -= 1) {
    const t = now - i * MINUTE;
    out.push({ t, ...(buckets.get(t) || { submissions: 0, events: 0, rejections: 0, succeeded: 0, failed: 0, other: 0 }) });
  }
  for (const k of buckets.keys()) if (k < now - WINDOW * MINUTE) buckets.delete(k);
  return out;
}

// Reads the last WINDOW minutes from the listings, once per session.
export function seed() {
  if (seeding) return seeding;
  const sinceIso = new Date(minuteOf(Date.now()) - (WINDOW - 1) * MINUTE).toISOString();
  const notes = [];
  const tasks = [];
  if (isAdmin()) {
    tasks.push((async () => {
      const forms = (await listAll('/v1/forms')).filter((f) => f.status === 'active');
      const some = forms.slice(-50);
      if (forms.length > some.length) notes.push(`submissions counted for the ${some.length} newest active forms`);
      await Promise.all(some.map(async (f) => {
        const page = await api.get(`/v1/forms/${f.id}/responses`, { since: sinceIso, limit: 1000 });
        for (const r of page.items) count('submissions', `r:${r.id}`, r.received_at);
        if (page.next_cursor) notes.push(`more than 1000 recent submissions to "${f.title}": the chart shows the first 1000`);
      }));
    })());
    tasks.push((async () => {
      const page = await api.get('/v1/events/rejections', { since: sinceIso, limit: 1000 });
      for (const x of page.items) count('rejections', `x:${x.received_at}:${x.app_id}`, x.received_at);
    })());
  }
  tasks.push((async () => {
    // Events are listed by their own timestamp; counted by arrival.
    const page = await api.get('/v1/events', { since: sinceIso, limit: 1000 });
    for (const e of page.items) count('events', `e:${e.id}`, e.received_at);
    if (page.next_cursor) notes.push('more than 1000 recent events: the chart counts the first 1000 and those that arrive live');
  })());
  seeding = Promise.allSettled(tasks).then((results) => {
    const failed = results.filter((r) => r.status === 'rejected');
    if (failed.length) notes.push(`some history could not be read (${failed[0].reason?.detail || failed[0].reason})`);
    seedNote = notes.join('; ');
    notify();
  });
  return seeding;
}
