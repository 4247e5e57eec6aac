import t from 'tap'
import { clientAddressKey } from '../lib/login/client-address.js'

t.test('IPv4 addresses count one by one, IPv4-mapped IPv6 as the IPv4 address', async (t) => {
  t.equal(clientAddressKey('192.0.2.7'), '192.0.2.7')
  t.equal(clientAddressKey('::ffff:192.0.2.7'), '192.0.2.7')
  t.equal(clientAddressKey('::FFFF:192.0.2.7'), '192.0.2.7')
})

t.test('IPv6 addresses count as their /64, however they are written', async (t) => {
  t.equal(clientAddressKey('2001:db8:0:1::5'), '2001:db8:0:1::/64')
  t.equal(clientAddressKey('2001:0db8:0000:0001:ffff:0:0:1'), '2001:db8:0:1::/64')
  t.equal(clientAddressKey('2001:DB8::1'), '2001:db8:0:0::/64')
  t.equal(clientAddressKey('::1'), '0:0:0:0::/64')
  t.equal(clientAddressKey('fe80::'), 'fe80:0:0:0::/64')
})

t.test('anything else is used as it is', async (t) => {
  t.equal(clientAddressKey('unknown'), 'unknown')
})
