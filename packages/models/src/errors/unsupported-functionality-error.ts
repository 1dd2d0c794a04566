/**
 * A model was asked for something its provider's API has no way to do (JSON mode on Anthropic,
 * `tool_choice: "required"` on Ollama). Thrown by adapters before anything is sent, so it costs
 * nothing and says nothing about the target's health: a route skips that target and tries the next.
 */
const BRAND = Symbol.for('quire.UnsupportedFunctionalityError');

export class UnsupportedFunctionalityError extends Error {
  readonly [BRAND] = true;
  readonly code = 'model_capability_unsupported' as const;
  readonly retryable = false;
  readonly provider: string;
  /** The GenerateOptionsV1 field that cannot be honoured, e.g. `responseFormat`. */
  readonly setting: string;

  constructor(args: { provider: string; setting: string; message: string }) {
    super(args.message);
    this.name = 'UnsupportedFunctionalityError';
    this.provider = args.provider;
    this.setting = args.setting;
  }

  static is(error: unknown): error is UnsupportedFunctionalityError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[BRAND] === true;
  }
}
