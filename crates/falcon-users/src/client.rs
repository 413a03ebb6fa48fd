//! The [`Falcon`] handle: one runtime shared by every clone, a token, a deadline; the generated
//! client through [`Falcon::api`], and the client every convenience method starts from.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::error::Result;
use crate::model::cid::Cid;
use crate::model::ids::BatchLimits;
use crate::runtime::minter::Minter;
use crate::runtime::pipeline;
use crate::runtime::retry::RetryPolicy;
use crate::runtime::shared::Runtime;
use crate::runtime::stats::StatsSnapshot;

/// A connection to the Falcon User Management API: credentials, cloud, token cache, retry policy
/// and rate limiter. Cheap to clone (`Arc` inside); `Send + Sync`.
///
/// ```no_run
/// # async fn demo() -> falcon_users::Result<()> {
/// use falcon_users::{Cloud, Falcon};
/// use futures::TryStreamExt;
///
/// let falcon = Falcon::builder()
///     .client_id("my-client-id")
///     .client_secret("my-secret")
///     .cloud(Cloud::Us2)
///     .build()?;
/// let users: Vec<_> = falcon.users(Default::default()).try_collect().await?;
/// println!("{} users", users.len());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Falcon {
    runtime: Arc<Runtime>,
    token: Arc<Minter>,
    deadline: Duration,
    /// The generated client of this handle (its token, its CID's budget, its deadline), made
    /// once: a call borrows it instead of building one (the base URL copied, the hook
    /// allocated) every time. A host moved by autodiscovery is applied per request.
    api: Arc<falcon_users_api::Client>,
}

impl fmt::Debug for Falcon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Falcon")
            .field("base_url", &self.runtime.settings.endpoint.url().as_str())
            .field("client_id", &self.runtime.settings.credentials.client_id())
            .field("member_cid", &self.member_cid())
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl Falcon {
    /// The first handle of a new runtime: the credentials' own tenant, or `member`.
    pub(crate) fn new(runtime: Arc<Runtime>, member: Option<Cid>) -> Falcon {
        let lane = runtime.lane(member.as_ref());
        let token = Arc::new(Minter::new(Arc::clone(&runtime), lane));
        let deadline = runtime.settings.deadline;
        Falcon::assemble(runtime, token, deadline)
    }

    /// A handle with the generated client its parts make.
    fn assemble(runtime: Arc<Runtime>, token: Arc<Minter>, deadline: Duration) -> Falcon {
        let api = Arc::new(pipeline::client(
            &runtime,
            token.limiter(),
            Some(token.clone()),
            deadline,
        ));
        Falcon {
            runtime,
            token,
            deadline,
            api,
        }
    }

    /// The generated low-level client, authenticated and going through the same retry and
    /// rate-limit path: every operation of the API is reachable from here.
    ///
    /// ```no_run
    /// # async fn demo(falcon: falcon_users::Falcon) -> Result<(), Box<dyn std::error::Error>> {
    /// let perms = falcon.api().queries_permissions_v1().limit(10).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn api(&self) -> &falcon_users_api::Client {
        &self.api
    }

    /// A handle acting in a Flight Control member CID, with its own lazily minted token and its
    /// own pacing: the service budgets requests per CID, so a member handle is paced (and held
    /// after a 429) by that CID's budget alone, and never slows the parent or another member.
    /// Handles for the same CID share one token and one budget. Once no handle for a CID is
    /// left, its token and budget are kept for a later handle there, for the 64 CIDs most
    /// recently asked for: a walk over a large fleet does not keep one per child.
    ///
    /// Takes a [`Cid`], already checked: a CID a user typed or pasted is parsed once, where it
    /// comes in, with [`str::parse`] (which accepts the console's `-XX` suffix and upper case, and
    /// says what is wrong with anything else); so this cannot fail.
    ///
    /// ```no_run
    /// # fn demo(falcon: falcon_users::Falcon) -> falcon_users::Result<()> {
    /// let child: falcon_users::Cid = "0123456789ABCDEF0123456789ABCDEF-2A".parse()?;
    /// let member = falcon.for_member(&child);
    /// assert_eq!(member.member_cid(), Some(&child));
    /// # Ok(()) }
    /// ```
    pub fn for_member(&self, cid: &Cid) -> Falcon {
        let lane = self.runtime.lane(Some(cid));
        let token = Arc::new(Minter::new(Arc::clone(&self.runtime), lane));
        Falcon::assemble(Arc::clone(&self.runtime), token, self.deadline)
    }

    /// The same client with another overall deadline per call (retries included).
    pub fn with_deadline(&self, deadline: Duration) -> Falcon {
        Falcon::assemble(Arc::clone(&self.runtime), Arc::clone(&self.token), deadline)
    }

    /// The member CID this handle acts in, if any.
    pub fn member_cid(&self) -> Option<&Cid> {
        self.token.member_cid()
    }

    /// The API base URL in use (after any autodiscovery).
    pub fn base_url(&self) -> url::Url {
        self.runtime.settings.endpoint.url()
    }

    /// The cloud in force as a saved plan names it: its region (`us-1`, ...), the name given
    /// to a custom endpoint ([`FalconBuilder::endpoint_name`](crate::FalconBuilder::endpoint_name)), or its URL.
    pub fn cloud_label(&self) -> String {
        self.runtime.settings.endpoint.label()
    }

    /// The API client id (never the secret).
    pub fn client_id(&self) -> &str {
        self.runtime.settings.credentials.client_id()
    }

    /// Gets a token now (normally this happens on the first call), so that credential and
    /// cloud problems show up early.
    ///
    /// Waits at most the handle's deadline: callers that arrive while a token is being minted
    /// share that one request and its outcome.
    pub async fn authenticate(&self) -> Result<()> {
        self.token.token(self.deadline).await.map(drop)
    }

    /// Revokes this handle's current token at the API and forgets it.
    pub async fn revoke(&self) -> Result<()> {
        self.token.revoke().await
    }

    /// What this client (and its member handles) has sent so far.
    pub fn stats(&self) -> StatsSnapshot {
        self.runtime.stats.snapshot()
    }

    /// The counter of rows the listings of this handle dropped as received more than once.
    pub(crate) fn duplicates(&self) -> Arc<std::sync::atomic::AtomicU64> {
        Arc::clone(&self.runtime.stats.duplicates)
    }

    /// The generated client, with a valid token already in hand (so auth failures come back
    /// as typed [`crate::error::Error::Auth`] rather than as the hook's message).
    pub(crate) async fn ready(&self) -> Result<&falcon_users_api::Client> {
        // The common case, a token in hand, costs a look at the cache, not a copy of the token.
        if !self.token.fresh() {
            self.authenticate().await?;
        }
        Ok(self.api())
    }

    /// Sends a request built by hand through this handle's pipeline, as a generated call of
    /// `operation` would be sent (its token, its CID's pacing, its deadline).
    pub(crate) async fn send_built(
        &self,
        request: reqwest::Request,
        operation: &'static falcon_users_api::Operation,
    ) -> std::result::Result<
        reqwest::Response,
        falcon_users_api::Error<falcon_users_api::types::MsaspecResponseFields>,
    > {
        pipeline::send_built(
            &self.runtime,
            self.token.limiter(),
            Arc::clone(&self.token) as Arc<dyn pipeline::BearerSource>,
            self.deadline,
            request,
            operation,
        )
        .await
    }

    /// Ids per request and batches in flight for id-list operations.
    pub(crate) fn batch(&self) -> BatchLimits {
        self.runtime.settings.batch
    }

    /// The `cid` to send to operations that take one: the member CID of this handle, if any.
    pub(crate) fn cid_param(&self) -> Option<String> {
        self.member_cid().map(ToString::to_string)
    }

    /// How requests are retried (also how long a workflow waits before checking a change again).
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.runtime.settings.retry
    }

    /// The clock this handle takes its waits on (a [`clock::ManualClock`](crate::clock::ManualClock) in tests).
    pub fn clock(&self) -> &dyn Clock {
        self.runtime.settings.clock.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use falcon_users_api::operations;

    /// The names of the functions declared in the `impl Falcon` blocks of `text`.
    fn falcon_methods(text: &str) -> Vec<String> {
        let mut names = Vec::new();
        let mut inside = false;
        for line in text.lines() {
            if line.starts_with("impl Falcon {") {
                inside = true;
            } else if inside && line == "}" {
                inside = false;
            } else if inside && let Some((_, rest)) = line.split_once("fn ") {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                names.push(name);
            }
        }
        names
    }

    fn sources(dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(std::fs::read_to_string(path).unwrap());
            }
        }
    }

    #[test]
    fn the_method_scan_sees_falcon_methods() {
        let text =
            "impl Falcon {\n    pub async fn users(&self) {}\n    fn ready() {}\n}\nfn free() {}\n";
        assert_eq!(falcon_methods(text), ["users", "ready"]);
    }

    /// `falcon.x()` and `falcon.api().x()` never mean two different operations: no `Falcon`
    /// method is named like an operation of the table (the generated client's method names).
    #[test]
    fn no_falcon_method_is_named_like_a_table_operation() {
        let mut texts = Vec::new();
        sources(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut texts,
        );
        let methods: Vec<String> = texts.iter().flat_map(|t| falcon_methods(t)).collect();
        assert!(methods.iter().any(|m| m == "get_users"), "{methods:?}");
        for op in operations::ALL {
            assert!(
                !methods.iter().any(|m| m == op.name),
                "Falcon::{} shadows the table operation {op}",
                op.name
            );
        }
    }
}
