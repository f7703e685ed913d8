/**
 * Who may do what with an API token: the roles and the levels of access they grant. Pure rules; which
 * request needs which level is decided by the HTTP layer (src/http/auth/required-access.ts).
 */

export const ACCESS_ROLES = ['admin', 'operator', 'viewer'] as const;
export type AccessRole = (typeof ACCESS_ROLES)[number];

export function isAccessRole(value: string): value is AccessRole {
  return (ACCESS_ROLES as readonly string[]).includes(value);
}

/**
 * What a request needs: `read` (GET and HEAD of the API and its pages), `operate` (changing tasks, jobs,
 * workflows and proplets) or `administer` (Bull Board, whose reads show job data and whose actions bypass
 * the task state machine, and anything else not granted below).
 */
export type Access = 'read' | 'operate' | 'administer';

const GRANTS: Record<AccessRole, ReadonlySet<Access>> = {
  admin: new Set(['read', 'operate', 'administer']),
  operator: new Set(['read', 'operate']),
  viewer: new Set(['read']),
};

export function roleAllows(role: AccessRole, access: Access): boolean {
  return GRANTS[role].has(access);
}

/** The roles that have this access, for a refusal that says what would be needed. */
export function rolesWith(access: Access): AccessRole[] {
  return ACCESS_ROLES.filter((role) => roleAllows(role, access));
}
