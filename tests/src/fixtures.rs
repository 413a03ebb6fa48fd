//! Wire-format fixtures: our tenant's ids and credentials, the service's and the gateway's
//! `meta`, and realistic resources (users, roles, grants, ...) for the generated client's wire
//! and decode tests. Envelopes are built with `falcon_users_httpmock::envelope`, re-exported.

use serde_json::{Value, json};

// The one envelope vocabulary of every test.
pub use falcon_users_httpmock::envelope::*;

/// Our tenant (32 lowercase hex).
pub const CID: &str = "8f3c1a2b4d5e6f708192a3b4c5d6e7f8";
/// A Flight Control member CID.
pub const CHILD_CID: &str = "1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f";

pub const USER_1: &str = "6d3f9a52-1b7e-4c8a-9f2d-0e5b7c1a4d83";
pub const USER_2: &str = "a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d";
pub const USER_3: &str = "3e7c2a91-5f48-4b0d-a6e3-8d2c1f9b7e50";

pub const EMAIL_1: &str = "alice.nguyen@example.com";
pub const EMAIL_2: &str = "bob.okafor@example.com";
pub const EMAIL_3: &str = "carmen.ruiz@example.com";

/// A custom role: 32 hex, lives in [`CID`].
pub const CUSTOM_ROLE: &str = "5a7b9c1d3e5f7a9b1c3d5e7f9a1b3c5d";

pub const TRACE_ID: &str = "0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a";

pub const CLIENT_ID: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
pub const CLIENT_SECRET: &str = "q7Zr2LmX9vT4nB8kW1cY5hJ3eP6sD0aF";
/// `Basic base64(CLIENT_ID:CLIENT_SECRET)`.
pub const BASIC_AUTH: &str = "Basic MGExYjJjM2Q0ZTVmNjA3MTgyOTNhNGI1YzZkN2U4Zjk6cTdacjJMbVg5dlQ0bkI4a1cxY1k1aEozZVA2c0QwYUY=";

// ---------------------------------------------------------------------------------------------
// Response fixtures (our own, realistic shapes)
// ---------------------------------------------------------------------------------------------

/// The user-management service's `meta`: a realistic query time, `powered_by` and [`TRACE_ID`].
/// Wrap it with the envelope vocabulary re-exported here (`paged_meta`, `write_meta`,
/// `with_resources`, `meta_only`, `with_error`).
pub fn service_meta() -> Value {
    json!({
        "query_time": 0.012_345_678,
        "powered_by": "user-management",
        "trace_id": TRACE_ID
    })
}

/// The API gateway's `meta`, as on the errors it answers itself (with [`TRACE_ID`]).
pub fn gateway_meta() -> Value {
    json!({
        "query_time": 0.000_412_3,
        "powered_by": "crowdstrike-api-gateway",
        "trace_id": TRACE_ID
    })
}

pub fn users_v1() -> Value {
    json!([
        {
            "uuid": USER_1, "cid": CID, "uid": EMAIL_1,
            "first_name": "Alice", "last_name": "Nguyen", "status": "active",
            "created_at": "2023-02-14T09:21:07.512349Z", "updated_at": "2025-01-30T16:02:44.110271Z",
            "last_login_at": "2025-06-02T07:45:13.000000Z", "factors": ["totp"],
            "user_type": "internal", "access_granted_at": "2023-02-14T09:21:07Z"
        },
        {
            "uuid": USER_2, "cid": CID, "uid": EMAIL_2,
            "first_name": "Bob", "last_name": "Okafor", "status": "pending",
            "created_at": "2025-05-28T12:00:00.000000Z", "updated_at": "2025-05-28T12:00:00.000000Z",
            "factors": []
        },
        {
            "uuid": USER_3, "cid": CHILD_CID, "uid": EMAIL_3,
            "first_name": "Carmen", "last_name": "Ruiz", "status": "active",
            "created_at": "2021-11-03T18:30:55.918272Z", "updated_at": "2024-12-01T10:10:10.000000Z",
            "last_login_at": "2025-06-01T22:01:59.000000Z", "factors": ["totp", "webauthn"],
            "user_type": "external", "access_granted_at": "2024-03-09T08:00:00.5Z"
        }
    ])
}

pub fn roles() -> Value {
    json!([
        {
            "id": "falcon_console_guest", "display_name": "Falcon Console Guest",
            "description": "Read-only access to the Falcon console home page.", "is_global": true
        },
        {
            "id": "falcon_administrator", "display_name": "Falcon Administrator",
            "description": "Manage users, policies and settings.", "is_global": true
        },
        {
            "id": CUSTOM_ROLE, "cid": CID, "display_name": "SOC Tier 1",
            "description": "Custom role for first-line analysts.", "is_global": false
        }
    ])
}

pub fn user_roles_legacy() -> Value {
    json!([
        {"id": "falcon_console_guest", "display_name": "Falcon Console Guest", "description": "Read-only access."},
        {"id": "falconhost_read_only", "display_name": "Falcon Read Only", "description": "View detections and hosts."},
        {"id": CUSTOM_ROLE, "cid": CID, "display_name": "SOC Tier 1", "description": "Custom role."}
    ])
}

pub fn user_metadata() -> Value {
    json!([
        {"uuid": USER_1, "customer": CID, "uid": EMAIL_1, "firstName": "Alice", "lastName": "Nguyen", "status": "active"},
        {"uuid": USER_2, "customer": CID, "uid": EMAIL_2, "firstName": "Bob", "lastName": "Okafor", "status": "pending"},
        {"uuid": USER_3, "customer": CID, "uid": EMAIL_3, "firstName": "Carmen", "lastName": "Ruiz"}
    ])
}

pub fn combined_roles_v1() -> Value {
    json!([
        {
            "uuid": USER_1, "cid": CID, "role_id": "falcon_administrator",
            "role_name": "Falcon Administrator", "grant_type": "direct"
        },
        {
            "uuid": USER_1, "cid": CHILD_CID, "parent_cid": CID, "role_id": "falcon_console_guest",
            "role_name": "Falcon Console Guest", "grant_type": "cid_group",
            "cid_group_id": "9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d", "cid_group_name": "EMEA members",
            "user_group_id": "4c3b2a190817263544536271809a0b1c", "user_group_name": "SOC"
        },
        {
            "uuid": USER_1, "cid": CID, "role_id": CUSTOM_ROLE,
            "role_name": "SOC Tier 1", "grant_type": "direct"
        }
    ])
}

pub fn combined_roles_v2() -> Value {
    json!([
        {
            "uuid": USER_2, "cid": CID, "role_id": "falcon_console_guest",
            "role_name": "Falcon Console Guest", "grant_type": "direct", "user_type": "internal"
        },
        {
            "uuid": USER_2, "cid": CID, "role_id": "falconhost_read_only",
            "role_name": "Falcon Read Only", "grant_type": "direct",
            "expires_at": "2025-06-09T12:00:00Z", "user_type": "internal"
        },
        {
            "uuid": USER_2, "cid": CHILD_CID, "parent_cid": CID, "role_id": CUSTOM_ROLE,
            "role_name": "SOC Tier 1", "grant_type": "cid_group",
            "cid_group_id": "9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d", "cid_group_name": "EMEA members",
            "user_type": "external"
        }
    ])
}

pub fn invitations() -> Value {
    json!([
        {
            "invitation_id": "inv-7c1e9a4b2d", "invitee_email": "dana.ivanova@partner.example",
            "inviter_uuid": USER_1, "inviter_email": EMAIL_1, "inviter_cid": CID,
            "target_cid": CHILD_CID, "status": "pending",
            "created_at": "2025-05-30T08:15:00Z", "updated_at": "2025-05-30T08:15:02.481Z",
            "email_sent_at": "2025-05-30T08:15:01Z", "expires_at": "2025-06-06T08:15:00Z"
        },
        {
            "invitation_id": "inv-3f52d08e61", "invitee_email": "erik.lund@partner.example",
            "invitee_uuid": "f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b",
            "inviter_uuid": USER_1, "target_cid": CHILD_CID, "status": "accepted",
            "created_at": "2025-04-01T10:00:00Z", "updated_at": "2025-04-02T09:30:00Z",
            "accepted_at": "2025-04-02T09:30:00Z", "expires_at": "2025-04-08T10:00:00Z"
        },
        {
            "invitation_id": "inv-a9b8c7d6e5", "invitee_email": "fiona.berg@partner.example",
            "inviter_uuid": USER_3, "target_cid": CHILD_CID, "status": "canceled",
            "created_at": "2025-03-11T14:00:00Z", "updated_at": "2025-03-12T14:00:00Z",
            "canceled_at": "2025-03-12T14:00:00Z", "canceled_by": USER_3,
            "original_invitation_id": "inv-0011223344", "expires_at": "2025-03-18T14:00:00Z"
        }
    ])
}

pub fn permission_groups() -> Value {
    json!([
        {"id": "pg_hosts", "display_name": "Hosts", "description": "Host management", "type": "falcon"},
        {"id": "pg_users", "display_name": "Users and roles", "description": "User management", "type": "falcon"},
        {"id": "pg_rtr", "display_name": "Real Time Response", "description": "Remote shell", "type": "falcon"}
    ])
}

pub fn permissions() -> Value {
    json!([
        {
            "id": "hosts:read", "display_name": "Read hosts", "description": "View hosts",
            "permission_group_id": "pg_hosts", "type": "read",
            "depends_on": [], "is_required_for": ["hosts:write"]
        },
        {
            "id": "hosts:write", "display_name": "Write hosts", "description": "Contain and hide hosts",
            "permission_group_id": "pg_hosts", "type": "write",
            "depends_on": ["hosts:read"], "is_required_for": []
        },
        {
            "id": "user-management:read", "display_name": "Read users", "description": "List users",
            "permission_group_id": "pg_users", "type": "read",
            "depends_on": [], "is_required_for": ["user-management:write"]
        }
    ])
}

pub fn allowed_actions() -> Value {
    json!([
        {"action": "grant", "cid": CID, "uuid": USER_1, "resource_ids": ["falcon_console_guest", CUSTOM_ROLE]},
        {"action": "revoke", "cid": CID, "uuid": USER_1, "resource_ids": ["falcon_administrator"]},
        {"action": "delete", "cid": CHILD_CID, "uuid": USER_3, "resource_ids": []}
    ])
}

/// Buckets without `label` (see the ignored test `aggregate_bucket_with_string_label_decodes`).
pub fn aggregation_results() -> Value {
    json!([
        {
            "name": "status",
            "doc_count_error_upper_bound": 0,
            "sum_other_doc_count": 0,
            "buckets": [
                {"key_as_string": "active", "count": 118},
                {"key_as_string": "pending", "count": 7},
                {"key_as_string": "inactive", "count": 3}
            ]
        },
        {
            "name": "created",
            "buckets": [
                {"key_as_string": "2025-04-01T00:00:00.000Z", "count": 4, "value": 1_743_465_600_000.0_f64},
                {"key_as_string": "2025-05-01T00:00:00.000Z", "count": 9, "value": 1_746_057_600_000.0_f64}
            ]
        }
    ])
}

/// One realistic terms-aggregation request.
pub fn aggregate_request() -> Value {
    json!({
        "date_ranges": [],
        "exclude": "",
        "field": "status",
        "filter": "cid:'8f3c1a2b4d5e6f708192a3b4c5d6e7f8'",
        "from": 0,
        "include": "",
        "interval": "",
        "missing": "",
        "name": "status",
        "q": "",
        "ranges": [],
        "size": 10,
        "sort": "",
        "sub_aggregates": [],
        "time_zone": "",
        "type": "terms"
    })
}

pub fn aggregate_request_date() -> Value {
    json!({
        "date_ranges": [{"from": "2025-04-01T00:00:00Z", "to": "2025-06-01T00:00:00Z"}],
        "exclude": "",
        "field": "created_at",
        "filter": "",
        "from": 0,
        "include": "",
        "interval": "month",
        "missing": "",
        "min_doc_count": 1,
        "name": "created",
        "q": "",
        "ranges": [],
        "size": 0,
        "sort": "",
        "sub_aggregates": [],
        "time_zone": "Etc/UTC",
        "type": "date_histogram"
    })
}
