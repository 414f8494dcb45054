import { describeFailure, stepFailure, type ObjectRef, type StepFailure } from '../kube/index.js';

/** A condition message from a failure: the API server's own words, bounded. */
export const conditionMessage = (f: StepFailure): string => describeFailure(f.failure).slice(0, 512);

/** Runs one write; its failure, if any, is collected and returned. */
export async function step(
  failures: StepFailure[],
  s: StepFailure['step'],
  object: ObjectRef,
  fn: () => Promise<unknown>,
): Promise<StepFailure | undefined> {
  try {
    await fn();
    return undefined;
  } catch (err) {
    const f = stepFailure(s, object, err);
    failures.push(f);
    return f;
  }
}
