// Real clients against a running portal-gateway (driven by tests/integration/clients.rs):
//
//   node check.mjs <base-url>    with TOKENS='{"greta": "…", "sam": "…"}'
//
// 1. The SDL printed from an introspection result equals schema.graphql.
// 2. Apollo Client 4, normalised InMemoryCache with relayStylePagination, as Greta
//    (external) and Sam (staff): a refused root field nulls alone and the cache write
//    stays whole; projects and tasks page into one list; node(id) lands on the same
//    cache entry; Decimal and DateTime keep their one text form.
// 3. relay-compiler compiles a @refetchable fragment on Project and @connection lists
//    over schema.graphql; relay-runtime runs the query and the refetch (node(id)).
// Any console warning or error of a client counts as a failure.

import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { relayStylePagination } from "@apollo/client/utilities";
import {
  buildClientSchema,
  buildSchema,
  getIntrospectionQuery,
  lexicographicSortSchema,
  printSchema,
} from "graphql";

const here = dirname(fileURLToPath(import.meta.url));
const base = process.argv[2];
const tokens = JSON.parse(process.env.TOKENS ?? "{}");
const failures = [];
const fail = (what) => failures.push(what);
const check = (ok, what) => ok || fail(what);

// A client that warns has met something it cannot handle (a missing field, a merge it
// cannot do): that is exactly what this test is for.
for (const level of ["warn", "error"]) {
  const original = console[level];
  console[level] = (...args) => {
    fail(`console.${level}: ${args.map(String).join(" ")}`);
    original(...args);
  };
}

async function post(token, query, variables = {}) {
  const r = await fetch(`${base}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return r.json();
}

// ------------------------------------------------------------------ 1. SDL = introspection
const introspection = await post(tokens.sam, getIntrospectionQuery({ specifiedByUrl: true, descriptions: true }));
check(!introspection.errors, `introspection errors: ${JSON.stringify(introspection.errors)}`);
const served = buildClientSchema(introspection.data);
const file = buildSchema(readFileSync(join(here, "../../schema.graphql"), "utf8"));
const printed = (s) => printSchema(lexicographicSortSchema(s));
if (printed(served) !== printed(file)) {
  const a = printed(served).split("\n");
  const b = printed(file).split("\n");
  const i = a.findIndex((line, k) => line !== b[k]);
  fail(`schema.graphql differs from introspection at line ${i + 1}:\n  served: ${a[i]}\n  file:   ${b[i]}`);
}
const possibleTypes = {};
for (const t of introspection.data.__schema.types) {
  if (t.possibleTypes) possibleTypes[t.name] = t.possibleTypes.map((p) => p.name);
}

// ------------------------------------------------------------------ 2. Apollo Client 4
const apollo = (token) =>
  new ApolloClient({
    link: new HttpLink({ uri: `${base}/graphql`, headers: { authorization: `Bearer ${token}` } }),
    cache: new InMemoryCache({
      possibleTypes,
      typePolicies: {
        Query: { fields: { projects: relayStylePagination() } },
        Project: { fields: { tasks: relayStylePagination() } },
      },
    }),
  });

const PAGE = gql`
  query Page($first: Int!, $after: String, $tasks: Int!) {
    viewer {
      name
      user {
        __typename
        ... on User { id name }
        ... on ExternalUser { id name }
      }
    }
    accounts(first: 1) { nodes { id name } }
    projects(first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges {
        cursor
        node {
          id
          name
          startDate
          budget { amount spent currency }
          tasks(first: $tasks) {
            totalCount
            pageInfo { hasNextPage endCursor }
            edges { cursor node { id title dueDate createdAt } }
          }
        }
      }
    }
  }
`;

const TASKS = gql`
  query Tasks($id: ID!, $first: Int!, $after: String) {
    node(id: $id) {
      __typename
      id
      ... on Project {
        tasks(first: $first, after: $after) {
          totalCount
          pageInfo { hasNextPage endCursor }
          edges { cursor node { id title dueDate createdAt } }
        }
      }
    }
  }
`;

const DECIMAL = /^-?\d+\.\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

async function apolloAs(persona, { refused }) {
  const token = tokens[persona];
  const client = apollo(token);
  const watch = client.watchQuery({ query: PAGE, variables: { first: 1, tasks: 1 }, errorPolicy: "all" });
  const first = await new Promise((resolve, reject) => {
    const sub = watch.subscribe({
      next: (r) => {
        if (r.loading) return;
        sub.unsubscribe();
        resolve(r);
      },
      error: reject,
    });
  });
  const data = first.data;
  check(data?.viewer?.user?.id, `${persona}: viewer.user.id: ${JSON.stringify(data?.viewer)}`);
  check(!("id" in (data?.viewer ?? {})), `${persona}: viewer carries no id of its own`);
  if (refused) {
    check(data && data.accounts === null, `${persona}: accounts is null: ${JSON.stringify(data?.accounts)}`);
    const codes = (first.error?.errors ?? []).map((e) => e.extensions?.code);
    check(codes.includes("FORBIDDEN"), `${persona}: accounts refused with FORBIDDEN: ${first.error}`);
  } else {
    check(data?.accounts?.nodes?.length === 1, `${persona}: accounts listed`);
    check(!first.error, `${persona}: no error: ${first.error}`);
  }
  const total = data?.projects?.totalCount ?? 0;
  check(total >= 2, `${persona}: at least two projects to page (${total})`);

  // Page through every project: relayStylePagination merges the pages into one list.
  let pageInfo = data?.projects?.pageInfo;
  while (pageInfo?.hasNextPage) {
    const more = await watch.fetchMore({ variables: { after: pageInfo.endCursor }, errorPolicy: "all" });
    pageInfo = more.data?.projects?.pageInfo;
  }
  const merged = client.readQuery({ query: PAGE, variables: { first: 1, tasks: 1 } });
  const projects = merged?.projects?.edges?.map((e) => e.node) ?? [];
  check(projects.length === total, `${persona}: all ${total} projects in the cache, got ${projects.length}`);
  check(new Set(projects.map((p) => p.id)).size === projects.length, `${persona}: project ids unique`);
  for (const p of projects) {
    if (p.startDate !== null) check(DATE.test(p.startDate), `${persona}: Date ${p.startDate}`);
    if (p.budget) {
      check(DECIMAL.test(p.budget.amount) && DECIMAL.test(p.budget.spent), `${persona}: Decimal ${JSON.stringify(p.budget)}`);
    }
  }
  const cache = client.cache.extract();
  for (const p of projects) check(cache[`Project:${p.id}`], `${persona}: Project:${p.id} normalised`);

  // Tasks of the project with the most, paged through node(id) into the same entry.
  const withTasks = projects.reduce((a, p) => (p.tasks.totalCount > (a?.tasks.totalCount ?? 0) ? p : a), null);
  check(withTasks && withTasks.tasks.totalCount >= 2, `${persona}: a project with two tasks or more`);
  if (withTasks) {
    let after = null;
    let seen = 0;
    for (;;) {
      const r = await client.query({ query: TASKS, variables: { id: withTasks.id, first: 1, after }, fetchPolicy: "network-only" });
      check(r.data?.node?.__typename === "Project", `${persona}: node(id) is the Project`);
      const t = r.data?.node?.tasks;
      if (!t) break;
      for (const e of t.edges) {
        if (e.node.createdAt !== null) check(DATE_TIME.test(e.node.createdAt), `${persona}: DateTime ${e.node.createdAt}`);
      }
      seen = t.edges.length; // the merged list so far (relayStylePagination)
      if (!t.pageInfo.hasNextPage) break;
      after = t.pageInfo.endCursor;
    }
    check(seen === withTasks.tasks.totalCount, `${persona}: paged ${seen} of ${withTasks.tasks.totalCount} tasks`);
    const entry = client.cache.extract()[`Project:${withTasks.id}`];
    const listed = Object.entries(entry ?? {}).find(([k]) => k.startsWith("tasks"))?.[1];
    check(listed?.edges?.length === withTasks.tasks.totalCount, `${persona}: tasks merged on Project:${withTasks.id}`);
  }
  await client.clearStore();
  client.stop();
}

await apolloAs("greta", { refused: true });
await apolloAs("sam", { refused: false });

// ------------------------------------------------------------------ 3. Relay
const relayDir = join(here, "relay");
rmSync(join(relayDir, "__generated__"), { recursive: true, force: true });
mkdirSync(join(relayDir, "__generated__"));
try {
  execFileSync(process.execPath, [join(here, "node_modules/relay-compiler/cli.js")], { cwd: relayDir, stdio: "pipe" });
} catch (e) {
  fail(`relay-compiler: ${e.stdout}${e.stderr}`);
}
if (failures.length === 0) {
  const require = createRequire(import.meta.url);
  const { Environment, Network, RecordSource, Store, fetchQuery } = require("relay-runtime");
  const listQuery = require("./relay/__generated__/ProjectListQuery.graphql.js");
  const refetchQuery = require("./relay/__generated__/ProjectCardRefetchQuery.graphql.js");
  for (const [persona, refused] of [["greta", true], ["sam", false]]) {
    const env = new Environment({
      network: Network.create((params, variables) => post(tokens[persona], params.text, variables)),
      store: new Store(new RecordSource()),
    });
    const data = await fetchQuery(env, listQuery, { first: 5 }).toPromise().catch((e) => fail(`relay ${persona}: ${e}`));
    const source = env.getStore().getSource();
    const projectIds = source.getRecordIDs().filter((id) => source.get(id)?.__typename === "Project");
    check(projectIds.length > 0, `relay ${persona}: projects in the store`);
    check(refused ? data?.accounts === null : data?.accounts?.nodes?.length === 1, `relay ${persona}: accounts ${JSON.stringify(data?.accounts)}`);
    if (projectIds.length) {
      const again = await fetchQuery(env, refetchQuery, { id: projectIds[0], count: 2 }).toPromise().catch((e) => fail(`relay refetch ${persona}: ${e}`));
      check(again?.node, `relay ${persona}: refetch through node(id)`);
      check(source.get(projectIds[0])?.name, `relay ${persona}: the refetched project in the store`);
    }
  }
}

if (failures.length) {
  console.log(`FAILED\n${failures.map((f) => `- ${f}`).join("\n")}`);
  process.exit(1);
}
console.log("clients: ok");
