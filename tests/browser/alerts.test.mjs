// Subscribe by drawing a circle on the map; another client posts a report
// inside it; the alert appears in "My alerts" without a reload. Then the
// page's API is killed (its WebSocket drops), a second report is posted
// meanwhile through another API instance, the API comes back on the same
// port, and the page, having reconnected with ?after=, shows both alerts
// once each.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { stackEnv, startApi, startProcessor, uniqueChicagoPoint, postReport, reportStored, waitFor } from './lib/stack.mjs';
import { launch, openPage, closePage, goto, problemsOf, screenshot, DESKTOP, PHONE } from './lib/browser.mjs';
import { showOnMap, clickMapAt, metresNorth, metresEast, feedCount, connState } from './lib/app.mjs';

let env, pageApi, otherApi, processor, browser;
before(async () => {
  env = stackEnv();
  processor = await startProcessor(env);
  pageApi = await startApi(env);
  otherApi = await startApi(env);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await pageApi?.stop();
  await otherApi?.stop();
  await processor?.stop();
});

const now = () => new Date().toISOString();

test('an alert for a drawn circle arrives live, and a dropped connection resumes without gap or duplicate', async () => {
  const page = await openPage(browser, pageApi.url, DESKTOP);
  await goto(page, '#/alerts');
  const centre = uniqueChicagoPoint();
  await showOnMap(page, 'alerts', centre.lat, centre.lon, 15);
  await clickMapAt(page, 'alerts', centre.lat, centre.lon);
  // Radius with the slider's keys: Home = 50 m, each PageUp a tenth of the
  // logarithmic scale: three give about 300 m.
  await page.focus('#radius');
  await page.keyboard.press('Home');
  for (let i = 0; i < 3; i++) await page.keyboard.press('PageUp');
  const radiusText = await page.$eval('#radius-out', (o) => o.textContent);
  assert.match(radiusText, /^(2\d\d|3\d\d) m$/, `radius ${radiusText}`);
  await page.select('#sub-form select[name=min_severity]', '1');
  await screenshot(page, 'alerts-circle-desktop');
  await page.click('#sub-submit');
  await page.waitForSelector('#token-box:not([hidden])');
  const token = await page.$eval('#token-value', (c) => c.textContent);
  const subId = await page.$eval('#token-box', (b) => b.dataset.id);
  assert.match(token, /.{20,}/, 'the token is shown');
  const stored = await page.evaluate(() => JSON.parse(localStorage.getItem('safestream.subscriptions.v1')));
  assert.equal(stored.length, 1);
  assert.equal(stored[0].id, subId);
  assert.equal(stored[0].token, token, 'the token is kept in localStorage');
  const remote = await (await fetch(`${otherApi.url}/v1/subscriptions/${subId}`, { headers: { Authorization: `Bearer ${token}` } })).json();
  assert.equal(remote.area.type, 'circle');
  assert.ok(Math.abs(remote.area.lat - centre.lat) < 1e-4 && Math.abs(remote.area.lon - centre.lon) < 1e-4, 'the circle is where the map was clicked');
  await waitFor(() => page.$('#subs-list li[data-id]'), { what: 'the subscription in the list' });
  await screenshot(page, 'alerts-created-desktop');

  await page.click('a[data-view=live]');
  await page.waitForFunction(() => document.body.dataset.view === 'live');
  await page.evaluate(() => { window.__notReloaded = true; });
  await waitFor(async () => (await connState(page, subId)) === 'live', { what: 'the live connection' });

  const first = await postReport(otherApi.url, { category: 'assault', description: 'first alert test ' + Date.now(),
    lat: metresNorth(centre.lat, 40), lon: centre.lon, occurred_at: now() });
  await waitFor(async () => (await feedCount(page, first.id)) === 1, { timeout: 90000, what: `the first alert (report ${first.id}) in My alerts\n${processor.tail()}` });
  await screenshot(page, 'live-first-alert-desktop');

  // Cut: the page's API dies, its WebSocket closes; the second report
  // goes through the other instance while the page is disconnected.
  await pageApi.kill();
  await waitFor(async () => ['retrying', 'connecting'].includes(await connState(page, subId)), { what: 'the page noticing the drop' });
  const second = await postReport(otherApi.url, { category: 'robbery', description: 'second alert test ' + Date.now(),
    lat: metresNorth(centre.lat, -60), lon: metresEast(centre.lat, centre.lon, 50), occurred_at: now() });
  await reportStored(otherApi.url, second.id);
  await waitFor(async () => {
    const r = await fetch(`${otherApi.url}/v1/subscriptions/${subId}/alerts`, { headers: { Authorization: `Bearer ${token}` } });
    return (await r.json()).alerts.some((a) => a.report_id === second.id);
  }, { timeout: 60000, what: 'the second alert in the subscription\'s stream' });
  assert.equal(await feedCount(page, second.id), 0, 'the second alert cannot have arrived while the page was cut off');

  pageApi = await startApi(env, { port: pageApi.port });
  await waitFor(async () => (await feedCount(page, second.id)) === 1, { timeout: 60000, what: 'the second alert after the reconnect' });
  await waitFor(async () => (await connState(page, subId)) === 'live', { what: 'the connection live again' });
  assert.equal(await feedCount(page, first.id), 1, 'the first alert once');
  assert.equal(await feedCount(page, second.id), 1, 'the second alert once');
  assert.equal(await page.evaluate(() => window.__notReloaded), true, 'the page was not reloaded');
  const order = await page.$$eval('#live-feed li[data-report-id]', (l) => l.map((li) => li.dataset.reportId));
  assert.ok(order.indexOf(second.id) < order.indexOf(first.id), 'newest first');
  await screenshot(page, 'live-after-reconnect-desktop');

  // The page's API was killed on purpose: its WebSocket and any request
  // meanwhile failed; nothing else may have.
  const problems = problemsOf(page, [/^net::ERR_CONNECTION_REFUSED /, /^net::ERR_EMPTY_RESPONSE /])
    .filter((p) => !/^console error: WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/v1\/subscriptions\/[^']+' failed/.test(p));
  assert.deepEqual(problems, [], 'nothing failed but what the outage explains');

  // On a phone, the same browser storage shows the same feed.
  const phone = await openPage(browser, pageApi.url, PHONE, { context: page.browserContext() });
  await goto(phone, '#/live');
  await waitFor(async () => (await feedCount(phone, second.id)) === 1 && (await feedCount(phone, first.id)) === 1, { what: 'the feed on the phone' });
  await screenshot(phone, 'live-phone');
  await goto(phone, '#/alerts');
  await waitFor(() => phone.$('#subs-list li[data-id]'), { what: 'the subscription list on the phone' });
  await screenshot(phone, 'alerts-phone');
  assert.deepEqual(problemsOf(phone), []);

  // Manage: pause (on the server), which a reload still shows; resume; then
  // delete, and the server forgets it.
  const serverPaused = async () => (await (await fetch(`${otherApi.url}/v1/subscriptions/${subId}`,
    { headers: { Authorization: `Bearer ${token}` } })).json()).paused;
  assert.equal(await serverPaused(), false);
  await phone.waitForSelector(`#subs-list li[data-id="${subId}"] button[data-action=pause]`);
  await phone.click(`#subs-list li[data-id="${subId}"] button[data-action=pause]`);
  await waitFor(async () => (await serverPaused()) === true, { what: 'paused on the server' });
  await waitFor(async () => (await phone.evaluate(() => JSON.parse(localStorage.getItem('safestream.subscriptions.v1'))[0].paused)) === true,
    { what: 'paused', timeout: 5000 }).catch(async (e) => { await screenshot(phone, 'alerts-pause-failed-phone'); throw e; });
  await waitFor(async () => (await connState(phone, subId)) === 'paused', { what: 'the live feed paused' });
  await phone.waitForSelector(`#subs-list li[data-id="${subId}"][data-paused=true] button[data-action=resume]`);
  assert.equal(await phone.evaluate(() => document.activeElement?.dataset.action), 'resume', 'focus stays on the (now Resume) button');
  await phone.reload({ waitUntil: 'load' });
  await phone.waitForFunction(() => document.body.dataset.ready === 'true' && document.body.dataset.view === 'alerts');
  await phone.waitForSelector(`#subs-list li[data-id="${subId}"][data-paused=true] button[data-action=resume]`, { timeout: 15000 });
  assert.match(await phone.$eval(`#subs-list li[data-id="${subId}"] .sub-state`, (p) => p.textContent), /^Paused/);
  await screenshot(phone, 'alerts-paused-phone');
  await phone.click(`#subs-list li[data-id="${subId}"] button[data-action=resume]`);
  await waitFor(async () => (await serverPaused()) === false, { what: 'resumed on the server' });
  await phone.waitForSelector(`#subs-list li[data-id="${subId}"][data-paused=false] button[data-action=pause]`);
  await waitFor(async () => (await connState(phone, subId)) === 'live', { what: 'the live feed running again' });
  await phone.waitForSelector(`#subs-list li[data-id="${subId}"] button[data-action=delete]`);
  await phone.click(`#subs-list li[data-id="${subId}"] button[data-action=delete]`);
  await waitFor(async () => (await fetch(`${otherApi.url}/v1/subscriptions/${subId}`, { headers: { Authorization: `Bearer ${token}` } })).status === 404,
    { what: 'the subscription deleted on the server' });
  // The page forgets it once the server's answer is in (it may lag the server's own 404).
  await waitFor(async () => (await phone.evaluate(() => JSON.parse(localStorage.getItem('safestream.subscriptions.v1')))).length === 0,
    { what: 'the subscription forgotten by the page' });
  await closePage(page);
});

test('an area drawn corner by corner, then changed: the server has the polygon and the new limits', async () => {
  const page = await openPage(browser, otherApi.url, DESKTOP);
  await goto(page, '#/alerts');
  await page.click('#sub-form input[name=area][value=polygon]');
  const c = uniqueChicagoPoint();
  await showOnMap(page, 'alerts', c.lat, c.lon, 15);
  const corners = [[metresNorth(c.lat, 200), c.lon], [c.lat, metresEast(c.lat, c.lon, 250)], [metresNorth(c.lat, -200), c.lon],
    [c.lat, metresEast(c.lat, c.lon, -250)]];
  for (const [la, lo] of corners) await clickMapAt(page, 'alerts', la, lo);
  assert.match(await page.$eval('#poly-count', (p) => p.textContent), /^4 corners/);
  await page.click('#sub-submit');
  await page.waitForSelector('#token-box:not([hidden])');
  const id = await page.$eval('#token-box', (b) => b.dataset.id);
  const token = await page.$eval('#token-value', (t) => t.textContent);
  const read = async () => (await fetch(`${otherApi.url}/v1/subscriptions/${id}`, { headers: { Authorization: `Bearer ${token}` } })).json();
  const sub = await read();
  assert.equal(sub.area.type, 'polygon');
  const ring = sub.area.coordinates[0];
  assert.equal(ring.length, 5, 'four corners, closed');
  assert.deepEqual(ring[0], ring[4]);
  for (let i = 0; i < 4; i++) {
    assert.ok(Math.abs(ring[i][1] - corners[i][0]) < 1e-4 && Math.abs(ring[i][0] - corners[i][1]) < 1e-4, `corner ${i} where it was clicked`);
  }
  await screenshot(page, 'alerts-polygon-desktop');

  // Change: at most 5 an hour, quiet at night, theft only.
  await page.waitForSelector(`#subs-list li[data-id="${id}"] button[data-action=change]`);
  await page.click(`#subs-list li[data-id="${id}"] button[data-action=change]`);
  await page.waitForFunction(() => document.getElementById('sub-submit').textContent === 'Save changes');
  await page.type('#sub-form input[name=max_per_hour]', '5');
  // The time fields as chromium's en-US locale shows them: hh mm AM/PM.
  await page.type('#sub-form input[name=quiet_start]', '1100P');
  await page.type('#sub-form input[name=quiet_end]', '0630A');
  assert.deepEqual(await page.$eval('#sub-form', (f) => [f.elements.quiet_start.value, f.elements.quiet_end.value]), ['23:00', '06:30']);
  await page.click('#sub-form input[name=sub-category][value=theft]');
  await page.click('#sub-submit');
  await waitFor(async () => (await read()).max_per_hour === 5, { what: 'the change on the server' });
  const changed = await read();
  assert.deepEqual(changed.categories, ['theft']);
  assert.equal(changed.area.type, 'polygon', 'the area kept');
  assert.ok(changed.quiet_hours && changed.quiet_hours.start === '23:00' && changed.quiet_hours.end === '06:30', JSON.stringify(changed.quiet_hours));
  assert.deepEqual(problemsOf(page), []);
  await fetch(`${otherApi.url}/v1/subscriptions/${id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${token}` } });
  await closePage(page);
});
