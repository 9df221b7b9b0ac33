// Two near-identical reports (same category, 25 m and a minute apart: inside
// the processor's dedupe radius and window) are posted by another client.
// The processor links the second to the first (duplicate_of); the first's
// detail lists the second as a link, which opens the second's detail, and
// that one links back to the first.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { stackEnv, startApi, startProcessor, uniqueChicagoPoint, postReport, reportStored, reportTrail } from './lib/stack.mjs';
import { launch, openPage, closePage, goto, problemsOf, screenshot, DESKTOP, PHONE } from './lib/browser.mjs';
import { metresNorth } from './lib/app.mjs';

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

const minutesAgo = (m) => new Date(Date.now() - m * 60000).toISOString();

test('a report\'s detail links its near-duplicate, and the duplicate links back', async () => {
  const where = uniqueChicagoPoint();
  const tag = `browser-dup-${Date.now()}`;
  const first = await postReport(api.url, { category: 'burglary', description: `door forced ${tag}`,
    lat: where.lat, lon: where.lon, occurred_at: minutesAgo(6) });
  // Stored before the second is posted, so the processor sees it first.
  await reportStored(api.url, first.id);
  const second = await postReport(api.url, { category: 'burglary', description: `same break-in, seen from across the street ${tag}`,
    lat: metresNorth(where.lat, 25), lon: where.lon, occurred_at: minutesAgo(5) });
  await reportStored(api.url, second.id);
  const dup = await (await fetch(`${api.url}/v1/reports/${second.id}`)).json();
  assert.equal(dup.duplicate_of?.id, first.id, `the processor linked the second to the first: ${JSON.stringify(dup)}\n${processor.tail()}`);

  for (const [viewport, name] of [[DESKTOP, 'desktop'], [PHONE, 'phone']]) {
    const page = await openPage(browser, api.url, viewport);
    await goto(page, `#/map?report=${first.id}`);
    await page.waitForFunction((id) => document.getElementById('report-detail').dataset.id === id
      && !document.getElementById('report-detail').hidden, {}, first.id);
    const link = `#detail-dups a[data-report-id="${second.id}"]`;
    await page.waitForSelector(link, { timeout: 15000 });
    const heading = await page.$eval('#detail-dups h3', (h) => h.textContent);
    assert.match(heading, /also reported as/i);
    assert.equal(await page.$eval(link, (a) => a.getAttribute('href')), `#/map?report=${second.id}`);
    await screenshot(page, `map-detail-duplicates-${name}`);

    await page.click(link);
    await page.waitForFunction((id) => document.getElementById('report-detail').dataset.id === id, {}, second.id);
    assert.equal(await page.$eval('#detail-desc', (p) => p.textContent), `same break-in, seen from across the street ${tag}`);
    const back = `#detail-dups a[data-report-id="${first.id}"]`;
    await page.waitForSelector(back);
    assert.match(await page.$eval('#detail-dups h3', (h) => h.textContent), /first reported as/i);
    assert.ok(page.url().endsWith(`#/map?report=${second.id}`), `the address names the open report: ${page.url()}`);
    await page.click(back);
    await page.waitForFunction((id) => document.getElementById('report-detail').dataset.id === id, {}, first.id);
    assert.deepEqual(problemsOf(page), []);
    await closePage(page);
  }
});

// A citizen files, through the form, what another client reported 3
// minutes earlier 20 m away: the processor links it to that report, so it
// never appears in lists or as a dot; the form still says it was published
// (added to the earlier report) and its link opens the new report, which
// links to the first.
test('the form says when a report was added to an earlier one of the same incident', async () => {
  const where = uniqueChicagoPoint();
  const tag = `browser-dup-form-${Date.now()}`;
  const first = await postReport(api.url, { category: 'vandalism', description: `windows smashed ${tag}`,
    lat: where.lat, lon: where.lon, occurred_at: minutesAgo(3) });
  await reportStored(api.url, first.id);

  const page = await openPage(browser, api.url, DESKTOP);
  await goto(page, '#/report');
  for (const [name, value] of [['lat', metresNorth(where.lat, 20)], ['lon', where.lon]]) {
    await page.click(`#report-form input[name=${name}]`, { clickCount: 3 });
    await page.type(`#report-form input[name=${name}]`, value.toFixed(6));
  }
  await page.select('#report-form select[name=category]', 'vandalism');
  await page.type('#report-form textarea[name=description]', `shop windows broken, seen from the bus ${tag}`);
  await page.click('#report-form button[type=submit]');
  const done = `#report-status [data-report-status=published][data-duplicate-of="${first.id}"]`;
  await page.waitForSelector(done, { timeout: 90000 })
    .catch(async (e) => {
      const shown = await page.$eval('#report-status', (s) => s.textContent).catch(() => '');
      throw new Error(`${e.message}\nthe form says: ${shown}\n${reportTrail(env, processor, tag)}`);
    });
  assert.match(await page.$eval(done, (p) => p.textContent), /added to theirs/);
  await screenshot(page, 'report-added-to-earlier-desktop');

  await page.click(`${done} a`);
  await page.waitForFunction(() => document.body.dataset.view === 'map' && !document.getElementById('report-detail').hidden);
  const id = await page.$eval('#report-detail', (d) => d.dataset.id);
  assert.notEqual(id, first.id, 'the link opens the report just filed');
  assert.equal(await page.$eval('#detail-desc', (p) => p.textContent), `shop windows broken, seen from the bus ${tag}`);
  await page.waitForSelector(`#detail-dups a[data-report-id="${first.id}"]`, { timeout: 15000 });
  assert.deepEqual(problemsOf(page), []);
  await closePage(page);
});
