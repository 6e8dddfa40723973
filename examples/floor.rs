//! The floor under the gateway's CPU: the portal dashboard's query executed by a minimal
//! async-graphql schema of the same shape, over data already in memory: no HTTP, no
//! token, no grants, no loaders, no database, no extension, no audit. What this costs per
//! request is what async-graphql itself (as the gateway builds it, `vendor/async-graphql`)
//! spends to produce an answer of this shape and size; `make instructions` counts it
//! beside the gateway's figure (bench/run.py, BENCHMARKS.md).
//!
//! ```sh
//! floor <requests>
//! ```
//!
//! Prints one JSON line: requests and answer bytes per request.

use async_graphql::{EmptyMutation, EmptySubscription, Enum, Object, Schema, SimpleObject};

/// The server's allocator, so that the comparison is of the engines alone.
#[global_allocator]
static GLOBAL: portal_gateway::alloc::Mimalloc = portal_gateway::alloc::Mimalloc;

/// The dashboard of `bench/run.py`, unchanged.
const DASHBOARD: &str = "query Dashboard { projects(first: 20) { nodes { name status stage { name } \
    owner { name } budget { amount currency } account { name } \
    tasks(first: 10) { nodes { title status assignee { name } comments { totalCount } } } } } }";

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
enum Status {
    Active,
    Done,
}

#[derive(SimpleObject, Clone)]
struct Named {
    name: String,
}

#[derive(SimpleObject, Clone)]
struct Budget {
    amount: String,
    currency: String,
}

#[derive(SimpleObject, Clone)]
struct Comments {
    total_count: i64,
}

#[derive(SimpleObject, Clone)]
struct Task {
    title: String,
    status: Status,
    assignee: Option<Named>,
    comments: Comments,
}

#[derive(SimpleObject, Clone)]
struct Tasks {
    nodes: Vec<Task>,
}

#[derive(Clone)]
struct Project {
    name: String,
    status: Status,
    stage: Named,
    owner: Named,
    budget: Budget,
    account: Named,
    tasks: Vec<Task>,
}

#[Object]
impl Project {
    async fn name(&self) -> &str {
        &self.name
    }
    async fn status(&self) -> Status {
        self.status
    }
    async fn stage(&self) -> &Named {
        &self.stage
    }
    async fn owner(&self) -> &Named {
        &self.owner
    }
    async fn budget(&self) -> &Budget {
        &self.budget
    }
    async fn account(&self) -> &Named {
        &self.account
    }
    async fn tasks(&self, first: i32) -> Tasks {
        Tasks {
            nodes: self.tasks.iter().take(first.max(0) as usize).cloned().collect(),
        }
    }
}

struct Projects(Vec<Project>);

#[Object]
impl Projects {
    async fn nodes(&self) -> &[Project] {
        &self.0
    }
}

struct Query(Vec<Project>);

#[Object]
impl Query {
    async fn projects(&self, first: i32) -> Projects {
        Projects(self.0.iter().take(first.max(0) as usize).cloned().collect())
    }
}

/// Twenty projects of ten tasks, with strings of the lengths the bench data has.
fn data() -> Vec<Project> {
    let named = |s: String| Named { name: s };
    (0..20)
        .map(|p| Project {
            name: format!("Project {p:04} of the benchmark account"),
            status: Status::Active,
            stage: named("In progress".into()),
            owner: named(format!("Staff member {p:02}")),
            budget: Budget {
                amount: format!("{}.00", 10_000 + p * 250),
                currency: "EUR".into(),
            },
            account: named(format!("Account {p:03} GmbH")),
            tasks: (0..10)
                .map(|t| Task {
                    title: format!("Task {t:02} of project {p:04}: review"),
                    status: if t % 3 == 0 { Status::Done } else { Status::Active },
                    assignee: (t % 4 != 0).then(|| named(format!("Staff member {t:02}"))),
                    comments: Comments { total_count: 3 },
                })
                .collect(),
        })
        .collect()
}

fn main() -> anyhow::Result<()> {
    let requests: usize = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: floor <requests>"))?
        .parse()?;
    let schema = Schema::build(Query(data()), EmptyMutation, EmptySubscription).finish();
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let mut bytes = 0;
    for _ in 0..requests {
        let response = runtime.block_on(schema.execute(DASHBOARD));
        anyhow::ensure!(response.errors.is_empty(), "{:?}", response.errors);
        // Serialised as the gateway serialises its answers.
        bytes += serde_json::to_vec(&response)?.len();
    }
    println!(
        "{}",
        serde_json::json!({ "requests": requests, "answer_bytes": bytes / requests.max(1) })
    );
    Ok(())
}
