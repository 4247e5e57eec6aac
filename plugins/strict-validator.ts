import type { TSchema } from '@sinclair/typebox'
import { TypeCompiler, type ValueError } from '@sinclair/typebox/compiler'
import type { FastifySchemaCompiler } from 'fastify'

/**
 * Validates with TypeBox's compiler: no type coercion (a number or array password is a
 * 400, not a string), no defaults, nothing removed. Errors keep the path and message
 * only: the offending value (perhaps a password) never lands on the error, so it
 * cannot reach a log line.
 */
export const strictValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema }) => {
  const check = TypeCompiler.Compile(schema)
  return (value) => {
    if (check.Check(value)) return { value }
    // A value that failed Check has at least one error.
    const first = check.Errors(value).First() as ValueError
    return { error: [{ keyword: 'schema', instancePath: first.path, schemaPath: '', params: {}, message: first.message }] }
  }
}
