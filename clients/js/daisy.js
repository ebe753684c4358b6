// Daisy's JavaScript client: sends behaviour events and form responses to a
// Daisy server. One ES module, no dependencies, for browsers and Node 20+.
// See README.md beside this file for the options and the behaviour.

const g = globalThis;
const SESSION_KEY = 'daisy_session_id';
const BEACON_MAX = 60000; // bytes per beacon body, below the browsers' 64 KiB limit

// A random UUID: crypto.randomUUID(), or (on plain http pages, where it is
// missing) a version 4 UUID from crypto.getRandomValues().
const uuid = () => g.crypto.randomUUID ? g.crypto.randomUUID()
  : '10000000-1000-4000-8000-100000000000'.replace(/[018]/g,
    (c) => (c ^ (g.crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// What a request failed with. `status` is the HTTP status, 0 when no reply
// came (network error, CORS refusal, connection cut). The problem+json
// members of the reply (type, title, detail, errors, and any others such as
// `rejected`) are copied onto the error; `retryAfter` is in seconds.
export class DaisyError extends Error {
  constructor(status, problem, retryAfter) {
    super((problem && (problem.detail || problem.title)) || `Daisy request failed (${status || 'network error'})`);
    Object.assign(this, problem, { name: 'DaisyError', status, retryAfter });
  }

  // Worth sending again: no reply, 408, 429 or a 5xx.
  get retryable() {
    const s = this.status;
    return !s || s == 408 || s == 429 || s >= 500;
  }
}

// Retry-After as seconds (a number or an HTTP date), or undefined.
const retryAfterOf = (h) => {
  if (h == null) return;
  const n = +h;
  return n >= 0 ? n : Math.max(0, (Date.parse(h) - Date.now()) / 1000) || undefined;
};

// Returns a client for `host` (the server's base URL) and `key` (the app's
// publishable key, dpk_...; a secret app token works too, outside pages).
export function init({
  host,
  key,
  flushAt = 20, // send once this many events are queued; also the batch size
  flushIntervalMs = 2000, // send queued events at most this long after the first
  maxQueue = 1000, // queued events kept; beyond it the oldest are dropped
  maxRetries = 5, // attempts after the first for one batch or submission
  retryBaseMs = 500, // first back-off; doubles per attempt, with jitter
  retryMaxMs = 30000, // longest back-off (Retry-After is honoured as given)
  gzip = true, // compress batches where CompressionStream exists
  beacon = true, // send the queue with sendBeacon when the page is hidden
  sessionId,
  onError = () => {}, // (DaisyError, events) when events are given up or refused
} = {}) {
  if (!host || !key) throw new TypeError('daisy.init needs host and key');
  host = host.replace(/\/+$/, '');
  const doc = g.document;
  let store;
  try { store = g.sessionStorage; } catch { /* blocked storage: a session per client */ }
  // One session id per tab: kept in sessionStorage, so reloads in the tab keep it.
  if (!sessionId) {
    try { sessionId = store && store.getItem(SESSION_KEY); } catch { /* ignore */ }
    if (!sessionId) {
      sessionId = uuid();
      try { store && store.setItem(SESSION_KEY, sessionId); } catch { /* ignore */ }
    }
  }

  const queue = [];
  let timer = 0;
  let busy = 0; // runs queued or in progress
  let chain = Promise.resolve();

  // POSTs body to path; retries on no reply, 408, 429 and 5xx with exponential
  // back-off and jitter (or Retry-After when the server gives one), sending the
  // very same body and headers each time. Resolves to the parsed JSON reply;
  // rejects with a DaisyError.
  const send = async (path, body, headers) => {
    for (let attempt = 0; ; attempt++) {
      let err;
      try {
        const r = await fetch(host + path, {
          method: 'POST', body,
          headers: { Authorization: 'Bearer ' + key, 'Content-Type': 'application/json', ...headers },
        });
        const text = await r.text();
        let json;
        try { json = text ? JSON.parse(text) : {}; } catch { json = { detail: text }; }
        if (r.ok) return json;
        err = new DaisyError(r.status, json, retryAfterOf(r.headers.get('Retry-After')));
      } catch (e) {
        err = new DaisyError(0, { detail: String(e && e.message || e), cause: e });
      }
      if (!err.retryable || attempt >= maxRetries) throw err;
      const d = Math.min(retryMaxMs, retryBaseMs * 2 ** attempt);
      await sleep(err.retryAfter != null ? err.retryAfter * 1000 : d / 2 + Math.random() * d / 2);
    }
  };

  // Sends one batch (gzip where possible). Events the server refused one by
  // one (a 202 with `rejected`) go to onError.
  const sendBatch = async (events) => {
    let body = JSON.stringify({ events });
    const headers = {};
    if (gzip && g.CompressionStream) {
      body = await new Response(new Blob([body]).stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer();
      headers['Content-Encoding'] = 'gzip';
    }
    const reply = await send('/v1/events', body, headers);
    if (reply.rejected && reply.rejected.length) {
      onError(new DaisyError(422, { ...reply, type: 'urn:daisy:problem:events-rejected', detail: 'Some events were rejected' }),
        reply.rejected.map((x) => events[x.index]));
    }
    return reply;
  };

  // Sends queued events in batches of flushAt, one batch at a time, while at
  // least `min` are queued. A batch that fails for good is given to onError;
  // if the failure was retryable (server down, offline) its events go back to
  // the front of the queue for a later flush, else (refused: 4xx) they are
  // dropped.
  const drain = async (min) => {
    while (queue.length >= min) {
      const batch = queue.splice(0, flushAt);
      try {
        await sendBatch(batch);
      } catch (e) {
        if (e.retryable) {
          queue.unshift(...batch);
          trim();
        }
        onError(e, batch);
        throw e;
      } finally {
        arm();
      }
    }
  };

  // Runs drain(min) after the sends before it; never two at once.
  const run = (min) => {
    busy++;
    const p = chain.then(() => drain(min)).finally(() => busy--);
    chain = p.catch(() => {});
    return p;
  };

  const trim = () => {
    const n = queue.length - maxQueue;
    if (n > 0) {
      queue.splice(0, n);
      client.dropped += n;
    }
  };

  const arm = () => {
    if (!timer && queue.length) {
      timer = setTimeout(() => client.flush().catch(() => {}), flushIntervalMs);
      if (timer.unref) timer.unref(); // Node: a pending flush does not hold the process open
    }
  };

  // The page is going away or out of sight: hand the queue to the browser
  // with sendBeacon (text/plain JSON, the key in ?key=), in bodies of at most
  // BEACON_MAX bytes. A body the browser will not queue is sent by fetch with
  // keepalive; if that fails too its events go back to the queue.
  const onHide = () => {
    clearTimeout(timer);
    timer = 0;
    while (queue.length) {
      // As many events as fit in one body (an oversized event goes alone).
      let n = 0;
      let size = 13; // {"events":[]}
      while (n < queue.length && ((size += new Blob([JSON.stringify(queue[n])]).size + 1) <= BEACON_MAX || !n)) n++;
      const events = queue.splice(0, n);
      const json = JSON.stringify({ events });
      const url = host + '/v1/events?key=' + encodeURIComponent(key);
      if (!(g.navigator.sendBeacon && g.navigator.sendBeacon(url, new Blob([json], { type: 'text/plain' })))) {
        fetch(host + '/v1/events', {
          method: 'POST', body: json, keepalive: true,
          headers: { Authorization: 'Bearer ' + key, 'Content-Type': 'application/json' },
        }).then((r) => { if (r.status >= 500 || r.status == 429) throw 0; })
          .catch(() => { queue.unshift(...events); trim(); arm(); });
      }
    }
  };
  const hidden = () => doc.visibilityState == 'hidden' && onHide();
  if (beacon && doc && g.addEventListener) {
    doc.addEventListener('visibilitychange', hidden);
    g.addEventListener('pagehide', onHide);
  }

  const client = {
    sessionId,
    dropped: 0, // events dropped because the queue was full
    get queued() { return queue.length; },

    // Queues an event and returns its id (a UUID the server keeps, so a
    // resent event is stored once). Sends at flushAt events or flushIntervalMs.
    track(category, name, data = {}) {
      const id = uuid();
      queue.push({ id, session_id: sessionId, category, name, data, timestamp: new Date().toISOString() });
      trim();
      if (queue.length >= flushAt && !busy) run(flushAt).catch(() => {}); // full batches only
      arm();
      return id;
    },

    // Sends everything queued, after any send in progress. Resolves when the
    // queue is empty; rejects with the DaisyError of a batch that failed.
    flush() {
      clearTimeout(timer);
      timer = 0;
      return run(1);
    },

    // Submits a response to a form the app may submit to; resolves to the
    // stored response (201). One Idempotency-Key is made per call and reused
    // by its retries, so the response is stored once. `extra` may hold
    // `metadata` and `submitted_at`.
    submit(formId, answers, extra) {
      return send('/v1/forms/' + encodeURIComponent(formId) + '/responses',
        JSON.stringify({ answers, ...extra }), { 'Idempotency-Key': uuid() });
    },

    // Flushes, then stops listening for page hiding.
    close() {
      if (doc) {
        doc.removeEventListener('visibilitychange', hidden);
        g.removeEventListener('pagehide', onHide);
      }
      return client.flush();
    },
  };
  return client;
}

export default { init, DaisyError };
