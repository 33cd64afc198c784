// Reads an Arrow IPC file or stream with the Arrow JavaScript
// implementation and prints its schema, metadata, row count and first row
// as JSON, for the Go test that checks facet tables interoperate.
import { readFileSync } from "node:fs";
import { tableFromIPC } from "apache-arrow";

const table = tableFromIPC(readFileSync(process.argv[2]));
const first = table.numRows > 0 ? table.get(0).toJSON() : null;
console.log(JSON.stringify({
  rows: table.numRows,
  fields: table.schema.fields.map((f) => ({ name: f.name, type: String(f.type) })),
  metadata: Object.fromEntries(table.schema.metadata),
  first,
}));
