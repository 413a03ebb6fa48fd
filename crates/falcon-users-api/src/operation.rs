//! What the operation table says about one operation (the table itself is generated into
//! [`crate::operations`]).

/// The HTTP method of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpMethod {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

impl HttpMethod {
    /// The method as `reqwest` (and `http`) name it.
    pub fn as_http(self) -> reqwest::Method {
        match self {
            HttpMethod::Get => reqwest::Method::GET,
            HttpMethod::Post => reqwest::Method::POST,
            HttpMethod::Put => reqwest::Method::PUT,
            HttpMethod::Patch => reqwest::Method::PATCH,
            HttpMethod::Delete => reqwest::Method::DELETE,
        }
    }
}

/// How a request of an operation proves who sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Auth {
    /// Nothing: the token endpoint, where the credentials travel in the body.
    None,
    /// HTTP Basic with the client id and secret (token revocation).
    Basic,
    /// An OAuth2 bearer token carrying these scopes.
    Bearer {
        /// The scopes the token must carry, e.g. `user-management:write`.
        scopes: &'static [&'static str],
    },
}

/// One operation of the spec, with the facts hand-written code needs about it.
///
/// ```
/// use falcon_users_api::{operations, HttpMethod};
/// let op = operations::by_id("retrieveUsersGETV1").unwrap();
/// assert_eq!(op.name, "retrieve_users_get_v1");
/// assert_eq!(op.method, HttpMethod::Post);
/// assert!(op.read_only, "ids travel in the body, but nothing changes");
/// assert!(operations::LEGACY_CREATE_USER.replaced_by == Some("createUserV1"));
/// assert_eq!(operations::OAUTH2_ACCESS_TOKEN.success, 201);
/// assert!(operations::OAUTH2_ACCESS_TOKEN.statuses.contains(&403), "wrong credentials");
/// assert!(operations::OAUTH2_ACCESS_TOKEN.secret_response);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Operation {
    /// The upstream operationId, e.g. `queryUserV1`.
    pub id: &'static str,
    /// The generated client's method name (and the id its hooks see), e.g. `query_user_v1`.
    pub name: &'static str,
    /// The HTTP method.
    pub method: HttpMethod,
    /// The path below the cloud's base URL.
    pub path: &'static str,
    /// Changes nothing, so a lost or failed request may be sent again: every GET, and the
    /// POSTs the spec marks `x-falcon-read-only` (ids in the body, token minting).
    pub read_only: bool,
    /// The one 2xx status the spec declares. The service sometimes answers another 2xx; the
    /// `falcon-users` pipeline reads any 2xx as this one, so a decodable body is a success.
    pub success: u16,
    /// Every status the spec declares for the operation, ascending (the success among them).
    /// Besides these, any operation may get the gateway's 401 and 429.
    pub statuses: &'static [u16],
    /// The success body is a credential (`x-falcon-secret-response`, the token mint): no part of
    /// any answer to it may reach an error message, `Debug` output or a log.
    pub secret_response: bool,
    /// How a request authenticates.
    pub auth: Auth,
    /// For a deprecated operation, the upstream id of the one to use instead.
    pub replaced_by: Option<&'static str>,
    /// The `sort` values the spec enumerates (empty when it states none).
    pub sort_values: &'static [&'static str],
    /// The fields a `sort` may name (`uid` for `uid|asc`).
    pub sort_fields: &'static [&'static str],
    /// The fields an FQL `filter` may name.
    pub filter_fields: &'static [&'static str],
}

impl Operation {
    /// Whether the operation is deprecated (it has a replacement).
    pub fn deprecated(&self) -> bool {
        self.replaced_by.is_some()
    }

    /// Whether a bearer token for it must carry `scope`.
    pub fn needs_scope(&self, scope: &str) -> bool {
        matches!(self.auth, Auth::Bearer { scopes } if scopes.contains(&scope))
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id)
    }
}
