//! Any operation sent as JSON: for the day the service has a field or a call that the generated
//! client does not know yet, without giving up what the pipeline does (token, pacing, retries,
//! body limit, deadline, error classification).

use falcon_users_api::{Auth, Operation};
use serde_json::Value;

use crate::client::Falcon;
use crate::error::{Error, Result};
use crate::runtime::response::{from_api, undecodable};

impl Falcon {
    /// Sends `operation` with the `query` pairs (repeat a name for a list: `("ids", a), ("ids",
    /// b)`) and an optional JSON `body`, and returns the answer's JSON (`Value::Null` for an
    /// empty body).
    ///
    /// The request goes through the same pipeline as every typed call: the handle's token (a
    /// member handle's token acts in its CID), the CID's pacing and 429 waits, retries only when
    /// [`Operation::read_only`] says nothing changes, the response size limit and the deadline.
    /// A status other than 2xx is the same [`Error`] a typed call gets (so
    /// [`Error::is_not_found`] and friends work).
    ///
    /// Any entry of [`falcon_users_api::operations`] can be sent, or an operation the spec does
    /// not have yet, declared as a `static`: its facts (method, path, whether it changes
    /// anything, the scopes it needs) are what the pipeline acts on. Token operations
    /// (anything not authenticated by a bearer token) are refused: the handle mints and revokes
    /// its own tokens.
    ///
    /// ```no_run
    /// # async fn demo(falcon: falcon_users::Falcon) -> falcon_users::Result<()> {
    /// use falcon_users::api::{Auth, HttpMethod, Operation, operations};
    ///
    /// // An operation of the table, answered as JSON: fields the typed client would drop stay.
    /// let page = falcon
    ///     .send_raw(&operations::QUERY_USER_V1, &[("limit", "10")], None)
    ///     .await?;
    /// println!("{}", page["meta"]["pagination"]["total"]);
    ///
    /// // A call upstream added after this release.
    /// static QUERY_THINGS: Operation = Operation {
    ///     id: "queryThingsV1",
    ///     name: "query_things_v1",
    ///     method: HttpMethod::Get,
    ///     path: "/user-management/queries/things/v1",
    ///     read_only: true,
    ///     success: 200,
    ///     statuses: &[200, 400, 403, 429, 500],
    ///     secret_response: false,
    ///     auth: Auth::Bearer { scopes: &["user-management:read"] },
    ///     replaced_by: None,
    ///     sort_values: &[],
    ///     sort_fields: &[],
    ///     filter_fields: &[],
    /// };
    /// let things = falcon.send_raw(&QUERY_THINGS, &[], None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_raw(
        &self,
        operation: &'static Operation,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Value> {
        if !matches!(operation.auth, Auth::Bearer { .. }) || operation.secret_response {
            return Err(Error::invalid(
                "operation",
                format!(
                    "{operation} is a token operation; the handle mints and revokes its own \
                     tokens (send API operations only)"
                ),
            ));
        }
        if !operation.path.starts_with('/') {
            return Err(Error::invalid(
                "operation",
                format!(
                    "{operation}: the path {:?} must start with '/'",
                    operation.path
                ),
            ));
        }
        // A token first, so a credential problem is the typed `Error::Auth` a typed call gets.
        self.ready().await?;
        let mut url = self.base_url();
        url.set_path(&format!(
            "{}{}",
            url.path().trim_end_matches('/'),
            operation.path
        ));
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let mut request = reqwest::Request::new(operation.method.as_http(), url);
        if let Some(body) = body {
            let bytes =
                serde_json::to_vec(body).map_err(|e| Error::invalid("body", e.to_string()))?;
            request.headers_mut().insert(
                reqwest::header::CONTENT_TYPE,
                reqwest::header::HeaderValue::from_static("application/json"),
            );
            *request.body_mut() = Some(bytes.into());
        }
        request.headers_mut().insert(
            reqwest::header::ACCEPT,
            reqwest::header::HeaderValue::from_static("application/json"),
        );
        let response = match self.send_built(request, operation).await {
            Ok(response) => response,
            Err(e) => return Err(from_api(operation, e).await),
        };
        if !response.status().is_success() {
            return Err(from_api(
                operation,
                falcon_users_api::Error::UnexpectedResponse(response),
            )
            .await);
        }
        let bytes = falcon_users_api::body::body_of(response)
            .await
            .map_err(|e| Error::Decode {
                operation: operation.id,
                message: e.to_string(),
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| undecodable(operation.id, &e, &bytes))
    }
}
