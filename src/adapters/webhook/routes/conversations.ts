/**
 * `GET /v1/conversations/:id` (stored turns with token counts) and `DELETE /v1/conversations/:id` (forget
 * the conversation). `:id` is the request's `conversation_id`, URL-encoded or not (it may contain `/`, so
 * the route is a wildcard). Scoped to the authenticated client: the key is `webhook:<client>:<id>`.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { authenticateRequest, conversationKey, type WebhookContext } from "../context.js";
import { parseConversationId, rawBodyOf } from "../request.js";

const ROUTE = "/v1/conversations/*";

function target(ctx: WebhookContext, req: FastifyRequest): { id: string; key: string } {
  const client = authenticateRequest(ctx, req, rawBodyOf(req.body));
  const id = parseConversationId((req.params as Record<string, string | undefined>)["*"]);
  return { id, key: conversationKey(client, id) };
}

/** Registers the conversation routes. */
export function registerConversationRoutes(app: FastifyInstance, ctx: WebhookContext): void {
  app.get(ROUTE, async (req) => {
    const { id, key } = target(ctx, req);
    const turns = await ctx.service.history(key);
    return {
      conversation_id: id,
      turns: turns.map((t) => ({
        role: t.role,
        author: { id: t.authorId, name: t.authorName },
        text: t.text,
        tokens: t.tokens,
        at: t.at,
        delivery: t.delivery,
      })),
      total_tokens: turns.reduce((sum, t) => sum + t.tokens, 0),
    };
  });

  app.delete(ROUTE, async (req) => {
    const { id, key } = target(ctx, req);
    await ctx.service.reset(key);
    return { conversation_id: id, deleted: true };
  });
}
