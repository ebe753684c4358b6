// The one live stream of the signed-in console: GET /v1/stream read with
// fetch() (EventSource cannot send the Authorization header), parsed as
// Server-Sent Events, re-filtered client-side for each subscriber.
//
// Contract: start(token) opens it (all the types the caller may see),
// stop() closes it. subscribe(types, fn) calls fn({id, type, data}) for each
// message whose type is in `types` ('*' for all); fn({type: 'gap'}) is sent
// to every subscriber when messages may have been missed (a `gap`, or a
// reconnection that could not resume), so that it reloads from the listings.
// After an error it reconnects with a backoff, sending Last-Event-ID.

const subscribers = new Set();
const statusListeners = new Set();
let controller = null;
let lastEventId = '';
let status = 'closed';
let retryTimer = null;
let failures = 0;

export function subscribe(types, fn) {
  const sub = { types: types === '*' ? null : new Set(types), fn };
  subscribers.add(sub);
  return () => subscribers.delete(sub);
}

// fn(status): 'connecting', 'live', 'reconnecting', 'closed', 'refused'.
export function onStatus(fn) {
  statusListeners.add(fn);
  fn(status);
  return () => statusListeners.delete(fn);
}

function setStatus(s) {
  status = s;
  for (const fn of statusListeners) fn(s);
}

function dispatch(msg) {
  for (const sub of [...subscribers]) {
    if (msg.type === 'gap' || !sub.types || sub.types.has(msg.type)) {
      try {
        sub.fn(msg);
      } catch (e) {
        // A subscriber's bug must not stop the stream.
        setTimeout(() => {
          throw e;
        });
      }
    }
  }
}

export function start(token) {
  stop();
  lastEventId = '';
  failures = 0;
  connect(token);
}

export function stop() {
  clearTimeout(retryTimer);
  retryTimer = null;
  if (controller) controller.abort();
  controller = null;
  setStatus('closed');
}

function scheduleReconnect(token) {
  if (!controller) return;
  failures += 1;
  const delay = Math.min(30000, 1000 * 2 ** Math.min(failures - 1, 5)) * (0.8 + Math.random() * 0.4);
  setStatus('reconnecting');
  retryTimer = setTimeout(() => connect(token), delay);
}

async function connect(token) {
  const ctl = new AbortController();
  controller = ctl;
  setStatus(lastEventId ? 'reconnecting' : 'connecting');
  const headers = { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' };
  if (lastEventId) headers['Last-Event-ID'] = lastEventId;
  let res;
  try {
    res = await fetch('/v1/stream', { headers, signal: ctl.signal, cache: 'no-store' });
  } catch {
    if (controller === ctl) scheduleReconnect(token);
    return;
  }
  if (controller !== ctl) return;
  if (!res.ok) {
    // 401/403: this token may not stream; do not hammer the server.
    if (res.status === 401 || res.status === 403) {
      setStatus('refused');
      controller = null;
      return;
    }
    scheduleReconnect(token);
    return;
  }
  setStatus('live');
  try {
    await readEvents(res.body, ctl, (msg) => {
      failures = 0;
      if (msg.id) lastEventId = msg.id;
      if (msg.type === 'reset') return 'reconnect';
      if (msg.type === 'gap') {
        dispatch({ type: 'gap' });
        return null;
      }
      dispatch(msg);
      return null;
    });
  } catch {
    // network error or abort: handled below
  }
  if (controller !== ctl) return;
  // The server ended the stream (reset, restart) or the connection broke.
  scheduleReconnect(token);
}

// Parses the SSE body; onMessage returns 'reconnect' to stop reading.
async function readEvents(body, ctl, onMessage) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  let data = [];
  let type = '';
  let id = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done || controller !== ctl) break;
    buf += decoder.decode(value, { stream: true });
    let nl;
    while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + (buf[nl] === '\r' && buf[nl + 1] === '\n' ? 2 : 1));
      if (line === '') {
        if (data.length || type) {
          let parsed = null;
          const text = data.join('\n');
          try {
            parsed = text ? JSON.parse(text) : null;
          } catch {
            parsed = text;
          }
          const verdict = onMessage({ id, type: type || 'message', data: parsed });
          if (verdict === 'reconnect') {
            reader.cancel().catch(() => {});
            return;
          }
        }
        data = [];
        type = '';
        id = '';
        continue;
      }
      if (line[0] === ':') continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let val = colon < 0 ? '' : line.slice(colon + 1);
      if (val[0] === ' ') val = val.slice(1);
      if (field === 'data') data.push(val);
      else if (field === 'event') type = val;
      else if (field === 'id') id = val;
    }
  }
}
