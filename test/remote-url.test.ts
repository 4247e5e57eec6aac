import t, { type Test } from 'tap'
import { checkRemoteUrl } from '../lib/remote/remote-url.js'

// The URLs keys and revocations are fetched from: https, or plain http to this machine when allowed.

function refuses (t: Test, value: unknown, message: RegExp, allowInsecureLocalhost = false): void {
  t.throws(() => checkRemoteUrl(value, 'issuers[0].jwksUrl', allowInsecureLocalhost), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message }, String(value))
}

t.test('https URLs are accepted, as strings or URL objects', async (t) => {
  t.equal(checkRemoteUrl('https://idp.example/.well-known/jwks.json', 'jwksUrl', false).href, 'https://idp.example/.well-known/jwks.json')
  const url = new URL('https://idp.example:8443/keys?tenant=a')
  t.equal(checkRemoteUrl(url, 'jwksUrl', false).href, url.href)
})

t.test('plain http only to a loopback address, and only when allowed', async (t) => {
  for (const host of ['localhost', '127.0.0.1', '[::1]']) {
    t.equal(checkRemoteUrl(`http://${host}:4000/jwks`, 'jwksUrl', true).protocol, 'http:', host)
    refuses(t, `http://${host}:4000/jwks`, /issuers\[0\]\.jwksUrl is plain http: set allowInsecureLocalhost: true/)
  }
  refuses(t, 'http://idp.example/jwks', /must be an https:\/\/ URL .*; got http:\/\/idp\.example/, true)
  refuses(t, 'http://127.0.0.2/jwks', /must be an https:\/\/ URL/, true)
  refuses(t, 'http://localhost.idp.example/jwks', /must be an https:\/\/ URL/, true)
  refuses(t, 'ftp://idp.example/jwks', /got ftp:\/\/idp\.example/, true)
  refuses(t, 'file:///etc/passwd', /must be an https:\/\/ URL/, true)
})

t.test('credentials and fragments in the URL are refused, without echoing them', async (t) => {
  refuses(t, 'https://user:hunter2@idp.example/jwks', /must not carry a user name or password$/)
  refuses(t, 'https://token@idp.example/jwks', /must not carry a user name or password$/)
  refuses(t, 'https://idp.example/jwks#keys', /must not have a #fragment/)
})

t.test('values that are not URLs are refused with the value shown only when short', async (t) => {
  refuses(t, 42, /must be a URL string; got 42/)
  refuses(t, undefined, /must be a URL string; got undefined/)
  refuses(t, 'not a url', /is not a valid URL; got "not a url"/)
  refuses(t, 'x'.repeat(40), /is not a valid URL; got a string of 40 characters/)
})
