//! API clients, their scopes, the tokens they mint, and per-client rate limits (the OAuth2
//! side of the simulator; which scopes an operation needs is the operation table's).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// Read scope (what the read-only client holds).
pub const READ: &str = "user-management:read";
/// Write scope.
pub const WRITE: &str = "user-management:write";

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
    /// Past its lifetime or revoked.
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
    tokens: Mutex<HashMap<String, TokenInfo>>,
    buckets: Mutex<HashMap<String, Bucket>>,
    counter: std::sync::atomic::AtomicU64,
    salt: u64,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
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
            tokens: Mutex::new(HashMap::new()),
            buckets: Mutex::new(HashMap::new()),
            counter: std::sync::atomic::AtomicU64::new(0),
            salt,
        }
    }

    /// The region tokens are minted for.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The configured lifetime.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Mints a token for a client acting in `cid`.
    pub fn mint(&self, client_id: &str, cid: &str, scopes: Vec<&'static str>) -> String {
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let random =
            fastrand::u64(..) ^ self.salt.rotate_left(17) ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let token = format!("{}.{random:016x}{:016x}", self.region, fastrand::u64(..));
        let info = TokenInfo {
            client_id: client_id.to_owned(),
            cid: cid.to_owned(),
            scopes,
            expires_at: Instant::now() + self.ttl,
        };
        self.lock_tokens().insert(token.clone(), info);
        token
    }

    /// What `token` stands for, if it is valid now.
    pub fn check(&self, token: &str) -> Result<TokenInfo, TokenProblem> {
        if let Some((region, _)) = token.split_once('.')
            && region != self.region
            && (region.starts_with("us-") || region.starts_with("eu-"))
        {
            return Err(TokenProblem::OtherRegion);
        }
        match self.lock_tokens().get(token) {
            None => Err(TokenProblem::Unknown),
            Some(info) if info.expires_at <= Instant::now() => Err(TokenProblem::Expired),
            Some(info) => Ok(info.clone()),
        }
    }

    /// Revokes `token`; true if it existed.
    pub fn revoke(&self, token: &str) -> bool {
        self.lock_tokens().remove(token).is_some()
    }

    /// Makes every token of the instance expire now (for token-churn tests).
    pub fn expire_all(&self) {
        let now = Instant::now();
        for info in self.lock_tokens().values_mut() {
            info.expires_at = now;
        }
    }

    /// Caps the bucket at `burst` requests (default: a whole minute's worth), so that the
    /// refill rate binds from the first second.
    pub fn with_burst(mut self, burst: u32) -> Self {
        self.burst = burst.max(1);
        self
    }

    /// Spends one request of `client_id`'s budget (token bucket refilled continuously).
    pub fn spend(&self, client_id: &str) -> RateVerdict {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let capacity = f64::from(self.burst);
        let per_second = f64::from(self.per_minute) / 60.0;
        let bucket = buckets.entry(client_id.to_owned()).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let refill = now.duration_since(bucket.at).as_secs_f64() * per_second;
        bucket.tokens = (bucket.tokens + refill).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            RateVerdict {
                limit: self.per_minute,
                remaining: bucket.tokens as u32,
                retry_after: None,
            }
        } else {
            let wait = (1.0 - bucket.tokens) / per_second;
            let at = SystemTime::now() + Duration::from_secs_f64(wait);
            RateVerdict {
                limit: self.per_minute,
                remaining: 0,
                retry_after: Some(at),
            }
        }
    }

    fn lock_tokens(&self) -> std::sync::MutexGuard<'_, HashMap<String, TokenInfo>> {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner())
    }
}
