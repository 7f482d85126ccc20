// The graphql-http audit (https://github.com/graphql/graphql-http): the GraphQL over HTTP
// specification's MUST / SHOULD checks, run against a live server.
// Usage: node audit.mjs <url of /graphql> [--json]
// Prints one line per warning or error, then "ok N warn N error N"; --json prints the results.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs http://127.0.0.1:8000/graphql [--json]');
  process.exit(2);
}
const results = await auditServer({ url });
const count = (status) => results.filter((r) => r.status === status).length;
if (process.argv.includes('--json')) {
  console.log(JSON.stringify(results.map(({ id, name, status, reason }) => ({ id, name, status, reason }))));
} else {
  for (const r of results.filter((r) => r.status !== 'ok')) {
    console.log(`${r.status.toUpperCase()} ${r.id} ${r.name}: ${r.reason}`);
  }
  console.log(`ok ${count('ok')} warn ${count('warn')} error ${count('error')}`);
}
