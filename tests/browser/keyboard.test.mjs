// Keyboard only: from the top of the page, with Tab, typing, arrow keys and
// Enter and never the mouse, a report is filed and a subscription made.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { stackEnv, startApi, startProcessor, uniqueChicagoPoint, reportTrail } from './lib/stack.mjs';
import { launch, openPage, closePage, goto, problemsOf, tabTo, DESKTOP } from './lib/browser.mjs';

let env, api, processor, browser;
before(async () => {
  env = stackEnv();
  processor = await startProcessor(env);
  api = await startApi(env);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await api?.stop();
  await processor?.stop();
});

const isName = (name) => `(el) => el.name === ${JSON.stringify(name)}`;

test('a report can be filed and a subscription made with the keyboard alone', async () => {
  const page = await openPage(browser, api.url, DESKTOP);
  await goto(page, '#/map');
  const k = page.keyboard;

  // Navigation: Tab to the "Report" link in the header, Enter.
  await tabTo(page, '(el) => el.dataset && el.dataset.view === "report"');
  await k.press('Enter');
  await page.waitForFunction(() => document.body.dataset.view === 'report' && document.activeElement && document.activeElement.id === 'h-report');

  const where = uniqueChicagoPoint();
  const tag = `keyboard-report-${Date.now()}`;
  // The city chooser and map controls come before the form: with the five
  // cities of deploy/cities.json the field is 83 presses away (measured).
  await tabTo(page, isName('lat'), 120);
  await k.type(where.lat.toFixed(6));
  await k.press('Tab');
  await k.type(where.lon.toFixed(6));
  await tabTo(page, isName('category'));
  await k.type('T'); // type-ahead: the first category starting with T
  await tabTo(page, isName('description'));
  await k.type(`Bicycle taken from the rack ${tag}`);
  await tabTo(page, '(el) => el.type === "submit" && el.closest("#report-form")');
  await k.press('Enter');
  await page.waitForSelector('#report-status [data-report-status=published]', { timeout: 90000 })
    .catch((e) => { throw new Error(`${e.message}\n${reportTrail(env, processor, tag)}`); });
  const sent = await page.evaluate(() => ({ lat: document.querySelector('#report-form [name=lat]').value, cat: document.querySelector('#report-form [name=category]').value }));
  assert.equal(sent.cat, 'theft', 'the category was chosen by typing');
  // Compared as numbers: the field holds the six decimals typed, and rounding
  // that string to five can differ from rounding the full double (41.803565).
  assert.ok(Math.abs(Number(sent.lat) - where.lat) < 1e-6, `the typed latitude was sent (${sent.lat} vs ${where.lat})`);

  // Focus order on a fresh load: the skip link first, then into the view.
  await page.goto(`${api.url}/#/alerts`, { waitUntil: 'load' });
  await page.reload({ waitUntil: 'load' });
  await page.waitForFunction(() => document.body.dataset.ready === 'true' && document.body.dataset.view === 'alerts');
  await k.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.className), 'skip', 'the first Tab reaches the skip link');
  await k.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'main', 'the skip link moves focus to the content');

  // Subscription: circle with typed centre, radius by arrow keys.
  await tabTo(page, isName('lat'), 120);
  await k.type(where.lat.toFixed(6));
  await k.press('Tab');
  await k.type(where.lon.toFixed(6));
  await tabTo(page, '(el) => el.id === "radius"');
  await k.press('Home');
  await k.press('PageUp');
  await k.press('ArrowRight');
  await tabTo(page, '(el) => el.id === "sub-submit"');
  await k.press('Enter');
  await page.waitForSelector('#token-box:not([hidden])');
  const id = await page.$eval('#token-box', (b) => b.dataset.id);
  const token = await page.$eval('#token-value', (c) => c.textContent);
  const focused = await page.evaluate(() => document.activeElement.id);
  assert.equal(focused, 'token-box', 'focus moves to the answer with the token');
  const r = await fetch(`${api.url}/v1/subscriptions/${id}`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200, 'the subscription exists on the server');
  const sub = await r.json();
  assert.equal(sub.area.type, 'circle', 'a circle');
  assert.ok(sub.area.radius_m >= 50 && sub.area.radius_m <= 200, `radius from the keys: ${sub.area.radius_m}`);
  assert.ok(Math.abs(sub.area.lat - where.lat) < 1e-6, `the typed centre (${sub.area.lat} vs ${where.lat})`);
  await fetch(`${api.url}/v1/subscriptions/${id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${token}` } });
  assert.deepEqual(problemsOf(page), []);
  await closePage(page);
});
