import type { Accounts } from '../accounts/accounts.js'
import type { UserDirectory } from '../accounts/user-directory.js'
import type { AccountUnlock } from '../login/account-unlock.js'
import type { UserSessions } from '../sessions/user-sessions.js'

/**
 * Everything an application (or the admin routes) does to users, as one object:
 * `app.tokenAuth.accounts`. Each method lives with its own concern; this only gathers them.
 */
export interface UserManagement {
  createUser: Accounts['createUser']
  findUserById: Accounts['findUserById']
  findUserByUsername: Accounts['findUserByUsername']
  findUserByEmail: UserDirectory['findUserByEmail']
  listUsers: UserDirectory['listUsers']
  updateUser: Accounts['updateUser']
  changePassword: Accounts['changePassword']
  setDisabled: Accounts['setDisabled']
  deleteUser: Accounts['deleteUser']
  unlockUser: AccountUnlock['unlockUser']
  listSessions: UserSessions['listSessions']
  endSession: UserSessions['endSession']
  endAllSessions: UserSessions['endAllSessions']
}

export function createUserManagement (accounts: Accounts, directory: UserDirectory, unlock: AccountUnlock, sessions: UserSessions): UserManagement {
  return Object.freeze({
    createUser: accounts.createUser.bind(accounts),
    findUserById: accounts.findUserById.bind(accounts),
    findUserByUsername: accounts.findUserByUsername.bind(accounts),
    findUserByEmail: directory.findUserByEmail.bind(directory),
    listUsers: directory.listUsers.bind(directory),
    updateUser: accounts.updateUser.bind(accounts),
    changePassword: accounts.changePassword.bind(accounts),
    setDisabled: accounts.setDisabled.bind(accounts),
    deleteUser: accounts.deleteUser.bind(accounts),
    unlockUser: unlock.unlockUser.bind(unlock),
    listSessions: sessions.listSessions.bind(sessions),
    endSession: sessions.endSession.bind(sessions),
    endAllSessions: sessions.endAllSessions.bind(sessions)
  })
}
