// Driving the console the way a person (or a screen reader) finds things: by
// accessible names and roles, visible text and labels, never by CSS structure.
// The only attribute selector used is [role="alert"], the agreed place of errors.

export const WAIT = 15000; // the longest any single thing may take to show up

// A selector for the element with this role and accessible name.
export function aria(role, name) {
  const n = name.replaceAll('"', '\\"');
  return role ? `::-p-aria([name="${n}"][role="${role}"])` : `::-p-aria(${n})`;
}

// The visible element with this role and exact accessible name, within root.
export async function byRole(root, role, name, { timeout = WAIT } = {}) {
  try {
    return await root.waitForSelector(aria(role, name), { visible: true, timeout });
  } catch (e) {
    throw new Error(`no visible ${role || 'element'} named "${name}" within ${timeout} ms`);
  }
}

export const button = (root, name, o) => byRole(root, 'button', name, o);
export const link = (root, name, o) => byRole(root, 'link', name, o);

// A form control by its label (its accessible name): text boxes, text areas,
// selects, check boxes, whatever role it has.
export async function control(root, label, { timeout = WAIT } = {}) {
  try {
    return await root.waitForSelector(aria(null, label), { visible: true, timeout });
  } catch (e) {
    throw new Error(`no visible control labelled "${label}" within ${timeout} ms`);
  }
}

// Replaces a text control's value by typing, as a user would (the old value
// is cleared first, with an input event).
export async function fill(root, label, value) {
  const el = typeof label === 'string' ? await control(root, label) : label;
  await el.evaluate((e) => {
    e.focus();
    if (e.value !== '') {
      e.value = '';
      e.dispatchEvent(new Event('input', { bubbles: true }));
    }
  });
  await el.type(String(value));
  const now = await el.evaluate((e) => e.value);
  if (now !== String(value)) throw new Error(`typed ${JSON.stringify(String(value))} but the control holds ${JSON.stringify(now)}`);
  return el;
}

// Chooses the option whose visible text (or value) is `option` in a <select>.
export async function choose(root, label, option) {
  const el = typeof label === 'string' ? await control(root, label) : label;
  const ok = await el.evaluate((e, opt) => {
    if (!e.options) return false;
    const o = [...e.options].find((x) => x.textContent.trim() === opt || x.value === opt);
    if (!o) return false;
    e.value = o.value;
    e.dispatchEvent(new Event('input', { bubbles: true }));
    e.dispatchEvent(new Event('change', { bubbles: true }));
    return true;
  }, option);
  if (!ok) {
    const name = typeof label === 'string' ? label : await el.evaluate((e) => e.labels?.[0]?.textContent || e.id);
    throw new Error(`the select "${name}" has no option "${option}"`);
  }
  return el;
}

export async function click(root, role, name, o) {
  const el = await byRole(root, role, name, o);
  await el.click();
  return el;
}

// Waits until the visible text of the page (or of root, an element) contains
// text (a string or a RegExp); returns the element waited in.
export async function waitForText(page, text, { root = null, timeout = WAIT } = {}) {
  const src = text instanceof RegExp ? { re: text.source, flags: text.flags } : { s: text };
  try {
    await page.waitForFunction((r, t) => {
      const txt = (r || document.body).innerText || '';
      return t.re ? new RegExp(t.re, t.flags).test(txt) : txt.includes(t.s);
    }, { timeout, polling: 100 }, root, src);
  } catch (e) {
    const seen = await page.evaluate((r) => (r || document.body).innerText, root).catch(() => '?');
    throw new Error(`the text ${text instanceof RegExp ? text : JSON.stringify(text)} did not appear within ` +
      `${timeout} ms; the page shows: ${JSON.stringify(seen.slice(0, 1500))}`);
  }
}

// The table row (a <tr> or anything with role="row") whose text contains every
// one of texts; waits for it.
export async function row(page, texts, { timeout = WAIT } = {}) {
  const want = [].concat(texts);
  try {
    const h = await page.waitForFunction((w) => {
      const rows = [...document.querySelectorAll('tr, [role="row"]')];
      return rows.find((r) => r.offsetParent !== null && w.every((t) => r.innerText.includes(t))) || null;
    }, { timeout, polling: 100 }, want);
    return h.asElement();
  } catch (e) {
    const seen = await page.evaluate(() => [...document.querySelectorAll('tr, [role="row"]')]
      .map((r) => r.innerText.replace(/\s+/g, ' ').trim()).slice(0, 30)).catch(() => []);
    throw new Error(`no table row containing ${JSON.stringify(want)} within ${timeout} ms; rows shown: ` +
      JSON.stringify(seen));
  }
}

// The visible, non-empty role="alert" elements' texts, now.
export function alerts(page) {
  return page.evaluate(() => [...document.querySelectorAll('[role="alert"]')]
    .filter((e) => e.offsetParent !== null || e.getClientRects().length > 0)
    .map((e) => e.innerText.trim()).filter(Boolean));
}

// Waits for a visible alert with some text (matching `re` when given).
export async function waitForAlert(page, re = null, { timeout = WAIT } = {}) {
  let last = [];
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    last = await alerts(page);
    const hit = last.find((t) => !re || re.test(t));
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no role="alert" element${re ? ` matching ${re}` : ''} showed within ${timeout} ms` +
    ` (alerts seen: ${JSON.stringify(last)})`);
}

// Fails when an alert shows (an error the flow did not expect).
export async function noAlerts(page, what) {
  const a = await alerts(page);
  if (a.length) throw new Error(`${what}: the console shows an error: ${a.join(' | ')}`);
}

// Goes to a section by its nav link, as a user would, and waits for the route.
export async function navigate(page, name, hash) {
  await click(page, 'link', name);
  await page.waitForFunction((h) => location.hash === h || location.hash.startsWith(`${h}/`) ||
    location.hash.startsWith(`${h}?`), { timeout: WAIT }, hash).catch(() => {
    throw new Error(`clicking the nav link "${name}" did not lead to ${hash}`);
  });
}
