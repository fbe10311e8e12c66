export const root: string;
/** Writes the bundle of `exports` (name → repository-relative .ts path) to `outfile` and returns its path. */
export function bundleModules(exports: Record<string, string>, outfile?: string): Promise<string>;
/** Bundles and imports. */
export function importBundled(exports: Record<string, string>, outfile?: string): Promise<Record<string, unknown>>;
