import fc from 'fast-check'
import t from 'tap'
import { PASSWORD } from './helpers/app.js'
import { addPasskey, ADDRESS, enrollTotp, mfaApp, mfaRequest, mfaSession, ORIGIN, passwordLogin, passwordSession, type MfaApp, type Response } from './helpers/mfa-app.js'
import { SoftAuthenticator } from './helpers/soft-authenticator.js'

// Property-based tests of the second-factor routes: nothing a client can send makes them
// answer 5xx, and every refusal is a coded JSON error. FUZZ_RUNS sets the cases per
// property (default 300 here: each case is a whole request).

const RUNS = Math.max(1, Math.floor(Number(process.env.FUZZ_RUNS ?? 1200) / 4))

function assertRefusal (res: Response, allowed: number[]): void {
  if (res.statusCode >= 500 || !allowed.includes(res.statusCode)) throw new Error(`answered ${res.statusCode}: ${res.payload.slice(0, 300)}`)
  if (res.statusCode >= 400 && typeof res.json().code !== 'string') throw new Error(`no code: ${res.payload.slice(0, 300)}`)
}

type Json = Record<string, unknown>

/** A value with one member, somewhere in it, replaced by another value or removed. */
function mutated (value: Json, path: string[], replacement: unknown, remove: boolean): Json {
  const copy = structuredClone(value)
  let holder: Json = copy
  for (const key of path.slice(0, -1)) {
    const next = holder[key]
    if (typeof next !== 'object' || next === null) return copy
    holder = next as Json
  }
  const last = path[path.length - 1]
  if (remove) delete holder[last]
  else holder[last] = replacement
  return copy
}

const encodedJson = fc.jsonValue({ maxDepth: 3 }).map((value) => Buffer.from(JSON.stringify(value) ?? 'null').toString('base64url'))
const base64urlText = fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes).toString('base64url'))
const replacement = fc.oneof(fc.jsonValue({ maxDepth: 2 }), encodedJson, base64urlText, fc.string({ maxLength: 50 }))

const assertionPaths = [
  ['id'], ['rawId'], ['type'], ['authenticatorAttachment'], ['clientExtensionResults'], ['response'],
  ['response', 'clientDataJSON'], ['response', 'authenticatorData'], ['response', 'signature'], ['response', 'userHandle']
]
const registrationPaths = [
  ['id'], ['rawId'], ['type'], ['clientExtensionResults'], ['response'],
  ['response', 'clientDataJSON'], ['response', 'attestationObject'], ['response', 'transports'], ['response', 'publicKey'], ['response', 'publicKeyAlgorithm']
]

async function fuzzApp (t: Parameters<typeof mfaApp>[0]): Promise<MfaApp & { authenticator: SoftAuthenticator, token: string }> {
  // Every case is a failure on alice's account or on the address: room for them all.
  const built = await mfaApp(t, { auth: { throttle: { maxAccountFailures: 1_000_000, maxAddressFailures: 1_000_000 } } })
  const { secret } = await enrollTotp(built.app, built.clock, await passwordSession(built.app))
  const token = await mfaSession(built.app, built.clock, secret)
  const { authenticator, res } = await addPasskey(built.app, token)
  if (res.statusCode !== 201) throw new Error(res.payload)
  return { ...built, authenticator, token }
}

t.test('mutated passkey assertions at POST /auth/login/passkey are refused with 400 or 401, never 5xx', async (t) => {
  const { app, authenticator, clock } = await fuzzApp(t)
  await fc.assert(fc.asyncProperty(fc.constantFrom(...assertionPaths), replacement, fc.boolean(), async (path, value, remove) => {
    // Fresh options per case, 3 s apart: the options routes allow 30 per address and minute.
    clock.advance(3_000)
    const options = (await app.inject({ method: 'POST', url: '/auth/login/passkey/options', remoteAddress: ADDRESS })).json()
    const response = mutated(authenticator.assert(options), path, value, remove)
    const res = await app.inject({ method: 'POST', url: '/auth/login/passkey', payload: { response }, remoteAddress: ADDRESS })
    assertRefusal(res, [200, 400, 401])
  }), { numRuns: RUNS })
  t.pass(`${RUNS} mutated assertions`)
})

t.test('mutated passkey assertions at the second step are refused with 400 or 401, never 5xx', async (t) => {
  const { app, authenticator, clock } = await fuzzApp(t)
  await fc.assert(fc.asyncProperty(fc.constantFrom(...assertionPaths), replacement, fc.boolean(), async (path, value, remove) => {
    clock.advance(3_000)
    const token = (await passwordLogin(app)).json().mfa_token
    const options = (await app.inject({ method: 'POST', url: '/auth/login/mfa/passkey-options', payload: { mfa_token: token }, remoteAddress: ADDRESS })).json()
    const passkey = mutated(authenticator.assert(options), path, value, remove)
    const res = await app.inject({ method: 'POST', url: '/auth/login/mfa', payload: { mfa_token: token, passkey }, remoteAddress: ADDRESS })
    assertRefusal(res, [200, 400, 401])
  }), { numRuns: RUNS })
  t.pass(`${RUNS} mutated second steps`)
})

t.test('mutated passkey registrations at POST /auth/mfa/passkeys are refused with 400 or 409, never 5xx', async (t) => {
  const { app, token } = await fuzzApp(t)
  await fc.assert(fc.asyncProperty(fc.constantFrom(...registrationPaths), replacement, fc.boolean(), async (path, value, remove) => {
    const asked = await mfaRequest(app, token, 'POST', '/passkeys/options', { current_password: PASSWORD })
    // Mutations that change nothing the server reads register passkeys: past maxPerUser, none more.
    if (asked.statusCode === 409) return
    const response = mutated(new SoftAuthenticator({ origin: ORIGIN }).register(asked.json()), path, value, remove)
    const res = await mfaRequest(app, token, 'POST', '/passkeys', { name: 'fuzz', response })
    assertRefusal(res, [201, 400, 409])
  }), { numRuns: RUNS })
  t.pass(`${RUNS} mutated registrations`)
})

t.test('any JSON body to any second-factor route is answered below 500', async (t) => {
  const { app, token } = await fuzzApp(t)
  const routes: Array<['POST' | 'PATCH' | 'DELETE', string, boolean]> = [
    ['POST', '/auth/login/mfa', false],
    ['POST', '/auth/login/mfa/passkey-options', false],
    ['POST', '/auth/login/passkey/options', false],
    ['POST', '/auth/login/passkey', false],
    ['POST', '/auth/mfa/totp', true],
    ['POST', '/auth/mfa/totp/confirm', true],
    ['POST', '/auth/mfa/totp/disable', true],
    ['POST', '/auth/mfa/recovery-codes', true],
    ['POST', '/auth/mfa/passkeys/options', true],
    ['POST', '/auth/mfa/passkeys', true],
    ['PATCH', '/auth/mfa/passkeys/AAAA', true],
    ['DELETE', '/auth/mfa/passkeys/AAAA', true]
  ]
  await fc.assert(fc.asyncProperty(fc.constantFrom(...routes), fc.jsonValue({ maxDepth: 4 }), async ([method, url, authenticated], body) => {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...(authenticated ? { authorization: `Bearer ${token}` } : {}) }
    const res = await app.inject({ method, url, headers, payload: JSON.stringify(body) ?? 'null', remoteAddress: ADDRESS })
    assertRefusal(res, [200, 201, 204, 400, 401, 403, 404, 409, 429])
  }), { numRuns: RUNS * 2 })
  t.pass(`${RUNS * 2} bodies`)
})
