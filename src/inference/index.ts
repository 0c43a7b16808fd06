/**
 * The local inference module: ChatGLM3 / GLM-4 GGUF models in llama.cpp (node-llama-cpp 3.21.1) behind
 * core's `InferenceEngine` port. The composition root needs only {@link createLlamaEngine}.
 */
export { createLlamaEngine, type LlamaEngineOptions } from "./createLlamaEngine.js";
export { LlamaEngine, type EngineRuntime } from "./LlamaEngine.js";
export { ChatGlm3ChatWrapper } from "./ChatGlm3ChatWrapper.js";
export { Glm4ChatWrapper } from "./Glm4ChatWrapper.js";
export { GlmChatWrapper, type GlmFamily } from "./GlmChatWrapper.js";
export { detectFamily, detectFamilyFromFile, type ChatFormatOption, type DetectedFamily } from "./detectFamily.js";
export { DEFAULT_SAMPLING, type SamplingDefaults } from "./sampling.js";
export type { EngineLogger, GpuOption } from "./resolveLlama.js";
