//! API clients, their scopes, the tokens they mint, and rate limits per client and CID (the
//! OAuth2 side of the simulator; which scopes an operation needs is the operation table's).
//!
//! The service budgets requests per customer (CID): a Flight Control parent's client has one
//! budget for its own CID and one for each child it mints member tokens for, so spending a
//! child's budget leaves the parent's and the other children's whole.
//!
//! The registry holds live tokens only: an expired one is purged when the next is minted, and
//! a revoked one at once. Each client holds at most its own number of live tokens, so one
//! client minting in a loop is refused on its own and every other client still gets tokens. A token carries a tag only this instance can compute, so one that is
//! no longer held is still told apart from a forgery: it answers "expired", as it did while it
//! was held.

use std::collections::{BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use crate::clock::SimClock;

/// Read scope (what the read-only client holds).
pub const READ: &str = "user-management:read";
/// Write scope.
pub const WRITE: &str = "user-management:write";
pub use crate::config::UNAUTHENTICATED_PER_MINUTE;

/// Every scope an operation of the table needs, in table order: what the full client holds, so
/// an operation added to the spec brings its scope along with no list here to keep.
pub fn every_scope() -> Vec<&'static str> {
    let mut scopes: Vec<&'static str> = Vec::new();
    for op in falcon_users_api::operations::ALL {
        if let falcon_users_api::Auth::Bearer { scopes: needed } = op.auth {
            for scope in needed {
                if !scopes.contains(scope) {
                    scopes.push(scope);
                }
            }
        }
    }
    scopes
}

/// Credentials of a registered API client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
}

/// A registered API client.
#[derive(Debug, Clone)]
pub struct ApiClient {
    /// Its secret.
    pub secret: String,
    /// Its scopes.
    pub scopes: Vec<&'static str>,
    /// The CID it belongs to.
    pub cid: String,
}

/// What a bearer token stands for.
#[derive(Debug, Clone)]
pub struct TokenInfo {
    /// The client that minted it.
    pub client_id: String,
    /// The CID it acts in (the member CID for Flight Control tokens).
    pub cid: String,
    /// Its scopes.
    pub scopes: Vec<&'static str>,
    /// When it stops working.
    pub expires_at: Instant,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    /// Never minted here (or forged).
    Unknown,
    /// Minted here, but past its lifetime or revoked.
    Expired,
    /// Minted by another region's instance.
    OtherRegion,
}

/// Clients, tokens and rate buckets of one simulator instance.
#[derive(Debug)]
pub struct Clients {
    region: String,
    ttl: Duration,
    per_minute: u32,
    /// Bucket capacity: how many requests may go at once before the refill rate binds.
    burst: u32,
    /// Registered clients by id.
    pub clients: HashMap<String, ApiClient>,
    tokens: Mutex<Tokens>,
    /// Live tokens one client may hold.
    max_live: usize,
    /// API budgets by (client id, CID the token acts in).
    buckets: Mutex<HashMap<(String, String), Bucket>>,
    /// Budgets of requests that failed to authenticate, per source address.
    refused: Mutex<HashMap<IpAddr, Bucket>>,
    refused_per_minute: u32,
    counter: std::sync::atomic::AtomicU64,
    salt: u64,
    /// What the tags of this instance's tokens are computed with.
    key: u64,
    /// Where token lifetimes and rate buckets read the time.
    clock: SimClock,
}

/// The live tokens, by the nonce their text carries, and the same nonces by expiry (all of
/// them, so that purging takes the expired ones from the front, and each client's, so that its
/// count and its first expiry are at hand).
#[derive(Debug, Default)]
struct Tokens {
    live: HashMap<u64, TokenInfo>,
    by_expiry: BTreeSet<(Instant, u64)>,
    by_client: HashMap<String, BTreeSet<(Instant, u64)>>,
}

impl Tokens {
    /// Drops every token expired at `now`.
    fn purge(&mut self, now: Instant) {
        while let Some(&(at, nonce)) = self.by_expiry.first() {
            if at > now {
                break;
            }
            self.remove(nonce);
        }
    }

    fn insert(&mut self, nonce: u64, info: TokenInfo) {
        let key = (info.expires_at, nonce);
        self.by_expiry.insert(key);
        self.by_client
            .entry(info.client_id.clone())
            .or_default()
            .insert(key);
        self.live.insert(nonce, info);
    }

    fn remove(&mut self, nonce: u64) -> Option<TokenInfo> {
        let info = self.live.remove(&nonce)?;
        let key = (info.expires_at, nonce);
        self.by_expiry.remove(&key);
        if let Some(mine) = self.by_client.get_mut(&info.client_id) {
            mine.remove(&key);
            if mine.is_empty() {
                self.by_client.remove(&info.client_id);
            }
        }
        Some(info)
    }

    /// The live tokens of `client_id`, by expiry.
    fn of(&self, client_id: &str) -> Option<&BTreeSet<(Instant, u64)>> {
        self.by_client.get(client_id)
    }
}

/// Why a token was not minted: the client holds its most live tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyTokens {
    /// The most live tokens one client holds.
    pub max: usize,
    /// When the first of the client's tokens expires.
    pub retry_after: SystemTime,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(capacity: u32, now: Instant) -> Self {
        Bucket {
            tokens: f64::from(capacity),
            at: now,
        }
    }

    /// Refills at `per_minute` up to `capacity`, then takes one request if `spend` and one is
    /// left; refused (with when to retry) when none is left, spent or not.
    fn spend(&mut self, per_minute: u32, capacity: u32, spend: bool, now: Instant) -> RateVerdict {
        let per_second = f64::from(per_minute) / 60.0;
        let refill = now.duration_since(self.at).as_secs_f64() * per_second;
        self.tokens = (self.tokens + refill).min(f64::from(capacity));
        self.at = now;
        if self.tokens >= 1.0 {
            if spend {
                self.tokens -= 1.0;
            }
            RateVerdict {
                limit: per_minute,
                remaining: self.tokens as u32,
                retry_after: None,
            }
        } else {
            let wait = (1.0 - self.tokens) / per_second;
            RateVerdict {
                limit: per_minute,
                remaining: 0,
                retry_after: Some(SystemTime::now() + Duration::from_secs_f64(wait)),
            }
        }
    }
}

/// The rate-limit verdict of one request.
#[derive(Debug, Clone, Copy)]
pub struct RateVerdict {
    /// Requests per minute.
    pub limit: u32,
    /// Left now.
    pub remaining: u32,
    /// When to retry, if refused.
    pub retry_after: Option<SystemTime>,
}

impl Clients {
    /// An empty registry for `region`.
    pub fn new(region: &str, ttl: Duration, per_minute: u32, salt: u64) -> Self {
        Self {
            region: region.to_owned(),
            ttl,
            per_minute: per_minute.max(1),
            burst: per_minute.max(1),
            clients: HashMap::new(),
            tokens: Mutex::default(),
            max_live: usize::MAX,
            buckets: Mutex::new(HashMap::new()),
            refused: Mutex::new(HashMap::new()),
            refused_per_minute: UNAUTHENTICATED_PER_MINUTE,
            counter: std::sync::atomic::AtomicU64::new(0),
            salt,
            key: fastrand::u64(..) ^ salt,
            clock: SimClock::default(),
        }
    }

    /// Reads the time from `clock` (default: real time), so that advancing it expires tokens
    /// and refills budgets. Retry times stay in real time: clients compare them with their own.
    pub fn with_clock(mut self, clock: SimClock) -> Self {
        self.clock = clock;
        self
    }

    /// Holds at most `max` live tokens for each client (default: no bound).
    pub fn with_max_live_tokens_per_client(mut self, max: usize) -> Self {
        self.max_live = max;
        self
    }

    /// Where it reads the time.
    pub fn clock(&self) -> &SimClock {
        &self.clock
    }

    /// Lets a source address send `per_minute` requests that fail to authenticate (default
    /// [`UNAUTHENTICATED_PER_MINUTE`]).
    pub fn with_refused_per_minute(mut self, per_minute: u32) -> Self {
        self.refused_per_minute = per_minute.max(1);
        self
    }

    /// The region tokens are minted for.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The configured lifetime.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Mints a token for a client acting in `cid`, unless that client holds its most live
    /// tokens already (other clients' tokens do not count).
    pub fn mint(
        &self,
        client_id: &str,
        cid: &str,
        scopes: Vec<&'static str>,
    ) -> Result<String, TooManyTokens> {
        let now = self.clock.instant();
        let mut tokens = self.lock_tokens();
        tokens.purge(now);
        if let Some(mine) = tokens.of(client_id)
            && mine.len() >= self.max_live
        {
            let first = mine.first().map_or(now, |(at, _)| *at);
            return Err(TooManyTokens {
                max: self.max_live,
                retry_after: SystemTime::now() + first.saturating_duration_since(now),
            });
        }
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut nonce =
            fastrand::u64(..) ^ self.salt.rotate_left(17) ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        while tokens.live.contains_key(&nonce) {
            nonce = fastrand::u64(..);
        }
        tokens.insert(
            nonce,
            TokenInfo {
                client_id: client_id.to_owned(),
                cid: cid.to_owned(),
                scopes,
                expires_at: now + self.ttl,
            },
        );
        Ok(format!(
            "{}.{nonce:016x}{:016x}",
            self.region,
            self.tag(nonce)
        ))
    }

    /// Tokens held now: the live ones, and those expired since the last mint.
    pub fn held(&self) -> usize {
        self.lock_tokens().live.len()
    }

    /// The tag of a token with this nonce: a keyed hash only this instance computes.
    fn tag(&self, nonce: u64) -> u64 {
        let mut hasher = std::hash::DefaultHasher::new();
        (self.key, nonce).hash(&mut hasher);
        hasher.finish()
    }

    /// The nonce of `token` if this instance minted it (its tag is right), held or not.
    fn nonce(&self, token: &str) -> Option<u64> {
        let hex = token
            .strip_prefix(self.region.as_str())?
            .strip_prefix('.')?;
        let hex_u64 = |s: &str| {
            (s.len() == 16 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
                .then(|| u64::from_str_radix(s, 16).ok())
                .flatten()
        };
        let nonce = hex_u64(hex.get(..16)?)?;
        let tag = hex_u64(hex.get(16..)?)?;
        (tag == self.tag(nonce)).then_some(nonce)
    }

    /// What `token` stands for, if it is valid now.
    pub fn check(&self, token: &str) -> Result<TokenInfo, TokenProblem> {
        if let Some((region, _)) = token.split_once('.')
            && region != self.region
            && (region.starts_with("us-") || region.starts_with("eu-"))
        {
            return Err(TokenProblem::OtherRegion);
        }
        let nonce = self.nonce(token).ok_or(TokenProblem::Unknown)?;
        match self.lock_tokens().live.get(&nonce) {
            Some(info) if info.expires_at > self.clock.instant() => Ok(info.clone()),
            // Minted here: expired (held still, or purged) or revoked.
            _ => Err(TokenProblem::Expired),
        }
    }

    /// Revokes `token` if it was issued to `client_id` (RFC 7009 §2.1: the server verifies
    /// that the token was issued to the client making the request); true if it was live and
    /// that client's.
    pub fn revoke(&self, token: &str, client_id: &str) -> bool {
        let Some(nonce) = self.nonce(token) else {
            return false;
        };
        let mut tokens = self.lock_tokens();
        if tokens
            .live
            .get(&nonce)
            .is_none_or(|info| info.client_id != client_id)
        {
            return false;
        }
        tokens
            .remove(nonce)
            .is_some_and(|info| info.expires_at > self.clock.instant())
    }

    /// Makes every token of the instance expire now (for token-churn tests): none is held any
    /// more, and each answers "expired".
    pub fn expire_all(&self) {
        *self.lock_tokens() = Tokens::default();
    }

    /// Caps the bucket at `burst` requests (default: a whole minute's worth), so that the
    /// refill rate binds from the first second.
    pub fn with_burst(mut self, burst: u32) -> Self {
        self.burst = burst.max(1);
        self
    }

    /// Spends one request of `client_id`'s budget in `cid` (the CID its token acts in: its
    /// own, or the member CID it was minted for; token bucket refilled continuously).
    pub fn spend(&self, client_id: &str, cid: &str) -> RateVerdict {
        self.client_budget(client_id, cid, true)
    }

    /// `client_id`'s budget in `cid`, without spending any: what the token endpoints report
    /// (the budget is the API's; minting and revoking are not charged to it, but are refused
    /// when it is empty).
    pub fn client_left(&self, client_id: &str, cid: &str) -> RateVerdict {
        self.client_budget(client_id, cid, false)
    }

    fn client_budget(&self, client_id: &str, cid: &str, spend: bool) -> RateVerdict {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let now = self.clock.instant();
        let bucket = buckets
            .entry((client_id.to_owned(), cid.to_owned()))
            .or_insert_with(|| Bucket::full(self.burst, now));
        bucket.spend(self.per_minute, self.burst, spend, now)
    }

    /// Spends one request of `source`'s budget for requests that fail to authenticate
    /// (by default [`UNAUTHENTICATED_PER_MINUTE`]).
    pub fn spend_unauthenticated(&self, source: IpAddr) -> RateVerdict {
        self.unauthenticated(source, true)
    }

    /// `source`'s budget for requests that fail to authenticate, without spending any: what an
    /// answer that authenticated nobody reports.
    pub fn unauthenticated_left(&self, source: IpAddr) -> RateVerdict {
        self.unauthenticated(source, false)
    }

    fn unauthenticated(&self, source: IpAddr, spend: bool) -> RateVerdict {
        let now = self.clock.instant();
        let mut refused = self.refused.lock().unwrap_or_else(|p| p.into_inner());
        let limit = self.refused_per_minute;
        let bucket = refused
            .entry(source)
            .or_insert_with(|| Bucket::full(limit, now));
        bucket.spend(limit, limit, spend, now)
    }

    fn lock_tokens(&self) -> std::sync::MutexGuard<'_, Tokens> {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clients(ttl: Duration) -> Clients {
        Clients::new("us-1", ttl, 6000, 7)
    }

    fn mint(clients: &Clients) -> Result<String, TooManyTokens> {
        clients.mint("c", "cid", vec![READ])
    }

    #[test]
    fn expired_tokens_are_purged_on_the_next_mint_and_still_answer_expired() {
        let clients = clients(Duration::from_millis(100));
        let old: Vec<String> = (0..500).map(|_| mint(&clients).unwrap()).collect();
        assert_eq!(clients.held(), 500);
        assert!(clients.check(&old[0]).is_ok());
        std::thread::sleep(Duration::from_millis(150));
        let fresh = mint(&clients).unwrap();
        assert_eq!(clients.held(), 1, "only the live token is held");
        assert_eq!(clients.check(&old[0]).err(), Some(TokenProblem::Expired));
        assert_eq!(clients.check(&old[499]).err(), Some(TokenProblem::Expired));
        assert!(clients.check(&fresh).is_ok());
    }

    #[test]
    fn advancing_the_clock_expires_tokens_and_refills_budgets_without_waiting() {
        let clock = SimClock::default();
        let clients = Clients::new("us-1", Duration::from_secs(1799), 60, 7)
            .with_burst(1)
            .with_clock(clock.clone());
        let token = mint(&clients).unwrap();
        assert!(clients.spend("c", "cid").retry_after.is_none());
        assert!(
            clients.spend("c", "cid").retry_after.is_some(),
            "the burst of 1 is spent"
        );
        clock.advance(Duration::from_secs(1798));
        assert!(clients.check(&token).is_ok());
        assert!(
            clients.spend("c", "cid").retry_after.is_none(),
            "refilled by the clock"
        );
        clock.advance(Duration::from_secs(2));
        assert_eq!(clients.check(&token).err(), Some(TokenProblem::Expired));
    }

    #[test]
    fn each_cid_a_client_acts_in_has_its_own_budget() {
        let clients = Clients::new("us-1", Duration::from_secs(60), 60, 7).with_burst(2);
        for _ in 0..2 {
            assert!(clients.spend("c", "child-1").retry_after.is_none());
        }
        assert!(clients.spend("c", "child-1").retry_after.is_some());
        assert!(clients.client_left("c", "child-1").retry_after.is_some());
        for (client, cid) in [("c", "parent"), ("c", "child-2"), ("other", "child-1")] {
            let left = clients.client_left(client, cid);
            assert_eq!(
                (left.remaining, left.retry_after),
                (2, None),
                "{client} in {cid}"
            );
        }
    }

    #[test]
    fn revoked_tokens_are_dropped_at_once_and_answer_expired() {
        let clients = clients(Duration::from_secs(60));
        let token = mint(&clients).unwrap();
        let other = mint(&clients).unwrap();
        assert!(clients.revoke(&token, "c"));
        assert!(!clients.revoke(&token, "c"), "revoked already");
        assert_eq!(clients.held(), 1);
        assert_eq!(clients.check(&token).err(), Some(TokenProblem::Expired));
        assert!(clients.check(&other).is_ok());
    }

    #[test]
    fn tokens_not_minted_here_are_unknown() {
        let clients = clients(Duration::from_secs(60));
        let token = mint(&clients).unwrap();
        let elsewhere = Clients::new("us-1", Duration::from_secs(60), 6000, 7);
        let theirs = mint(&elsewhere).unwrap();
        let mut flipped = token.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).unwrap();
        for forged in [
            "forged",
            "",
            "us-1.",
            &token[..token.len() - 1],
            &format!("{token}0"),
            &token.to_uppercase().replace("US-1", "us-1"),
            &flipped,
            &theirs,
        ] {
            assert_eq!(
                clients.check(forged).err(),
                Some(TokenProblem::Unknown),
                "{forged:?}"
            );
            assert!(!clients.revoke(forged, "c"), "{forged:?}");
        }
        assert_eq!(clients.held(), 1);
        assert_eq!(
            clients.check(&token.replacen("us-1", "eu-1", 1)).err(),
            Some(TokenProblem::OtherRegion)
        );
    }

    #[test]
    fn live_tokens_are_bounded() {
        let clients = clients(Duration::from_secs(60)).with_max_live_tokens_per_client(3);
        let first = mint(&clients).unwrap();
        mint(&clients).unwrap();
        mint(&clients).unwrap();
        let refused = mint(&clients).unwrap_err();
        assert_eq!(refused.max, 3);
        let wait = refused
            .retry_after
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        assert!(wait <= Duration::from_secs(60), "{wait:?}");
        assert!(
            wait > Duration::from_secs(50),
            "when the first expires: {wait:?}"
        );
        assert_eq!(clients.held(), 3);
        clients.revoke(&first, "c");
        mint(&clients).unwrap();
    }

    /// The bound is each client's: one client at its bound leaves every other one minting, and
    /// its count falls as its tokens expire (purged) or are revoked.
    #[test]
    fn each_client_has_its_own_bound_on_live_tokens() {
        let clock = SimClock::default();
        let clients = Clients::new("us-1", Duration::from_secs(60), 6000, 7)
            .with_max_live_tokens_per_client(2)
            .with_clock(clock.clone());
        let greedy: Vec<String> = (0..2).map(|_| mint(&clients).unwrap()).collect();
        assert_eq!(mint(&clients).unwrap_err().max, 2);
        for _ in 0..2 {
            clients.mint("other", "cid", vec![READ]).unwrap();
        }
        assert!(clients.mint("other", "cid", vec![READ]).is_err());
        assert!(clients.mint("third", "cid", vec![READ]).is_ok());
        assert_eq!(clients.held(), 5);
        assert!(clients.revoke(&greedy[0], "c"));
        mint(&clients).unwrap();
        assert!(mint(&clients).is_err(), "back at its bound");
        clock.advance(Duration::from_secs(61));
        mint(&clients).unwrap();
        assert_eq!(clients.held(), 1, "every expired token was purged");
        clients.mint("other", "cid", vec![READ]).unwrap();
    }

    #[test]
    fn expire_all_drops_every_token_and_each_answers_expired() {
        let clients = clients(Duration::from_secs(60));
        let tokens: Vec<String> = (0..10).map(|_| mint(&clients).unwrap()).collect();
        clients.expire_all();
        assert_eq!(clients.held(), 0);
        for token in &tokens {
            assert_eq!(clients.check(token).err(), Some(TokenProblem::Expired));
        }
    }
}
