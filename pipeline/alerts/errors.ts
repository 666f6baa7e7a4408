/**
 * Typed errors of the alert router, so that the job can tell a configuration mistake (fix the config),
 * a malformed anomaly (a detector bug) and an unreadable persisted state (another version) apart with
 * `instanceof` rather than by parsing messages.
 *
 * @example
 * ```ts
 * try { new AlertRouter(options); }
 * catch (err) { if (err instanceof AlertRouterConfigError) console.error(err.message); else throw err; }
 * ```
 */
export class AlertRouterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * A router option is missing, of the wrong type or out of range; the message names the option.
 *
 * @example
 * ```ts
 * new AlertRouter({ defaultReceivers: [] }); // AlertRouterConfigError: defaultReceivers must …
 * ```
 */
export class AlertRouterConfigError extends AlertRouterError {}

/**
 * An anomaly handed to `add` is malformed (for example a non-finite `detectedAt`): accepting it would
 * poison the persisted state, so it is refused with the field named.
 *
 * @example
 * ```ts
 * router.add({ ...anomaly, detectedAt: Number.NaN }); // AlertRouterInputError: anomaly.detectedAt …
 * ```
 */
export class AlertRouterInputError extends AlertRouterError {}

/**
 * A persisted router state is of another kind or version, or malformed; the message names the field.
 *
 * @example
 * ```ts
 * AlertRouter.fromJSON({ version: 99 }); // AlertRouterStateError: …
 * ```
 */
export class AlertRouterStateError extends AlertRouterError {}
