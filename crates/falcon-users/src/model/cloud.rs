//! Falcon clouds (regions), the spellings users type for them, and their API hosts.

use std::fmt;
use std::str::FromStr;

use url::Url;

use crate::error::Error;

/// A Falcon cloud, or an explicit base URL (a proxy, a gateway, the simulator).
///
/// ```
/// use falcon_users::Cloud;
/// assert_eq!("US2".parse::<Cloud>().unwrap(), Cloud::Us2);
/// assert_eq!("gov1".parse::<Cloud>().unwrap(), Cloud::UsGov1);
/// assert_eq!(Cloud::Eu1.base_url().as_str(), "https://api.eu-1.crowdstrike.com/");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Cloud {
    /// us-1, `api.crowdstrike.com`.
    Us1,
    /// us-2.
    Us2,
    /// us-3.
    Us3,
    /// eu-1.
    Eu1,
    /// us-gov-1 (GovCloud); never autodiscovered.
    UsGov1,
    /// us-gov-2; never autodiscovered.
    UsGov2,
    /// An explicit base URL; autodiscovery never leaves it.
    Custom(Url),
}

impl Cloud {
    /// Every named cloud.
    pub const ALL: [Cloud; 6] = [
        Cloud::Us1,
        Cloud::Us2,
        Cloud::Us3,
        Cloud::Eu1,
        Cloud::UsGov1,
        Cloud::UsGov2,
    ];

    /// The API base URL.
    pub fn base_url(&self) -> Url {
        let host = match self {
            Cloud::Us1 => "https://api.crowdstrike.com",
            Cloud::Us2 => "https://api.us-2.crowdstrike.com",
            Cloud::Us3 => "https://api.us-3.crowdstrike.com",
            Cloud::Eu1 => "https://api.eu-1.crowdstrike.com",
            Cloud::UsGov1 => "https://api.laggar.gcw.crowdstrike.com",
            Cloud::UsGov2 => "https://api.us-gov-2.crowdstrike.mil",
            Cloud::Custom(url) => return url.clone(),
        };
        Url::parse(host).expect("static cloud URLs parse")
    }

    /// The region name the API uses in `X-Cs-Region` (`us-1`, ...); `None` for a custom URL.
    pub fn region(&self) -> Option<&'static str> {
        Some(match self {
            Cloud::Us1 => "us-1",
            Cloud::Us2 => "us-2",
            Cloud::Us3 => "us-3",
            Cloud::Eu1 => "eu-1",
            Cloud::UsGov1 => "us-gov-1",
            Cloud::UsGov2 => "us-gov-2",
            Cloud::Custom(_) => return None,
        })
    }

    /// Whether this is a government cloud (which commercial clouds cannot redirect to).
    pub fn is_gov(&self) -> bool {
        matches!(self, Cloud::UsGov1 | Cloud::UsGov2)
    }

    /// The named cloud whose API host is `url`'s host, if any (used for 308 redirects).
    pub fn from_host(url: &Url) -> Option<Cloud> {
        Cloud::ALL
            .into_iter()
            .find(|c| c.base_url().host_str() == url.host_str())
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cloud::Custom(url) => write!(f, "{url}"),
            named => f.write_str(named.region().unwrap_or_default()),
        }
    }
}

impl FromStr for Cloud {
    type Err = Error;

    /// Accepts `us-1`, `US1`, `us_1`, `eu-1`, `usgov1`, `gov1`, `us-gov-2`, `gov2`, or an
    /// `http(s)://` URL.
    fn from_str(input: &str) -> Result<Self, Error> {
        let trimmed = input.trim();
        if trimmed.contains("://") {
            let shown = without_userinfo(trimmed);
            let url = Url::parse(trimmed).map_err(|e| {
                Error::invalid("cloud", format!("{shown:?} is not a valid URL: {e}"))
            })?;
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err(Error::invalid(
                    "cloud",
                    format!("{shown:?} must be an http(s) URL with a host"),
                ));
            }
            refuse_userinfo(&url)?;
            return Ok(Cloud::Custom(url));
        }
        let key: String = trimmed
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        match key.as_str() {
            "us1" | "usone" => Ok(Cloud::Us1),
            "us2" => Ok(Cloud::Us2),
            "us3" => Ok(Cloud::Us3),
            "eu1" | "eu" => Ok(Cloud::Eu1),
            "usgov1" | "gov1" | "govcloud" | "gov" => Ok(Cloud::UsGov1),
            "usgov2" | "gov2" => Ok(Cloud::UsGov2),
            _ => Err(Error::invalid(
                "cloud",
                format!(
                    "unknown cloud {trimmed:?}; use one of us-1, us-2, us-3, eu-1, us-gov-1, us-gov-2 or an https:// URL"
                ),
            )),
        }
    }
}

/// A base URL with a user name or password is refused: `reqwest` would send them as HTTP Basic
/// credentials to every request, and they would be echoed wherever the URL is shown. The API
/// client's id and secret are the credentials.
pub(crate) fn refuse_userinfo(url: &Url) -> Result<(), Error> {
    if url.username().is_empty() && url.password().is_none() {
        return Ok(());
    }
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    Err(Error::invalid(
        "cloud",
        format!(
            "{shown} was given with a user name or password in it, which is refused: they would be sent to the server and shown in output; give the API client's id and secret as credentials"
        ),
    ))
}

/// `text` with anything between `://` and an `@` before the path replaced, for error messages
/// about text that did not parse as a URL.
fn without_userinfo(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else {
        return text.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_with_credentials_are_refused_without_echoing_them() {
        for input in [
            "https://user:hunter2@falcon.example.com",
            "https://hunter2@falcon.example.com/",
            "http://:hunter2@127.0.0.1:8080",
            "https://user:hunter2@exa mple.com",
        ] {
            let err = input.parse::<Cloud>().unwrap_err().to_string();
            assert!(!err.contains("hunter2"), "{input}: {err}");
            assert!(err.starts_with("invalid cloud"), "{input}: {err}");
        }
        assert!("https://falcon.example.com".parse::<Cloud>().is_ok());
    }

    #[test]
    fn userinfo_is_cut_from_text_that_is_not_a_url() {
        for (text, shown) in [
            ("https://u:p@h/x@y", "https://***@h/x@y"),
            ("https://h/a@b", "https://h/a@b"),
            ("no scheme", "no scheme"),
            ("https://a@b@c", "https://***@c"),
        ] {
            assert_eq!(without_userinfo(text), shown);
        }
    }
}
