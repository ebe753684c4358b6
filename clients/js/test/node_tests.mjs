// The client in Node against the real server. Each test starts its own Daisy
// (startWithApp) and sends with the app's publishable key.

import { readFile } from 'node:fs/promises';
import { minify } from 'terser';

import daisy, { init, DaisyError } from '../daisy.js';
import {
  startWithApp, startProxy, checkStored, waitUntil, assert, assertEqual, CLIENT,
} from './lib.mjs';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// Tracks events and remembers what was sent, for checkStored.
function tracker(client) {
  const sent = [];
  return {
    sent,
    track(category, name, data) {
      const id = client.track(category, name, data);
      sent.push({ id, category, name, data: data === undefined ? {} : data });
      return id;
    },
  };
}

const ids = (entry) => (entry.json && entry.json.events ? entry.json.events.map((e) => e.id) : null);

async function trackAndFlush(ctx) {
  const d = await startWithApp(ctx);
  const proxy = await startProxy(d.url);
  ctx.defer(proxy.close);
  const client = daisy.init({ host: proxy.url + '/', key: d.key });
  const other = init({ host: d.url, key: d.key });
  assert(UUID.test(client.sessionId), `sessionId ${client.sessionId} is not a UUID`);
  assert(client.sessionId !== other.sessionId, 'two Node clients share a session id');
  const t = tracker(client);
  t.track('page interaction', 'pageview', { host: 'shop.example.org', path: '/pricing', n: 1 });
  t.track('page interaction', 'click', { target: 'buy', nested: { a: [1, 2, { b: null }] }, ok: true });
  t.track('checkout', 'start');
  t.track('checkout', 'unicode é 🌼', { text: 'ünï "quoted" \n line' });
  for (const s of t.sent) assert(UUID.test(s.id), `track returned ${s.id}, not a UUID`);
  assertEqual(client.queued, 4, 'events queued before flush');
  await client.flush();
  assertEqual(client.queued, 0, 'events queued after flush');
  checkStored(await d.events(client.sessionId), t.sent, client.sessionId);

  const batches = proxy.batches();
  assertEqual(batches.length, 1, 'requests sent by one flush of 4 events');
  const b = batches[0];
  assertEqual(b.headers.authorization, `Bearer ${d.key}`, 'Authorization header');
  assertEqual(b.headers['content-encoding'], 'gzip', 'Content-Encoding (Node has CompressionStream)');
  assertEqual(b.status, 202, 'status of the batch');
  assertEqual(ids(b), t.sent.map((s) => s.id), 'ids in the batch');
  for (const e of b.json.events) {
    assert(!Number.isNaN(Date.parse(e.timestamp)) && e.timestamp.endsWith('Z'), `timestamp ${e.timestamp} is not ISO UTC`);
  }
  assertEqual(JSON.parse(b.reply).ids, t.sent.map((s) => s.id), 'ids acknowledged by the server');

  // With gzip off the same goes as plain JSON.
  const plain = init({ host: proxy.url, key: d.key, gzip: false });
  const id = plain.track('checkout', 'plain', { x: 1 });
  await plain.flush();
  const last = proxy.batches().at(-1);
  assertEqual(last.headers['content-encoding'], undefined, 'Content-Encoding with gzip: false');
  assertEqual(ids(last), [id], 'ids of the plain batch');
  checkStored(await d.events(plain.sessionId), [{ id, category: 'checkout', name: 'plain', data: { x: 1 } }], plain.sessionId);
}

async function batchByCount(ctx) {
  const d = await startWithApp(ctx);
  const proxy = await startProxy(d.url);
  ctx.defer(proxy.close);
  // The interval is long, so only the count sends here.
  const client = init({ host: proxy.url, key: d.key, flushAt: 3, flushIntervalMs: 3600000 });
  const t = tracker(client);
  for (let i = 0; i < 7; i++) t.track('count', `e${i}`, { i });
  await waitUntil('two batches of 3 events sent', () => proxy.batches().filter((b) => b.status).length === 2);
  await waitUntil('the 6 events stored', async () => (await d.events(client.sessionId)).length === 6);
  assertEqual(proxy.batches().map(ids), [t.sent.slice(0, 3).map((s) => s.id), t.sent.slice(3, 6).map((s) => s.id)],
    'the batches sent by count');
  assertEqual(client.queued, 1, 'events left in the queue (fewer than flushAt)');
  await client.flush();
  assertEqual(ids(proxy.batches()[2]), [t.sent[6].id], 'the batch sent by flush()');
  checkStored(await d.events(client.sessionId), t.sent, client.sessionId);
}

async function batchByTime(ctx) {
  const d = await startWithApp(ctx);
  const proxy = await startProxy(d.url);
  ctx.defer(proxy.close);
  // flushAt is never reached: only the timer sends.
  const client = init({ host: proxy.url, key: d.key, flushAt: 1000, flushIntervalMs: 300 });
  const t = tracker(client);
  t.track('time', 'a', { i: 1 });
  t.track('time', 'b', { i: 2 });
  await waitUntil('the timer to send the queued events', () => proxy.batches().some((b) => b.status));
  assertEqual(proxy.batches().map(ids), [t.sent.map((s) => s.id)], 'the batch sent by the timer');
  await d.waitForEvents(client.sessionId, 2);
  t.track('time', 'c', { i: 3 });
  await waitUntil('the timer to send an event tracked later', () => proxy.batches().filter((b) => b.status).length === 2);
  checkStored(await d.waitForEvents(client.sessionId, 3), t.sent, client.sessionId);
  assertEqual(client.queued, 0, 'events left queued');
}

async function killedBatchRetried(ctx) {
  const d = await startWithApp(ctx);
  // The first request reaches Daisy (which stores and acknowledges it), but
  // the acknowledgement never reaches the client: its connection is cut.
  const proxy = await startProxy(d.url, { kill: (_e, i) => i === 0 });
  ctx.defer(proxy.close);
  const errors = [];
  const client = init({
    host: proxy.url, key: d.key, flushAt: 100, retryBaseMs: 50, onError: (e) => errors.push(e),
  });
  const t = tracker(client);
  for (let i = 0; i < 5; i++) t.track('retry', `e${i}`, { i });
  await client.flush();
  const b = proxy.batches();
  assert(b.length >= 2, `expected the batch to be sent again after the cut connection; ${b.length} request(s) seen`);
  assertEqual(b[0].killed, true, 'first request cut');
  assertEqual(b[0].status, 202, 'Daisy\'s reply to the first (cut) request');
  const sentIds = t.sent.map((s) => s.id);
  for (const [i, e] of b.entries()) assertEqual(ids(e), sentIds, `ids of request ${i + 1}`);
  assertEqual(b.at(-1).status, 202, 'status of the retry');
  assertEqual(JSON.parse(b.at(-1).reply).ids, sentIds, 'ids acknowledged for the retry');
  assertEqual(errors.length, 0, 'errors reported');
  // Each event once, under its own id (counted through GET /v1/events).
  checkStored(await d.events(client.sessionId), t.sent, client.sessionId);
}

async function retried5xx(ctx) {
  const d = await startWithApp(ctx);
  // The first two requests get a 503 from the proxy (Daisy never sees them).
  const proxy = await startProxy(d.url, {
    answer: (_e, i) => i < 2 && {
      status: 503, headers: { 'Content-Type': 'application/problem+json' },
      body: JSON.stringify({ type: 'urn:daisy:problem:store-unavailable', title: 'Service Unavailable', status: 503, detail: 'x' }),
    },
  });
  ctx.defer(proxy.close);
  const errors = [];
  const client = init({ host: proxy.url, key: d.key, retryBaseMs: 20, onError: (e) => errors.push(e) });
  const t = tracker(client);
  t.track('retry', 'a', { i: 1 });
  t.track('retry', 'b', { i: 2 });
  await client.flush();
  const b = proxy.batches();
  assertEqual(b.map((e) => e.status), [503, 503, 202], 'statuses seen by the client');
  const sentIds = t.sent.map((s) => s.id);
  for (const [i, e] of b.entries()) assertEqual(ids(e), sentIds, `ids of request ${i + 1}`);
  assertEqual(errors.length, 0, 'errors reported');
  checkStored(await d.events(client.sessionId), t.sent, client.sessionId);

  // Given up after maxRetries: flush() rejects with the 503, the events stay queued.
  const proxy2 = await startProxy(d.url, { answer: () => ({ status: 503, body: '' }) });
  ctx.defer(proxy2.close);
  const seen = [];
  const failing = init({ host: proxy2.url, key: d.key, retryBaseMs: 10, maxRetries: 2, flushIntervalMs: 3600000, onError: (e) => seen.push(e) });
  failing.track('retry', 'c');
  const err = await failing.flush().then(() => null, (e) => e);
  assert(err instanceof DaisyError && err.status === 503 && err.retryable, `flush() against a 503: ${err}`);
  assertEqual(proxy2.batches().length, 3, 'requests (1 + maxRetries)');
  assertEqual([seen.length, failing.queued], [1, 1], '[onError calls, events still queued]');
}

async function rateLimited(ctx) {
  const d = await startWithApp(ctx);
  const app = await d.patch({ rate_limit: { events_per_second: 1, burst: 3 } });
  assertEqual(app.rate_limit, { events_per_second: 1, burst: 3 }, 'rate_limit after PATCH');
  const proxy = await startProxy(d.url);
  ctx.defer(proxy.close);
  // The back-off is a minute, so a retry within the wait below can only come
  // from honouring Retry-After.
  const client = init({
    host: proxy.url, key: d.key, flushAt: 3, flushIntervalMs: 3600000, retryBaseMs: 60000, retryMaxMs: 60000,
  });
  const t = tracker(client);
  for (let i = 0; i < 6; i++) t.track('limited', `e${i}`, { i });
  const flushed = client.flush();
  await waitUntil('a 429 from the rate limit', () => proxy.batches().some((b) => b.status === 429));
  const limited = proxy.batches().find((b) => b.status === 429);
  const ra = limited.replyHeaders['retry-after'];
  assert(ra && /^\d+$/.test(ra), `429 without a Retry-After in seconds (got ${ra})`);
  const problem = JSON.parse(limited.reply);
  assertEqual(problem.status, 429, 'status in the 429 problem');
  await waitUntil(`the limited batch to be sent again after Retry-After (${ra} s) and accepted`,
    () => proxy.batches().filter((b) => b.status === 202).length === 2, { timeout: 30000 + 1000 * Number(ra) });
  await flushed;
  const accepted = proxy.batches().filter((b) => b.status === 202).map(ids);
  assertEqual(accepted, [t.sent.slice(0, 3).map((s) => s.id), t.sent.slice(3).map((s) => s.id)], 'accepted batches');
  assertEqual(ids(limited), t.sent.slice(3).map((s) => s.id), 'ids of the limited batch (resent unchanged)');
  checkStored(await d.events(client.sessionId), t.sent, client.sessionId);
}

async function makeForm(d) {
  const form = await d.admin.post('/v1/forms', {
    title: 'JS client form',
    questions: [{ key: 'name', type: 'text', required: true }, { key: 'age', type: 'integer', min: 0 }],
  });
  const app = await d.patch({ forms: [form.id] });
  assertEqual(app.forms, [form.id], 'forms of the app after PATCH');
  return form;
}

async function submitIdempotent(ctx) {
  const d = await startWithApp(ctx);
  const form = await makeForm(d);
  const proxy = await startProxy(d.url, { kill: (_e, i) => i === 0 });
  ctx.defer(proxy.close);
  const client = init({ host: proxy.url, key: d.key, retryBaseMs: 50 });
  const reply = await client.submit(form.id, { name: 'Ada', age: 36 }, { metadata: { device: 'node' } });
  const reqs = proxy.log.filter((e) => e.url === `/v1/forms/${form.id}/responses`);
  assert(reqs.length >= 2, `expected the submission to be sent again after the cut connection; ${reqs.length} seen`);
  assertEqual(reqs[0].killed, true, 'first submission cut');
  assertEqual(reqs[0].status, 201, 'Daisy\'s reply to the first (cut) submission');
  const key = reqs[0].headers['idempotency-key'];
  assert(key && UUID.test(key), `Idempotency-Key ${key} is not a UUID`);
  for (const r of reqs) {
    assertEqual(r.headers['idempotency-key'], key, 'Idempotency-Key of a retry');
    assertEqual(r.headers.authorization, `Bearer ${d.key}`, 'Authorization of the submission');
    assertEqual(r.body.toString(), reqs[0].body.toString(), 'body of a retry');
  }
  assertEqual(reqs.at(-1).replyHeaders['idempotent-replayed'], 'true', 'Idempotent-Replayed on the retry');
  assertEqual(reply.id, JSON.parse(reqs[0].reply).id, 'the resolved reply is the stored response');
  assertEqual(reply.answers, { name: 'Ada', age: 36 }, 'answers in the reply');
  const page = await d.admin.get(`/v1/forms/${form.id}/responses`);
  assertEqual(page.items.map((r) => r.id), [reply.id], 'responses stored');
  assertEqual(page.items[0].app_id, d.app.id, 'app_id of the response');

  // A second call is a new submission (a new key).
  const second = await init({ host: d.url, key: d.key }).submit(form.id, { name: 'Grace' });
  assert(second.id !== reply.id, 'a second submit() got the first one\'s response');
  assertEqual((await d.admin.get(`/v1/forms/${form.id}/responses`)).items.length, 2, 'responses after a second submit()');
}

async function typedErrors(ctx) {
  const d = await startWithApp(ctx);
  const form = await makeForm(d);
  const client = init({ host: d.url, key: d.key, retryBaseMs: 10 });

  // 422 with the problem's fields.
  let err = await client.submit(form.id, { age: -1 }).then(() => null, (e) => e);
  assert(err instanceof DaisyError, `submit() with bad answers rejected with ${err}, not a DaisyError`);
  assertEqual(err.status, 422, 'status of a refused submission');
  assert(/validation-failed$/.test(err.type), `type ${err.type}`);
  assertEqual(err.title, 'Unprocessable Content', 'title');
  assert(err.detail && err.message === err.detail, 'message is the problem\'s detail');
  assertEqual(err.retryable, false, 'a 422 is not retryable');
  const fields = (err.errors || []).map((e) => e.field).sort();
  assertEqual(fields, ['age', 'name'], 'fields named in errors');

  // A form the app was not allowed: 403 forbidden.
  const other = await d.admin.post('/v1/forms', { title: 'Not allowed', questions: [{ key: 'x', type: 'text' }] });
  err = await client.submit(other.id, { x: 'y' }).then(() => null, (e) => e);
  assert(err instanceof DaisyError && err.status === 403 && /forbidden$/.test(err.type),
    `submit() to a form not in the app's forms: expected a 403 forbidden DaisyError, got ${err && err.status} ${err && err.type}`);

  // A wrong key: flush() rejects with 401, onError hears it, the events are dropped (not retried).
  const seen = [];
  const bad = init({ host: d.url, key: 'dpk_wrong', onError: (e, events) => seen.push([e, events]) });
  bad.track('x', 'y');
  err = await bad.flush().then(() => null, (e) => e);
  assert(err instanceof DaisyError && err.status === 401, `flush() with a wrong key: ${err && err.status}`);
  assertEqual(typeof err.type, 'string', 'type of the 401');
  assertEqual(seen.length, 1, 'onError calls');
  assertEqual(seen[0][1].length, 1, 'events given to onError');
  assertEqual(bad.queued, 0, 'refused events left queued');

  // An event its type's schema refuses (the built-in pageview needs host and
  // path): the rest of the batch is stored, the refused one goes to onError.
  const rejected = [];
  const c2 = init({ host: d.url, key: d.key, onError: (e, events) => rejected.push([e, events]) });
  const okId = c2.track('checkout', 'start', {});
  const badId = c2.track('page interaction', 'pageview', { path: '/no-host' });
  await c2.flush();
  assertEqual(rejected.length, 1, 'onError calls for a batch with a refused event');
  const [re, revents] = rejected[0];
  assert(re instanceof DaisyError && /events-rejected$/.test(re.type), `onError got ${re}`);
  assertEqual(revents.map((e) => e.id), [badId], 'events given to onError');
  assertEqual(re.rejected.map((x) => [x.index, x.errors[0].field]), [[1, 'data']], 'rejected in the error');
  assertEqual((await d.events(c2.sessionId)).map((e) => e.id), [okId], 'events stored from that batch');

  // No server: a network error (status 0), retried, then kept queued.
  const gone = init({ host: 'http://127.0.0.1:9', key: d.key, maxRetries: 2, retryBaseMs: 10, flushIntervalMs: 3600000 });
  gone.track('x', 'y');
  err = await gone.flush().then(() => null, (e) => e);
  assert(err instanceof DaisyError && err.status === 0 && err.retryable, `flush() with no server: ${err && err.status}`);
  assertEqual(gone.queued, 1, 'events kept queued after a network failure');
  await gone.close().catch(() => {});

  // init needs host and key.
  let threw = false;
  try { init({ host: d.url }); } catch (e) { threw = e instanceof TypeError; }
  assert(threw, 'init without a key did not throw a TypeError');
}

async function boundedQueue(ctx) {
  const d = await startWithApp(ctx);
  const client = init({ host: d.url, key: d.key, flushAt: 1000, flushIntervalMs: 3600000, maxQueue: 5 });
  const t = tracker(client);
  for (let i = 0; i < 8; i++) t.track('bounded', `e${i}`, { i });
  assertEqual(client.dropped, 3, 'dropped count');
  assertEqual(client.queued, 5, 'queued count');
  await client.flush();
  // The oldest three were dropped.
  checkStored(await d.events(client.sessionId), t.sent.slice(3), client.sessionId);
}

async function minifiedSize() {
  const src = await readFile(CLIENT, 'utf8');
  const out = await minify(src, { module: true, compress: true, mangle: true });
  const bytes = Buffer.byteLength(out.code);
  assert(bytes < 5120, `daisy.js minified is ${bytes} bytes, not under 5120`);
  // The minified module still loads and has the API.
  const mod = await import(`data:text/javascript;base64,${Buffer.from(out.code).toString('base64')}`);
  assertEqual([typeof mod.init, typeof mod.default.init, typeof mod.DaisyError], ['function', 'function', 'function'],
    'exports of the minified module');
  const c = mod.init({ host: 'http://127.0.0.1:9', key: 'dpk_x', flushIntervalMs: 3600000 });
  assertEqual(typeof c.track('a', 'b'), 'string', 'track() of the minified module');
  return `${bytes} bytes minified (terser), ${Buffer.byteLength(src)} source`;
}

// The routes and fields the client uses are in the server's API reference
// (GET /openapi.json), so a change there that the client misses fails here.
async function openapiAgreement(ctx) {
  const d = await startWithApp(ctx);
  const spec = (await d.admin.call('GET', '/openapi.json', { token: null })).body;
  const deref = (o) => {
    while (o && o.$ref) o = o.$ref.slice(2).split('/').reduce((a, k) => a[k], spec);
    return o;
  };
  // Every disagreement is listed, not only the first.
  const missing = [];
  const check = (ok, what) => { if (!ok) missing.push(what); };
  const send = spec.paths['/v1/events'] && spec.paths['/v1/events'].post;
  const submit = spec.paths['/v1/forms/{id}/responses'] && spec.paths['/v1/forms/{id}/responses'].post;
  assert(send && submit, `the API reference lacks ${send ? '' : 'POST /v1/events '}${submit ? '' : 'POST /v1/forms/{id}/responses'}`);

  // What the client really sends, caught by the proxy.
  const proxy = await startProxy(d.url);
  ctx.defer(proxy.close);
  const client = init({ host: proxy.url, key: d.key });
  client.track('a', 'b', { c: 1 });
  await client.flush();
  const event = proxy.batches()[0].json.events[0];
  const eventInput = deref(spec.components.schemas.EventInput);
  for (const k of Object.keys(event)) {
    check(k in eventInput.properties, `EventInput has no field ${k}, which the client sends`);
  }
  for (const k of eventInput.required || []) check(k in event, `the client does not send the required field ${k}`);

  const params = (op) => (op.parameters || []).map(deref);
  check(params(send).some((p) => p.in === 'query' && p.name === 'key'),
    'POST /v1/events documents no ?key= query parameter (sendBeacon)');
  check(params(send).some((p) => p.in === 'header' && p.name === 'Content-Encoding'), 'POST /v1/events documents no Content-Encoding');
  const content = send.requestBody && send.requestBody.content ? Object.keys(send.requestBody.content) : [];
  check(content.includes('text/plain'), `POST /v1/events documents no text/plain body (sendBeacon); it has ${content.join(', ')}`);
  check(send.responses['429'], 'POST /v1/events documents no 429 (rate limit)');
  check(params(submit).some((p) => p.in === 'header' && p.name === 'Idempotency-Key'),
    'POST /v1/forms/{id}/responses documents no Idempotency-Key');
  const submission = deref(spec.components.schemas.Submission);
  for (const k of ['answers', 'metadata', 'submitted_at']) check(k in submission.properties, `Submission has no ${k}`);
  const problem = deref(spec.components.schemas.Problem);
  for (const k of ['type', 'title', 'status', 'detail', 'errors']) check(k in problem.properties, `Problem has no ${k}`);
  assert(missing.length === 0, `the client and docs/openapi.yaml disagree: ${missing.join('; ')}`);
}

export const NODE_TESTS = [
  { name: 'node.track-flush', run: trackAndFlush },
  { name: 'node.batch-by-count', run: batchByCount },
  { name: 'node.batch-by-time', run: batchByTime },
  { name: 'node.killed-batch-stored-once', run: killedBatchRetried },
  { name: 'node.retry-5xx-same-ids', run: retried5xx },
  { name: 'node.rate-limit-retry-after', run: rateLimited },
  { name: 'node.submit-idempotency-key', run: submitIdempotent },
  { name: 'node.typed-errors', run: typedErrors },
  { name: 'node.bounded-queue', run: boundedQueue },
  { name: 'node.minified-size', run: minifiedSize },
  { name: 'node.openapi-agreement', run: openapiAgreement },
];
