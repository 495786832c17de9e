// The one map from Stint's error codes to HTTP statuses, and the error body every route answers
// with: { "error": { "code", "message", "details"? } }.
import type { ErrorRequestHandler, Response } from 'express';
import { z } from 'zod';
import { DomainError, type ErrorCode } from '../domain/errors.ts';
import type { Logger } from 'pino';

export const statusOf: Record<ErrorCode, number> = {
  validation_failed: 400,
  unauthenticated: 401,
  invalid_credentials: 401,
  token_invalid: 401,
  session_ended: 401,
  mfa_invalid: 401,
  mfa_replay: 401,
  mfa_locked: 423,
  mfa_not_enrolled: 409,
  mfa_already_enrolled: 409,
  technician_suspended: 403,
  forbidden: 403,
  csrf_failed: 403,
  not_found: 404,
  conflict: 409,
  tenant_in_use: 409,
  tenant_frozen: 423,
  tenant_archived: 409,
  group_protected: 422,
  group_not_found: 422,
  account_not_found: 422,
  account_not_eligible: 422,
  no_tenant_account: 422,
  not_eligible: 403,
  profile_suspended: 409,
  already_active: 409,
  self_approval: 403,
  already_decided: 409,
  approval_closed: 409,
  outside_window: 422,
  extension_refused: 422,
  activation_failed: 502,
  last_admin: 409,
  directory_unreachable: 422,
  directory_tls_untrusted: 422,
  directory_bad_credentials: 422,
  directory_base_dn_missing: 422,
  directory_insecure: 422,
  directory_error: 422,
  password_required: 422,
  identity_source_unavailable: 503,
  rate_limited: 429,
  payload_too_large: 413,
  unsupported_media_type: 415,
  audit_unavailable: 503,
  store_unavailable: 503,
  queue_unavailable: 503,
  key_unavailable: 500,
  signature_invalid: 422,
  audit_chain_broken: 500,
  internal: 500,
};

export const errorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});

export function sendError(res: Response, error: DomainError): void {
  res.status(statusOf[error.code]).json({
    error: { code: error.code, message: error.message, ...(error.details !== undefined && { details: error.details }) },
  });
}

/** body-parser's errors carry `type`; they are the client's fault and say so. */
function fromBodyParser(error: { type?: unknown; status?: unknown }): DomainError | null {
  switch (error.type) {
    case 'entity.parse.failed':
      return new DomainError('validation_failed', 'The request body is not valid JSON');
    case 'entity.too.large':
      return new DomainError('payload_too_large', 'The request body is too large');
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return new DomainError('unsupported_media_type', 'The request body encoding is not supported');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new DomainError('validation_failed', 'The request body could not be read');
    default:
      return typeof error.status === 'number' && error.status >= 400 && error.status < 500
        ? new DomainError('validation_failed', 'The request could not be read')
        : null;
  }
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const known = error instanceof DomainError ? error : fromBodyParser(error as { type?: unknown; status?: unknown });
    if (known) {
      if (statusOf[known.code] >= 500) logger.error({ err: error, requestId: req.id }, 'request failed');
      sendError(res, known);
      return;
    }
    logger.error({ err: error, requestId: req.id }, 'unexpected error');
    sendError(res, new DomainError('internal', 'Something went wrong; the request id identifies it in the logs'));
  };
}
