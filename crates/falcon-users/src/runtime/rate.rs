//! The rate-limit headers of a response, read once as it arrives, on the handle's clock: the
//! [pacing](crate::runtime::pacing), the [retry](crate::runtime::retry) decision and the
//! [`Error::RateLimited`](crate::Error::RateLimited) of a 429 all take this one reading, so they
//! can never disagree about what the API said, nor about what time it was.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};

use crate::clock::later;

/// Carries [`RateHeaders::retry_at`] from the pipeline, which reads the headers on the handle's
/// clock, to the conversion of the answer into an error, which has no clock: the instant as
/// `<seconds>.<nanoseconds>` since the Unix epoch. Whatever a server sends under this name is
/// dropped first.
const RETRY_AT_HEADER: &str = "x-falcon-users-retry-at";

// Names made once, not parsed from text at each lookup: every answer is read with them.
static RETRY_AT: HeaderName = HeaderName::from_static(RETRY_AT_HEADER);
static LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
static REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
static RETRY_AFTER_EPOCH: HeaderName = HeaderName::from_static("x-ratelimit-retryafter");

/// What one response said about the budget of the CID it was sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct RateHeaders {
    /// `X-RateLimit-Limit`: requests per minute the CID may send.
    pub(crate) limit: Option<u64>,
    /// `X-RateLimit-Remaining`: requests left in the current minute.
    pub(crate) remaining: Option<u64>,
    /// When the API said to try again: `X-RateLimit-RetryAfter` (Unix epoch seconds), else
    /// `Retry-After` (seconds after the response arrived).
    pub(crate) retry_at: Option<SystemTime>,
}

impl RateHeaders {
    /// Reads the headers of a response that arrived at `now` (the handle's clock). A value that
    /// is not a whole number of `u64` range (negative, fractional, junk) counts as absent.
    pub(crate) fn read(headers: &HeaderMap, now: SystemTime) -> Self {
        // One pass over the answer's few headers rather than a hashed lookup per name: this
        // runs on every answer. Each name's first value counts, as a lookup would give it.
        let [mut limit, mut remaining, mut epoch, mut after] = [None::<Option<u64>>; 4];
        for (name, value) in headers {
            let slot = if name == LIMIT {
                &mut limit
            } else if name == REMAINING {
                &mut remaining
            } else if name == RETRY_AFTER_EPOCH {
                &mut epoch
            } else if name == RETRY_AFTER {
                &mut after
            } else {
                continue;
            };
            if slot.is_none() {
                *slot = Some(
                    value
                        .to_str()
                        .ok()
                        .and_then(|v| v.trim().parse::<u64>().ok()),
                );
            }
        }
        let retry_at = match epoch.flatten() {
            Some(epoch) => Some(later(UNIX_EPOCH, Duration::from_secs(epoch))),
            None => after
                .flatten()
                .map(|secs| later(now, Duration::from_secs(secs))),
        };
        RateHeaders {
            limit: limit.flatten(),
            remaining: remaining.flatten(),
            retry_at,
        }
    }

    /// Writes [`retry_at`](Self::retry_at) into the response's headers for [`Self::stamped`],
    /// replacing anything a server sent under that name.
    pub(crate) fn stamp(&self, headers: &mut HeaderMap) {
        headers.remove(&RETRY_AT);
        let Some(since) = self
            .retry_at
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        else {
            return;
        };
        let text = format!("{}.{:09}", since.as_secs(), since.subsec_nanos());
        if let Ok(value) = HeaderValue::from_str(&text) {
            headers.insert(RETRY_AT.clone(), value);
        }
    }

    /// The [`retry_at`](Self::retry_at) the pipeline [stamped](Self::stamp) on a response.
    pub(crate) fn stamped(headers: &HeaderMap) -> Option<SystemTime> {
        let text = headers.get(&RETRY_AT)?.to_str().ok()?;
        let (secs, nanos) = text.split_once('.')?;
        let since = Duration::new(secs.parse().ok()?, nanos.parse().ok()?);
        UNIX_EPOCH.checked_add(since)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use reqwest::header::{HeaderMap, HeaderValue};

    use super::{RETRY_AT_HEADER, RateHeaders};
    use crate::clock::ABSURD_HEADER_NUMBERS;

    /// A header as a test writes it: name and value.
    type Pair = (&'static str, &'static str);

    fn headers(pairs: &[Pair]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (k, v) in pairs {
            headers.append(*k, HeaderValue::from_static(v));
        }
        headers
    }

    /// Each header as the API and gateways spell it, read into the one value.
    #[test]
    fn the_headers_read_into_one_value() {
        // Far from the wall clock: a relative wait must count from this, not from the system's.
        let now = UNIX_EPOCH + Duration::from_secs(2_000_000_000) + Duration::from_millis(250);
        let epoch = |s| Some(UNIX_EPOCH + Duration::from_secs(s));
        let rate = |limit, remaining, retry_at| RateHeaders {
            limit,
            remaining,
            retry_at,
        };
        let table: &[(&str, &[Pair], RateHeaders)] = &[
            ("nothing", &[], RateHeaders::default()),
            (
                "the budget, as the spec spells it",
                &[
                    ("X-RateLimit-Limit", "6000"),
                    ("X-RateLimit-Remaining", "5999"),
                ],
                rate(Some(6000), Some(5999), None),
            ),
            (
                "as the service spells it, padded",
                &[
                    ("X-Ratelimit-Limit", " 15 "),
                    ("X-Ratelimit-Remaining", "0"),
                ],
                rate(Some(15), Some(0), None),
            ),
            (
                "retry at an epoch second",
                &[("X-RateLimit-RetryAfter", "1749050471")],
                rate(None, None, epoch(1_749_050_471)),
            ),
            (
                "retry after seconds: counted from the response's clock",
                &[("Retry-After", "30")],
                rate(None, None, Some(now + Duration::from_secs(30))),
            ),
            (
                "both: the epoch second wins",
                &[("Retry-After", "30"), ("X-RateLimit-RetryAfter", "5")],
                rate(None, None, epoch(5)),
            ),
            (
                "junk counts as absent, and the other header still reads",
                &[
                    ("X-RateLimit-Limit", "many"),
                    ("X-RateLimit-Remaining", "-1"),
                    ("X-RateLimit-RetryAfter", "1.5"),
                    ("Retry-After", "2"),
                ],
                rate(None, None, Some(now + Duration::from_secs(2))),
            ),
            (
                "a name sent twice: its first value counts, junk or not",
                &[
                    ("X-RateLimit-Limit", "junk"),
                    ("X-RateLimit-Remaining", "3"),
                    ("X-RateLimit-Limit", "10"),
                    ("X-RateLimit-Remaining", "9"),
                ],
                rate(None, Some(3), None),
            ),
        ];
        for (case, pairs, expected) in table {
            assert_eq!(RateHeaders::read(&headers(pairs), now), *expected, "{case}");
        }
    }

    /// The instant goes to the error as it was read (to the nanosecond), and a server cannot
    /// put one there itself.
    #[test]
    fn the_stamp_carries_the_instant_and_only_the_pipelines() {
        let at = UNIX_EPOCH + Duration::new(1_749_050_471, 123_456_789);
        let mut sent = headers(&[(RETRY_AT_HEADER, "1.000000000")]);
        assert_eq!(
            RateHeaders::stamped(&sent),
            Some(UNIX_EPOCH + Duration::from_secs(1))
        );
        RateHeaders {
            retry_at: Some(at),
            ..RateHeaders::default()
        }
        .stamp(&mut sent);
        assert_eq!(RateHeaders::stamped(&sent), Some(at));
        RateHeaders::default().stamp(&mut sent);
        assert_eq!(RateHeaders::stamped(&sent), None, "{sent:?}");
    }

    /// Whatever numbers a server sends, reading, the budget and the stamp never panic, and a
    /// stamped instant reads back as it was.
    #[test]
    fn any_header_value_reads_without_panicking() {
        let now = SystemTime::now();
        for value in ABSURD_HEADER_NUMBERS {
            for name in [
                "x-ratelimit-limit",
                "x-ratelimit-remaining",
                "x-ratelimit-retryafter",
                "retry-after",
            ] {
                let mut headers = headers(&[(name, value)]);
                let rate = RateHeaders::read(&headers, now);
                rate.stamp(&mut headers);
                assert_eq!(
                    RateHeaders::stamped(&headers),
                    rate.retry_at,
                    "{name}: {value}"
                );
            }
        }
    }
}
