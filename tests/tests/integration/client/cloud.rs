//! Clouds and CIDs as users type them, the plain-http guard of `build()`, and cloud
//! autodiscovery.
//!
//! Autodiscovery tests set a loopback guard proxy (`loopback::Server`, set with
//! `FalconBuilder::proxy`): any https request (a real Falcon host) arrives there as a `CONNECT`
//! that it records and refuses. So nothing ever leaves 127.0.0.1, even if the SDK switched to a
//! real region, and such a switch is observable as the `CONNECT` target. The simulated regions
//! are plain-http loopback listeners, reached directly: a plain-http endpoint is never reached
//! through a proxy (the credentials would cross it in clear), which every test checks too.

use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use falcon_users::clock::ManualClock;
use falcon_users::{AuthProblem, Cid, Cloud, Error, Falcon, FalconBuilder, UserQuery};
use falcon_users_tests::bounded;
use falcon_users_tests::loopback::{Reply, Request, Server};
use falcon_users_tests::mock::*;
use serde_json::json;
use url::Url;

// ---- 6. cloud parsing ------------------------------------------------------------------------

#[test]
fn cloud_names_as_users_type_them() {
    let table: &[(&str, Cloud)] = &[
        ("us-1", Cloud::Us1),
        ("US1", Cloud::Us1),
        ("us_1", Cloud::Us1),
        ("  us-1\t", Cloud::Us1),
        ("us2", Cloud::Us2),
        ("US-2", Cloud::Us2),
        ("us-3", Cloud::Us3),
        ("eu-1", Cloud::Eu1),
        ("EU1", Cloud::Eu1),
        ("usgov1", Cloud::UsGov1),
        ("gov1", Cloud::UsGov1),
        ("us-gov-1", Cloud::UsGov1),
        ("US-GOV-1", Cloud::UsGov1),
        ("us-gov-2", Cloud::UsGov2),
        ("gov2", Cloud::UsGov2),
        ("usgov2", Cloud::UsGov2),
    ];
    for (input, expected) in table {
        let parsed: Cloud = input
            .parse()
            .unwrap_or_else(|e| panic!("{input:?} should parse: {e}"));
        assert_eq!(&parsed, expected, "{input:?}");
    }
}

#[test]
fn cloud_urls_are_custom_clouds() {
    for input in [
        "https://gateway.example.test/",
        "https://gateway.example.test:8443/falcon",
        "  https://api.us-2.crowdstrike.com  ",
        "http://127.0.0.1:8080",
    ] {
        let parsed = Cloud::from_str(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        let expected = Url::parse(input.trim()).unwrap();
        assert_eq!(parsed, Cloud::Custom(expected.clone()), "{input:?}");
        assert_eq!(parsed.base_url(), expected);
        assert_eq!(parsed.region(), None, "a custom URL has no region name");
    }
}

#[test]
fn bad_cloud_names_are_refused_with_the_field_named() {
    for input in [
        "",
        "   ",
        "mars-1",
        "us-4",
        "eu-2",
        "eu 2",
        "ftp://x",
        "file:///etc/passwd",
        "http://",
        "https://",
        "not a url://",
        "https//api.crowdstrike.com",
    ] {
        match Cloud::from_str(input) {
            Err(Error::InvalidInput {
                field: "cloud",
                reason,
            }) => assert!(!reason.is_empty(), "{input:?}"),
            other => panic!("{input:?} should be refused as a cloud, got {other:?}"),
        }
    }
    let err = Cloud::from_str("mars-1").unwrap_err().to_string();
    assert!(
        err.contains("us-1") && err.contains("us-gov-2") && err.contains("https://"),
        "the message lists what is accepted: {err}"
    );
}

#[test]
fn named_clouds_round_trip_through_display() {
    for cloud in Cloud::ALL {
        let text = cloud.to_string();
        assert_eq!(Some(text.as_str()), cloud.region());
        assert_eq!(text.parse::<Cloud>().unwrap(), cloud);
        assert_eq!(cloud.base_url().scheme(), "https");
        assert_eq!(Cloud::from_host(&cloud.base_url()), Some(cloud.clone()));
    }
    assert!(Cloud::UsGov1.is_gov() && Cloud::UsGov2.is_gov());
    assert!(!Cloud::Us1.is_gov() && !Cloud::Eu1.is_gov());
}

#[test]
fn builder_takes_a_cloud_name_and_defaults_to_us_1() {
    // Bad names given to the builder are rows of bad_input's table.
    let falcon = Falcon::builder()
        .client_id(CLIENT_ID)
        .client_secret(SECRET)
        .cloud_name("EU1")
        .build()
        .unwrap();
    assert_eq!(falcon.base_url(), Cloud::Eu1.base_url());
    let falcon = Falcon::builder()
        .client_id(CLIENT_ID)
        .client_secret(SECRET)
        .build()
        .unwrap();
    assert_eq!(falcon.base_url(), Cloud::Us1.base_url(), "us-1 by default");
}

// ---- 6. CID parsing --------------------------------------------------------------------------

#[test]
fn cids_as_users_paste_them() {
    for input in [
        CID,
        CID_PASTED,
        "0123456789ABCDEF0123456789ABCDEF",
        "0123456789abcdef0123456789abcdef-7c",
        "  0123456789abcdef0123456789abcdef  ",
        "\t0123456789AbCdEf0123456789aBcDeF-2A\n",
    ] {
        let cid: Cid = input
            .parse()
            .unwrap_or_else(|e| panic!("{input:?} should parse: {e}"));
        assert_eq!(cid.as_str(), CID, "{input:?}");
        assert_eq!(cid.to_string(), CID);
        assert_eq!(Cid::try_from(input).unwrap(), cid);
        assert_eq!(Cid::try_from(input.to_string()).unwrap(), cid);
    }
}

#[test]
fn bad_cids_are_refused_with_the_field_named() {
    for input in [
        "",
        "   ",
        "-7C",
        "0123456789abcdef",
        "0123456789abcdef0123456789abcde",
        "0123456789abcdef0123456789abcdef0",
        "0123456789abcdef0123456789abcdeg",
        "0123456789abcdef0123456789abcdef-7",
        "0123456789abcdef0123456789abcdef-7CC",
        "0123456789abcdef0123456789abcdef--7C",
        "0123456789abcdef-0123456789abcdef",
        "0x0123456789abcdef0123456789abcd",
    ] {
        match input.parse::<Cid>() {
            Err(Error::InvalidInput { field: "cid", .. }) => {}
            other => panic!("{input:?} should be refused as a CID, got {other:?}"),
        }
    }
}

// ---- 6. plain http ---------------------------------------------------------------------------

fn build_with(cloud: &str, allow_plain_http: bool) -> falcon_users::Result<Falcon> {
    Falcon::builder()
        .client_id(CLIENT_ID)
        .client_secret(SECRET)
        .cloud_name(cloud)
        .danger_allow_plain_http(allow_plain_http)
        .build()
}

#[test]
fn plain_http_to_a_non_loopback_host_is_refused_unless_opted_in() {
    for cloud in [
        "http://api.example.test",
        "http://10.0.0.5:8080/",
        "http://192.168.1.10",
        "http://localhost.example.test",
        "http://127.0.0.1.example.test",
        "http://[2001:db8::1]/",
    ] {
        match build_with(cloud, false) {
            Err(Error::InvalidInput {
                field: "cloud",
                reason,
            }) => assert!(
                reason.contains("danger_allow_plain_http"),
                "{cloud}: the message names the opt-in: {reason}"
            ),
            other => panic!("{cloud} must be refused, got {other:?}"),
        }
        let falcon = build_with(cloud, true).unwrap_or_else(|e| panic!("{cloud}: {e}"));
        assert_eq!(falcon.base_url(), Url::parse(cloud).unwrap());
    }
    // The same check for a Cloud given as a value and for endpoint overrides.
    let err = Falcon::builder()
        .client_id(CLIENT_ID)
        .client_secret(SECRET)
        .cloud(Cloud::Custom(
            Url::parse("http://api.example.test").unwrap(),
        ))
        .build()
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput { field: "cloud", .. }),
        "{err:?}"
    );
    let err = Falcon::builder()
        .client_id(CLIENT_ID)
        .client_secret(SECRET)
        .endpoint_override(
            Cloud::Us2,
            Url::parse("http://gateway.example.test").unwrap(),
        )
        .build()
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput { field: "cloud", .. }),
        "{err:?}"
    );
}

#[test]
fn plain_http_to_loopback_and_https_anywhere_are_accepted() {
    for cloud in [
        "http://127.0.0.1:1234",
        "http://127.8.9.10/",
        "http://localhost:8080",
        "http://LOCALHOST/",
        "http://[::1]:8080/",
        "https://api.example.test",
        "https://10.0.0.5/",
    ] {
        let falcon = build_with(cloud, false).unwrap_or_else(|e| panic!("{cloud}: {e}"));
        assert_eq!(falcon.base_url(), Url::parse(cloud).unwrap());
    }
}

// ---- autodiscovery through the loopback guard proxy --------------------------------------------

/// Listener 0 is the guard proxy; listeners 1.. are the "regions" (reached directly, never
/// through the proxy). The handler gets the index of the region a request is for.
struct Regions {
    server: Server,
}

impl Regions {
    async fn start(
        regions: usize,
        handler: impl Fn(usize, &Request) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let names: Arc<OnceLock<Vec<String>>> = Arc::new(OnceLock::new());
        let known = names.clone();
        let server = Server::start_many(
            regions + 1,
            std::time::Duration::ZERO,
            move |seen: &Request| {
                let names = known.get().expect("set before any request");
                match names.iter().position(|n| *n == seen.authority) {
                    Some(i) if i > 0 => handler(i, seen),
                    _ => Reply::json(421, &error_body(421, "unknown authority")),
                }
            },
        )
        .await;
        let all = (0..=regions).map(|i| server.authority(i)).collect();
        names.set(all).expect("set once");
        Regions { server }
    }

    fn url(&self, region: usize) -> Url {
        self.server.url(region)
    }

    /// A builder whose https requests go through the guard proxy.
    fn builder(&self) -> FalconBuilder {
        Falcon::builder()
            .client_id(CLIENT_ID)
            .client_secret(SECRET)
            .proxy(self.server.url(0).as_str())
            .clock(Arc::new(ManualClock::new()))
    }

    /// `(region index, path)` of every request but the guard's `CONNECT`s, in order; asserts
    /// that each went straight to its region, none through the proxy.
    fn traffic(&self) -> Vec<(usize, String)> {
        self.server
            .seen()
            .iter()
            .filter(|s| s.method != "CONNECT")
            .map(|s| {
                assert_ne!(s.listener, 0, "nothing in clear through the proxy: {s:?}");
                let region = (1..self.server.addrs.len())
                    .find(|i| self.server.authority(*i) == s.authority)
                    .unwrap_or(0);
                assert_eq!(region, s.listener, "straight to its region: {s:?}");
                (region, s.path().to_owned())
            })
            .collect()
    }

    /// The `host:port` of every CONNECT, i.e. every attempt to leave loopback (refused).
    fn escapes(&self) -> Vec<String> {
        self.server
            .seen()
            .iter()
            .filter(|s| s.method == "CONNECT")
            .map(|s| s.authority.clone())
            .collect()
    }
}

fn token_reply(token: &str, region: &str) -> Reply {
    Reply::json(201, &token_json(token, 1799)).header("X-Cs-Region", region)
}

fn users_reply() -> Reply {
    Reply::json(200, &page(json!(["u-1"]), 0, 500, 1))
}

const TOKEN: &str = "/oauth2/token";
const QUERY: &str = "/user-management/queries/users/v1";

#[tokio::test]
async fn a_custom_url_ignores_x_cs_region_and_the_call_stays_on_it() {
    let regions = Regions::start(1, |_, seen| match seen.path() {
        TOKEN => token_reply("tok-custom", "us-2"),
        _ => users_reply(),
    })
    .await;
    let falcon = regions
        .builder()
        .cloud(Cloud::Custom(regions.url(1)))
        .build()
        .unwrap();
    let page = bounded(falcon.query_user_ids(&UserQuery::new(), 0))
        .await
        .unwrap();
    assert_eq!(page.resources.unwrap(), ["u-1"]);
    assert_eq!(
        regions.traffic(),
        [(1, TOKEN.to_owned()), (1, QUERY.to_owned())]
    );
    assert!(regions.escapes().is_empty());
    assert_eq!(falcon.base_url(), regions.url(1));
    assert_eq!(falcon.stats().token_requests, 1);
}

#[tokio::test]
async fn a_custom_url_refuses_a_308_to_another_loopback_port() {
    let other = std::sync::Mutex::new(String::new());
    let other = Arc::new(other);
    let target = other.clone();
    let regions = Regions::start(2, move |region, _| match region {
        1 => Reply::empty(308).header(
            "Location",
            &format!("http://{}/oauth2/token", target.lock().unwrap()),
        ),
        _ => token_reply("tok-elsewhere", "us-1"),
    })
    .await;
    *other.lock().unwrap() = regions.server.authority(2);
    let falcon = regions
        .builder()
        .cloud(Cloud::Custom(regions.url(1)))
        .build()
        .unwrap();

    let err = bounded(falcon.authenticate()).await.unwrap_err();
    match &err {
        Error::Auth {
            problem: AuthProblem::BadCredentials,
            status: Some(308),
            message,
            ..
        } => assert!(
            message.contains("custom base URL is never changed"),
            "{message}"
        ),
        other => panic!("expected an auth error about the custom URL, got {other:?}"),
    }
    assert_eq!(regions.traffic(), [(1, TOKEN.to_owned())], "never followed");
    assert_eq!(falcon.base_url(), regions.url(1));

    // The same for a Location naming a real Falcon host: refused, nothing leaves loopback.
    let regions = Regions::start(1, |_, _| {
        Reply::empty(308).header("Location", "https://api.us-2.crowdstrike.com/oauth2/token")
    })
    .await;
    let falcon = regions
        .builder()
        .cloud(Cloud::Custom(regions.url(1)))
        .build()
        .unwrap();
    let err = bounded(falcon.authenticate()).await.unwrap_err();
    assert!(
        err.to_string().contains("custom base URL is never changed"),
        "{err}"
    );
    assert!(regions.escapes().is_empty());
}

#[tokio::test]
async fn x_cs_region_moves_a_named_cloud_to_the_region_and_mints_again_there() {
    let regions = Regions::start(2, |region, seen| match (region, seen.path()) {
        (1, TOKEN) => token_reply("tok-us1", "us-2"),
        (2, TOKEN) => token_reply("tok-us2", "us-2"),
        (2, QUERY) if seen.header("authorization") == Some("Bearer tok-us2") => users_reply(),
        _ => Reply::json(401, &error_body(401, "wrong region or token")),
    })
    .await;
    let falcon = regions
        .builder()
        .cloud(Cloud::Us1)
        .endpoint_override(Cloud::Us1, regions.url(1))
        .endpoint_override(Cloud::Us2, regions.url(2))
        .build()
        .unwrap();
    assert_eq!(falcon.base_url(), regions.url(1));

    let page = bounded(falcon.query_user_ids(&UserQuery::new(), 0))
        .await
        .unwrap();
    assert_eq!(page.resources.unwrap(), ["u-1"]);
    assert_eq!(
        regions.traffic(),
        [
            (1, TOKEN.to_owned()),
            (2, TOKEN.to_owned()),
            (2, QUERY.to_owned())
        ]
    );
    assert_eq!(falcon.base_url(), regions.url(2));
    assert_eq!(falcon.stats().token_requests, 2);
    // A later call stays on the new region, with the token minted there.
    bounded(falcon.query_user_ids(&UserQuery::new(), 0))
        .await
        .unwrap();
    assert_eq!(regions.traffic().last(), Some(&(2, QUERY.to_owned())));
    assert_eq!(falcon.stats().token_requests, 2);
    assert!(regions.escapes().is_empty());
}

#[tokio::test]
async fn a_308_naming_a_real_region_host_is_mapped_onto_its_override() {
    let regions = Regions::start(2, |region, seen| match (region, seen.path()) {
        (1, TOKEN) => {
            Reply::empty(308).header("Location", "https://api.us-2.crowdstrike.com/oauth2/token")
        }
        (2, TOKEN) => token_reply("tok-us2", "us-2"),
        (2, QUERY) => users_reply(),
        _ => Reply::json(404, &error_body(404, "unexpected")),
    })
    .await;
    let falcon = regions
        .builder()
        .endpoint_override(Cloud::Us1, regions.url(1))
        .endpoint_override(Cloud::Us2, regions.url(2))
        .build()
        .unwrap();
    bounded(falcon.query_user_ids(&UserQuery::new(), 0))
        .await
        .unwrap();
    assert_eq!(
        regions.traffic(),
        [
            (1, TOKEN.to_owned()),
            (2, TOKEN.to_owned()),
            (2, QUERY.to_owned())
        ]
    );
    // The token form went to the new region unchanged.
    let second = &regions.server.seen()[1];
    assert_eq!(second.body, token_form(None));
    assert_eq!(falcon.base_url(), regions.url(2));
    assert!(regions.escapes().is_empty());
}

#[tokio::test]
async fn the_region_moves_only_once() {
    // Each region says "the tenant is elsewhere": the client stops after one move.
    let regions = Regions::start(2, |region, seen| match (region, seen.path()) {
        (1, TOKEN) => {
            Reply::empty(308).header("Location", "https://api.us-2.crowdstrike.com/oauth2/token")
        }
        (2, TOKEN) => {
            Reply::empty(308).header("Location", "https://api.crowdstrike.com/oauth2/token")
        }
        _ => Reply::json(404, &error_body(404, "unexpected")),
    })
    .await;
    let falcon = regions
        .builder()
        .endpoint_override(Cloud::Us1, regions.url(1))
        .endpoint_override(Cloud::Us2, regions.url(2))
        .build()
        .unwrap();
    let err = bounded(falcon.authenticate()).await.unwrap_err();
    assert!(
        err.to_string().contains("already switched region once"),
        "{err}"
    );
    assert_eq!(
        regions.traffic(),
        [(1, TOKEN.to_owned()), (2, TOKEN.to_owned())],
        "region 2's token endpoint is asked once, no ping-pong"
    );
    assert!(regions.escapes().is_empty());
}

#[tokio::test]
async fn a_token_401_on_a_commercial_cloud_suggests_a_government_cloud() {
    let regions = Regions::start(1, |_, _| {
        Reply::json(
            401,
            &with_error(
                meta("trace-us1-401"),
                401,
                "access denied, invalid bearer token",
            ),
        )
    })
    .await;
    let falcon = regions
        .builder()
        .endpoint_override(Cloud::Us1, regions.url(1))
        .build()
        .unwrap();
    let err = bounded(falcon.authenticate()).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("government cloud") && text.contains("FALCON_CLOUD"),
        "{text}"
    );
    assert!(!text.contains(SECRET), "{text}");
    assert_eq!(err.trace_id(), Some("trace-us1-401"));
    assert!(regions.escapes().is_empty());
}

/// The switch to a real region host (no override), observed without leaving loopback: the SDK
/// moves its base URL and its next request is a CONNECT to that host, refused by the guard.
#[tokio::test]
async fn x_cs_region_without_an_override_switches_to_the_real_region_host() {
    let regions = Regions::start(1, |_, _| token_reply("tok-us1", "eu-1")).await;
    let falcon = regions
        .builder()
        .endpoint_override(Cloud::Us1, regions.url(1))
        .build()
        .unwrap();
    let err = bounded(falcon.authenticate()).await.unwrap_err();
    assert!(
        matches!(err, Error::Transport { .. } | Error::Timeout { .. }),
        "the guard refuses the tunnel: {err:?}"
    );
    assert_eq!(falcon.base_url(), Cloud::Eu1.base_url());
    let escapes = regions.escapes();
    assert!(!escapes.is_empty());
    assert!(
        escapes.iter().all(|e| e == "api.eu-1.crowdstrike.com:443"),
        "{escapes:?}"
    );
    assert_eq!(regions.traffic()[0], (1, TOKEN.to_owned()));
}

#[tokio::test]
async fn x_cs_region_naming_the_current_region_does_not_move() {
    let regions = Regions::start(2, |_, seen| match seen.path() {
        TOKEN => token_reply("tok-us2", "us-2"),
        _ => users_reply(),
    })
    .await;
    let falcon = regions
        .builder()
        .cloud(Cloud::Us2)
        .endpoint_override(Cloud::Us2, regions.url(2))
        .endpoint_override(Cloud::Us1, regions.url(1))
        .build()
        .unwrap();
    bounded(falcon.query_user_ids(&UserQuery::new(), 0))
        .await
        .unwrap();
    assert_eq!(
        regions.traffic(),
        [(2, TOKEN.to_owned()), (2, QUERY.to_owned())]
    );
    assert_eq!(falcon.stats().token_requests, 1);
}

#[tokio::test]
async fn an_unknown_x_cs_region_is_ignored() {
    let regions = Regions::start(1, |_, seen| match seen.path() {
        TOKEN => token_reply("tok", "mars-7"),
        _ => users_reply(),
    })
    .await;
    let falcon = regions
        .builder()
        .endpoint_override(Cloud::Us1, regions.url(1))
        .build()
        .unwrap();
    bounded(falcon.query_user_ids(&UserQuery::new(), 0))
        .await
        .unwrap();
    assert_eq!(
        regions.traffic(),
        [(1, TOKEN.to_owned()), (1, QUERY.to_owned())]
    );
    assert!(regions.escapes().is_empty());
}

/// `Cloud::UsGov1` is documented as "never autodiscovered" and `Cloud::is_gov` as "a government
/// cloud (which commercial clouds cannot redirect to)".
#[tokio::test]
async fn a_commercial_cloud_is_not_autodiscovered_into_a_gov_cloud() {
    let regions = Regions::start(1, |_, seen| match seen.path() {
        TOKEN => token_reply("tok-us1", "us-gov-1"),
        _ => users_reply(),
    })
    .await;
    let falcon = regions
        .builder()
        .endpoint_override(Cloud::Us1, regions.url(1))
        .build()
        .unwrap();
    let result = bounded(falcon.query_user_ids(&UserQuery::new(), 0)).await;
    let escapes = regions.escapes();
    assert!(
        escapes.is_empty(),
        "the SDK tried to reach a gov host: {escapes:?}"
    );
    result.unwrap();
    assert_eq!(falcon.base_url(), regions.url(1));
}

#[tokio::test]
async fn a_308_from_a_commercial_cloud_to_a_gov_host_is_not_followed() {
    let regions = Regions::start(1, |_, _| {
        Reply::empty(308).header(
            "Location",
            "https://api.laggar.gcw.crowdstrike.com/oauth2/token",
        )
    })
    .await;
    let falcon = regions
        .builder()
        .endpoint_override(Cloud::Us1, regions.url(1))
        .build()
        .unwrap();
    let err = bounded(falcon.authenticate()).await.unwrap_err();
    let escapes = regions.escapes();
    assert!(
        escapes.is_empty(),
        "the SDK tried to reach a gov host: {escapes:?}"
    );
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
}

#[tokio::test]
async fn a_gov_cloud_is_never_moved_by_x_cs_region() {
    let regions = Regions::start(2, |_, seen| match seen.path() {
        TOKEN => token_reply("tok-gov", "us-1"),
        _ => users_reply(),
    })
    .await;
    let falcon = regions
        .builder()
        .cloud(Cloud::UsGov1)
        .endpoint_override(Cloud::UsGov1, regions.url(1))
        .endpoint_override(Cloud::Us1, regions.url(2))
        .build()
        .unwrap();
    bounded(falcon.query_user_ids(&UserQuery::new(), 0))
        .await
        .unwrap();
    assert_eq!(
        regions.traffic(),
        [(1, TOKEN.to_owned()), (1, QUERY.to_owned())],
        "the gov tenant's traffic moved"
    );
}

/// A 308 is autodiscovery between Falcon regions; a Location that is neither a Falcon API host
/// nor a configured override must not receive the client id and secret.
#[tokio::test]
async fn a_308_to_a_host_that_is_no_falcon_cloud_is_not_followed() {
    let stranger = Arc::new(std::sync::Mutex::new(String::new()));
    let target = stranger.clone();
    let regions = Regions::start(2, move |region, _| match region {
        1 => Reply::empty(308).header(
            "Location",
            &format!("http://{}/oauth2/token", target.lock().unwrap()),
        ),
        _ => token_reply("tok-stranger", "us-1"),
    })
    .await;
    // Region 2 is just some other server: no override names it.
    *stranger.lock().unwrap() = regions.server.authority(2);
    let falcon = regions
        .builder()
        .endpoint_override(Cloud::Us1, regions.url(1))
        .build()
        .unwrap();
    let result = bounded(falcon.authenticate()).await;
    let stranger_saw: Vec<String> = regions
        .server
        .seen()
        .iter()
        .filter(|s| s.authority == regions.server.authority(2))
        .map(|s| s.body.clone())
        .collect();
    assert!(
        stranger_saw.is_empty(),
        "the token form went to a host that is no Falcon cloud: {stranger_saw:?}"
    );
    assert!(matches!(result, Err(Error::Auth { .. })), "{result:?}");

    // The same with a real-looking https host: not even a CONNECT.
    let regions = Regions::start(1, |_, _| {
        Reply::empty(308).header("Location", "https://falcon-login.example.test/oauth2/token")
    })
    .await;
    let falcon = regions
        .builder()
        .endpoint_override(Cloud::Us1, regions.url(1))
        .build()
        .unwrap();
    let result = bounded(falcon.authenticate()).await;
    assert!(regions.escapes().is_empty(), "{:?}", regions.escapes());
    assert!(matches!(result, Err(Error::Auth { .. })), "{result:?}");
}
