#!/usr/bin/env python3
"""FalconPy against the simulator: UserManagement through a user's lifecycle, then every method;
then the CCID lookup through SensorDownload and Flight Control through FlightControl (the
parent's children, then user groups, CID groups, their members and a link, made and undone).

    python3 tests/falconpy/lifecycle.py --base-url URL --client-id ID --client-secret S --cid CID
        [--token-only]

Run by the `sim::falconpy` integration test (which starts the simulator and asserts the answer).
It bootstraps the shared FalconPy venv (`scripts/falconpy_env.py`) and re-executes inside it.
The last stdout line is one JSON object:

    {"falconpy_version": ..., "uid": the lifecycle user's login, "legacy_uid": ...,
     "roles": the built-in roles granted, "calls": [{"step", "method", "operations", "status",
     "errors", "resources"}], "unexercised": [methods this script has no call for],
     "aliases": {method: [its other names]},
     "fleet_unexercised": [FlightControl methods this script has no call for]}

Each call records the operation ids FalconPy sent and the endpoints (method and path) they hit
(by wrapping `process_service_request`), so the test knows which endpoint a method really hit. Nothing is asserted here: the test does it.
"""

import argparse
import os
import sys
import uuid as uuidlib
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "scripts"))
from falconpy_env import answer, bootstrap, guard_loopback, installed_version  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--cid", required=True)
    parser.add_argument("--token-only", action="store_true",
                        help="mint a token and report where FalconPy's region autodiscovery "
                             "left base_url; nothing else is sent")
    return parser.parse_args()


class Recorder:
    """Calls FalconPy methods and records what each sent and got."""

    def __init__(self, falcon, module):
        self.falcon = falcon
        self.calls = []
        self.sent = []
        self.hit = []
        real = module.process_service_request

        def spy(*args, **kwargs):
            operation_id = kwargs.get("operation_id")
            self.sent.append(operation_id)
            # The endpoint it hits, from FalconPy's own table: FalconPy names some endpoints
            # otherwise than the spec (its bare Flight Control getters hit the v2 paths).
            for endpoint in kwargs.get("endpoints") or []:
                if endpoint[0] == operation_id:
                    self.hit.append(f"{endpoint[1]} {endpoint[2]}")
            return real(*args, **kwargs)

        module.process_service_request = spy

    def call(self, step, method, *args, **kwargs):
        self.sent = []
        self.hit = []
        reply = getattr(self.falcon, method)(*args, **kwargs)
        body = reply.get("body") or {}
        errors = [e.get("message", "") if isinstance(e, dict) else str(e)
                  for e in (body.get("errors") or [])] if isinstance(body, dict) else []
        self.calls.append({"step": step, "method": method, "operations": list(self.sent),
                           "endpoints": list(self.hit),
                           "status": reply.get("status_code"), "errors": errors,
                           "resources": resources(body) if isinstance(body, dict) else []})
        return body if isinstance(body, dict) else {}


def resources(body):
    return body.get("resources") or []


def methods_of(cls):
    """The public methods the class itself defines, by function: {canonical name: [aliases]}."""
    by_func = {}
    for name, value in vars(cls).items():
        if name.startswith("_") or not callable(value):
            continue
        by_func.setdefault(value, []).append(name)
    return {func.__name__: sorted(n for n in names if n != func.__name__)
            for func, names in by_func.items()}


def main():
    args = parse_args()
    bootstrap(__file__)
    guard_loopback()
    import falconpy.user_management as module
    from falconpy import UserManagement

    # `base_url` is taken as given (an http:// URL stays http://); the simulator plays a region
    # no real one has, so `autodiscover_region` keeps it.
    falcon = UserManagement(client_id=args.client_id, client_secret=args.client_secret,
                            base_url=args.base_url)
    if args.token_only:
        # The token stays live: revoking it would go wherever base_url now points.
        answer({"falconpy_version": installed_version(), "token_status": falcon.token_status,
                "base_url": falcon.base_url}, 0)
    rec = Recorder(falcon, module)
    # The constructor has minted the token (a service class logs itself in).
    rec.calls.append({"step": "token", "method": "login", "operations": ["oauth2AccessToken"],
                      "status": falcon.token_status, "errors": [], "resources": []})
    if falcon.base_url.rstrip("/") != args.base_url.rstrip("/"):
        answer({"error": f"FalconPy moved to {falcon.base_url}"}, 1)
    cid = args.cid
    uid = f"falconpy.{uuidlib.uuid4().hex[:8]}@example.com"

    # The lifecycle: create, read, update, grant, list, revoke, act, delete.
    created = resources(rec.call("create", "create_user_mssp", cid=cid, uid=uid,
                                 first_name="Ada", last_name="Lovelace"))
    user = created[0]["uuid"] if created else None
    if user is None:
        answer({"falconpy_version": installed_version(), "calls": rec.calls,
                "error": "create_user_mssp created nothing"}, 0)
    rec.call("read", "retrieve_users", ids=user)
    rec.call("read", "retrieve_user_uuid", uid=uid)
    rec.call("update", "update_user_mssp", user_uuid=user, first_name="Augusta", last_name="King")
    rec.call("read", "retrieve_users_v2", ids=[user])
    role_ids = resources(rec.call("roles", "query_roles", cid=cid))
    builtin = [r for r in role_ids if not all(c in "0123456789abcdef" for c in r)][:2]
    rec.call("grant", "user_roles_action", action="grant", cid=cid, uuid=user, role_ids=builtin)
    rec.call("grants", "get_user_grants", user_uuid=user, cid=cid)
    rec.call("grants", "query_roles", cid=cid, user_uuid=user)
    rec.call("revoke", "user_roles_action", action="revoke", cid=cid, uuid=user,
             role_ids=builtin[:1])
    rec.call("grants", "get_user_role_ids", user_uuid=user)
    expires = (datetime.now(timezone.utc) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    rec.call("grant", "update_user_roles", action="grant", cid=cid, uuid=user,
             role_ids=builtin[:1], expires_at=expires)
    rec.call("grants", "combined_user_roles_v3", user_uuid=user, cid=cid)
    rec.call("allowed", "get_user_allowed_actions",
             allowed_actions=[{"action": "delete", "cid": cid, "uuid": user}])
    rec.call("action", "user_action", ids=user, action_name="reset_2fa")
    rec.call("delete", "delete_user_mssp", user_uuid=user)
    rec.call("gone", "retrieve_users", ids=user)

    # Every other method, with minimal valid arguments (the legacy ones on a user of their own).
    some_user = (resources(rec.call("every", "query_users", limit=1)) or [None])[0]
    calls = {
        "aggregate_users": lambda: rec.call("every", "aggregate_users", field="status",
                                            name="cids", type="terms", size=10),
        "aggregate_users_v2": lambda: rec.call("every", "aggregate_users_v2", field="status",
                                               name="cids", type="terms", size=10),
        "get_user_grants_v1": lambda: rec.call("every", "get_user_grants_v1", user_uuid=some_user),
        "get_roles_mssp": lambda: rec.call("every", "get_roles_mssp", ids=builtin, cid=cid),
        "get_roles_mssp_v1": lambda: rec.call("every", "get_roles_mssp_v1", ids=builtin, cid=cid),
        "query_users_v2": lambda: rec.call("every", "query_users_v2", limit=1),
        "get_user_invitations": lambda: rec.call("every", "get_user_invitations",
                                                 ids=["00000000000000000000000000000000"]),
        "query_user_invitations": lambda: rec.call("every", "query_user_invitations"),
        "get_roles": lambda: rec.call("every", "get_roles", ids=builtin),
        "get_available_role_ids": lambda: rec.call("every", "get_available_role_ids"),
        "retrieve_emails_by_cid": lambda: rec.call("every", "retrieve_emails_by_cid"),
        "retrieve_user_uuids_by_cid": lambda: rec.call("every", "retrieve_user_uuids_by_cid"),
        "retrieve_user": lambda: rec.call("every", "retrieve_user", ids=some_user),
    }
    legacy_uid = f"legacy.{uuidlib.uuid4().hex[:8]}@example.com"

    def legacy():
        made = resources(rec.call("legacy", "create_user", uid=legacy_uid, first_name="Grace",
                                  last_name="Hopper"))
        legacy_user = made[0]["uuid"] if made else None
        rec.call("legacy", "update_user", parameters={"user_uuid": legacy_user}, first_name="G",
                 last_name="Hopper")
        rec.call("legacy", "grant_user_role_ids", body={}, parameters={"user_uuid": legacy_user},
                 role_ids=builtin)
        rec.call("legacy", "revoke_user_role_ids", user_uuid=legacy_user, ids=builtin[:1])
        rec.call("legacy", "delete_user", user_uuid=legacy_user)

    for name in ["create_user", "update_user", "grant_user_role_ids", "revoke_user_role_ids",
                 "delete_user"]:
        calls[name] = legacy
    methods = methods_of(UserManagement)
    done = {c["method"] for c in rec.calls}
    ran = set()
    for name in sorted(methods):
        if name in done or name not in calls or calls[name] in ran:
            continue
        ran.add(calls[name])
        calls[name]()
    done = {c["method"] for c in rec.calls}

    # The CCID lookup scripts make first, through the SensorDownload class on the same token
    # (`auth_object` shares it: no second mint).
    import falconpy.sensor_download as sensor_module
    from falconpy import SensorDownload
    sensors = Recorder(SensorDownload(auth_object=falcon.auth_object), sensor_module)
    sensors.call("ccid", "get_sensor_installer_ccid")
    rec.calls.extend(sensors.calls)
    # Flight Control discovery, through the FlightControl class on the same token: the
    # children's CIDs, then their details.
    import falconpy.mssp as mssp_module
    from falconpy import FlightControl
    fleet = Recorder(FlightControl(auth_object=falcon.auth_object), mssp_module)
    kids = resources(fleet.call("children", "query_children", limit=100))
    fleet.call("children", "get_children_v2", ids=kids)
    fleet.call("children", "get_children", ids=kids)
    # Flight Control groups: a user group with a user of the parent, a CID group with the
    # first child, a link giving a role, each read back, then undone.
    member = resources(falcon.query_users(limit=1)["body"])[0]
    users_group = resources(fleet.call("groups", "create_user_groups", body={
        "resources": [{"name": "FalconPy Analysts", "description": "made by FalconPy"}]}))
    ug = users_group[0]["user_group_id"] if users_group else "none"
    fleet.call("groups", "update_user_groups", body={
        "resources": [{"user_group_id": ug, "description": "changed by FalconPy"}]})
    fleet.call("groups", "add_user_group_members", body={
        "resources": [{"user_group_id": ug, "user_uuids": [member]}]})
    fleet.call("groups", "query_user_groups", name="FalconPy Analysts")
    fleet.call("groups", "get_user_groups_by_id", ids=[ug])
    fleet.call("groups", "get_user_group_members_by_id", ids=[ug])
    fleet.call("groups", "query_user_group_members", user_uuid=member)
    cid_group = resources(fleet.call("groups", "create_cid_groups", body={
        "resources": [{"name": "FalconPy Children", "description": "made by FalconPy"}]}))
    cg = cid_group[0]["cid_group_id"] if cid_group else "none"
    fleet.call("groups", "update_cid_groups", body={
        "resources": [{"cid_group_id": cg, "name": "FalconPy Kids"}]})
    fleet.call("groups", "add_cid_group_members", body={
        "resources": [{"cid_group_id": cg, "cids": kids[:1]}]})
    fleet.call("groups", "query_cid_groups", name="FalconPy Kids")
    fleet.call("groups", "get_cid_group_by_id", ids=[cg])
    fleet.call("groups", "get_cid_group_members_by", ids=[cg])
    fleet.call("groups", "query_cid_group_members", cid=kids[0] if kids else "none")
    link = {"user_group_id": ug, "cid_group_id": cg}
    fleet.call("links", "add_role", body={
        "resources": [dict(link, role_ids=["falcon_console_guest"])]})
    links = resources(fleet.call("links", "query_roles", user_group_id=ug))
    fleet.call("links", "get_roles_by_id", ids=links)
    fleet.call("links", "delete_roles", body={"resources": [link]})
    fleet.call("undo", "delete_user_group_members", body={
        "resources": [{"user_group_id": ug, "user_uuids": [member]}]})
    fleet.call("undo", "delete_cid_group_members", body={
        "resources": [{"cid_group_id": cg, "cids": kids[:1]}]})
    fleet.call("undo", "delete_user_groups", user_group_ids=[ug])
    fleet.call("undo", "delete_cid_groups", cid_group_ids=[cg])
    fleet_methods = methods_of(FlightControl)
    fleet_done = {c["method"] for c in fleet.calls}
    rec.calls.extend(fleet.calls)
    revoked = falcon.logout()
    rec.calls.append({"step": "logout", "method": "logout", "operations": ["oauth2RevokeToken"],
                      "status": revoked.get("status_code"), "errors": [], "resources": []})
    answer({"falconpy_version": installed_version(), "uid": uid, "legacy_uid": legacy_uid,
            "roles": builtin, "calls": rec.calls, "unexercised": sorted(m for m in methods if m not in done), "aliases": methods,
            "fleet_unexercised": sorted(m for m in fleet_methods if m not in fleet_done)})


if __name__ == "__main__":
    main()
