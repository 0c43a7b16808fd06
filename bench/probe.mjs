// Bench-only preload for `glmbot serve` (NODE_OPTIONS=--import=bench/probe.mjs), used for the prefix-reuse
// figures. For every generation it logs how many prompt tokens llama.cpp evaluates, i.e. the token count
// glmbot's engine passes to LlamaContextSequence.evaluate() after keeping the cached prefix (the same number
// as GenerateResult.evaluatedPromptTokens), and when evaluate() was called and its first token came out
// (epoch ms, performance.timeOrigin + performance.now()). One line on stderr per generation:
//   GLMBOT_BENCH_PROBE {"evaluate":N,"cached":M,"calledAt":T0,"firstTokenAt":T1}
// It only observes: the original method runs unchanged; its iterator is wrapped to time the first token.
import { LlamaContextSequence } from "node-llama-cpp";

// not for child processes (node-llama-cpp tests its binary in one)
delete process.env.NODE_OPTIONS;

const now = () => performance.timeOrigin + performance.now();
const original = LlamaContextSequence.prototype.evaluate;
LlamaContextSequence.prototype.evaluate = function (tokens, options) {
  const record = { evaluate: tokens.length, cached: this.nextTokenIndex, calledAt: now(), firstTokenAt: undefined };
  const inner = original.call(this, tokens, options);
  const report = () => {
    if (record.firstTokenAt !== undefined) return;
    record.firstTokenAt = now();
    process.stderr.write(`GLMBOT_BENCH_PROBE ${JSON.stringify(record)}\n`);
  };
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next(...args) {
      const result = await inner.next(...args);
      report();
      return result;
    },
    async return(value) {
      report();
      return inner.return(value);
    },
    async throw(error) {
      report();
      return inner.throw(error);
    },
  };
};
