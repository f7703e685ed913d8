import { fillPlaceholders, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { Pool, QueryResultRow } from 'pg';

const dialect = new PgDialect();

/**
 * A statement of the hot path, built once from a drizzle template whose varying values are
 * `sql.placeholder(key)`, and run as a named statement: drizzle does not build it again for every task, and
 * Postgres parses and plans it once per connection instead of every time (its statements with several CTEs
 * cost more to plan than to run). An empty name sends it unnamed, for a Postgres session shared by several
 * clients, where one client's named statement would clash with another's.
 *
 * Rows come as node-postgres parses them (timestamps as Date), and errors unwrapped, as pg throws them.
 */
export class PreparedStatement<Row extends QueryResultRow> {
  private readonly text: string;
  private readonly params: unknown[];

  constructor(
    private readonly pool: Pool,
    private readonly name: string,
    template: SQL,
  ) {
    const query = dialect.sqlToQuery(template);
    this.text = query.sql;
    this.params = query.params;
  }

  async rows(values: Record<string, unknown>): Promise<Row[]> {
    const result = await this.pool.query<Row>({
      ...(this.name ? { name: this.name } : {}),
      text: this.text,
      values: fillPlaceholders(this.params, values),
    });
    return result.rows;
  }
}
