import type { Challenge, ChallengePort, ChallengePurpose } from './ports.js'

/** The challenge port of the memory store, and what `users.delete` needs from it. */
export function memoryChallenges (): { port: ChallengePort, deleteAllOf: (userId: string) => void } {
  const challenges = new Map<string, Challenge>()

  const live = (hash: string, purpose: ChallengePurpose, now: number): Challenge | undefined => {
    const challenge = challenges.get(hash)
    return challenge !== undefined && challenge.purpose === purpose && challenge.expiresAt > now ? challenge : undefined
  }

  const port: ChallengePort = {
    async insert (challenge) {
      challenges.set(challenge.hash, { ...challenge })
    },
    async find (hash, purpose, now) {
      const challenge = live(hash, purpose, now)
      return challenge === undefined ? undefined : { ...challenge }
    },
    async consume (hash, purpose, now) {
      const challenge = live(hash, purpose, now)
      if (challenge !== undefined) challenges.delete(hash)
      return challenge
    },
    async prune (now) {
      let deleted = 0
      for (const [hash, challenge] of challenges) {
        if (challenge.expiresAt <= now) { challenges.delete(hash); deleted++ }
      }
      return deleted
    }
  }

  return {
    port,
    deleteAllOf: (userId) => { for (const [hash, challenge] of challenges) if (challenge.userId === userId) challenges.delete(hash) }
  }
}
