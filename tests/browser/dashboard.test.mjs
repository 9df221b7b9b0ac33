// The dashboard with the Chicago sample loaded (imported with its real 2014
// dates through safestream-ingest and the processor): every chart has data,
// and every number of every chart's table equals a SQL count, in
// PostgreSQL, of the same filter the page sent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stackEnv, startApi, startProcessor, sql, waitFor, BUILD_DIR, SOURCE_DIR } from './lib/stack.mjs';
import { launch, openPage, closePage, goto, problemsOf, screenshot, axe, DESKTOP, PHONE } from './lib/browser.mjs';

let env, api, processor, browser;
const SAMPLE = path.join(SOURCE_DIR, 'data/chicago_crimes_2014_sample.csv');

before(async () => {
  env = stackEnv();
  processor = await startProcessor(env);
  // The sample's rows have fixed ids (source chicago, case number), so a
  // second import upserts the same rows: the counts below do not depend on
  // how often the suite ran.
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'safestream-dash-'));
  const started = new Date(Date.now() - 1000).toISOString();
  const out = execFileSync(path.join(BUILD_DIR, 'ingest/safestream-ingest'), ['--state-dir', state, '--log-level', 'warn', 'import', '--file', SAMPLE],
    { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120000 });
  const published = JSON.parse(out.trim().split('\n').pop()).published;
  assert.ok(published > 6000, `the sample was published (${published})`);
  // Every row written again by this import (ingested_at is when ingest put
  // it on Kafka), so nothing changes under the comparison below.
  await waitFor(() => Number(sql(env, `SELECT count(*) FROM reports WHERE source = 'chicago' AND occurred_at >= '2014-01-01'
      AND occurred_at < '2015-01-01' AND ingested_at >= '${started}'`)[0][0]) >= published,
    { timeout: 120000, interval: 500, what: `the ${published} sample reports in PostgreSQL\n${processor.tail()}` });
  api = await startApi(env);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await api?.stop();
  await processor?.stop();
});

// The page's filter (what it sent to /v1/stats/*) as SQL, the way the
// analyst views count: non-duplicates only.
function where(q, { since = q.since, until = q.until } = {}) {
  const lit = (s) => `'${String(s).replace(/'/g, "''")}'`;
  const w = ['duplicate_of IS NULL', `occurred_at >= ${lit(since)}::timestamptz`, `occurred_at < ${lit(until)}::timestamptz`];
  if (q.city) w.push(`city = ${lit(q.city)}`);
  if (q.neighbourhood) w.push(`neighbourhood = ${lit(q.neighbourhood)}`);
  if (q.bbox) {
    const [west, south, east, north] = q.bbox.split(',').map(Number);
    w.push(`lat BETWEEN ${south} AND ${north} AND lon BETWEEN ${west} AND ${east}`);
  }
  if (q.category && q.category.length) w.push(`category IN (${q.category.map(lit).join(',')})`);
  return w.join(' AND ');
}
const asMap = (rows) => Object.fromEntries(rows.map((r) => [r[0], r.slice(1).map(Number)]));

async function tableOf(page, card) {
  return page.$$eval(`#${card} [data-table] tbody tr`, (trs) => Object.fromEntries(trs.map((tr) => [tr.dataset.key, tr.dataset.values.split(',').map(Number)])));
}

function minusYear(iso) {
  const d = new Date(iso);
  const back = new Date(Date.UTC(d.getUTCFullYear() - 1, d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()));
  if (back.getUTCMonth() !== d.getUTCMonth()) back.setUTCDate(0); // 29 February → 28 February
  return back.toISOString();
}

test('every chart of the dashboard has data and equals a SQL count of the same filter', async () => {
  const page = await openPage(browser, api.url, DESKTOP);
  await goto(page, '#/dashboard?from=2014-02-01&to=2014-03-31');
  await page.waitForFunction(() => document.body.dataset.dashboardLoaded);
  const q = await page.evaluate(() => window.SafeStream.dashboardQuery);
  assert.ok(q.since.startsWith('2014-0') && q.until.startsWith('2014-0'), `the page asked for the sample's weeks: ${JSON.stringify(q)}`);
  const W = where(q);

  const cards = ['card-heatmap', 'card-month', 'card-year', 'card-neighbourhoods', 'card-categories', 'card-hours', 'card-change'];
  for (const c of cards) {
    const total = Number(await page.$eval(`#${c}`, (e) => e.dataset.total));
    assert.ok(total > 0, `${c} has data (total ${total})`);
  }
  const total = Number(sql(env, `SELECT count(*) FROM reports WHERE ${W}`)[0][0]);
  assert.ok(total > 1000, `the filter covers the sample (${total} rows)`);

  const categories = asMap(sql(env, `SELECT category, count(*) FROM reports WHERE ${W} GROUP BY 1`));
  assert.deepEqual(await tableOf(page, 'card-categories'), categories, 'categories');

  const month = asMap(sql(env, `SELECT to_char(date_trunc('month', occurred_at AT TIME ZONE coalesce(time_zone, 'UTC')), 'YYYY-MM'), count(*) FROM reports WHERE ${W} GROUP BY 1`));
  assert.deepEqual(await tableOf(page, 'card-month'), month, 'by month');
  const year = asMap(sql(env, `SELECT to_char(date_trunc('year', occurred_at AT TIME ZONE coalesce(time_zone, 'UTC')), 'YYYY'), count(*) FROM reports WHERE ${W} GROUP BY 1`));
  assert.deepEqual(await tableOf(page, 'card-year'), year, 'by year');

  // Hour × weekday: the table's rows are weekdays 0 (Monday)..6, 24 hours each.
  const grid = Array.from({ length: 7 }, () => new Array(24).fill(0));
  for (const [wd, h, n] of sql(env, `SELECT local_weekday - 1, local_hour, count(*) FROM reports WHERE ${W} AND local_hour IS NOT NULL GROUP BY 1, 2`)) {
    grid[Number(wd)][Number(h)] = Number(n);
  }
  assert.deepEqual(await tableOf(page, 'card-hours'), Object.fromEntries(grid.map((row, i) => [String(i), row])), 'hour × weekday');

  // Top neighbourhoods: the same ten (ties broken by name, as the API
  // does), with the same-length period before for comparison.
  const len = new Date(q.until) - new Date(q.since);
  const before = new Date(new Date(q.since) - len).toISOString();
  const top = sql(env, `SELECT neighbourhood, count(*) FILTER (WHERE occurred_at >= '${q.since}'), count(*) FILTER (WHERE occurred_at < '${q.since}')
    FROM reports WHERE ${where(q, { since: before })} AND neighbourhood IS NOT NULL GROUP BY coalesce(city, ''), 1
    HAVING count(*) FILTER (WHERE occurred_at >= '${q.since}') > 0 ORDER BY 2 DESC, coalesce(city, ''), 1 LIMIT 10`);
  assert.deepEqual(await tableOf(page, 'card-neighbourhoods'), asMap(top), 'most affected neighbourhoods');

  // Year over year, per category.
  const prev = where(q, { since: minusYear(q.since), until: minusYear(q.until) });
  const change = asMap(sql(env, `SELECT category, sum(cur), sum(prev) FROM (
      SELECT category, 1 AS cur, 0 AS prev FROM reports WHERE ${W}
      UNION ALL SELECT category, 0, 1 FROM reports WHERE ${prev}) t GROUP BY 1`));
  assert.deepEqual(await tableOf(page, 'card-change'), change, 'change from a year before');

  // Heat map: the cells add up to every located report of the filter.
  const heat = await tableOf(page, 'card-heatmap');
  const heatTotal = Object.values(heat).reduce((a, [n]) => a + n, 0);
  assert.equal(heatTotal, Number(sql(env, `SELECT count(*) FROM reports WHERE ${W} AND cell_l16 IS NOT NULL`)[0][0]), 'heat map cells');

  // Each chart's table opens for a reader.
  await page.click('#card-categories details.numbers summary');
  assert.equal(await page.$eval('#card-categories details.numbers', (d) => d.open), true);
  await screenshot(page, 'dashboard-sample-desktop');
  assert.deepEqual(await axe(page), []);
  assert.deepEqual(problemsOf(page), []);
  await closePage(page);

  const phone = await openPage(browser, api.url, PHONE);
  await goto(phone, '#/dashboard?from=2014-02-01&to=2014-03-31');
  await phone.waitForFunction(() => document.body.dataset.dashboardLoaded);
  assert.deepEqual(await tableOf(phone, 'card-categories'), categories, 'the same numbers on a phone');
  await screenshot(phone, 'dashboard-sample-phone');
  const width = await phone.evaluate(() => Math.max(document.documentElement.scrollWidth, innerWidth));
  assert.ok(width <= PHONE.width, `nothing wider than the phone (${width}px)`);
  assert.deepEqual(problemsOf(phone), []);
  await closePage(phone);
});
