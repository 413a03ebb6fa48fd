//! Property tests: parsing and decoding never panic, whatever the input, and keep their
//! invariants. Case counts are bounded so CI stays fast.

use falcon_users::api::types;
use falcon_users::{Cid, Cloud, IdList, fql};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// Ids come out trimmed, non-empty, distinct, in first-seen order.
    #[test]
    fn id_lists_are_clean(input in ".{0,200}") {
        let ids = IdList::from(input.as_str());
        let mut seen = std::collections::HashSet::new();
        for id in ids.as_slice() {
            prop_assert!(!id.is_empty());
            prop_assert_eq!(id.trim(), id.as_str());
            prop_assert!(!id.contains(','));
            prop_assert!(seen.insert(id.clone()));
        }
        let expected: Vec<&str> = input.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        let mut first_seen = Vec::new();
        for id in expected {
            if !first_seen.contains(&id) {
                first_seen.push(id);
            }
        }
        prop_assert_eq!(ids.as_slice(), first_seen.as_slice());
        let _ = ids.validate("ids");
    }

    /// Chunks cover every id once, in order, within both bounds.
    #[test]
    fn chunks_cover_everything(ids in proptest::collection::vec("[a-z0-9%&=+ ]{1,40}", 0..300), max in 1usize..50, len in 10usize..2000) {
        let list: IdList = ids.iter().collect();
        let body: Vec<String> = list.chunks(max).concat();
        prop_assert_eq!(body.as_slice(), list.as_slice());
        let query = list.query_chunks("ids", max, len);
        let rejoined: Vec<String> = query.concat();
        prop_assert_eq!(rejoined.as_slice(), list.as_slice());
        for chunk in &query {
            prop_assert!(!chunk.is_empty() && chunk.len() <= max);
        }
    }

    /// A quoted FQL value always reads back as exactly the input: no quote or wildcard escapes.
    #[test]
    fn fql_quote_round_trips(value in ".{0,100}") {
        let quoted = fql::quote(&value);
        prop_assert!(quoted.starts_with('\'') && quoted.ends_with('\''));
        let inner = &quoted[1..quoted.len() - 1];
        let mut decoded = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => decoded.push(chars.next().expect("an escape is never last")),
                '\'' | '*' => prop_assert!(false, "unescaped {c:?} in {quoted}"),
                other => decoded.push(other),
            }
        }
        prop_assert_eq!(decoded, value);
    }

    /// Cloud and CID parsing never panic; what parses is normalised.
    #[test]
    fn cloud_and_cid_parsing_never_panic(input in ".{0,80}") {
        if let Ok(cloud) = input.parse::<Cloud>() {
            let _ = cloud.base_url();
        }
        if let Ok(cid) = input.parse::<Cid>() {
            prop_assert_eq!(cid.as_str().len(), 32);
            prop_assert!(cid.as_str().chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
        }
    }

    /// CIDs as users paste them: any case, optional -XX suffix.
    #[test]
    fn pasted_cids_normalise(hex in "[0-9a-fA-F]{32}", suffix in proptest::option::of("[0-9A-F]{2}")) {
        let pasted = match &suffix {
            Some(s) => format!("{hex}-{s}"),
            None => hex.clone(),
        };
        let cid: Cid = pasted.parse().expect("valid CID");
        prop_assert_eq!(cid.as_str(), hex.to_lowercase());
    }

    /// Decoding arbitrary JSON into the response types returns an error or a value, never panics.
    #[test]
    fn decoding_arbitrary_json_never_panics(json in arbitrary_json()) {
        let text = json.to_string();
        let _ = serde_json::from_str::<types::FlightcontrolapiUserResponse>(&text);
        let _ = serde_json::from_str::<types::MsaspecQueryResponse>(&text);
        let _ = serde_json::from_str::<types::MsaspecResponseFields>(&text);
        let _ = serde_json::from_str::<types::FlightcontrolapiCombinedUserRolesResponseV2>(&text);
        let _ = serde_json::from_str::<types::FlightcontrolapiAggregatesResponse>(&text);
        let _ = serde_json::from_str::<types::DomainAccessTokenResponseV1>(&text);
    }

    /// Near-miss envelopes (right keys, random values) never panic either.
    #[test]
    fn decoding_envelope_shaped_json_never_panics(meta in arbitrary_json(), resources in arbitrary_json(), errors in arbitrary_json()) {
        let text = serde_json::json!({"meta": meta, "resources": resources, "errors": errors}).to_string();
        let _ = serde_json::from_str::<types::FlightcontrolapiUserResponse>(&text);
        let _ = serde_json::from_str::<types::FlightcontrolapiGetRolesResponse>(&text);
        let _ = serde_json::from_str::<types::MsaspecQueryResponse>(&text);
    }
}

fn arbitrary_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number)),
        ".{0,20}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(serde_json::Value::Array),
            proptest::collection::btree_map("(meta|resources|errors|uuid|uid|pagination|total|code|message|trace_id|query_time|[a-z_]{1,10})", inner, 0..8)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A number or text as a hostile server may put in a time or budget header.
fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| n.to_string()),
        "[0-9]{15,40}",
        "[ -~]{0,24}",
        Just(String::new()),
    ]
}

/// One answer of the server: a status and any of the four time and budget headers.
fn hostile_answer() -> impl Strategy<Value = (u16, Vec<(&'static str, String)>)> {
    let names = [
        "X-RateLimit-RetryAfter",
        "Retry-After",
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
    ];
    (
        prop_oneof![Just(200u16), Just(400), Just(429), Just(500), Just(503)],
        proptest::collection::vec((0usize..4, header_value()), 0..6),
    )
        .prop_map(move |(status, headers)| {
            let headers = headers.into_iter().map(|(i, v)| (names[i], v)).collect();
            (status, headers)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Whatever numbers a server sends in its time and budget headers, on any status, through
    /// the header parsers, the limiter, the retry decision and the error conversion: no panic,
    /// the handle still works, the waits stay within the deadline, and the outcome is a page or
    /// a clear error.
    #[test]
    fn absurd_time_and_budget_headers_never_panic((status, headers) in hostile_answer()) {
        use std::sync::Arc;
        use std::time::Duration;
        use falcon_users::clock::ManualClock;
        use falcon_users::{Falcon, RetryPolicy, UserQuery};
        use falcon_users_tests::loopback::{Reply, Server};
        use falcon_users_tests::mock::{CLIENT_ID, SECRET, TOKEN_PATH, page, token_json};

        let runtime = tokio::runtime::Runtime::new().unwrap();
        let deadline = Duration::from_secs(120);
        let (outcome, waited) = runtime.block_on(async {
            let answer = headers.iter().fold(
                Reply::json(status, &page(serde_json::json!(["u1"]), 0, 100, 1)),
                |reply, (name, value)| reply.header(name, value),
            );
            let server = Server::start(Duration::ZERO, move |req| {
                if req.path() == TOKEN_PATH {
                    Reply::json(201, &token_json("tok", 1799))
                } else {
                    answer.clone()
                }
            })
            .await;
            let clock = Arc::new(ManualClock::new());
            let falcon = Falcon::builder()
                .client_id(CLIENT_ID)
                .client_secret(SECRET)
                .cloud(falcon_users::Cloud::Custom(server.url(0)))
                .clock(clock.clone())
                .deadline(deadline)
                .retry_policy(RetryPolicy::new().max_attempts(3))
                .build()
                .unwrap();
            let (mut outcome, query) = (Vec::new(), UserQuery::new());
            for _ in 0..3 {
                let call = falcon.query_user_ids(&query, 0);
                outcome.push(falcon_users_tests::bounded(call).await.map(|_| ()));
            }
            (outcome, clock.sleeps())
        });
        for result in &outcome {
            match result {
                Ok(()) => prop_assert!(status == 200),
                Err(err) => prop_assert!(!err.to_string().is_empty()),
            }
        }
        let total: Duration = waited.iter().sum();
        prop_assert!(total <= deadline * 3, "waited {total:?} over three calls: {waited:?}");
    }
}

/// Text full of what FQL gives meaning to: quotes, brackets, escapes, wildcards, combinators.
fn fql_hostile() -> impl Strategy<Value = String> {
    prop_oneof!["[a-zA-Z'\"\\]\\[\\\\*,+()!:~<> ]{0,24}", ".{0,40}",]
}

proptest! {
    #![proptest_config(config())]

    /// A value built into a filter by the client's helpers stays one value, read back by the
    /// simulator's parser (the service's grammar): the filter selects the record holding that
    /// value and not one holding a longer value, and never adds a condition or a wildcard.
    #[test]
    fn fql_helpers_keep_hostile_values_inside_their_quotes(
        a in fql_hostile(),
        b in fql_hostile(),
    ) {
        use falcon_users_sim::fql::Filter;
        let now = chrono::Utc::now();
        let parse = |f: &str| Filter::parse(f, &["uid", "status"], now)
            .unwrap_or_else(|e| panic!("{f:?} does not parse: {e}"));
        let holds = |f: &Filter, uid: &str| f.matches(|field| match field {
            "uid" => vec![uid.to_owned()],
            _ => vec!["active".to_owned()],
        });
        let longer = format!("{a}x");
        // Equality ignores case; lists match exactly.
        for filter in [fql::eq("uid", &a), fql::any_of("uid", [&a, &b])] {
            let parsed = parse(&filter);
            prop_assert!(holds(&parsed, &a), "{filter} misses {a:?}");
            prop_assert!(!holds(&parsed, &longer) || longer == b, "{filter} takes {longer:?}");
        }
        let list = parse(&fql::any_of("uid", [&a, &b]));
        prop_assert!(holds(&list, &b));
        for filter in [fql::not("uid", &a), fql::none_of("uid", [&a])] {
            let parsed = parse(&filter);
            prop_assert!(!holds(&parsed, &a), "{filter} takes {a:?}");
            prop_assert!(holds(&parsed, &longer), "{filter} misses {longer:?}");
        }
        // A prefix is a prefix of the literal value; combined filters keep their parts.
        let prefix = parse(&fql::starts_with("uid", &a));
        prop_assert!(holds(&prefix, &a) && holds(&prefix, &longer));
        let lead = if a.to_lowercase().starts_with('y') { 'z' } else { 'y' };
        let shifted = format!("{lead}{a}");
        prop_assert!(a.is_empty() || !holds(&prefix, &shifted), "prefix {:?} takes {:?}", a, shifted);
        let both = parse(&fql::and([fql::eq("uid", &a), fql::eq("status", "gone")]));
        prop_assert!(!holds(&both, &a), "the AND of {a:?} holds without its second part");
        let either = parse(&fql::or([fql::eq("uid", &a), fql::eq("status", "gone")]));
        prop_assert!(holds(&either, &a));
        // A comparison's quoted text is compared whole (text that starts as `now` is a
        // relative date to the service, so it is left to the simulator's own tests).
        if !a.to_lowercase().starts_with("now") {
            let after = parse(&fql::ge("uid", a.as_str()));
            prop_assert!(holds(&after, &longer));
        }
    }
}

/// Text made of FQL's tokens in any order, or any text at all.
fn fql_soup() -> impl Strategy<Value = String> {
    const TOKENS: &[&str] = &[
        "uid",
        "status",
        ":",
        "!",
        "~",
        "*",
        ">",
        ">=",
        "<",
        "<=",
        "'",
        "\"",
        "[",
        "]",
        "(",
        ")",
        ",",
        "+",
        " ",
        "null",
        "now",
        "-",
        "1",
        "d",
        "é",
        "\\",
        "a",
        "2026-01-01",
    ];
    prop_oneof![
        proptest::collection::vec(proptest::sample::select(TOKENS), 0..40)
            .prop_map(|tokens| tokens.concat()),
        ".{0,60}",
    ]
}

proptest! {
    #![proptest_config(config())]

    /// The simulator's FQL parser answers any text with a filter or an error, never a panic,
    /// and a filter it answers can be evaluated.
    #[test]
    fn the_fql_parser_never_panics(input in fql_soup()) {
        use falcon_users_sim::fql::Filter;
        if let Ok(filter) = Filter::parse(&input, &["uid", "status"], chrono::Utc::now()) {
            let _ = filter.matches(|field| match field {
                "uid" => vec!["now-1d é"],
                _ => vec![],
            });
        }
    }
}
