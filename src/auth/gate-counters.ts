import { countAuthzDecision } from '../metrics.ts';

/**
 * In-process counts of the gate's decisions, by endpoint and outcome, also exported as
 * keygate_authz_decisions_total by the metrics listener (metrics.ts). Plain counters: one process's view,
 * reset at restart, as Prometheus counters expect.
 */
export type GateEndpoint = 'auth-request' | 'forward-auth';
export type GateOutcome =
  | 'allowed'
  | 'sign_in_redirect'
  | 'sign_in_required'
  | 'enrolment_redirect'
  | 'denied'
  | 'bad_request'
  | 'untrusted_proxy'
  | 'unavailable';

const counts = new Map<string, number>();

export function countGateDecision(endpoint: GateEndpoint, outcome: GateOutcome): void {
  countAuthzDecision(endpoint, outcome);
  const key = `${endpoint} ${outcome}`;
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** A snapshot: one entry per endpoint and outcome seen so far. */
export function gateDecisionCounts(): {
  endpoint: GateEndpoint;
  outcome: GateOutcome;
  count: number;
}[] {
  return [...counts].map(([key, count]) => {
    const [endpoint, outcome] = key.split(' ') as [GateEndpoint, GateOutcome];
    return { endpoint, outcome, count };
  });
}
