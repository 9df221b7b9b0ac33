// A citizen files a report through the form with a pin placed by a mouse
// click on the map; the processor stores it; it then shows on the map and
// in the list. Its description holds markup, which must show as text.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { stackEnv, startApi, startProcessor, uniqueChicagoPoint, reportTrail } from './lib/stack.mjs';
import { launch, openPage, closePage, goto, problemsOf, screenshot, DESKTOP, PHONE } from './lib/browser.mjs';
import { showOnMap, clickMapAt } from './lib/app.mjs';

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

const XSS = '<img src=x onerror=alert(1)>';

test('a report filed through the form shows on the map and in the list, its markup as text', async () => {
  const page = await openPage(browser, api.url, DESKTOP);
  const dialogs = [];
  page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
  await goto(page, '#/report');
  const where = uniqueChicagoPoint();
  await showOnMap(page, 'report', where.lat, where.lon, 16);
  await clickMapAt(page, 'report', where.lat, where.lon);
  const lat = Number(await page.$eval('#report-form input[name=lat]', (i) => i.value));
  const lon = Number(await page.$eval('#report-form input[name=lon]', (i) => i.value));
  assert.ok(Math.abs(lat - where.lat) < 1e-4 && Math.abs(lon - where.lon) < 1e-4, `the pin is where the map was clicked (${lat}, ${lon} vs ${where.lat}, ${where.lon})`);

  const tag = `browser-report-${Date.now()}`;
  const description = `Window smashed ${XSS} ${tag}`;
  await page.select('#report-form select[name=category]', 'vandalism');
  await page.type('#report-form textarea[name=description]', description);
  await page.type('#report-form input[name=address]', '1200 S Test Ave');
  await screenshot(page, 'report-filled-desktop');
  await page.click('#report-form button[type=submit]');
  await page.waitForSelector('#report-status [data-report-status=accepted]', { timeout: 15000 });
  await page.waitForSelector('#report-status [data-report-status=published]', { timeout: 90000 })
    .catch((e) => { throw new Error(`${e.message}\n${reportTrail(env, processor, tag)}`); });
  await screenshot(page, 'report-sent-desktop');

  await page.click('#report-status [data-report-status=published] a');
  await page.waitForFunction(() => document.body.dataset.view === 'map' && !document.getElementById('report-detail').hidden);
  const id = await page.$eval('#report-detail', (d) => d.dataset.id);
  assert.match(id, /^[0-9a-f-]{36}$/);
  await page.waitForSelector(`#report-list li[data-id="${id}"]`, { timeout: 15000 });
  await page.waitForSelector(`path.report-dot[data-id="${id}"]`, { timeout: 15000 });
  const shown = await page.$eval(`#report-list li[data-id="${id}"]`, (li) => ({ text: li.textContent, imgs: li.querySelectorAll('img').length }));
  assert.ok(shown.text.includes(XSS), `the list shows the markup as text: ${shown.text}`);
  assert.equal(shown.imgs, 0, 'no <img> element was created from the description');
  const detail = await page.$eval('#detail-desc', (p) => ({ text: p.textContent, imgs: p.querySelectorAll('img').length }));
  assert.equal(detail.text, description);
  assert.equal(detail.imgs, 0);
  assert.equal(await page.$$eval('img[src="x"]', (l) => l.length), 0, 'no image from the description anywhere in the page');
  assert.deepEqual(dialogs, [], 'no script ran from the description');
  await screenshot(page, 'map-report-detail-desktop');
  assert.deepEqual(problemsOf(page), []);
  await closePage(page);
});

test('bad input shows the API\'s error next to the field, on a phone', async () => {
  const page = await openPage(browser, api.url, PHONE);
  await goto(page, '#/report');
  // Coordinates typed, out of range for the server's check (the browser's
  // own check lets 0,0 through; the API refuses it and names the field).
  await page.type('#report-form input[name=lat]', '0');
  await page.type('#report-form input[name=lon]', '0');
  await page.select('#report-form select[name=category]', 'theft');
  await page.type('#report-form textarea[name=description]', 'bike stolen');
  await page.click('#report-form button[type=submit]');
  await page.waitForFunction(() => document.getElementById('err-lat').textContent || document.getElementById('err-lon').textContent
    || document.getElementById('err-form').textContent);
  const errs = await page.evaluate(() => ({ lat: document.getElementById('err-lat').textContent, lon: document.getElementById('err-lon').textContent,
    form: document.getElementById('err-form').textContent, invalid: document.querySelector('#report-form [aria-invalid=true]')?.name }));
  assert.ok(errs.lat || errs.lon, `the error is next to a coordinate field: ${JSON.stringify(errs)}`);
  assert.ok(['lat', 'lon'].includes(errs.invalid), 'the field is marked invalid');
  await screenshot(page, 'report-error-phone');
  // The one refused request is the one this test provoked.
  assert.deepEqual(problemsOf(page, [/^400 POST .*\/v1\/reports$/]), []);
  await closePage(page);
});
