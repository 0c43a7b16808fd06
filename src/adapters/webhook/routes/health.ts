/**
 * Unauthenticated operational routes: `GET /healthz` (the process is up), `GET /readyz` (503
 * `model_not_ready` with the reason until ready) and `GET /metrics` (Prometheus text, when a registry is given).
 */
import type { FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import { GlmbotError } from "../../../core/errors.js";
import type { Readiness } from "../context.js";

/** Registers the health, readiness and metrics routes. */
export function registerHealthRoutes(app: FastifyInstance, isReady: () => Readiness, registry?: Registry): void {
  app.get("/healthz", async () => ({ status: "ok" }));

  app.get("/readyz", async () => {
    const r = isReady();
    if (!r.ready) {
      throw new GlmbotError("model_not_ready", `model not ready${r.reason ? `: ${r.reason}` : ""}`, { reason: r.reason ?? null });
    }
    return { status: "ready" };
  });

  if (registry) {
    app.get("/metrics", async (_req, reply) => {
      const text = await registry.metrics();
      return reply.type(registry.contentType).send(text);
    });
  }
}
