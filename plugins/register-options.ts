import type { RegisterOptions } from 'fastify'
import { optionNames, type KnownKeys } from '../lib/options/known-keys.js'

const REGISTER_OPTIONS: KnownKeys<RegisterOptions> = { prefix: true, logLevel: true, logSerializers: true }

/** Names Fastify's `register` reads itself and leaves in the options object a plugin receives. */
export const REGISTER_OPTION_NAMES = optionNames(REGISTER_OPTIONS)
