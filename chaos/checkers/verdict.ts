/** What a checker decides: pass or fail, one line for people, and the facts behind it. */
export interface Verdict {
  readonly checker: string;
  readonly ok: boolean;
  readonly summary: string;
  readonly evidence: Readonly<Record<string, unknown>>;
}

/** A checker is a pure function from a history to a verdict. */
export type Checker = (history: import('../history.ts').History) => Verdict;
