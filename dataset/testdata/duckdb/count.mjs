// Reads a Parquet file with DuckDB and prints, as JSON, what the dataset
// tests compare with the NDJSON of the same scenario and seed: the number
// of rows, the counts per group of each column named, the types DuckDB
// gives the columns, and the first and last timestamps.
//
// usage: node count.mjs FILE TIME_COLUMN GROUP_COLUMN...
import { DuckDBInstance } from '@duckdb/node-api';

const [file, timeCol, ...groups] = process.argv.slice(2);
if (!file || !timeCol) {
  console.error('usage: node count.mjs FILE TIME_COLUMN GROUP_COLUMN...');
  process.exit(2);
}
const ident = (s) => '"' + s.replaceAll('"', '""') + '"';
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
const src = `read_parquet('${file.replaceAll("'", "''")}')`;
const rows = async (sql) => (await c.runAndReadAll(sql)).getRowObjectsJson();

const out = { groups: {} };
const [total] = await rows(`SELECT count(*) AS n, min(${ident(timeCol)})::VARCHAR AS first, max(${ident(timeCol)})::VARCHAR AS last FROM ${src}`);
out.rows = Number(total.n);
out.first = total.first;
out.last = total.last;
out.types = {};
for (const r of await rows(`DESCRIBE SELECT * FROM ${src}`)) {
  out.types[r.column_name] = r.column_type;
}
for (const g of groups) {
  // A dotted name reaches into a group (struct) column.
  const expr = g.split('.').map(ident).join('.');
  out.groups[g] = {};
  for (const r of await rows(`SELECT ${expr}::VARCHAR AS k, count(*) AS n FROM ${src} WHERE ${expr} IS NOT NULL GROUP BY 1`)) {
    out.groups[g][r.k] = Number(r.n);
  }
}
console.log(JSON.stringify(out));
