// The siem context's only entrance: what the rest of Stint may use from it.
export { createSiemForwarding, type SiemForwarding, type SiemTargetStatus } from './siem-forwarding.ts';
