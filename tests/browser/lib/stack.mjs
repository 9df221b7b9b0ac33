// The real stack for the browser tests: the servers of deploy/local/stack.sh
// (their addresses from its env file, like tests/support/stack_env.cc), and
// safestream-api / safestream-processor started here as child processes on
// free ports, the API serving the staged web app (--web-root). A missing
// server or binary fails the test; nothing is skipped or mocked.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SOURCE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BUILD_DIR = process.env.SAFESTREAM_BUILD_DIR || path.join(SOURCE_DIR, 'build');

const RUN_TAG = `${process.pid}-${Date.now().toString(36)}`;
const RUN_TOPIC = `browser.${RUN_TAG}.raw`;

export function stackEnv() {
  const file = process.env.SAFESTREAM_ENV_FILE || path.join(SOURCE_DIR, 'deploy/local/.env');
  const env = {};
  if (fs.existsSync(file)) {
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
      if (m) env[m[1]] = m[2];
    }
  }
  // This test file's own raw topic and consumer group (as the ops tests
  // have): what other tests left on the shared reports.raw is no backlog for
  // its processor, and no other processor of the stack's group reads its
  // reports. The API publishes there, ingest imports there.
  Object.assign(env, {
    SAFESTREAM_API_TOPIC: RUN_TOPIC, SAFESTREAM_INGEST_TOPIC: RUN_TOPIC,
    SAFESTREAM_RAW_TOPIC: RUN_TOPIC, SAFESTREAM_PROCESSOR_GROUP_ID: `browser-${RUN_TAG}`,
  });
  for (const [k, v] of Object.entries(process.env)) if (k.startsWith('SAFESTREAM_')) env[k] = v;
  for (const k of ['SAFESTREAM_KAFKA_BOOTSTRAP', 'SAFESTREAM_PG_URL', 'SAFESTREAM_REDIS_URL', 'SAFESTREAM_S3_ENDPOINT']) {
    if (!env[k]) throw new Error(`${k} is not set: start the stack (deploy/local/stack.sh up) first (env file ${file})`);
  }
  return env;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls fn() until it returns a truthy value or the deadline passes.
export async function waitFor(fn, { timeout = 30000, interval = 200, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    try { last = await fn(); if (last) return last; } catch (e) { last = e; }
    await sleep(interval);
  }
  throw new Error(`timed out after ${timeout} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
}

// Daemon logs of this test file; removed when it passes (exit code 0).
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'safestream-browser-'));
process.on('exit', (code) => { if (code === 0) fs.rmSync(workDir, { recursive: true, force: true }); });

// A daemon of the project as a child process with its log in a file.
export class Daemon {
  constructor(name, binary, args, env = {}) {
    Object.assign(this, { name, binary, args, env });
    this.log = path.join(workDir, `${name}.log`);
    this.child = null;
  }
  start() {
    if (!fs.existsSync(this.binary)) throw new Error(`${this.binary} is not built (deploy/local/build.sh)`);
    const out = fs.openSync(this.log, 'a');
    this.child = spawn(this.binary, this.args, { env: { ...process.env, ...this.env }, stdio: ['ignore', out, out] });
    this.exited = new Promise((r) => this.child.once('exit', (code, sig) => r({ code, sig })));
    fs.closeSync(out);
    return this;
  }
  running() { return this.child && this.child.exitCode === null && this.child.signalCode === null; }
  async stop(signal = 'SIGTERM', timeout = 30000) {
    if (!this.running()) return;
    this.child.kill(signal);
    const t = setTimeout(() => this.child && this.child.kill('SIGKILL'), timeout);
    await this.exited;
    clearTimeout(t);
  }
  kill() { return this.stop('SIGKILL'); }
  tail(bytes = 3000) {
    try { const s = fs.readFileSync(this.log, 'utf8'); return s.slice(-bytes); } catch { return ''; }
  }
  async waitHealthy(url, timeout = 30000) {
    const end = Date.now() + timeout;
    while (Date.now() < end) {
      if (!this.running()) throw new Error(`${this.name} exited:\n${this.tail()}`);
      const r = await fetch(url).catch(() => null);
      if (r && r.ok) return;
      await sleep(100);
    }
    throw new Error(`${this.name} did not answer ${url} within ${timeout} ms:\n${this.tail()}`);
  }
}

// safestream-api on free ports, serving build/web at /.
export async function startApi(env, { port } = {}) {
  port = port || await freePort();
  const metrics = await freePort();
  const web = path.join(BUILD_DIR, 'web');
  if (!fs.existsSync(path.join(web, 'index.html'))) throw new Error(`${web}/index.html is missing: build (deploy/local/build.sh) stages the web app`);
  const d = new Daemon(`api-${port}`, path.join(BUILD_DIR, 'api/safestream-api'),
    ['--port', String(port), '--metrics-port', String(metrics), '--web-root', web, '--log-level', 'warn'], env);
  d.start();
  d.port = port;
  d.url = `http://127.0.0.1:${port}`;
  await d.waitHealthy(`${d.url}/healthz`);
  return d;
}

// safestream-processor reading this file's topic in its own group
// (stackEnv); its log at info (a few lines: start, assignments, stop) is in
// the failure messages of the tests.
export async function startProcessor(env) {
  const metrics = await freePort();
  const d = new Daemon('processor', path.join(BUILD_DIR, 'processor/safestream-processor'),
    ['--metrics-port', String(metrics), '--log-level', 'info'], env);
  d.start();
  await d.waitHealthy(`http://127.0.0.1:${metrics}/healthz`);
  return d;
}

// One SQL value (or rows as arrays of strings) through psql.
export function sql(env, query) {
  const out = execFileSync('psql', [env.SAFESTREAM_PG_URL, '-X', '-A', '-t', '-F', '\t', '-v', 'ON_ERROR_STOP=1', '-c', query],
    { encoding: 'utf8', timeout: 30000 });
  return out.split('\n').filter((l) => l.length).map((l) => l.split('\t'));
}

export async function postReport(apiUrl, body) {
  const r = await fetch(`${apiUrl}/v1/reports`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const text = await r.text();
  if (r.status !== 202) throw new Error(`POST /v1/reports answered ${r.status}: ${text}`);
  return JSON.parse(text);
}

// What the stack knows of the reports whose description contains `tag`
// (PostgreSQL rows, near-duplicate links) and the processor's log: the
// message of a test that waited in vain for one of them.
export function reportTrail(env, processor, tag) {
  let rows;
  try {
    rows = sql(env, `SELECT id, category, occurred_at, duplicate_of FROM reports WHERE description LIKE '%${tag.replace(/'/g, "''")}%'`);
  } catch (e) { rows = e.message; }
  return `reports with "${tag}" in PostgreSQL: ${JSON.stringify(rows)}\nprocessor log:\n${processor ? processor.tail() : '(none)'}`;
}

export async function reportStored(apiUrl, id, timeout = 60000) {
  await waitFor(async () => (await fetch(`${apiUrl}/v1/reports/${id}`)).status === 200, { timeout, what: `report ${id} in PostgreSQL` });
}

// A point of its own per call inside Chicago's bounding box, on land, so the
// map and the alert areas of different runs do not meet.
export function uniqueChicagoPoint() {
  return { lat: 41.80 + Math.random() * 0.12, lon: -87.74 + Math.random() * 0.1 };
}

export function screenshotDir() {
  const d = path.join(BUILD_DIR, 'screenshots');
  fs.mkdirSync(d, { recursive: true });
  return d;
}
