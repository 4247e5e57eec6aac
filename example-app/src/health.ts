import type { FastifyPluginAsync } from 'fastify'

/**
 * GET /healthz for load balancers: 200 while the database answers, 503 (not 500) while
 * it does not, so that the instance is taken out of rotation rather than reported broken.
 */
export const health: FastifyPluginAsync = async (app) => {
  app.get('/healthz', async (request, reply) => {
    try {
      await app.knex.raw('select 1')
    } catch (error) {
      request.log.error({ err: error }, 'health check failed: the database does not answer')
      return await reply.code(503).header('retry-after', '5').send({ status: 'unavailable', reason: 'the database does not answer' })
    }
    return { status: 'ok' }
  })
}
