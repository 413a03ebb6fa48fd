//! Query parameters as the generated client adds them.

use progenitor_client::QueryParam;
use serde::Serialize;

/// Adds the optional query parameter `name` when it has a value. An absent one adds nothing, as
/// `reqwest` would leave it too, but without opening the URL's query for editing and closing it
/// again: every call of every operation goes through here for each parameter it leaves out.
#[doc(hidden)]
pub fn optional<T: Serialize>(
    request: reqwest::RequestBuilder,
    name: &str,
    value: &Option<T>,
) -> reqwest::RequestBuilder {
    match value {
        Some(value) => request.query(&QueryParam::new(name, value)),
        None => request,
    }
}
