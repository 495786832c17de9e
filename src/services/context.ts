// Where a use case was invoked from, for the audit trail.
export interface RequestContext {
  requestId: string | null;
  sourceIp: string | null;
  userAgent: string | null;
}

/** The authenticated caller of a use case. */
export interface Actor {
  technicianId: string;
  sessionId: string | null;
}

export const systemContext: RequestContext = { requestId: null, sourceIp: null, userAgent: null };

export function auditOrigin(ctx: RequestContext) {
  return { requestId: ctx.requestId, sourceIp: ctx.sourceIp };
}
