// Types of grammar.mjs (imported by test/unit/grammar/grammar.test.ts).
export declare const SOFT_KEYWORDS: string[];
export declare const KEYWORD_GROUPS: Record<string, string[]>;
export declare const ALL_KEYWORDS: string[];
export declare const GRAMMAR_PATH: string;
export declare function grammar(): Record<string, unknown>;
export declare function grammarText(): string;
