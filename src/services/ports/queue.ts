// The queue's health as probes read it.
export interface QueueHealth {
  ping(): Promise<void>;
}
