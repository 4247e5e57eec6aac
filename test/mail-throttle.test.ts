import t from 'tap'
import { countMailRequest, countRequest, uncountRequest } from '../lib/login/request-window.js'
import type { AttemptCounter } from '../lib/store/ports.js'

// The pure decisions behind the mail throttles: fixed windows that start at their first request.

const limit = { key: 'k', limit: 2, windowSeconds: 60 }
const counters = (...list: AttemptCounter[]): ReadonlyMap<string, AttemptCounter> => new Map(list.map((counter) => [counter.key, counter]))

t.test('a key is counted up to its limit in a window, then refused with the seconds left, counting nothing', async (t) => {
  const first = countRequest(limit, 1000)(counters())
  t.match(first, { write: [{ key: 'k', count: 1, windowStartedAt: 1000 }], result: { allowed: true, counted: { key: 'k', windowStartedAt: 1000 } } })
  const second = countRequest(limit, 1010)(counters(first.write[0]))
  t.match(second.write, [{ count: 2, windowStartedAt: 1000, lastAttemptAt: 1010 }])
  t.same(countRequest(limit, 1020)(counters(second.write[0])), { write: [], result: { allowed: false, retryAfter: 40 } })
  t.match(countRequest(limit, 1060)(counters(second.write[0])).write, [{ count: 1, windowStartedAt: 1060 }], 'a new window starts afresh')
})

t.test('a mail request: refused while the client is at its limit; past the recipient\'s limit it is counted on the client only', async (t) => {
  const recipient = { key: 'r', limit: 1, windowSeconds: 60 }
  const atLimit = { key: 'k', count: 2, windowStartedAt: 1000, lockedUntil: 0, lastAttemptAt: 1000 }
  t.same(countMailRequest(limit, recipient, 1001)(counters(atLimit)), { write: [], result: { allowed: false, retryAfter: 59 } })
  const sent = countMailRequest(limit, recipient, 1001)(counters())
  t.match(sent, { write: [{ key: 'k', count: 1 }, { key: 'r', count: 1 }], result: { allowed: true, send: true } })
  const held = countMailRequest(limit, recipient, 1002)(counters(...sent.write))
  t.match(held, { write: [{ key: 'k', count: 2 }], result: { allowed: true, send: false } })
  t.equal(held.write.length, 1)
})

t.test('uncounting takes back one count of its own window only', async (t) => {
  const counter = { key: 'k', count: 2, windowStartedAt: 1000, lockedUntil: 0, lastAttemptAt: 1005 }
  t.match(uncountRequest({ key: 'k', windowStartedAt: 1000 })(counters(counter)).write, [{ count: 1 }])
  t.same(uncountRequest({ key: 'k', windowStartedAt: 900 })(counters(counter)).write, [], 'a window that restarted since is left alone')
  t.same(uncountRequest({ key: 'k', windowStartedAt: 1000 })(counters()).write, [], 'a pruned counter is left alone')
  t.same(uncountRequest({ key: 'k', windowStartedAt: 1000 })(counters({ ...counter, count: 0 })).write, [], 'a count never goes below zero')
})
