// Roles add up; `admin` does not imply the others (docs/architecture.md, Words).

export const roles = ['technician', 'approver', 'auditor', 'admin'] as const;
export type Role = (typeof roles)[number];

export function hasRole(held: readonly Role[], wanted: Role): boolean {
  return held.includes(wanted);
}

export function hasAnyRole(held: readonly Role[], wanted: readonly Role[]): boolean {
  return wanted.some((role) => held.includes(role));
}
