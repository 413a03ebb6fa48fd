//! Decoding of every response model used by a 2xx response, in five variants each:
//! the realistic full body, `resources`/`errors` as `null`, as `[]`, absent, and with unknown
//! fields at the envelope, `meta`, resource and error level (which must be ignored).

use falcon_users_api::types;
use falcon_users_tests::fixtures::*;
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Variant {
    Full,
    Null,
    Empty,
    Absent,
    Extra,
}

/// What the table-driven runner needs to know about an envelope type.
trait Envelope: Sized + std::fmt::Debug {
    const HAS_RESOURCES: bool;
    const HAS_ERRORS: bool;
    fn decode(value: Value) -> serde_json::Result<Self>;
    fn trace_id(&self) -> &str;
    fn resources_len(&self) -> Option<usize>;
    fn errors_len(&self) -> Option<usize>;
}

macro_rules! envelope {
    ($ty:ty, resources, errors) => {
        envelope!(@impl $ty, true, true,
            |s: &$ty| s.resources.as_ref().map(|r| r.len()),
            |s: &$ty| s.errors.as_ref().map(|e| e.len()));
    };
    ($ty:ty, resources) => {
        envelope!(@impl $ty, true, false,
            |s: &$ty| s.resources.as_ref().map(|r| r.len()),
            |_: &$ty| None);
    };
    ($ty:ty, errors) => {
        envelope!(@impl $ty, false, true,
            |_: &$ty| None,
            |s: &$ty| s.errors.as_ref().map(|e| e.len()));
    };
    (@impl $ty:ty, $res:expr, $err:expr, $rlen:expr, $elen:expr) => {
        impl Envelope for $ty {
            const HAS_RESOURCES: bool = $res;
            const HAS_ERRORS: bool = $err;
            fn decode(value: Value) -> serde_json::Result<Self> {
                serde_json::from_value(value)
            }
            fn trace_id(&self) -> &str {
                &self.meta.trace_id
            }
            fn resources_len(&self) -> Option<usize> {
                ($rlen)(self)
            }
            fn errors_len(&self) -> Option<usize> {
                ($elen)(self)
            }
        }
    };
}

envelope!(types::MsaspecQueryResponse, resources);
envelope!(types::MsaQueryResponse, resources, errors);
envelope!(
    types::FlightcontrolapiQueryInvitationResponse,
    resources,
    errors
);
envelope!(
    types::FlightcontrolapiGetRolePermissionsResponse,
    resources,
    errors
);
envelope!(types::ApiUserRoleIdsResponse, resources, errors);
envelope!(types::FlightcontrolapiUserResponse, resources, errors);
envelope!(types::FlightcontrolapiUserV2Response, resources, errors);
envelope!(types::FlightcontrolapiGetRolesResponse, resources, errors);
envelope!(types::ApiUserRoleResponse, resources, errors);
envelope!(types::ApiUserMetadataResponse, resources, errors);
envelope!(
    types::FlightcontrolapiCombinedUserRolesResponseV1,
    resources,
    errors
);
envelope!(
    types::FlightcontrolapiCombinedUserRolesResponseV2,
    resources,
    errors
);
envelope!(types::FlightcontrolapiAggregatesResponse, resources, errors);
envelope!(types::DomainActionValidationResponse, resources, errors);
envelope!(types::FlightcontrolapiInvitationResponse, resources, errors);
envelope!(
    types::FlightcontrolapiGetPermissionGroupsResponse,
    resources,
    errors
);
envelope!(
    types::FlightcontrolapiGetPermissionsResponse,
    resources,
    errors
);
envelope!(types::MsaspecResponseFields, errors);
envelope!(types::MsaReplyMetaOnly, errors);

fn variant(full: &Value, variant: Variant) -> Value {
    let mut body = full.clone();
    let obj = body.as_object_mut().expect("envelope is an object");
    match variant {
        Variant::Full => {}
        Variant::Null => {
            obj.insert("resources".into(), Value::Null);
            obj.insert("errors".into(), Value::Null);
        }
        Variant::Empty => {
            obj.insert("resources".into(), json!([]));
            obj.insert("errors".into(), json!([]));
        }
        Variant::Absent => {
            obj.remove("resources");
            obj.remove("errors");
        }
        Variant::Extra => {
            obj.insert(
                "extensions".into(),
                json!({"rate": {"bucket": "user-management", "cost": 1}}),
            );
            let meta = obj["meta"].as_object_mut().unwrap();
            meta.insert("entity".into(), json!("users"));
            meta.insert("deprecation".into(), json!({"sunset": "2026-01-01"}));
            if let Some(p) = meta.get_mut("pagination").and_then(Value::as_object_mut) {
                p.insert("next_page".into(), json!(null));
            }
            for key in ["resources", "errors"] {
                if let Some(items) = obj.get_mut(key).and_then(Value::as_array_mut) {
                    for item in items.iter_mut().filter_map(Value::as_object_mut) {
                        item.insert("added_later".into(), json!({"nested": [1, "two", null]}));
                        item.insert("flag_v9".into(), json!(true));
                    }
                }
            }
        }
    }
    body
}

/// Decodes all variants of `full` as `T`; `check` runs on the variants that keep the resources.
fn run<T: Envelope>(full: Value, check: impl Fn(&T)) {
    let resources = full["resources"].as_array().map(Vec::len);
    let errors = full["errors"].as_array().map(Vec::len);
    if T::HAS_RESOURCES {
        assert!(
            resources.is_some_and(|n| n > 1),
            "fixture needs several resources"
        );
    }
    for v in [
        Variant::Full,
        Variant::Null,
        Variant::Empty,
        Variant::Absent,
        Variant::Extra,
    ] {
        let body = variant(&full, v);
        let decoded = T::decode(body.clone())
            .unwrap_or_else(|e| panic!("{v:?} body does not decode: {e}\n{body:#}"));
        assert_eq!(decoded.trace_id(), TRACE_ID, "{v:?}");
        let (want_res, want_err) = match v {
            Variant::Full | Variant::Extra => (resources, errors),
            Variant::Empty => (Some(0), Some(0)),
            Variant::Null | Variant::Absent => (None, None),
        };
        if T::HAS_RESOURCES {
            assert_eq!(decoded.resources_len(), want_res, "{v:?} resources");
        }
        if T::HAS_ERRORS {
            assert_eq!(decoded.errors_len(), want_err, "{v:?} errors");
        }
        if matches!(v, Variant::Full | Variant::Extra) {
            check(&decoded);
        }
    }
}

#[test]
fn msaspec_query_response() {
    run(
        json!({"meta": paged_meta(service_meta(), 0, 100, 3), "resources": [USER_1, USER_2, USER_3]}),
        |b: &types::MsaspecQueryResponse| {
            assert_eq!(b.resources.as_ref().unwrap()[1], USER_2);
            let p = b.meta.pagination.as_ref().unwrap();
            assert_eq!((p.offset, p.limit, p.total), (0, 100, 3));
            assert_eq!(b.meta.powered_by.as_deref(), Some("user-management"));
        },
    );
}

#[test]
fn msa_query_response() {
    run(
        with_resources(service_meta(), json!([EMAIL_1, EMAIL_2, EMAIL_3])),
        |b: &types::MsaQueryResponse| {
            assert_eq!(b.resources.as_ref().unwrap()[2], EMAIL_3);
            assert!(b.meta.pagination.is_none());
            assert!((b.meta.query_time - 0.012_345_678).abs() < 1e-12);
        },
    );
}

#[test]
fn query_invitation_response() {
    run(
        with_resources(
            paged_meta(service_meta(), 0, 50, 2),
            json!(["inv-7c1e9a4b2d", "inv-3f52d08e61"]),
        ),
        |b: &types::FlightcontrolapiQueryInvitationResponse| {
            assert_eq!(b.resources.as_ref().unwrap()[1], "inv-3f52d08e61");
            assert_eq!(b.meta.pagination.as_ref().unwrap().limit, 50);
        },
    );
}

#[test]
fn get_role_permissions_response() {
    run(
        with_resources(service_meta(), json!(["hosts:read", "hosts:write"])),
        |b: &types::FlightcontrolapiGetRolePermissionsResponse| {
            assert_eq!(
                b.resources.as_deref().unwrap(),
                ["hosts:read".to_owned(), "hosts:write".to_owned()]
            );
        },
    );
}

#[test]
fn user_role_ids_response() {
    run(
        with_resources(
            write_meta(service_meta(), 2),
            json!(["falcon_console_guest", CUSTOM_ROLE]),
        ),
        |b: &types::ApiUserRoleIdsResponse| {
            assert_eq!(b.resources.as_ref().unwrap()[1], CUSTOM_ROLE);
            assert_eq!(b.meta.writes.as_ref().unwrap().resources_affected, 2);
        },
    );
}

#[test]
fn user_response() {
    run(
        with_resources(service_meta(), users_v1()),
        |b: &types::FlightcontrolapiUserResponse| {
            let users = b.resources.as_ref().unwrap();
            assert_eq!(users[0].uid.as_deref(), Some(EMAIL_1));
            assert_eq!(users[0].factors, ["totp"]);
            assert_eq!(users[1].last_login_at, None);
            assert_eq!(
                users[2]
                    .access_granted_at
                    .unwrap()
                    .timestamp_subsec_millis(),
                500
            );
        },
    );
}

#[test]
fn user_v2_response() {
    run(
        with_resources(paged_meta(service_meta(), 0, 3, 3), users_v1()),
        |b: &types::FlightcontrolapiUserV2Response| {
            let users = b.resources.as_ref().unwrap();
            assert_eq!(users[2].user_type.as_deref(), Some("external"));
            assert_eq!(users[1].status.as_deref(), Some("pending"));
            assert_eq!(b.meta.pagination.as_ref().unwrap().total, 3);
        },
    );
}

#[test]
fn get_roles_response() {
    run(
        with_resources(service_meta(), roles()),
        |b: &types::FlightcontrolapiGetRolesResponse| {
            let roles = b.resources.as_ref().unwrap();
            assert_eq!(roles[0].id, "falcon_console_guest");
            assert!(roles[0].is_global && roles[0].cid.is_none());
            assert_eq!(roles[2].cid.as_deref(), Some(CID));
            assert_eq!(roles[2].display_name, "SOC Tier 1");
        },
    );
}

#[test]
fn user_role_response() {
    run(
        with_resources(service_meta(), user_roles_legacy()),
        |b: &types::ApiUserRoleResponse| {
            let roles = b.resources.as_ref().unwrap();
            assert_eq!(roles[1].id, "falconhost_read_only");
            assert_eq!(roles[1].description, json!("View detections and hosts."));
            assert_eq!(roles[2].cid.as_deref(), Some(CID));
        },
    );
}

#[test]
fn user_metadata_response() {
    run(
        with_resources(service_meta(), user_metadata()),
        |b: &types::ApiUserMetadataResponse| {
            let users = b.resources.as_ref().unwrap();
            assert_eq!(users[0].uuid, USER_1);
            assert_eq!(users[0].customer, CID);
            assert_eq!(users[1].last_name.as_deref(), Some("Okafor"));
            assert_eq!(users[2].status, None);
        },
    );
}

#[test]
fn combined_user_roles_response_v1() {
    run(
        with_resources(paged_meta(service_meta(), 0, 100, 3), combined_roles_v1()),
        |b: &types::FlightcontrolapiCombinedUserRolesResponseV1| {
            let grants = b.resources.as_ref().unwrap();
            assert_eq!(grants[0].role_id, "falcon_administrator");
            assert_eq!(
                grants[1].cid_group_id.as_deref(),
                Some("9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d")
            );
            assert_eq!(grants[2].grant_type.as_deref(), Some("direct"));
        },
    );
}

#[test]
fn combined_user_roles_response_v2() {
    run(
        with_resources(paged_meta(service_meta(), 0, 100, 3), combined_roles_v2()),
        |b: &types::FlightcontrolapiCombinedUserRolesResponseV2| {
            let grants = b.resources.as_ref().unwrap();
            assert_eq!(grants[0].expires_at, None);
            assert_eq!(
                grants[1].expires_at.as_deref(),
                Some("2025-06-09T12:00:00Z")
            );
            assert_eq!(grants[2].role_id, CUSTOM_ROLE);
            assert_eq!(grants[2].user_type.as_deref(), Some("external"));
        },
    );
}

#[test]
fn aggregates_response() {
    let mut results = aggregation_results();
    // Nested sub-aggregation and hits, as a `top_hits` / nested terms answer carries them.
    results[0]["buckets"][0]["sub_aggregates"] = json!([{
        "name": "user_type",
        "buckets": [{"key_as_string": "internal", "count": 110}, {"key_as_string": "external", "count": 8}]
    }]);
    results[1]["hits"] = json!({
        "MaxScore": 1.0,
        "Hits": [{"ID": USER_1, "Score": 1.0, "Source": "{}"}]
    });
    run(
        with_resources(service_meta(), results),
        |b: &types::FlightcontrolapiAggregatesResponse| {
            let results = b.resources.as_ref().unwrap();
            assert_eq!(results[0].buckets[0].count, 118);
            let sub = &results[0].buckets[0].sub_aggregates[0];
            assert_eq!(sub.name, "user_type");
            assert_eq!(sub.buckets[1].count, 8);
            let hits = results[1].hits.as_ref().unwrap();
            assert_eq!(hits.hits[0].id, USER_1);
            assert_eq!(results[1].buckets[0].value, Some(1_743_465_600_000.0));
        },
    );
}

#[test]
fn action_validation_response() {
    run(
        with_resources(service_meta(), allowed_actions()),
        |b: &types::DomainActionValidationResponse| {
            let actions = b.resources.as_ref().unwrap();
            assert_eq!(actions[0].action, "grant");
            assert_eq!(
                actions[0].resource_ids,
                ["falcon_console_guest", CUSTOM_ROLE]
            );
            assert_eq!(actions[2].cid, CHILD_CID);
            assert!(actions[2].resource_ids.is_empty());
        },
    );
}

#[test]
fn invitation_response() {
    run(
        with_resources(service_meta(), invitations()),
        |b: &types::FlightcontrolapiInvitationResponse| {
            let inv = b.resources.as_ref().unwrap();
            assert_eq!(inv[0].invitee_email, "dana.ivanova@partner.example");
            assert_eq!(inv[0].inviter_email.as_deref(), Some(EMAIL_1));
            assert_eq!(inv[1].status, "accepted");
            assert_eq!(
                inv[2].original_invitation_id.as_deref(),
                Some("inv-0011223344")
            );
            assert!(inv[2].expires_at > inv[2].created_at);
        },
    );
}

#[test]
fn permission_groups_response() {
    run(
        with_resources(service_meta(), permission_groups()),
        |b: &types::FlightcontrolapiGetPermissionGroupsResponse| {
            let groups = b.resources.as_ref().unwrap();
            assert_eq!(groups[0].id, "pg_hosts");
            assert_eq!(groups[2].display_name, "Real Time Response");
            assert_eq!(groups[1].description, json!("User management"));
        },
    );
}

#[test]
fn permissions_response() {
    run(
        with_resources(service_meta(), permissions()),
        |b: &types::FlightcontrolapiGetPermissionsResponse| {
            let perms = b.resources.as_ref().unwrap();
            assert_eq!(perms[1].depends_on, ["hosts:read"]);
            assert!(perms[1].is_required_for.is_empty());
            assert_eq!(perms[2].type_, "read");
        },
    );
}

#[test]
fn response_fields() {
    // A write acknowledgement, and a partial failure carrying error entries.
    run(
        meta_only(write_meta(service_meta(), 3)),
        |b: &types::MsaspecResponseFields| {
            assert_eq!(b.meta.writes.as_ref().unwrap().resources_affected, 3);
        },
    );
    let mut partial = meta_only(write_meta(service_meta(), 1));
    partial["errors"] = json!([
        {"code": 404, "message": "user not found", "id": USER_3},
        {"code": 400, "message": "invalid roleID"}
    ]);
    run(partial, |b: &types::MsaspecResponseFields| {
        let errors = b.errors.as_ref().unwrap();
        assert_eq!(errors[0].id.as_deref(), Some(USER_3));
        assert_eq!(errors[1].code, 400);
        assert_eq!(errors[1].id, None);
    });
}

#[test]
fn reply_meta_only() {
    run(
        meta_only(write_meta(service_meta(), 1)),
        |b: &types::MsaReplyMetaOnly| {
            assert_eq!(b.meta.writes.as_ref().unwrap().resources_affected, 1);
            assert_eq!(b.meta.powered_by.as_deref(), Some("user-management"));
        },
    );
    run(
        with_error(gateway_meta(), 401, "access denied, invalid bearer token"),
        |b: &types::MsaReplyMetaOnly| {
            assert_eq!(b.errors.as_ref().unwrap()[0].code, 401);
        },
    );
}

#[test]
fn access_token_response() {
    let full = json!({
        "access_token": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
        "token_type": "bearer",
        "expires_in": 1799
    });
    let decode = |v: Value| -> types::DomainAccessTokenResponseV1 {
        serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{e}: {v}"))
    };
    let t = decode(full.clone());
    assert_eq!(
        t.access_token.as_deref(),
        Some("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln")
    );
    assert_eq!(t.token_type.as_deref(), Some("bearer"));
    assert_eq!(t.expires_in, Some(1799));
    assert_eq!(t.scope, None);

    let mut extra = full.clone();
    extra["jti"] = json!("6a1f1c2e");
    extra["meta"] = service_meta();
    assert_eq!(decode(extra), t);

    let mut nulls = full;
    nulls["refresh_token"] = Value::Null;
    nulls["id_token"] = Value::Null;
    nulls["scope"] = Value::Null;
    assert_eq!(decode(nulls), t);

    assert_eq!(
        decode(json!({})),
        types::DomainAccessTokenResponseV1::default()
    );
}

/// Decoding must not be lenient where the spec is strict: a missing `meta` is an error.
#[test]
fn missing_meta_is_rejected() {
    let err =
        serde_json::from_value::<types::MsaspecResponseFields>(json!({"errors": []})).unwrap_err();
    assert!(err.to_string().contains("meta"), "{err}");
    let err = serde_json::from_value::<types::FlightcontrolapiUserResponse>(
        json!({"meta": {"query_time": 0.1}, "resources": []}),
    )
    .unwrap_err();
    assert!(err.to_string().contains("trace_id"), "{err}");
}
