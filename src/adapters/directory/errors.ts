// Translates ldapts and socket errors into Stint's directory error codes, once, at the boundary.
import { InvalidCredentialsError, NoSuchObjectError, StrongAuthRequiredError, ConfidentialityRequiredError } from 'ldapts';
import { DomainError } from '../../domain/errors.ts';

const unreachableCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
]);

function isTlsError(code: string | undefined, message: string): boolean {
  if (code === undefined) return /certificate|self[- ]signed|altname|TLS/i.test(message);
  return (
    code.startsWith('ERR_TLS') ||
    code.startsWith('ERR_SSL') ||
    code.includes('CERT') ||
    code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' ||
    code === 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' ||
    code === 'UNABLE_TO_GET_ISSUER_CERT'
  );
}

/** `what` names the operation for the message, e.g. "binding to ldaps://127.0.0.2". */
export function translateDirectoryError(error: unknown, what: string): DomainError {
  if (error instanceof DomainError) return error;
  if (error instanceof InvalidCredentialsError) {
    return new DomainError('directory_bad_credentials', `The directory refused the bind credentials while ${what}`);
  }
  if (error instanceof NoSuchObjectError) {
    return new DomainError('directory_base_dn_missing', `The base DN does not exist in the directory (${what})`);
  }
  if (error instanceof StrongAuthRequiredError || error instanceof ConfidentialityRequiredError) {
    return new DomainError('directory_insecure', `The directory requires a protected connection (${what}); use ldaps://`);
  }
  const err = error as { code?: unknown; message?: unknown };
  const code = typeof err.code === 'string' ? err.code : undefined;
  const message = typeof err.message === 'string' ? err.message : String(error);
  if (isTlsError(code, message)) {
    return new DomainError(
      'directory_tls_untrusted',
      `The directory's TLS certificate is not trusted by the given CA certificate (${code ?? 'TLS error'}) while ${what}`,
    );
  }
  if ((code && unreachableCodes.has(code)) || /timeout|timed out|connect/i.test(message)) {
    return new DomainError('directory_unreachable', `The directory could not be reached (${code ?? 'timeout'}) while ${what}`);
  }
  return new DomainError('directory_error', `The directory answered with an error while ${what}`, {
    ldapError: (error as { constructor?: { name?: string } }).constructor?.name ?? 'unknown',
  });
}
