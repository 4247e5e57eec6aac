import type { UserPort, UserRecord } from '../store/ports.js'
import { MAX_EMAIL_LENGTH, tryNormaliseEmail } from './email-address.js'
import { MAX_USERNAME_LENGTH } from './username.js'

export const DEFAULT_USER_PAGE_SIZE = 50
export const MAX_USER_PAGE_SIZE = 1000
/** Longer than any username or email: a longer search could match nothing. */
export const MAX_USER_SEARCH_LENGTH = Math.max(MAX_USERNAME_LENGTH, MAX_EMAIL_LENGTH)

export interface UserListOptions {
  /** The `next` of the previous page. */
  after?: string | undefined
  /** Users per page, 1 to 1000. Default 50. */
  limit?: number | undefined
  /** Only users whose username or email contains this text, in any case (matched literally). */
  search?: string | undefined
}

export interface UserPage {
  users: UserRecord[]
  /** Pass as `after` for the next page; null on the last page (a full page may be followed by an empty one). */
  next: string | null
}

// Neither usernames nor emails hold these: a search containing one matches nothing, and never reaches the database.
const NEVER_IN_A_NAME = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u

/** The search as usernames and emails are stored (NFKC, lower case); undefined for none. */
function normaliseSearch (search: string | undefined): string | undefined {
  if (search === undefined) return undefined
  if (typeof search !== 'string' || search.length > MAX_USER_SEARCH_LENGTH) {
    throw new TypeError(`listUsers search must be a string of at most ${MAX_USER_SEARCH_LENGTH} characters`)
  }
  const normalised = search.normalize('NFKC').toLowerCase()
  return normalised === '' ? undefined : normalised
}

function checkedLimit (limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_USER_PAGE_SIZE
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_USER_PAGE_SIZE) throw new TypeError(`listUsers limit must be an integer from 1 to ${MAX_USER_PAGE_SIZE}`)
  return limit
}

function checkedCursor (after: string | undefined): string | undefined {
  if (after !== undefined && (typeof after !== 'string' || after.length > MAX_USERNAME_LENGTH || after.includes('\u0000'))) {
    throw new TypeError(`listUsers after must be a username of at most ${MAX_USERNAME_LENGTH} characters`)
  }
  return after
}

/** Looking users up for an administrator: pages of users by username, and by email. */
export class UserDirectory {
  readonly #users: UserPort

  constructor (users: UserPort) {
    this.#users = users
  }

  /** A page of users by username (byte order), each user on exactly one page. */
  async listUsers (options: UserListOptions = {}): Promise<UserPage> {
    const limit = checkedLimit(options.limit)
    const after = checkedCursor(options.after)
    const search = normaliseSearch(options.search)
    if (search !== undefined && NEVER_IN_A_NAME.test(search)) return { users: [], next: null }
    const users = await this.#users.list({ after, limit, search })
    return { users, next: users.length === limit ? users[users.length - 1].username : null }
  }

  /** Any spelling of the address ("Alice@Example.com"); undefined for one that can never be an address. */
  async findUserByEmail (email: string): Promise<UserRecord | undefined> {
    const normalised = tryNormaliseEmail(email)
    return normalised === undefined ? undefined : await this.#users.findByEmail(normalised)
  }
}
