import { getTableColumns, type SQL, sql } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import type { Db } from "./client";

/**
 * `INSERT INTO table SELECT <row> WHERE <condition>`: an insert that happens only if the
 * condition holds when the statement runs. Inside a db.batch (one transaction, statements in
 * order) this makes a write depend on an earlier statement's effect — e.g. an audit row or a
 * rotated key that exists only if the row it replaces was still there.
 */
export function insertWhere<T extends SQLiteTable>(db: Db, table: T, row: T["$inferInsert"], condition: SQL) {
  const values = Object.entries(getTableColumns(table)).map(([key, column]) => {
    const value = (row as Record<string, unknown>)[key];
    if (value === undefined || value === null) {
      return column.default !== undefined && value === undefined ? sql`${column.mapToDriverValue(column.default)}` : sql`NULL`;
    }
    return sql`${column.mapToDriverValue(value)}`;
  });
  return db.insert(table).select(sql`SELECT ${sql.join(values, sql`, `)} WHERE ${condition}`);
}
