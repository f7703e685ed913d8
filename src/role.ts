/** A running role: its name (for logs) and how to stop it gracefully. */
export interface RoleHandle {
  name: string;
  stop(): Promise<void>;
}
