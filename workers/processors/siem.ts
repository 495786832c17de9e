// The siem queue: a repeatable job that forwards new audit events to every SIEM target (docs/architecture.md, SIEM forwarding).
// A target that is down is not an error of the job: the service keeps its backlog, backs off and
// alerts, so the job completes and the next run tries again when the target's backoff allows.
import type { SiemForwarding } from '../../src/services/siem/index.ts';

export function siemProcessor(siem: SiemForwarding) {
  return async () => {
    const outcomes = await siem.forward();
    return Object.fromEntries(outcomes.map((o) => [o.target, { state: o.state, sent: o.sent, cursor: o.cursor, backlog: o.backlog }]));
  };
}
