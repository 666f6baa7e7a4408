/**
 * What the worker's shard readers share: the lease a reader holds (its writes serialized), the records
 * of a batch after a position, and the pause between reads.
 */
import { comparePositions, type ExtendedSequenceNumber } from '../../pipeline/index.js';
import { type Lease, LeaseLostError } from './leases.js';

/**
 * The items of a shard's batch (in stream order) after `from`: only the stale head is compared, so a
 * batch that is all new costs one comparison.
 *
 * @example
 * ```ts
 * const fresh = after(records, handedOver); // what the processor has not had yet
 * ```
 */
export function after<T extends ExtendedSequenceNumber>(
  items: T[],
  from: ExtendedSequenceNumber | null,
): T[] {
  if (from === null) return items;
  let i = 0;
  while (i < items.length && !(comparePositions(items[i] as T, from) > 0)) i++;
  return i === 0 ? items : items.slice(i);
}

/**
 * A pause between reads (not a back-off: those are the retry policy's), resolved early when `signal`
 * aborts so that a stopping worker does not wait it out.
 *
 * @example
 * ```ts
 * await abortableSleep(pollIntervalMs, stop);
 * ```
 */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * One lease held by this worker, with its writes serialized (renewals and checkpoints race otherwise).
 *
 * @example
 * ```ts
 * const held = new HeldLease(await leases.take(lease, 'worker-a'));
 * await held.write((l) => leases.renew(l, 'worker-a'));
 * ```
 */
export class HeldLease {
  private chain: Promise<unknown> = Promise.resolve();
  lost = false;
  constructor(public lease: Lease) {}

  /** Runs a conditional write with the latest stored version of the lease, and keeps the result. */
  write(task: (lease: Lease) => Promise<Lease | undefined>): Promise<void> {
    const next = this.chain.then(async () => {
      if (this.lost) throw new LeaseLostError(this.lease.leaseKey, 'write after loss');
      try {
        const updated = await task(this.lease);
        if (updated) this.lease = updated;
      } catch (err) {
        if (err instanceof LeaseLostError) this.lost = true;
        throw err;
      }
    });
    this.chain = next.catch(() => undefined);
    return next;
  }
}
