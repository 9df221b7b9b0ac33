// LiveFeed (web/src/js/live-feed.js) on a fake WebSocket and a fake history
// endpoint: the feed reads the history, then connects with ?after= of the
// newest cursor it has, reconnects after a drop with the newest cursor seen,
// and shows a replayed alert once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LiveFeed } from '../../../web/src/js/live-feed.js';

class FakeSocket {
  static all = [];
  constructor(url) { this.url = new URL(url); FakeSocket.all.push(this); }
  open() { this.onopen?.(); }
  send(alert) { this.onmessage?.({ data: JSON.stringify(alert) }); }
  drop() { this.onclose?.({ code: 1006 }); }
  close() { this.closed = true; }
}

const alert = (cursor, reportId) => ({ alert_id: 'a-' + cursor, type: 'report', cursor, report_id: reportId, created_at: '2026-01-01T00:00:00Z' });

function feed(history, extra = {}) {
  FakeSocket.all = [];
  const seen = [];
  const states = [];
  const f = new LiveFeed({
    id: 'sub-1', token: 'tok', WebSocketImpl: FakeSocket, origin: { protocol: 'http:', host: '127.0.0.1:1' },
    fetchJson: async (path) => {
      const after = new URL(path, 'http://x').searchParams.get('after');
      const list = history.filter((a) => !after || a.cursor > after);
      return { alerts: list, next_cursor: list.length ? list[list.length - 1].cursor : after };
    },
    onAlert: (a, o) => seen.push([a.cursor, o.live]),
    onState: (s) => states.push(s),
    ...extra,
  });
  return { f, seen, states };
}

test('history first, then the socket resumes after its newest cursor', async () => {
  const { f, seen } = feed([alert('100-0', 'r1'), alert('200-0', 'r2')]);
  await f.start();
  assert.deepEqual(seen, [['100-0', false], ['200-0', false]]);
  assert.equal(FakeSocket.all.length, 1);
  assert.equal(FakeSocket.all[0].url.searchParams.get('after'), '200-0');
  assert.equal(FakeSocket.all[0].url.searchParams.get('token'), 'tok');
  assert.equal(FakeSocket.all[0].url.pathname, '/v1/subscriptions/sub-1/live');
  f.stop();
});

test('an empty history connects from the start of the stream, so nothing published meanwhile is lost', async () => {
  const { f } = feed([]);
  await f.start();
  assert.equal(FakeSocket.all[0].url.searchParams.get('after'), '0');
  f.stop();
});

test('after a drop it reconnects with the newest cursor seen and shows a replayed alert once', async () => {
  const { f, seen, states } = feed([alert('100-0', 'r1')]);
  const timers = [];
  const realSetTimeout = globalThis.setTimeout;
  globalThis.setTimeout = (fn, ms) => { timers.push(ms); return realSetTimeout(fn, 0); };
  try {
    await f.start();
    const first = FakeSocket.all[0];
    first.open();
    first.send(alert('300-0', 'r3'));
    first.drop();
    assert.ok(states.includes('retrying'));
    await new Promise((r) => realSetTimeout(r, 5));
    assert.equal(FakeSocket.all.length, 2, 'reconnected');
    const second = FakeSocket.all[1];
    assert.equal(second.url.searchParams.get('after'), '300-0');
    second.open();
    second.send(alert('300-0', 'r3'));   // replayed by the server: shown once
    second.send(alert('400-0', 'r4'));
    assert.deepEqual(seen, [['100-0', false], ['300-0', true], ['400-0', true]]);
    assert.ok(timers[0] >= 750 && timers[0] <= 1250, `first retry after about 1 s (${timers[0]} ms)`);
  } finally {
    globalThis.setTimeout = realSetTimeout;
    f.stop();
  }
});

test('cursors compare as numbers, not as text', async () => {
  const { f } = feed([alert('999-0', 'a'), alert('1000-0', 'b')]);
  await f.start();
  assert.equal(FakeSocket.all[0].url.searchParams.get('after'), '1000-0');
  f.stop();
});

test('a subscription the server no longer has stops the feed', async () => {
  const { f, states } = feed([], { fetchJson: async () => { const e = new Error('gone'); e.status = 404; throw e; } });
  await f.start();
  assert.equal(states.at(-1), 'gone');
  assert.equal(FakeSocket.all.length, 0);
});
