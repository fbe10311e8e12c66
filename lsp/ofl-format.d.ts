// The formatter, resolved at bundle time by lsp/build.mjs (empty when compiler/format is absent).
declare module "ofl:format" {
  export const formatOfl: ((text: string, options?: Record<string, unknown>) => string | Promise<string>) | undefined;
}
