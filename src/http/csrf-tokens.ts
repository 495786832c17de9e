/** The web UI's CSRF tokens, bound to one session and computable by every API replica. */
export interface CsrfTokens {
  tokenFor(sessionId: string): string;
  matches(sessionId: string, presented: string): boolean;
}
