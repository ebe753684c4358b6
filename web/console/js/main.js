// The console's shell: sign-in, the nav, the live-stream indicator and the
// hash router (#/<page>/<segments...>?<query>).
//
// A page module exports mount(root, route) -> {update?(route) -> bool,
// destroy?()}. route = {page, segments, query (URLSearchParams)}. When the
// hash changes within one page, update() may take it (returning true) and
// keep its state; otherwise the page is destroyed and mounted again.

import { h, replace } from './dom.js';
import { request, getToken, setSession, clearSession, onUnauthorized, isAdmin } from './api.js';
import * as stream from './stream.js';
import { alertBox, showError, hideError, withBusy, setGlobalAlert } from './feedback.js';
import * as liveStats from './live-stats.js';
import * as overview from './pages/overview.js';
import * as apps from './pages/apps.js';
import * as forms from './pages/forms.js';
import * as responses from './pages/responses.js';
import * as events from './pages/events.js';
import * as integrations from './pages/integrations.js';
import * as providers from './pages/providers.js';

const PAGES = {
  overview: { mod: overview, title: 'Overview' },
  apps: { mod: apps, title: 'Apps', admin: true },
  forms: { mod: forms, title: 'Forms', admin: true },
  responses: { mod: responses, title: 'Responses', admin: true },
  events: { mod: events, title: 'Events' },
  integrations: { mod: integrations, title: 'Integrations', admin: true },
  jobs: { mod: integrations, title: 'Jobs', nav: 'integrations', admin: true },
  providers: { mod: providers, title: 'Providers', admin: true },
};

const main = document.getElementById('main');
const nav = document.getElementById('main-nav');
const session = document.getElementById('session');
const globalAlert = document.getElementById('global-alert');
setGlobalAlert(globalAlert);

let current = null; // {mod, instance}
const SIGN_OUT_MESSAGE = 'daisy.console.signout-message';
let firstRoute = true;

function parseHash() {
  const raw = location.hash.startsWith('#/') ? location.hash.slice(2) : 'overview';
  const [pathPart, queryPart = ''] = raw.split('?');
  const segments = pathPart.split('/').filter(Boolean).map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
  const page = segments.shift() || 'overview';
  return { page, segments, query: new URLSearchParams(queryPart) };
}

function unmount() {
  if (current?.instance?.destroy) current.instance.destroy();
  current = null;
}

function route() {
  if (!getToken()) return;
  const r = parseHash();
  const def = PAGES[r.page];
  hideError(globalAlert);
  setMenu(false);
  if (!def) {
    unmount();
    replace(main, h('h1', { tabindex: '-1', text: 'Not found' }), h('p', null, 'No page here. ', h('a', { href: '#/overview', text: 'Go to the overview' }), '.'));
    return;
  }
  for (const a of nav.querySelectorAll('a[data-route]')) {
    if (a.dataset.route === (def.nav || r.page)) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${def.title} – Daisy console`;
  if (def.admin && !isAdmin()) {
    unmount();
    replace(main, h('h1', { text: def.title }), adminOnly());
    return;
  }
  if (current && current.mod === def.mod && current.instance?.update && current.instance.update(r)) return;
  unmount();
  replace(main);
  current = { mod: def.mod, instance: def.mod.mount(main, r) || {} };
  if (!firstRoute) {
    const h1 = main.querySelector('h1');
    if (h1) {
      h1.setAttribute('tabindex', '-1');
      h1.focus();
    }
  }
  firstRoute = false;
}

// What an app token sees on the pages whose API routes need the admin token.
function adminOnly() {
  return h('p', { class: 'flag-box', text: 'This page needs the admin token: the API answers an app token with 403 here. An app token can send and correct responses, send events, read its own events and sessions (Events) and watch its own live activity (Overview).' });
}

function showShell(signedIn) {
  nav.hidden = !signedIn;
  session.hidden = !signedIn;
  if (signedIn) document.getElementById('role').textContent = isAdmin() ? 'Admin token' : 'App token';
}

// Signing out reloads the page without the token: that closes the live stream
// with the document (aborting it by hand shows as a failed request) and
// drops every page's state. A message for the sign-in form survives it.
function signOut(message) {
  clearSession();
  if (message) sessionStorage.setItem(SIGN_OUT_MESSAGE, message);
  location.reload();
}

// Tells an admin token from an app token; rejects with ApiError (401) for a
// wrong one. App tokens are issued as dsy_app_...: one is checked with a
// route apps may read (GET /v1/events). Any other token is tried on an
// admin route (GET /v1/apps): 200 is the admin, 403 an app.
async function roleOf(token) {
  const auth = { auth: false, headers: { Authorization: `Bearer ${token}` } };
  if (token.startsWith('dsy_app_')) {
    await request('GET', '/v1/events', { ...auth, query: { limit: 1 } });
    return 'app';
  }
  try {
    await request('GET', '/v1/apps', { ...auth, query: { limit: 1 } });
    return 'admin';
  } catch (e) {
    if (e.status === 403) return 'app';
    throw e;
  }
}

function renderSignIn(message) {
  document.title = 'Sign in – Daisy console';
  const box = alertBox();
  const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true, 'aria-describedby': 'token-hint' });
  const button = h('button', { type: 'submit', text: 'Sign in' });
  const form = h('form', { class: 'sign-in', novalidate: true },
    h('h1', { text: 'Sign in to Daisy' }),
    h('p', { id: 'token-hint', class: 'hint', text: 'Paste the admin token, or an app token to see that app\'s data. It is kept in this tab only (sessionStorage) until you sign out or close the tab.' }),
    h('div', { class: 'field' }, h('label', { for: 'token', text: 'Token' }), input),
    box,
    h('div', { class: 'actions' }, button));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    hideError(box);
    const token = input.value.trim();
    if (!token) {
      showError(box, 'Enter a token.');
      input.focus();
      return;
    }
    try {
      const role = await withBusy(button, () => roleOf(token), 'Signing in…');
      setSession(token, role);
      start(true);
    } catch (e) {
      showError(box, e);
      input.focus();
    }
  });
  replace(main, form);
  if (message) showError(box, message);
  input.focus();
}

// Opens the signed-in console; after a sign-in the page's heading takes the
// focus (on a plain load it stays at the top of the document).
function start(afterSignIn = false) {
  showShell(true);
  stream.start(getToken());
  liveStats.start();
  if (!location.hash.startsWith('#/')) history.replaceState(null, '', '#/overview');
  firstRoute = !afterSignIn;
  route();
}

const liveEl = document.getElementById('live');
const LIVE_TEXT = { live: 'Live', connecting: 'Connecting…', reconnecting: 'Reconnecting…', closed: '', refused: 'No live stream' };
stream.onStatus((s) => {
  liveEl.textContent = LIVE_TEXT[s] ?? s;
  liveEl.dataset.state = s;
});

// On a narrow screen the nav's links fold behind the "Menu" button (CSS
// shows the button and hides the closed list); Escape or a click elsewhere
// closes it.
const navToggle = document.getElementById('nav-toggle');
function setMenu(open) {
  navToggle.setAttribute('aria-expanded', String(open));
  nav.classList.toggle('open', open);
}
navToggle.addEventListener('click', () => setMenu(!nav.classList.contains('open')));
nav.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && nav.classList.contains('open')) {
    setMenu(false);
    navToggle.focus();
  }
});
document.addEventListener('click', (e) => {
  if (!nav.contains(e.target)) setMenu(false);
});

document.getElementById('sign-out').addEventListener('click', () => signOut());
document.getElementById('skip-link').addEventListener('click', (e) => {
  e.preventDefault();
  main.focus();
});
onUnauthorized((err) => signOut(`${err.detail} Sign in again.`));
window.addEventListener('hashchange', route);

if (getToken()) {
  start();
} else {
  const message = sessionStorage.getItem(SIGN_OUT_MESSAGE);
  sessionStorage.removeItem(SIGN_OUT_MESSAGE);
  showShell(false);
  renderSignIn(message);
}
