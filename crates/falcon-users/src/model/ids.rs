//! Id lists as users have them (comma strings, slices, vectors, iterators), cleaned and chunked,
//! and the batch sizes they are chunked to.

use crate::error::Error;

/// How many ids one request may carry, and how many such requests run at once.
///
/// ```
/// use falcon_users::BatchLimits;
/// let limits = BatchLimits::new().query_ids(50).concurrency(2);
/// assert_eq!((limits.query_ids, limits.concurrency, limits.body_ids), (50, 2, 5000));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchLimits {
    /// Ids per JSON body (upstream allows 5,000 for `retrieveUsersGETV1`).
    pub body_ids: usize,
    /// Ids per query string (repeated `ids=` keys).
    pub query_ids: usize,
    /// Longest query string for repeated ids, in bytes once encoded.
    pub max_query_len: usize,
    /// Batches of one operation in flight at once.
    pub concurrency: usize,
}

impl Default for BatchLimits {
    fn default() -> Self {
        Self {
            body_ids: 5000,
            query_ids: 100,
            max_query_len: 6000,
            concurrency: 4,
        }
    }
}

impl BatchLimits {
    /// 5,000 ids per body, 100 per query string of at most 6,000 bytes, 4 batches at once.
    pub fn new() -> Self {
        Self::default()
    }

    /// Ids per JSON body.
    pub fn body_ids(mut self, n: usize) -> Self {
        self.body_ids = n;
        self
    }

    /// Ids per query string.
    pub fn query_ids(mut self, n: usize) -> Self {
        self.query_ids = n;
        self
    }

    /// Longest query string for repeated ids, in bytes once encoded.
    pub fn max_query_len(mut self, bytes: usize) -> Self {
        self.max_query_len = bytes;
        self
    }

    /// Batches of one operation in flight at once.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }
}

/// An ordered list of distinct, non-empty, trimmed ids.
///
/// Every entity method takes `impl Into<IdList>`:
///
/// ```
/// use falcon_users::IdList;
/// let ids = IdList::from("a, b,,c, a");
/// assert_eq!(ids.as_slice(), ["a", "b", "c"]);
/// let ids: IdList = vec!["x".to_string(), " y ".to_string()].into();
/// assert_eq!(ids.len(), 2);
/// let ids: IdList = (1..=3).map(|n| format!("u{n}")).collect();
/// assert_eq!(ids.as_slice(), ["u1", "u2", "u3"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdList(Vec<String>);

impl IdList {
    /// The ids, in first-seen order.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// How many distinct ids.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The ids as an owned vector.
    pub fn into_vec(self) -> Vec<String> {
        self.0
    }

    /// Checks the list before it is sent: not empty, and every id at most 256 bytes with no
    /// whitespace or control characters (no id of the API looks otherwise). Errors name `field`.
    pub fn validate(&self, field: &'static str) -> Result<(), Error> {
        if self.0.is_empty() {
            return Err(Error::invalid(
                field,
                "no ids given (after trimming blanks and duplicates)",
            ));
        }
        for id in &self.0 {
            if id.len() > 256 {
                return Err(Error::invalid(
                    field,
                    format!("an id is {} bytes long; ids are at most 256", id.len()),
                ));
            }
            if id.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(Error::invalid(
                    field,
                    format!("{id:?} contains whitespace or control characters"),
                ));
            }
        }
        Ok(())
    }

    /// Splits into batches of at most `max` ids (for ids sent in a JSON body).
    pub fn chunks(&self, max: usize) -> Vec<Vec<String>> {
        self.0.chunks(max.max(1)).map(<[String]>::to_vec).collect()
    }

    /// Splits into batches of at most `max` ids whose repeated `key=` query pairs stay under
    /// `max_query_len` bytes once percent-encoded (for ids sent in the query string).
    pub fn query_chunks(&self, key: &str, max: usize, max_query_len: usize) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        let mut current: Vec<String> = Vec::new();
        let mut len = 0;
        for id in &self.0 {
            let pair = key.len() + 2 + encoded_len(id);
            if !current.is_empty() && (current.len() >= max.max(1) || len + pair > max_query_len) {
                out.push(std::mem::take(&mut current));
                len = 0;
            }
            len += pair;
            current.push(id.clone());
        }
        if !current.is_empty() {
            out.push(current);
        }
        out
    }
}

fn encoded_len(s: &str) -> usize {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                1
            } else {
                3
            }
        })
        .sum()
}

impl<S: AsRef<str>> FromIterator<S> for IdList {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for raw in iter {
            let id = raw.as_ref().trim();
            if !id.is_empty() && seen.insert(id.to_owned()) {
                out.push(id.to_owned());
            }
        }
        IdList(out)
    }
}

impl From<&str> for IdList {
    /// Splits on commas.
    fn from(s: &str) -> Self {
        s.split(',').collect()
    }
}

impl From<String> for IdList {
    /// Splits on commas.
    fn from(s: String) -> Self {
        IdList::from(s.as_str())
    }
}

impl From<&String> for IdList {
    /// Splits on commas.
    fn from(s: &String) -> Self {
        IdList::from(s.as_str())
    }
}

impl From<Vec<String>> for IdList {
    fn from(v: Vec<String>) -> Self {
        v.into_iter().collect()
    }
}

impl From<Vec<&str>> for IdList {
    fn from(v: Vec<&str>) -> Self {
        v.into_iter().collect()
    }
}

impl From<&[&str]> for IdList {
    fn from(v: &[&str]) -> Self {
        v.iter().collect()
    }
}

impl From<&[String]> for IdList {
    fn from(v: &[String]) -> Self {
        v.iter().collect()
    }
}

impl From<&Vec<String>> for IdList {
    fn from(v: &Vec<String>) -> Self {
        v.iter().collect()
    }
}

impl<const N: usize> From<[&str; N]> for IdList {
    fn from(v: [&str; N]) -> Self {
        v.into_iter().collect()
    }
}

impl<const N: usize> From<[String; N]> for IdList {
    fn from(v: [String; N]) -> Self {
        v.into_iter().collect()
    }
}

impl From<&IdList> for IdList {
    fn from(v: &IdList) -> Self {
        v.clone()
    }
}

impl IntoIterator for IdList {
    type Item = String;
    type IntoIter = std::vec::IntoIter<String>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}
