/** The pino-compatible subset of a logger that core uses: `(object, message)` calls. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Discards everything (the default when no logger is given). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/**
 * A logger that adds `fields()` (read at each call, e.g. `{key, jobId}` once the job id is known) to every
 * line, so all lines of one job carry its id.
 */
export function withFields(log: Logger, fields: () => object): Logger {
  const at = (level: keyof Logger) => (obj: object, msg?: string) => log[level]({ ...fields(), ...obj }, msg);
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}
