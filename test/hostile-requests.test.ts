import t from 'tap'
import type { InjectOptions } from 'fastify'
import { buildSessionApp, PASSWORD } from './helpers/app.js'

// Odd requests a client can send; none may answer 500.

t.test('odd login, refresh and logout requests never answer 500', async (t) => {
  const { app } = await buildSessionApp(t)
  const login = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: PASSWORD, include_refresh_token: true } })
  t.equal(login.statusCode, 200)
  const { refresh_token: refresh, access_token: access } = login.json()
  const cases: InjectOptions[] = [
    { method: 'POST', url: '/auth/login', headers: { host: '[::1', origin: 'https://x' }, payload: { username: 'alice', password: 'x' } },
    { method: 'POST', url: '/auth/login', headers: { host: 'a b', origin: 'null' }, payload: { username: 'alice', password: 'x' } },
    { method: 'POST', url: '/auth/login', headers: { cookie: '__Secure-device=%E0%A4%A' }, payload: { username: 'alice', password: 'x' } },
    { method: 'POST', url: '/auth/login', headers: { cookie: '__Secure-device' }, payload: { username: 'alice', password: 'x' } },
    { method: 'POST', url: '/auth/login', payload: { username: '\u0000', password: 'x' } },
    { method: 'POST', url: '/auth/login', payload: { username: '\ud800', password: '\ud800' } },
    { method: 'POST', url: '/auth/login', payload: { username: 'ﷺ'.repeat(254), password: 'x' } },
    { method: 'POST', url: '/auth/login', payload: { username: 'alice', password: 'x', include_refresh_token: 'yes' } },
    { method: 'POST', url: '/auth/login', headers: { 'content-type': 'application/json; charset=utf-16' }, payload: '{"username":"alice","password":"x"}' },
    { method: 'POST', url: '/auth/refresh', headers: { 'content-type': 'application/json' }, payload: 'null' },
    { method: 'POST', url: '/auth/refresh', headers: { 'content-type': 'application/json' }, payload: '[]' },
    { method: 'POST', url: '/auth/refresh', headers: { cookie: `__Secure-refresh-token=${refresh as string}`, 'x-csrf-token': ['a', 'b'] as unknown as string } },
    { method: 'POST', url: '/auth/refresh', headers: { cookie: `__Secure-refresh-token=${refresh as string}; __Host-access-token=${access as string}` } },
    { method: 'POST', url: '/auth/logout', headers: { cookie: '__Secure-refresh-token=%ZZ' } },
    { method: 'POST', url: '/auth/logout', headers: { authorization: `Bearer ${access as string}`, cookie: `__Secure-refresh-token=${'A'.repeat(43)}` } },
    { method: 'POST', url: '/auth/logout', headers: { authorization: 'Bearer a.b.c' }, payload: { refresh_token: 'x'.repeat(43) } },
    { method: 'POST', url: '/auth/password', headers: { authorization: `Bearer ${access as string}` }, payload: { current_password: '\ud800', new_password: 'x' } },
    { method: 'POST', url: '/auth/password', headers: { authorization: `Bearer ${access as string}` }, payload: { current_password: PASSWORD, new_password: '\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000' } },
    { method: 'POST', url: '/auth/logout-all', headers: { authorization: `Bearer ${access as string}`, 'content-type': 'application/json' }, payload: '{' }
  ]
  for (const [index, request] of cases.entries()) {
    const response = await app.inject(request)
    t.ok(response.statusCode < 500, `case ${index}: ${response.statusCode} ${response.body.slice(0, 120)}`)
  }
})
