import { describeFailure, type StepFailure } from '../kube/index.js';

/** A condition message from a failure: the API server's own words, bounded. */
export const conditionMessage = (f: StepFailure): string => describeFailure(f.failure).slice(0, 512);
