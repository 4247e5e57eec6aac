/**
 * Freezes an object and everything under it: verified claims that a cache hands to every
 * request presenting the same token must not be changed by one of them.
 */
export function deepFreeze<T> (value: T): T {
  Object.freeze(value)
  for (const key in value) {
    const child = value[key]
    if (typeof child === 'object' && child !== null) deepFreeze(child)
  }
  return value
}
