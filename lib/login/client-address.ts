import { isIPv6 } from 'node:net'

/**
 * The throttling key of a client address. IPv6 clients usually hold a whole /64 and can
 * rotate through it for free, so an IPv6 address counts as its /64; IPv4 (and
 * IPv4-mapped IPv6) addresses count one by one.
 */
export function clientAddressKey (address: string): string {
  if (!isIPv6(address)) return address
  const lower = address.toLowerCase()
  if (lower.startsWith('::ffff:') && lower.includes('.')) return lower.slice(7)
  const [head, tail = ''] = lower.split('::')
  const headGroups = head === '' ? [] : head.split(':')
  const tailGroups = tail === '' ? [] : tail.split(':')
  const groups = lower.includes('::')
    ? [...headGroups, ...Array(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups]
    : headGroups
  return `${groups.slice(0, 4).map((group) => group.replace(/^0+(?=.)/, '')).join(':')}::/64`
}
