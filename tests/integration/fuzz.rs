//! Fuzzing the GraphQL endpoint (issue 8, item 10): random documents generated from the
//! schema the running server serves (fetched by introspection, so the generator follows
//! the schema as it changes), sent by random callers (anonymous, Greta and Ivan as
//! external users, Sam as staff).
//!
//! Documents mix selections of fields of the right types, named fragments (nested,
//! repeated, sometimes unknown or cyclic), inline fragments on interfaces and unions,
//! aliases (duplicated, shadowing other fields), directives, variables (declared with
//! their types, sometimes mismatched), arguments at and beyond every limit (paging, ids,
//! cursors, empty, over-long and NUL strings), depth beyond the limit, many aliases,
//! exponential fragments, batches, and mutations.
//!
//! What it proves, for every response (docs/api.md, docs/operations.md): the status is
//! never 5xx; no error is `INTERNAL`; no response to an external or anonymous caller (nor
//! to staff, for another workspace and the admin-only role data) carries a sentinel value
//! planted where that caller must never see it (scope, hiding, error messages); no
//! request outlasts the request-time limit (plus slack); and the server still answers
//! `{ __typename }` every few cases and at the end.
//!
//! `FUZZ_SEED` replays a run (the seed is printed), `FUZZ_CASES` sets its length
//! (`make test` runs a short one, `make fuzz` a long one). Failures are collected and
//! reported once, the first few in full.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use portal_gateway::config::{Limits, Rate};
use serde_json::{Value, json};

use crate::harness::TestApp;

/// Cases run when `FUZZ_CASES` is not set: well under a minute on a shared laptop.
const DEFAULT_CASES: u64 = 500;
/// The request-time limit the server under test runs with.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How much longer than the limit a request may take before it counts as unbounded
/// (a loaded machine, the answer's transfer): a bound on the limit, not a speed test.
const SLACK: Duration = Duration::from_secs(10);
/// The client gives up on a request after this long.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(25);
/// The server must still answer `{ __typename }` after every this many cases.
const HEALTH_EVERY: u64 = 50;
/// Failures reported in full; the rest are counted by kind.
const REPORTED: usize = 10;
/// The longest valid string argument (docs/api.md: over-long input is refused).
const MAX_STRING_CHARS: usize = 100_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fuzz_documents_generated_from_the_schema() {
    let seed = seed();
    let cases: u64 = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(DEFAULT_CASES);
    println!("fuzz: seed {seed} (FUZZ_SEED={seed} replays it), {cases} cases");

    let limits = Limits {
        request_timeout: REQUEST_TIMEOUT,
        // Rate limiting would answer most of a fast run with RATE_LIMITED.
        rate: Rate {
            per_second: 0,
            burst: 0,
            in_flight: 8,
        },
        ..Limits::default()
    };
    let app = TestApp::with(limits, false).await;
    let sentinels = plant_sentinels(&app).await;
    let schema = Schema::introspect(&app).await;
    let client = Client::new(&app).await;

    let mut failures: Vec<Failure> = Vec::new();
    let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
    // `FUZZ_VERBOSE=1` also counts error messages (to tune the generator).
    let verbose = std::env::var("FUZZ_VERBOSE").is_ok_and(|v| !v.is_empty());
    let mut messages: BTreeMap<String, u64> = BTreeMap::new();
    let started = Instant::now();
    for case in 0..cases {
        let mut rng = Rng::new(seed ^ case.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let caller = *rng.pick(&Caller::ALL);
        let request = Generator::new(&schema, caller, rng).request();
        let answer = client.send(caller, &request.body).await;
        *outcomes.entry(answer.summary()).or_default() += 1;
        if verbose {
            for e in answer.json().iter().flat_map(|v| {
                errors(v)
                    .into_iter()
                    .map(|e| excerpt(e["message"].as_str().unwrap_or_default(), 50))
                    .collect::<Vec<_>>()
            }) {
                *messages.entry(e).or_default() += 1;
            }
        }
        for problem in check(&answer, caller, &sentinels) {
            failures.push(Failure {
                case,
                caller,
                problem,
                request: request.body.to_string(),
            });
        }
        if (case + 1) % HEALTH_EVERY == 0 && !client.still_answers().await {
            failures.push(Failure::dead(case, caller, &request.body));
            break;
        }
    }
    if !client.still_answers().await {
        failures.push(Failure::dead(cases, Caller::Anonymous, &json!("after the run")));
    }
    println!(
        "fuzz: {cases} cases in {:.1}s; outcomes: {outcomes:?}",
        started.elapsed().as_secs_f64()
    );
    if verbose {
        let mut by_count: Vec<_> = messages.into_iter().collect();
        by_count.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
        for (message, n) in by_count.iter().take(40) {
            println!("fuzz: {n:5} × {message}");
        }
    }
    if !failures.is_empty() {
        panic!("{}", report(seed, &failures));
    }
}

// ------------------------------------------------------------------ the random source

/// The seed from `FUZZ_SEED` (decimal or 0x-hex), else from the clock.
fn seed() -> u64 {
    match std::env::var("FUZZ_SEED") {
        Ok(s) if !s.trim().is_empty() => {
            let s = s.trim();
            s.strip_prefix("0x")
                .map(|h| u64::from_str_radix(h, 16))
                .unwrap_or_else(|| s.parse())
                .expect("FUZZ_SEED is a number")
        }
        _ => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
    }
}

/// splitmix64: tiny, deterministic, good enough to pick test inputs.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// A number in `lo..=hi`.
    fn between(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// True `percent` times in a hundred.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

// ------------------------------------------------------------------ callers and sentinels

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    Anonymous,
    Greta,
    Ivan,
    Sam,
}

impl Caller {
    const ALL: [Caller; 4] = [Caller::Anonymous, Caller::Greta, Caller::Ivan, Caller::Sam];

    fn email(self) -> Option<&'static str> {
        match self {
            Caller::Anonymous => None,
            Caller::Greta => Some("greta@globex.example"),
            Caller::Ivan => Some("ivan@initech.example"),
            Caller::Sam => Some("sam@acme.example"),
        }
    }
}

use Caller::{Anonymous, Greta, Ivan, Sam};

/// Hidden from every external and anonymous caller.
const EXTERNALS: &[Caller] = &[Anonymous, Greta, Ivan];
/// Hidden from everyone the fuzzer plays (other workspace, admin-only data).
const EVERYONE: &[Caller] = &[Anonymous, Greta, Ivan, Sam];
/// Initech's: hidden from Greta (Globex) and the anonymous.
const NOT_GRETA: &[Caller] = &[Anonymous, Greta];
/// Globex's: hidden from Ivan (Initech) and the anonymous.
const NOT_IVAN: &[Caller] = &[Anonymous, Ivan];

/// A distinctive value planted in the database where some callers must never see it.
struct Sentinel {
    value: String,
    hidden_from: &'static [Caller],
    /// Where it was planted, for the report.
    place: String,
}

/// A demo id: entity `EE`, workspace 1 (Acme) or 2 (Umbrella), sequence `NN`.
fn demo_id(entity: &str, sequence: u32) -> String {
    format!("01900000-00{entity}-7000-8000-000000000{sequence:03}")
}

/// Plants the sentinels (read `src/db/demo.sql` for scope and the roles' grants) and
/// answers them.
async fn plant_sentinels(app: &TestApp) -> Vec<Sentinel> {
    #[rustfmt::skip]
    let places: &[(&str, &str, &str, u32, &[Caller])] = &[
        // (table, column, entity, sequence, hidden from)
        // Internal tasks, and tasks of projects out of every external's scope.
        ("tasks", "title", "08", 103, EXTERNALS),       // internal (Website Relaunch)
        ("tasks", "description", "08", 103, EXTERNALS),
        ("tasks", "title", "08", 111, EXTERNALS),       // internal (Data Warehouse)
        ("tasks", "description", "08", 111, EXTERNALS),
        ("tasks", "title", "08", 106, EXTERNALS),       // Content Migration: not shared, no member
        ("tasks", "title", "08", 113, EXTERNALS),       // Globex Internal Audit
        ("tasks", "title", "08", 114, EXTERNALS),       // Legacy Portal (archived)
        ("tasks", "title", "08", 117, EXTERNALS),       // Initech Secret Merger
        ("tasks", "title", "08", 115, NOT_GRETA),       // TPS Reports
        ("tasks", "description", "08", 115, EXTERNALS), // Initech Portal omits tasks.description
        ("tasks", "title", "08", 102, NOT_IVAN),        // Website Relaunch
        ("tasks", "description", "08", 102, NOT_IVAN),
        ("tasks", "title", "08", 201, EVERYONE),        // Umbrella
        // Comments: internal, and other accounts'.
        ("comments", "body", "09", 103, EXTERNALS),
        ("comments", "body", "09", 104, NOT_GRETA),
        ("comments", "body", "09", 101, NOT_IVAN),
        ("comments", "body", "09", 201, EVERYONE),
        // Invoices: the draft, other accounts'.
        ("invoices", "number", "0a", 103, EXTERNALS),
        ("invoices", "number", "0a", 101, NOT_IVAN),
        ("invoices", "number", "0a", 104, NOT_IVAN),    // EST-2026-001
        ("invoices", "number", "0a", 105, NOT_GRETA),
        ("invoices", "number", "0a", 106, NOT_GRETA),   // EST-2026-002
        ("invoices", "number", "0a", 201, EVERYONE),
        ("invoice_lines", "description", "0b", 104, EXTERNALS), // the draft's line
        ("invoice_lines", "description", "0b", 107, NOT_GRETA),
        ("invoice_lines", "description", "0b", 101, NOT_IVAN),
        // Projects: archived, unshared, other accounts', fields not granted.
        ("projects", "name", "07", 107, EXTERNALS),     // Legacy Portal (archived, shared)
        ("projects", "name", "07", 106, EXTERNALS),     // Globex Internal Audit
        ("projects", "name", "07", 109, EXTERNALS),     // Initech Secret Merger
        ("projects", "name", "07", 102, EXTERNALS),     // Content Migration
        ("projects", "name", "07", 108, NOT_GRETA),     // TPS Reports
        ("projects", "description", "07", 108, EXTERNALS), // Initech Portal: status only
        ("projects", "name", "07", 101, NOT_IVAN),      // Website Relaunch
        ("projects", "name", "07", 201, EVERYONE),
        // CRM accounts: fields neither Clients nor Initech Portal grant, other accounts.
        ("accounts", "address", "03", 101, EXTERNALS),
        ("accounts", "industry", "03", 101, EXTERNALS), // only the expired role grants it
        ("accounts", "description", "03", 101, EXTERNALS),
        ("accounts", "name", "03", 101, NOT_IVAN),
        ("accounts", "website", "03", 102, EXTERNALS),  // Initech Portal: email, phone
        ("accounts", "address", "03", 102, EXTERNALS),
        ("accounts", "description", "03", 102, EXTERNALS),
        ("accounts", "name", "03", 102, NOT_GRETA),
        ("accounts", "name", "03", 201, EVERYONE),
        // Knowledge base: the unpublished article, a field Initech Portal omits.
        ("kb_articles", "title", "0c", 104, EXTERNALS),
        ("kb_articles", "body", "0c", 104, EXTERNALS),
        ("kb_articles", "category", "0c", 101, NOT_IVAN),
        ("kb_articles", "title", "0c", 201, EVERYONE),
        // Role data is the admin API's (docs/api.md): no staff who is not an admin.
        ("roles", "description", "05", 101, EVERYONE),
        ("roles", "description", "05", 103, EVERYONE),
        ("roles", "description", "05", 106, EVERYONE),
        ("roles", "name", "05", 106, EVERYONE),         // Project Reviewer: members' role
        // Other workspace.
        ("staff_users", "name", "02", 201, EVERYONE),
        ("project_stages", "name", "06", 201, EVERYONE),
    ];
    let mut sentinels = Vec::new();
    let mut sql = String::new();
    for (n, (table, column, entity, sequence, hidden_from)) in places.iter().enumerate() {
        let value = format!("Sntl{n:02}{column}Q");
        let id = demo_id(entity, *sequence);
        writeln!(sql, "UPDATE {table} SET {column} = '{value}' WHERE id = '{id}';").unwrap();
        sentinels.push(Sentinel {
            value,
            hidden_from,
            place: format!("{table}.{column} of {id}"),
        });
    }
    // The Data Warehouse budget: its client access is off.
    let value = "SntlBudgetCurrencyQ".to_string();
    let project = demo_id("07", 104);
    writeln!(
        sql,
        "UPDATE budgets SET currency = '{value}' WHERE project_id = '{project}';"
    )
    .unwrap();
    sentinels.push(Sentinel {
        value,
        hidden_from: EXTERNALS,
        place: format!("budgets.currency of project {project} (client access off)"),
    });
    app.sql(&sql).await;
    sentinels
}

/// Ids staff must not write to: a write could legitimately show a sentinel to an
/// external (an internal task made client-visible, the draft issued, the unpublished
/// article published).
fn unsafe_for_staff_writes(id: &str) -> bool {
    [
        demo_id("08", 103),
        demo_id("08", 111),
        demo_id("0a", 103),
        demo_id("0c", 104),
    ]
    .iter()
    .any(|u| u == id)
}

/// Every id of the demo, both workspaces.
fn demo_ids() -> Vec<String> {
    let mut ids = vec![demo_id("01", 100), demo_id("01", 200)];
    #[rustfmt::skip]
    let ranges: &[(&str, u32)] = &[
        ("02", 102), ("03", 102), ("04", 104), ("05", 107), ("06", 104), ("07", 109),
        ("08", 117), ("09", 104), ("0a", 106), ("0b", 108), ("0c", 104),
    ];
    for (entity, last) in ranges {
        ids.extend((101..=*last).map(|n| demo_id(entity, n)));
        ids.push(demo_id(entity, 201));
    }
    ids
}

// ------------------------------------------------------------------ the schema

#[derive(Clone, Debug)]
enum TypeRef {
    Named(String),
    List(Box<TypeRef>),
    NonNull(Box<TypeRef>),
}

impl TypeRef {
    fn from_introspection(v: &Value) -> TypeRef {
        match v["kind"].as_str() {
            Some("NON_NULL") => TypeRef::NonNull(Box::new(TypeRef::from_introspection(&v["ofType"]))),
            Some("LIST") => TypeRef::List(Box::new(TypeRef::from_introspection(&v["ofType"]))),
            _ => TypeRef::Named(v["name"].as_str().unwrap_or_default().to_string()),
        }
    }

    fn named(&self) -> &str {
        match self {
            TypeRef::Named(n) => n,
            TypeRef::List(t) | TypeRef::NonNull(t) => t.named(),
        }
    }

    fn is_non_null(&self) -> bool {
        matches!(self, TypeRef::NonNull(_))
    }

    /// As written in a variable definition: `[ID!]!`.
    fn render(&self) -> String {
        match self {
            TypeRef::Named(n) => n.clone(),
            TypeRef::List(t) => format!("[{}]", t.render()),
            TypeRef::NonNull(t) => format!("{}!", t.render()),
        }
    }
}

#[derive(Clone, Debug)]
struct InputValue {
    name: String,
    ty: TypeRef,
}

#[derive(Clone, Debug)]
struct Field {
    name: String,
    args: Vec<InputValue>,
    ty: TypeRef,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Scalar,
    Object,
    Interface,
    Union,
    Enum,
    InputObject,
}

#[derive(Debug)]
struct TypeDef {
    kind: Kind,
    fields: Vec<Field>,
    input_fields: Vec<InputValue>,
    enum_values: Vec<String>,
    possible_types: Vec<String>,
}

struct Schema {
    types: BTreeMap<String, TypeDef>,
    query: String,
    mutation: Option<String>,
}

const INTROSPECTION: &str = "query Introspection { __schema { queryType { name } mutationType { name } \
    types { kind name possibleTypes { name } enumValues(includeDeprecated: true) { name } \
    fields(includeDeprecated: true) { name args { ...Input } type { ...Ref } } \
    inputFields { ...Input } } } } \
    fragment Input on __InputValue { name type { ...Ref } } \
    fragment Ref on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } }";

impl Schema {
    /// The schema as the running server describes it to an anonymous caller.
    async fn introspect(app: &TestApp) -> Schema {
        let r = app.post(None, INTROSPECTION, json!({})).await;
        let schema = &r["data"]["__schema"];
        let types = schema["types"]
            .as_array()
            .unwrap_or_else(|| panic!("introspection failed: {r}"));
        let names = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|t| t["name"].as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        };
        let inputs = |v: &Value| -> Vec<InputValue> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .map(|i| InputValue {
                            name: i["name"].as_str().unwrap_or_default().to_string(),
                            ty: TypeRef::from_introspection(&i["type"]),
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut by_name = BTreeMap::new();
        for t in types {
            let kind = match t["kind"].as_str() {
                Some("OBJECT") => Kind::Object,
                Some("INTERFACE") => Kind::Interface,
                Some("UNION") => Kind::Union,
                Some("ENUM") => Kind::Enum,
                Some("INPUT_OBJECT") => Kind::InputObject,
                _ => Kind::Scalar,
            };
            let fields = t["fields"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|f| Field {
                            name: f["name"].as_str().unwrap_or_default().to_string(),
                            args: inputs(&f["args"]),
                            ty: TypeRef::from_introspection(&f["type"]),
                        })
                        .collect()
                })
                .unwrap_or_default();
            by_name.insert(
                t["name"].as_str().unwrap_or_default().to_string(),
                TypeDef {
                    kind,
                    fields,
                    input_fields: inputs(&t["inputFields"]),
                    enum_values: names(&t["enumValues"]),
                    possible_types: names(&t["possibleTypes"]),
                },
            );
        }
        let mut schema = Schema {
            types: by_name,
            query: schema["queryType"]["name"]
                .as_str()
                .expect("a query type")
                .to_string(),
            mutation: schema["mutationType"]["name"].as_str().map(String::from),
        };
        schema.add_introspection_roots();
        schema
    }

    /// `__schema` and `__type(name:)` are selectable on the query root but not listed.
    fn add_introspection_roots(&mut self) {
        let query = self.query.clone();
        if let Some(root) = self.types.get_mut(&query) {
            root.fields.push(Field {
                name: "__schema".into(),
                args: vec![],
                ty: TypeRef::NonNull(Box::new(TypeRef::Named("__Schema".into()))),
            });
            root.fields.push(Field {
                name: "__type".into(),
                args: vec![InputValue {
                    name: "name".into(),
                    ty: TypeRef::NonNull(Box::new(TypeRef::Named("String".into()))),
                }],
                ty: TypeRef::Named("__Type".into()),
            });
        }
    }

    fn kind(&self, name: &str) -> Kind {
        self.types.get(name).map(|t| t.kind).unwrap_or(Kind::Scalar)
    }

    fn is_composite(&self, name: &str) -> bool {
        matches!(self.kind(name), Kind::Object | Kind::Interface | Kind::Union)
    }

    fn fields(&self, name: &str) -> &[Field] {
        self.types.get(name).map(|t| &t.fields[..]).unwrap_or(&[])
    }

    /// Names of the object, interface and union types (fragment targets).
    fn composite_names(&self) -> Vec<&str> {
        self.types
            .keys()
            .filter(|n| self.is_composite(n))
            .map(|n| n.as_str())
            .collect()
    }
}

// ------------------------------------------------------------------ values

/// An argument value, written either into the document or into the variables.
#[derive(Clone, Debug)]
enum Val {
    Null,
    /// Kept as text: literals beyond every integer type are part of the game.
    Int(String),
    Float(String),
    Str(String),
    Bool(bool),
    Enum(String),
    List(Vec<Val>),
    Object(Vec<(String, Val)>),
}

impl Val {
    fn literal(&self) -> String {
        match self {
            Val::Null => "null".into(),
            Val::Int(n) | Val::Float(n) => n.clone(),
            Val::Str(s) => graphql_string(s),
            Val::Bool(b) => b.to_string(),
            Val::Enum(e) => e.clone(),
            Val::List(items) => format!(
                "[{}]",
                items.iter().map(Val::literal).collect::<Vec<_>>().join(", ")
            ),
            Val::Object(fields) => format!(
                "{{{}}}",
                fields
                    .iter()
                    .map(|(k, v)| format!("{k}: {}", v.literal()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    fn json(&self) -> Value {
        match self {
            Val::Null => Value::Null,
            Val::Int(n) | Val::Float(n) => n
                .parse::<i64>()
                .map(Value::from)
                .or_else(|_| n.parse::<f64>().map(Value::from))
                .unwrap_or_else(|_| Value::from(n.clone())),
            Val::Str(s) | Val::Enum(s) => Value::from(s.clone()),
            Val::Bool(b) => Value::from(*b),
            Val::List(items) => Value::Array(items.iter().map(Val::json).collect()),
            Val::Object(fields) => Value::Object(fields.iter().map(|(k, v)| (k.clone(), v.json())).collect()),
        }
    }
}

/// A GraphQL string literal: quotes, backslashes and control characters escaped.
fn graphql_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => write!(out, "\\u{:04x}", c as u32).unwrap(),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

// ------------------------------------------------------------------ the generator

/// One HTTP request: a single operation or a batch.
struct Request {
    body: Value,
}

struct Fragment {
    name: String,
    on: String,
    body: String,
}

/// Generates one request for one caller from the schema.
struct Generator<'a> {
    schema: &'a Schema,
    caller: Caller,
    rng: Rng,
    ids: Vec<String>,
    /// Named fragments of the document being generated.
    fragments: Vec<Fragment>,
    /// Variable definitions and values of the operation being generated.
    variables: Vec<(String, String, Value)>,
    /// How deep selections go in this document.
    max_depth: usize,
    /// While generating a fragment's body: no variables (they belong to operations).
    in_fragment: bool,
    /// Whether the operation being generated is a mutation (staff write only to ids
    /// that carry no sentinel).
    mutating: bool,
    /// Selections left for this document; then only leaves (keeps documents finite).
    budget: usize,
    /// Whether this document breaks the rules now and then (unknown names, mismatched
    /// types, conflicting aliases); otherwise it is valid, with hostile values only.
    hostile: bool,
}

impl<'a> Generator<'a> {
    fn new(schema: &'a Schema, caller: Caller, rng: Rng) -> Generator<'a> {
        Generator {
            schema,
            caller,
            rng,
            ids: demo_ids(),
            fragments: Vec::new(),
            variables: Vec::new(),
            max_depth: 3,
            in_fragment: false,
            mutating: false,
            budget: 40,
            hostile: false,
        }
    }

    /// True `percent` times in a hundred, in hostile documents only.
    fn invalid(&mut self, percent: u64) -> bool {
        self.hostile && self.rng.chance(percent)
    }

    fn request(mut self) -> Request {
        let body = match self.rng.below(100) {
            0..=1 => self.introspection_batch(),
            2..=9 => self.batch(),
            10 => self.exponential_fragments(),
            11..=14 => self.many_aliases(),
            15..=16 => self.odd_envelope(),
            _ => self.single(),
        };
        Request { body }
    }

    /// One operation (sometimes two, with or without an `operationName`).
    fn single(&mut self) -> Value {
        let (document, variables, operation_name) = self.document();
        let mut body = json!({ "query": document });
        if !variables.is_empty() || self.rng.chance(20) {
            body["variables"] = Value::Object(variables.into_iter().collect());
        }
        if let Some(name) = operation_name {
            body["operationName"] = json!(name);
        }
        body
    }

    /// A JSON array of operations, sometimes more than the batch limit.
    fn batch(&mut self) -> Value {
        let n = if self.rng.chance(25) {
            self.rng.between(11, 14)
        } else {
            self.rng.between(1, 10)
        };
        Value::Array((0..n).map(|_| self.single()).collect())
    }

    /// Batches of whole introspection queries, which multiply their cost.
    fn introspection_batch(&mut self) -> Value {
        let n = self.rng.between(2, 12);
        Value::Array((0..n).map(|_| json!({ "query": INTROSPECTION })).collect())
    }

    /// `F0 { ...F1 ...F1 }`, `F1 { ...F2 ...F2 }`, …: 2^n selections in a few lines.
    fn exponential_fragments(&mut self) -> Value {
        let n = self.rng.between(8, 18);
        let leaf = self
            .rng
            .pick(&["__typename", "viewer { name }", "projects { totalCount }"]);
        let mut document = "query Exponential { ...F0 }".to_string();
        for i in 0..n {
            write!(
                document,
                " fragment F{i} on {q} {{ ...F{j} ...F{j} }}",
                q = self.schema.query,
                j = i + 1
            )
            .unwrap();
        }
        write!(document, " fragment F{n} on {} {{ {leaf} }}", self.schema.query).unwrap();
        json!({ "query": document })
    }

    /// A root field repeated under many aliases, around the alias limit.
    fn many_aliases(&mut self) -> Value {
        self.max_depth = 2;
        let root = self.schema.query.clone();
        let n = self.rng.between(25, 40);
        let field = self.pick_field(&root).clone();
        let mut selections = String::new();
        for i in 0..n {
            let one = self.field_selection(&root, &field, 0);
            write!(selections, " a{i}: {one}").unwrap();
        }
        json!({ "query": format!("{{{selections} }}{}", self.fragment_definitions()) })
    }

    /// Bodies that are not quite GraphQL-over-HTTP: odd variables, unknown operations.
    fn odd_envelope(&mut self) -> Value {
        let (document, _, _) = self.document();
        match self.rng.below(5) {
            0 => json!({ "query": document, "variables": "not an object" }),
            1 => json!({ "query": document, "variables": [1, 2] }),
            2 => json!({ "query": document, "operationName": "Nowhere" }),
            3 => json!({ "query": Value::Null }),
            _ => json!({ "query": 42, "variables": {} }),
        }
    }

    /// A whole document: operations and the fragments they use.
    fn document(&mut self) -> (String, BTreeMap<String, Value>, Option<String>) {
        self.fragments.clear();
        self.max_depth = if self.rng.chance(8) {
            self.rng.between(13, 16)
        } else {
            self.rng.between(1, 5)
        };
        self.budget = self.rng.between(5, 60);
        self.hostile = self.rng.chance(40);
        let operations = if self.rng.chance(5) { 2 } else { 1 };
        let mut text = String::new();
        let mut variables = BTreeMap::new();
        let mut names = Vec::new();
        for i in 0..operations {
            let (op, vars, name) = self.operation(i, operations > 1);
            text.push_str(&op);
            text.push(' ');
            variables.extend(vars);
            names.extend(name);
        }
        text.push_str(&self.fragment_definitions());
        self.maybe_invalid_fragments(&mut text);
        let operation_name = match names.len() {
            0 => None,
            1 if self.rng.chance(70) => None,
            _ if self.invalid(10) => Some("Unknown".to_string()),
            _ if self.rng.chance(10) => None,
            _ => Some(self.rng.pick(&names).clone()),
        };
        (text, variables, operation_name)
    }

    /// One query or mutation with its variable definitions.
    fn operation(&mut self, index: usize, named: bool) -> (String, Vec<(String, Value)>, Option<String>) {
        self.variables.clear();
        self.mutating = self.schema.mutation.is_some() && self.rng.chance(30);
        let (keyword, root) = if self.mutating {
            ("mutation", self.schema.mutation.clone().unwrap_or_default())
        } else {
            ("query", self.schema.query.clone())
        };
        let selections = self.selection_set(&root, 0);
        let name = (named || self.rng.chance(30)).then(|| format!("Op{index}"));
        let definitions = if self.variables.is_empty() {
            String::new()
        } else {
            format!(
                "({})",
                self.variables
                    .iter()
                    .map(|(n, t, _)| format!("${n}: {t}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let head = match &name {
            Some(n) => format!("{keyword} {n}{definitions}"),
            None if definitions.is_empty() && keyword == "query" && self.rng.chance(50) => String::new(),
            None => format!("{keyword}{definitions}"),
        };
        let values = self
            .variables
            .drain(..)
            .filter(|(n, _, _)| !n.starts_with("unsent"))
            .map(|(n, _, v)| (n, v))
            .collect();
        (format!("{head} {selections}"), values, name)
    }

    /// `{ … }` on a composite type: fields, `__typename`, inline fragments and spreads.
    fn selection_set(&mut self, type_name: &str, depth: usize) -> String {
        if self.budget == 0 && depth > 0 {
            return self.leaf_selection(type_name);
        }
        let mut out = Vec::new();
        // Deep documents go deep: one composite field at every level, if there is one.
        if self.max_depth > 12
            && let Some(field) = self.composite_field(type_name)
        {
            self.budget = self.budget.saturating_sub(1);
            out.push(self.field_selection(type_name, &field, depth));
        }
        let count = if depth == 0 && self.mutating {
            self.rng.between(2, 6)
        } else if depth == 0 {
            self.rng.between(1, 4)
        } else {
            self.rng.between(1, 3)
        };
        let mut used_aliases: Vec<String> = Vec::new();
        for _ in 0..count {
            self.budget = self.budget.saturating_sub(1);
            out.push(self.selection(type_name, depth, &mut used_aliases));
        }
        format!("{{ {} }}", out.join(" "))
    }

    fn selection(&mut self, type_name: &str, depth: usize, aliases: &mut Vec<String>) -> String {
        let kind = self.schema.kind(type_name);
        let roll = self.rng.below(100);
        if kind == Kind::Union || (kind == Kind::Interface && roll < 50) {
            return if self.rng.chance(20) {
                "__typename".into()
            } else {
                self.inline_fragment_on_possible_type(type_name, depth)
            };
        }
        match roll {
            0..=7 => self.aliased("__typename".into(), type_name, aliases),
            8..=17 if depth < self.max_depth => self.fragment_spread(type_name, depth),
            18..=21 if depth < self.max_depth => self.inline_fragment_on_self(type_name, depth),
            _ => {
                let field = self.pick_field(type_name).clone();
                let selection = self.field_selection(type_name, &field, depth);
                let selection = self.with_directive(selection);
                if !field.args.is_empty() && !self.hostile {
                    // The same field twice with other arguments conflicts: a fresh alias.
                    return format!("x{}: {selection}", self.rng.below(1_000_000));
                }
                self.aliased(selection, type_name, aliases)
            }
        }
    }

    /// Sometimes an alias: a fresh one, one already used (a conflict unless the fields
    /// agree) or another field's name (`id: title`).
    fn aliased(&mut self, selection: String, type_name: &str, used: &mut Vec<String>) -> String {
        if !self.rng.chance(25) {
            return selection;
        }
        let alias = match self.rng.below(3) {
            0 if !used.is_empty() && self.invalid(50) => self.rng.pick(used).clone(),
            1 if self.invalid(50) => self.pick_field(type_name).name.clone(),
            _ => format!("x{}", self.rng.below(1000)),
        };
        used.push(alias.clone());
        format!("{alias}: {selection}")
    }

    /// `@include` / `@skip`, with a literal or a variable.
    fn with_directive(&mut self, selection: String) -> String {
        if !self.rng.chance(4) {
            return selection;
        }
        let directive = self.rng.pick(&["include", "skip"]);
        let condition = self.argument_value(&TypeRef::NonNull(Box::new(TypeRef::Named("Boolean".into()))));
        format!("{selection} @{directive}(if: {condition})")
    }

    /// A field of the type, or `__typename` when it has none.
    fn pick_field(&mut self, type_name: &str) -> &'a Field {
        let schema = self.schema;
        let fields = schema.fields(type_name);
        // Introspection roots are rare: they answer a lot.
        let ordinary: Vec<&'a Field> = fields
            .iter()
            .filter(|f| !f.name.starts_with("__") || self.rng.chance(5))
            .collect();
        if ordinary.is_empty() {
            static TYPENAME: std::sync::OnceLock<Field> = std::sync::OnceLock::new();
            return TYPENAME.get_or_init(|| Field {
                name: "__typename".into(),
                args: vec![],
                ty: TypeRef::Named("String".into()),
            });
        }
        ordinary[self.rng.below(ordinary.len())]
    }

    fn composite_field(&mut self, type_name: &str) -> Option<Field> {
        let fields: Vec<&Field> = self
            .schema
            .fields(type_name)
            .iter()
            .filter(|f| !f.name.starts_with("__") && self.schema.is_composite(f.ty.named()))
            .collect();
        (!fields.is_empty()).then(|| fields[self.rng.below(fields.len())].clone())
    }

    /// `name(args) { … }`: a sub-selection for composite types (at the depth limit,
    /// only `__typename`).
    fn field_selection(&mut self, _parent: &str, field: &Field, depth: usize) -> String {
        let args = self.arguments(&field.name, &field.args);
        let target = field.ty.named();
        if !self.schema.is_composite(target) {
            return format!("{}{args}", field.name);
        }
        let sub = if depth + 1 >= self.max_depth {
            self.leaf_selection(target)
        } else {
            self.selection_set(target, depth + 1)
        };
        format!("{}{args} {sub}", field.name)
    }

    /// A selection without further nesting: scalar fields and `__typename`.
    fn leaf_selection(&mut self, type_name: &str) -> String {
        let scalars: Vec<&str> = self
            .schema
            .fields(type_name)
            .iter()
            .filter(|f| !self.schema.is_composite(f.ty.named()) && f.args.is_empty())
            .map(|f| f.name.as_str())
            .collect();
        let mut out = vec!["__typename"];
        for _ in 0..self.rng.between(0, 2) {
            if !scalars.is_empty() {
                out.push(scalars[self.rng.below(scalars.len())]);
            }
        }
        format!("{{ {} }}", out.join(" "))
    }

    /// `... on Member { … }` for an interface or union (`node(id:)` answers `Node`).
    fn inline_fragment_on_possible_type(&mut self, type_name: &str, depth: usize) -> String {
        let possible = &self.schema.types[type_name].possible_types;
        let target = if possible.is_empty() || self.invalid(5) {
            // Sometimes a type that cannot be there: invalid.
            let names = self.schema.composite_names();
            self.rng.pick(&names).to_string()
        } else {
            self.rng.pick(possible).clone()
        };
        let body = if depth + 1 >= self.max_depth || !self.schema.is_composite(&target) {
            self.leaf_selection(&target)
        } else {
            self.selection_set(&target, depth + 1)
        };
        format!("... on {target} {body}")
    }

    /// `... { … }` or `... on Self { … }`.
    fn inline_fragment_on_self(&mut self, type_name: &str, depth: usize) -> String {
        let body = self.selection_set(type_name, depth + 1);
        if self.rng.chance(50) {
            format!("... {body}")
        } else {
            format!("... on {type_name} {body}")
        }
    }

    /// `...Name`: an existing fragment on the type (a repeated spread) or a new one.
    fn fragment_spread(&mut self, type_name: &str, depth: usize) -> String {
        let existing: Vec<String> = self
            .fragments
            .iter()
            .filter(|f| f.on == type_name && !f.body.is_empty())
            .map(|f| f.name.clone())
            .collect();
        if !existing.is_empty() && self.rng.chance(50) {
            return format!("...{}", self.rng.pick(&existing));
        }
        let name = format!("Frag{}", self.fragments.len());
        // Reserve the name before the body, whose spreads may add fragments.
        self.fragments.push(Fragment {
            name: name.clone(),
            on: type_name.to_string(),
            body: String::new(),
        });
        let was_in_fragment = std::mem::replace(&mut self.in_fragment, true);
        let body = self.selection_set(type_name, depth + 1);
        self.in_fragment = was_in_fragment;
        if let Some(f) = self.fragments.iter_mut().find(|f| f.name == name) {
            f.body = body;
        }
        format!("...{name}")
    }

    fn fragment_definitions(&self) -> String {
        self.fragments
            .iter()
            .map(|f| format!(" fragment {} on {} {}", f.name, f.on, f.body))
            .collect()
    }

    /// Occasionally an invalid document: a spread of an unknown fragment, a cycle, an
    /// unused fragment on a type that does not exist.
    fn maybe_invalid_fragments(&mut self, text: &mut String) {
        if !self.hostile {
            return;
        }
        let root = self.schema.query.clone();
        match self.rng.below(40) {
            0 => text.push_str(" query Unknown { ...NoSuchFragment }"),
            1 => write!(
                text,
                " query Cycle {{ ...CycleA }} fragment CycleA on {root} {{ __typename ...CycleB }} \
                 fragment CycleB on {root} {{ ...CycleA }}"
            )
            .unwrap(),
            2 => text.push_str(" fragment Stray on NoSuchType { id }"),
            3 => write!(text, " fragment SelfCycle on {root} {{ ...SelfCycle }}").unwrap(),
            _ => {}
        }
    }

    /// `(name: value, …)`: required arguments almost always, optional ones sometimes.
    fn arguments(&mut self, field: &str, args: &[InputValue]) -> String {
        let mut out = Vec::new();
        for arg in args {
            let include = if arg.ty.is_non_null() {
                !self.invalid(3)
            } else {
                self.rng.chance(50)
            };
            if include {
                let value = self.argument_for(field, arg);
                out.push(format!("{}: {value}", arg.name));
            }
        }
        if self.invalid(2) {
            out.push("noSuchArgument: 1".into());
        }
        if out.is_empty() {
            String::new()
        } else {
            format!("({})", out.join(", "))
        }
    }

    /// A literal, or a variable (declared with the argument's type, sometimes another).
    fn argument_for(&mut self, field: &str, arg: &InputValue) -> String {
        let hint = format!("{field}.{}", arg.name);
        if self.in_fragment || !self.rng.chance(25) {
            return self.value_for(&hint, &arg.ty).literal();
        }
        let name = format!("v{}", self.variables.len());
        let declared = if self.invalid(10) {
            self.rng
                .pick(&["String", "Int!", "[ID]", "Boolean", "ID!", "NoSuchType"])
                .to_string()
        } else {
            arg.ty.render()
        };
        let value = if self.invalid(8) {
            self.mismatched_value()
        } else {
            self.value_for(&hint, &arg.ty)
        };
        // Sometimes declared but not sent (a required variable then is missing).
        let name = if self.invalid(5) {
            format!("unsent{name}")
        } else {
            name
        };
        self.variables.push((name.clone(), declared, value.json()));
        format!("${name}")
    }

    /// The literal for a bare type (directive arguments).
    fn argument_value(&mut self, ty: &TypeRef) -> String {
        self.argument_for(
            "directive",
            &InputValue {
                name: "if".into(),
                ty: ty.clone(),
            },
        )
    }

    /// A value of the type; `hint` (`field.argument`) picks the interesting edges.
    fn value_for(&mut self, hint: &str, ty: &TypeRef) -> Val {
        if self.invalid(4) {
            return self.mismatched_value();
        }
        match ty {
            TypeRef::NonNull(inner) => match &**inner {
                TypeRef::Named(type_name) => self.named_value(hint, type_name),
                other => self.value_for(hint, other),
            },
            TypeRef::List(inner) => {
                if self.rng.chance(10) {
                    // A single value where a list is expected is coerced.
                    return self.value_for(hint, inner);
                }
                let n = self.rng.between(0, 3);
                Val::List((0..n).map(|_| self.value_for(hint, inner)).collect())
            }
            TypeRef::Named(type_name) => {
                if !ty.is_non_null() && self.rng.chance(5) {
                    return Val::Null;
                }
                self.named_value(hint, type_name)
            }
        }
    }

    fn named_value(&mut self, hint: &str, type_name: &str) -> Val {
        let name = hint.rsplit('.').next().unwrap_or(hint);
        match (name, type_name) {
            ("first" | "last" | "limit", _) => self.page_size(),
            ("after" | "before", _) => self.cursor(),
            (_, "ID") => Val::Str(self.id_for(hint)),
            (_, "Int") => self.int(),
            (_, "Float") => self.float(),
            (_, "Boolean") => Val::Bool(self.rng.chance(50)),
            (_, "String") => self.string(),
            (_, "DateTime") => self.date_time(),
            (_, "NaiveDate" | "Date") => self.date(),
            _ => match self.schema.kind(type_name) {
                Kind::Enum => self.enum_value(type_name),
                Kind::InputObject => self.input_object(type_name),
                _ => self.string(),
            },
        }
    }

    /// Paging at and beyond its limits (docs/api.md: 0..=100).
    fn page_size(&mut self) -> Val {
        let n = self.rng.pick(&[
            "0",
            "1",
            "1",
            "2",
            "2",
            "3",
            "5",
            "10",
            "50",
            "100",
            "101",
            "-1",
            "2147483647",
            "-2147483648",
            "2147483648",
            "99999999999999999999999",
        ]);
        Val::Int(n.to_string())
    }

    /// Cursors: garbage, base64 garbage, NUL, over-long.
    fn cursor(&mut self) -> Val {
        let s = match self.rng.below(8) {
            0 => "garbage".to_string(),
            1 => "bm90IGEgY3Vyc29y".to_string(), // base64 of "not a cursor"
            2 => "MDE5MDAwMDAtMDAwNy03MDAwLTgwMDAtMDAwMDAwMDAwMTA2".to_string(), // base64 of an id
            3 => "\u{0}".to_string(),
            4 => format!("YWJj\u{0}{}", "=".repeat(self.rng.below(10))),
            5 => String::new(),
            6 => "%%%%".repeat(self.rng.between(1, 300)),
            _ => self.id_text(),
        };
        Val::Str(s)
    }

    /// An id, mostly of the kind the field and argument name (`updateTask.id`,
    /// `createTask.projectId`), so that mutations get past their lookups.
    fn id_for(&mut self, hint: &str) -> String {
        let hint = hint.to_lowercase();
        #[rustfmt::skip]
        let kinds = [
            ("stage", "06"), ("project", "07"), ("comment", "09"), ("task", "08"),
            ("invoice", "0a"), ("estimate", "0a"), ("article", "0c"), ("role", "05"),
            ("account", "03"), ("externaluser", "04"), ("assignee", "02"),
        ];
        let entity = kinds.iter().find(|(word, _)| hint.contains(word));
        match entity {
            Some((_, entity)) if self.rng.chance(70) => loop {
                let id = self.rng.pick(&self.ids).clone();
                let wanted = id.get(11..13) == Some(*entity);
                if wanted && !(self.caller == Sam && self.mutating && unsafe_for_staff_writes(&id)) {
                    return id;
                }
            },
            _ => self.id_text(),
        }
    }

    fn id_text(&mut self) -> String {
        loop {
            let id = match self.rng.below(10) {
                0..=5 => self.rng.pick(&self.ids).clone(),
                6 => format!(
                    "{:08x}-{:04x}-7{:03x}-8{:03x}-{:012x}",
                    self.rng.next() as u32,
                    self.rng.next() as u16,
                    self.rng.next() & 0xfff,
                    self.rng.next() & 0xfff,
                    self.rng.next() & 0xffff_ffff_ffff
                ),
                7 => self
                    .rng
                    .pick(&["", "not-a-uuid", "1", "0", "00000000-0000-0000-0000-000000000000"])
                    .to_string(),
                8 => format!("{}\u{0}", self.rng.pick(&self.ids)),
                _ => self.string_text(),
            };
            // Staff write only where no sentinel can be made visible.
            if !(self.caller == Sam && self.mutating && unsafe_for_staff_writes(&id)) {
                return id;
            }
        }
    }

    fn int(&mut self) -> Val {
        let n = match self.rng.below(6) {
            0 => "0".to_string(),
            1 => "-1".to_string(),
            2 => "2147483647".to_string(),
            3 => "99999999999999999999".to_string(),
            _ => (self.rng.below(200) as i64 - 50).to_string(),
        };
        Val::Int(n)
    }

    fn float(&mut self) -> Val {
        let f = self
            .rng
            .pick(&["0.0", "1.5", "-3.25", "1e308", "-1e308", "123456789.123"]);
        Val::Float(f.to_string())
    }

    fn string(&mut self) -> Val {
        Val::Str(self.string_text())
    }

    /// Strings: empty, plain, unicode, NUL, at and over the length limit.
    fn string_text(&mut self) -> String {
        match self.rng.below(25) {
            0 => String::new(),
            1 | 20..=24 => "with\u{0}nul".to_string(),
            2 => "\u{0}".to_string(),
            3 => "ünïcödé ✓ 😀 \u{202e}rtl".to_string(),
            4 => "quote \" backslash \\ newline \n tab \t".to_string(),
            5 if self.rng.chance(25) => "y".repeat(MAX_STRING_CHARS + 1),
            6 if self.rng.chance(25) => "z".repeat(MAX_STRING_CHARS),
            7 => "x".repeat(self.rng.between(100, 5000)),
            8 => "Project".to_string(),
            9 => "'; DROP TABLE tasks; --".to_string(),
            _ => format!("fuzz {}", self.rng.below(100_000)),
        }
    }

    fn date_time(&mut self) -> Val {
        let s = self.rng.pick(&[
            "2026-01-01T00:00:00.000Z",
            "2026-13-01T00:00:00Z",
            "yesterday",
            "",
            "9999-12-31T23:59:59.999Z",
            "2026-02-30T00:00:00Z",
        ]);
        Val::Str(s.to_string())
    }

    fn date(&mut self) -> Val {
        let s = self.rng.pick(&[
            "2026-03-01",
            "2026-02-30",
            "0000-00-00",
            "",
            "not a date",
            "+275760-09-13",
        ]);
        Val::Str(s.to_string())
    }

    /// A value of the enum, sometimes one it does not have.
    fn enum_value(&mut self, type_name: &str) -> Val {
        let values = &self.schema.types[type_name].enum_values;
        if values.is_empty() || self.invalid(5) {
            Val::Enum("NO_SUCH_VALUE".into())
        } else {
            Val::Enum(self.rng.pick(values).clone())
        }
    }

    /// An input object: required fields almost always, optional ones sometimes, and
    /// now and then an unknown one.
    fn input_object(&mut self, type_name: &str) -> Val {
        let fields = self.schema.types[type_name].input_fields.clone();
        let mut out = Vec::new();
        for f in &fields {
            let include = if f.ty.is_non_null() {
                !self.invalid(3)
            } else {
                self.rng.chance(50)
            };
            if include {
                let value = self.value_for(&format!("{type_name}.{}", f.name), &f.ty);
                out.push((f.name.clone(), value));
            }
        }
        if self.invalid(3) {
            out.push(("noSuchField".into(), Val::Int("1".into())));
        }
        Val::Object(out)
    }

    /// A value of some other type than expected.
    fn mismatched_value(&mut self) -> Val {
        match self.rng.below(7) {
            0 => Val::Null,
            1 => Val::Int("12".into()),
            2 => Val::Float("1.5".into()),
            3 => Val::Bool(true),
            4 => Val::List(vec![Val::Str("a".into()), Val::Int("1".into())]),
            5 => Val::Object(vec![("x".into(), Val::Int("1".into()))]),
            _ => Val::Str("mismatch".into()),
        }
    }
}

// ------------------------------------------------------------------ sending and checking

/// A response as the oracles see it.
struct Answer {
    status: Option<u16>,
    body: String,
    elapsed: Duration,
    /// Transport failure (no answer at all).
    error: Option<String>,
}

impl Answer {
    fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }

    /// Status and the error codes, for the run's outcome counts.
    fn summary(&self) -> String {
        let mut codes: Vec<String> = self.json().map(|v| error_codes(&v)).unwrap_or_default();
        codes.sort();
        codes.dedup();
        match self.status {
            Some(s) => format!("{s} {}", codes.join(",")).trim().to_string(),
            None => "no answer".into(),
        }
    }
}

/// Every error of a response or of a batch of responses.
fn errors(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(items) => items.iter().flat_map(errors).collect(),
        other => other["errors"]
            .as_array()
            .map(|e| e.iter().collect())
            .unwrap_or_default(),
    }
}

fn error_codes(v: &Value) -> Vec<String> {
    errors(v)
        .iter()
        .map(|e| {
            e["extensions"]["code"]
                .as_str()
                .unwrap_or("<no code>")
                .to_string()
        })
        .collect()
}

struct Client {
    http: reqwest::Client,
    url: String,
    tokens: BTreeMap<&'static str, String>,
}

impl Client {
    async fn new(app: &TestApp) -> Client {
        let mut tokens = BTreeMap::new();
        for caller in Caller::ALL {
            if let Some(email) = caller.email() {
                tokens.insert(email, app.token(email).await);
            }
        }
        Client {
            http: reqwest::Client::builder()
                .timeout(CLIENT_TIMEOUT)
                .build()
                .expect("an HTTP client"),
            url: format!("{}/graphql", app.base),
            tokens,
        }
    }

    async fn send(&self, caller: Caller, body: &Value) -> Answer {
        let mut req = self.http.post(&self.url).json(body);
        if let Some(token) = caller.email().and_then(|e| self.tokens.get(e)) {
            req = req.bearer_auth(token);
        }
        let started = Instant::now();
        let res = req.send().await;
        let (status, body, error) = match res {
            Ok(res) => {
                let status = res.status().as_u16();
                match res.text().await {
                    Ok(text) => (Some(status), text, None),
                    Err(e) => (Some(status), String::new(), Some(e.to_string())),
                }
            }
            Err(e) => (None, String::new(), Some(e.to_string())),
        };
        Answer {
            status,
            body,
            elapsed: started.elapsed(),
            error,
        }
    }

    /// Whether the server still answers the smallest query.
    async fn still_answers(&self) -> bool {
        let answer = self
            .send(Caller::Anonymous, &json!({ "query": "{ __typename }" }))
            .await;
        answer.status == Some(200) && answer.json().is_some_and(|v| v["data"]["__typename"].is_string())
    }
}

/// The oracles: what must hold of every answer to this caller.
fn check(answer: &Answer, caller: Caller, sentinels: &[Sentinel]) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(e) = &answer.error {
        problems.push(format!("no complete answer: {e}"));
    }
    if answer.status.is_some_and(|s| s >= 500) {
        problems.push(format!(
            "HTTP {}: {}",
            answer.status.unwrap_or_default(),
            excerpt(&answer.body, 300)
        ));
    }
    if answer.elapsed > REQUEST_TIMEOUT + SLACK {
        problems.push(format!(
            "took {:.1}s, beyond the {}s request-time limit (+{}s slack)",
            answer.elapsed.as_secs_f64(),
            REQUEST_TIMEOUT.as_secs(),
            SLACK.as_secs()
        ));
    }
    if answer.status.is_some() && answer.error.is_none() {
        match answer.json() {
            None => problems.push(format!("not JSON: {}", excerpt(&answer.body, 300))),
            Some(v) => {
                let internal: Vec<&Value> = errors(&v)
                    .into_iter()
                    .filter(|e| e["extensions"]["code"] == "INTERNAL")
                    .collect();
                if let Some(first) = internal.first() {
                    let more = match internal.len() {
                        1 => String::new(),
                        n => format!(" (and {} more)", n - 1),
                    };
                    problems.push(format!("INTERNAL error: {first}{more}"));
                }
            }
        }
    }
    for s in sentinels.iter().filter(|s| s.hidden_from.contains(&caller)) {
        if let Some(at) = answer.body.find(&s.value) {
            problems.push(format!(
                "hidden value {} ({}) in the answer: …{}…",
                s.value,
                s.place,
                excerpt_around(&answer.body, at, 160)
            ));
        }
    }
    problems
}

// ------------------------------------------------------------------ reporting

struct Failure {
    case: u64,
    caller: Caller,
    problem: String,
    request: String,
}

impl Failure {
    fn dead(case: u64, caller: Caller, last: &Value) -> Failure {
        Failure {
            case,
            caller,
            problem: "the server no longer answers { __typename }".into(),
            request: last.to_string(),
        }
    }

    /// The kind of failure, for counting (the problem without its details).
    fn kind(&self) -> String {
        let p = &self.problem;
        if let Some(rest) = p.strip_prefix("hidden value ") {
            return format!("hidden value {}", rest.split(' ').next().unwrap_or_default());
        }
        if p.starts_with("INTERNAL") {
            let message = p
                .split("\"message\":")
                .nth(1)
                .and_then(|m| m.split('"').nth(1))
                .unwrap_or_default();
            return format!("INTERNAL {message}");
        }
        excerpt(p, 40)
    }
}

fn report(seed: u64, failures: &[Failure]) -> String {
    let mut out = format!(
        "{} fuzz failures (FUZZ_SEED={seed} replays the run):\n",
        failures.len()
    );
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for f in failures {
        *kinds.entry(f.kind()).or_default() += 1;
    }
    out.push_str("\nBy kind:\n");
    for (kind, n) in &kinds {
        writeln!(out, "  {n:4} × {kind}").unwrap();
    }
    // The first failure of each kind, then the rest in order, up to REPORTED.
    let mut shown: Vec<&Failure> = Vec::new();
    for kind in kinds.keys() {
        if let Some(f) = failures.iter().find(|f| &f.kind() == kind) {
            shown.push(f);
        }
    }
    shown.sort_by_key(|f| f.case);
    shown.truncate(REPORTED);
    out.push_str("\nFirst of each kind:\n");
    for f in shown {
        writeln!(
            out,
            "\n#{} as {:?}: {}\n  request: {}",
            f.case,
            f.caller,
            f.problem,
            excerpt(&f.request, 1500)
        )
        .unwrap();
    }
    out
}

/// At most `max` characters of the text, marked when cut.
fn excerpt(text: &str, max: usize) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(max).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

/// The text around a byte offset, `radius` bytes either side (on char boundaries).
fn excerpt_around(text: &str, at: usize, radius: usize) -> String {
    let mut start = at.saturating_sub(radius);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (at + radius).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    text[start..end].to_string()
}
