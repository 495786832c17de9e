// Stint's error codes. Domain and service code throws DomainError with one of these codes; the HTTP
// layer maps codes to status codes in one place (src/http/errors.ts); adapters translate their
// library errors into these codes at the boundary.

export const errorCodes = [
  'validation_failed',
  'unauthenticated',
  'invalid_credentials',
  'token_invalid',
  'session_ended',
  'mfa_invalid',
  'mfa_replay',
  'mfa_locked',
  'mfa_not_enrolled',
  'mfa_already_enrolled',
  'technician_suspended',
  'forbidden',
  'csrf_failed',
  'not_found',
  'conflict',
  'tenant_in_use',
  'tenant_frozen',
  'tenant_archived',
  'group_protected',
  'group_not_found',
  'account_not_found',
  'account_not_eligible',
  'no_tenant_account',
  'not_eligible',
  'profile_suspended',
  'already_active',
  'self_approval',
  'already_decided',
  'approval_closed',
  'outside_window',
  'extension_refused',
  'activation_failed',
  'last_admin',
  'directory_unreachable',
  'directory_tls_untrusted',
  'directory_bad_credentials',
  'directory_base_dn_missing',
  'directory_insecure',
  'directory_error',
  'password_required',
  'identity_source_unavailable',
  'rate_limited',
  'payload_too_large',
  'unsupported_media_type',
  'audit_unavailable',
  'store_unavailable',
  'queue_unavailable',
  'key_unavailable',
  'signature_invalid',
  'audit_chain_broken',
  'internal',
] as const;

export type ErrorCode = (typeof errorCodes)[number];

export class DomainError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'DomainError';
    this.code = code;
    this.details = details;
  }
}

export function isDomainError(error: unknown): error is DomainError {
  return error instanceof DomainError;
}
