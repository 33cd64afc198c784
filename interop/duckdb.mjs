// Reads a Parquet file facet wrote with DuckDB and writes DuckDB's own
// Parquet back, for the Go test that checks facet tables interoperate
// with DuckDB (which reads Arrow IPC only through an extension).
//
//   node duckdb.mjs IN.parquet OUT.parquet
//
// prints JSON: the row count, the column types DuckDB sees, the mean of
// the known ages and the number of null genders; OUT.parquet holds the
// same rows as DuckDB writes them (BIGINT labels, VARCHAR strings).
import { DuckDBInstance } from "@duckdb/node-api";

const [input, output] = process.argv.slice(2);
const db = await DuckDBInstance.create(":memory:");
const con = await db.connect();
const q = (sql) => con.runAndReadAll(sql).then((r) => r.getRowObjectsJson());
const src = `read_parquet('${input.replaceAll("'", "''")}')`;
const [stats] = await q(`SELECT count(*) AS rows, avg(age) AS mean_age,
  count(*) FILTER (WHERE gender IS NULL) AS null_genders FROM ${src}`);
const types = await q(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM ${src})`);
await con.run(`COPY (SELECT id, path, person, source, subset,
  CAST(mask AS BIGINT) AS mask, CAST(gender AS BIGINT) AS gender,
  CAST(age_group AS BIGINT) AS age_group, CAST(label AS BIGINT) AS label,
  CAST(age AS DOUBLE) AS age FROM ${src}) TO '${output.replaceAll("'", "''")}' (FORMAT parquet)`);
console.log(JSON.stringify({
  rows: Number(stats.rows),
  mean_age: stats.mean_age,
  null_genders: Number(stats.null_genders),
  types: Object.fromEntries(types.map((t) => [t.column_name, t.column_type])),
}));
