export interface Proplet {
  id: string;
  name: string;
  taskCount: number;
  metadata: Record<string, unknown>;
  lastAliveAt: Date | null;
  createdAt: Date;
}
