/**
 * What one leader-election attempt does with the Lease it read: pure, so every case is a unit test.
 *
 * The rules, stricter than client-go's on purpose (there, a leader whose Lease was deleted or handed
 * to another keeps acting until its renew deadline, while a candidate creates the deleted Lease or
 * renews one naming it at once, so two replicas act for up to the renew deadline):
 * - A leader renews only a Lease that exists and names it. A Lease that is gone or names anyone
 *   else (a hand edit, a takeover) means it is no longer the leader: it steps down now.
 * - A candidate takes a Lease only after the record it last saw has stood unchanged for that
 *   record's lease duration, by its own clock. This holds whoever the record names: nobody, another
 *   replica, or this replica's own identity (a record it did not write in this process).
 * - A deletion does not shorten a lease: a candidate that saw a record creates the missing Lease only
 *   once that record would have expired. By then the old leader, which steps down at its first
 *   attempt that finds the Lease gone and at the latest at its renew deadline (shorter than the lease
 *   duration), has stopped.
 * - A candidate that never saw a record (it started after the deletion, or nothing ever held the
 *   Lease) creates it at once.
 */

/** The parts of a Lease the decision reads. */
export interface LeaseRecord {
  holder: string;
  /** Changes at every write: the record is "the same" while this is. */
  resourceVersion: string;
  durationMs: number;
}

/** The record a replica last saw change, and when (its own clock). */
export interface Observed {
  resourceVersion: string;
  at: number;
  durationMs: number;
}

export type LeaseAction =
  | { do: 'renew' }
  | { do: 'acquire' }
  | { do: 'create' }
  | { do: 'wait'; untilMs?: number }
  | { do: 'step-down'; reason: string };

export function observe(lease: LeaseRecord, before: Observed | undefined, now: number): Observed {
  if (before?.resourceVersion === lease.resourceVersion) return before;
  return { resourceVersion: lease.resourceVersion, at: now, durationMs: lease.durationMs };
}

/**
 * Decides one attempt. `lease` is undefined when the Lease does not exist; `observed` is the record
 * last seen, already updated with `lease` (see observe).
 */
export function decideLease(o: {
  leading: boolean;
  identity: string;
  lease: LeaseRecord | undefined;
  observed: Observed | undefined;
  now: number;
}): LeaseAction {
  if (o.leading) {
    if (!o.lease) return { do: 'step-down', reason: 'the Lease was deleted' };
    if (o.lease.holder !== o.identity)
      return { do: 'step-down', reason: `the Lease names ${o.lease.holder || 'no holder'}` };
    return { do: 'renew' };
  }
  const expires = o.observed ? o.observed.at + o.observed.durationMs : undefined;
  if (expires !== undefined && expires > o.now) return { do: 'wait', untilMs: expires };
  return o.lease ? { do: 'acquire' } : { do: 'create' };
}
