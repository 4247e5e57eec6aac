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

/** The group order as big-endian bytes of the scalar width, for toLowS. */
export function orderBytes (order: bigint, scalarBytes: number): Buffer {
  return fixedWidthBytes(order, scalarBytes)
}

/**
 * The low-S form of a raw r||s signature: `s` replaced by n - s when it is above n/2.
 * The subtraction runs on the bytes in place (n > s, so no borrow is left over): no
 * BigInt or hex round trip on the signing path.
 */
export function toLowS (signature: Buffer, order: Buffer, limit: Buffer): Buffer {
  if (isLowS(signature, limit)) return signature
  const scalarBytes = limit.length
  const offset = signature.length - scalarBytes
  let borrow = 0
  for (let i = scalarBytes - 1; i >= 0; i--) {
    const difference = order[i] - signature[offset + i] - borrow
    borrow = difference < 0 ? 1 : 0
    signature[offset + i] = difference & 0xff
  }
  return signature
}
