//! When a grant ends: `--expires-in-hours N` or `--expires-at TIME`, checked against the window
//! the service accepts (1 hour to 7 days ahead) when the arguments are parsed, so a value
//! outside it is a usage error before anything is sent.

use chrono::{DateTime, Duration, Utc};
use falcon_users::validation::{GRANT_EXPIRY_HOURS, check_expiry_from};

/// How far inside the window an `--expires-in-hours` time is kept. "now + 1 h" computed here is
/// already less than an hour ahead when the SDK and then the service check it; the margin
/// covers the request's travel and a small clock difference with the service, at either edge.
pub const EDGE_MARGIN: Duration = Duration::minutes(1);

/// The clap parser of `--expires-in-hours`: a whole number of hours in the window.
pub fn hours_parser() -> clap::builder::RangedI64ValueParser<u32> {
    clap::value_parser!(u32).range(GRANT_EXPIRY_HOURS)
}

/// The end of a grant `hours` from `now`, moved [`EDGE_MARGIN`] inside the window at its
/// edges: `1` gives now + 1 h 1 min, `168` gives now + 7 days − 1 min.
pub fn in_hours(hours: u32, now: DateTime<Utc>) -> DateTime<Utc> {
    let earliest = now + Duration::hours(*GRANT_EXPIRY_HOURS.start()) + EDGE_MARGIN;
    let latest = now + Duration::hours(*GRANT_EXPIRY_HOURS.end()) - EDGE_MARGIN;
    (now + Duration::hours(i64::from(hours))).clamp(earliest, latest)
}

/// The clap parser of `--expires-at`: an RFC 3339 time within the window from now.
pub fn parse_at(text: &str) -> Result<DateTime<Utc>, String> {
    parse_at_from(text, Utc::now())
}

/// [`parse_at`] with "now" given.
pub fn parse_at_from(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let at = DateTime::parse_from_rfc3339(text.trim())
        .map_err(|e| format!("not an RFC 3339 time like 2030-01-02T15:04:05Z: {e}"))?
        .with_timezone(&Utc);
    check_expiry_from(at, now).map_err(|e| e.to_string())?;
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_land_inside_the_window_even_after_the_request_travels() {
        let now = Utc::now();
        let cases = [
            (1, Duration::hours(1) + EDGE_MARGIN),
            (2, Duration::hours(2)),
            (24, Duration::hours(24)),
            (167, Duration::hours(167)),
            (168, Duration::days(7) - EDGE_MARGIN),
        ];
        for (hours, ahead) in cases {
            let at = in_hours(hours, now);
            assert_eq!(at - now, ahead, "{hours} h");
            // What the SDK and the service see: the same time, checked a little later (or by a
            // clock a little behind).
            for checked in [
                now,
                now + Duration::seconds(30),
                now - Duration::seconds(30),
            ] {
                assert!(
                    check_expiry_from(at, checked).is_ok(),
                    "{hours} h checked at {checked}"
                );
            }
        }
    }

    #[test]
    fn hours_outside_1_to_168_are_refused_when_parsed() {
        let parser = hours_parser();
        let cmd = clap::Command::new("t").arg(clap::Arg::new("h").value_parser(parser));
        for (arg, ok) in [
            ("1", true),
            ("168", true),
            ("0", false),
            ("169", false),
            ("-1", false),
            ("99999999999999999999999", false),
            ("9223372036854775807", false),
            ("1.5", false),
        ] {
            let parsed = cmd.clone().try_get_matches_from(["t", arg]);
            assert_eq!(parsed.is_ok(), ok, "{arg}");
        }
    }

    #[test]
    fn expires_at_must_be_rfc3339_within_the_window() {
        let now: DateTime<Utc> = "2030-01-01T00:00:00Z".parse().unwrap();
        let cases = [
            ("2030-01-01T02:00:00Z", true),
            ("2030-01-01T01:00:00Z", true),
            ("2030-01-01T02:00:00+01:00", true),
            ("2030-01-08T00:00:00Z", true),
            ("2030-01-01T00:59:59Z", false),
            ("2030-01-08T00:00:01Z", false),
            ("2029-12-31T00:00:00Z", false),
            ("9999-12-31T23:59:59Z", false),
            ("2030-01-01", false),
            ("tomorrow", false),
            ("", false),
        ];
        for (text, ok) in cases {
            assert_eq!(parse_at_from(text, now).is_ok(), ok, "{text}");
        }
    }
}
