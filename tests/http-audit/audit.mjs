// Runs graphql-http's server audits (GraphQL over HTTP) against a running gateway:
//   node tests/http-audit/audit.mjs http://127.0.0.1:8080/graphql
// Prints each audit that did not pass, then one JSON line of counts per level
// ({"MUST":{"ok":n,"failed":m},...}); exits 1 when any MUST or SHOULD fails.
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node tests/http-audit/audit.mjs <graphql url>');
  process.exit(2);
}

const counts = { MUST: { ok: 0, failed: 0 }, SHOULD: { ok: 0, failed: 0 }, MAY: { ok: 0, failed: 0 } };
let required = 0;
for (const audit of serverAudits({ url })) {
  const level = audit.name.split(' ')[0];
  const result = await audit.fn();
  const bucket = counts[level] ?? (counts[level] = { ok: 0, failed: 0 });
  if (result.status === 'ok') {
    bucket.ok += 1;
    continue;
  }
  bucket.failed += 1;
  if (level === 'MUST' || level === 'SHOULD') required += 1;
  let body = '';
  try {
    body = await result.response.text();
  } catch {}
  console.log(`${result.status.toUpperCase()} ${audit.id} ${audit.name}: ${result.reason} (HTTP ${result.response.status}) ${body.slice(0, 300)}`);
}
console.log(JSON.stringify(counts));
process.exit(required === 0 ? 0 : 1);
