#!/usr/bin/env node
// glmbot command-line entry: runs the TypeScript sources through tsx (no build step).
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli.ts");
// Exit explicitly: after a clean stop nothing should remain, but a stray handle must not keep a stopped bot alive.
process.exit(await main(process.argv.slice(2)));
