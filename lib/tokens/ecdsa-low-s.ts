// An ECDSA signature (r, s) also verifies as (r, n - s), n being the curve's group order:
// two spellings of one token. Only the low-S form (s <= n/2) is written or accepted, so
// every token has exactly one signature (as Bitcoin's BIP 62 does for the same reason).

function fixedWidthBytes (value: bigint, length: number): Buffer {
  return Buffer.from(value.toString(16).padStart(length * 2, '0'), 'hex')
}

/** The largest low `s` for a group order, as big-endian bytes of the scalar width. */
export function lowSLimit (order: bigint, scalarBytes: number): Buffer {
  return fixedWidthBytes(order >> 1n, scalarBytes)
}

/** True when the raw r||s signature's `s` is at most n/2 (`limit` from lowSLimit). */
export function isLowS (signature: Buffer, limit: Buffer): boolean {
  return Buffer.compare(signature.subarray(signature.length - limit.length), limit) <= 0
}

/** The low-S form of a raw r||s signature: `s` replaced by n - s when it is above n/2. */
export function toLowS (signature: Buffer, order: bigint, limit: Buffer): Buffer {
  if (isLowS(signature, limit)) return signature
  const scalarBytes = limit.length
  const s = BigInt(`0x${signature.subarray(scalarBytes).toString('hex')}`)
  return Buffer.concat([signature.subarray(0, scalarBytes), fixedWidthBytes(order - s, scalarBytes)])
}
