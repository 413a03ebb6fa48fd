//! Customer ids (CIDs) as users paste them, normalised to what the API expects.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// A validated CID: 32 lowercase hex characters.
///
/// Users paste CIDs from the Falcon console with a `-XX` checksum suffix and in upper case; both
/// are accepted and normalised.
///
/// ```
/// use falcon_users::Cid;
/// let cid: Cid = "0123456789ABCDEF0123456789ABCDEF-2A".parse().unwrap();
/// assert_eq!(cid.as_str(), "0123456789abcdef0123456789abcdef");
/// assert!("not-a-cid".parse::<Cid>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cid(String);

impl Cid {
    /// The normalised CID.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Cid {
    type Err = Error;

    fn from_str(input: &str) -> Result<Self, Error> {
        let trimmed = input.trim();
        let base = match trimmed.rsplit_once('-') {
            Some((head, suffix)) if suffix.len() == 2 && head.len() == 32 => head,
            _ => trimmed,
        };
        if base.len() == 32 && base.chars().all(|c| c.is_ascii_hexdigit()) {
            Ok(Cid(base.to_ascii_lowercase()))
        } else {
            Err(Error::invalid(
                "cid",
                format!(
                    "{trimmed:?} is not a CID: expected 32 hex characters, optionally followed by a -XX checksum"
                ),
            ))
        }
    }
}

impl TryFrom<&str> for Cid {
    type Error = Error;
    fn try_from(value: &str) -> Result<Self, Error> {
        value.parse()
    }
}

impl TryFrom<String> for Cid {
    type Error = Error;
    fn try_from(value: String) -> Result<Self, Error> {
        value.parse()
    }
}

impl TryFrom<&Cid> for Cid {
    type Error = Error;
    fn try_from(value: &Cid) -> Result<Self, Error> {
        Ok(value.clone())
    }
}

impl fmt::Display for Cid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for Cid {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Cid {
    /// Checked as [`FromStr`] checks it: a saved file cannot smuggle in a malformed CID.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}
