"""OpenAPI component schemas: the wire shapes of Kratos v25.4 (its OpenAPI document: identity, session, flows, errors)
and of Keto v25.4 (relationships, checks, expand, OPL syntax check).

Written to what the SDK `ory-kratos-client==25.4.0` requires; extra keys stay allowed, as in Kratos' spec.
"""

from __future__ import annotations

from typing import Any

_TIME = {"type": "string", "format": "date-time"}
_NTIME = {"type": "string", "format": "date-time", "nullable": True}
_STR = {"type": "string"}
_ANY: dict[str, Any] = {}
CREDENTIAL_TYPES = ["password", "oidc", "totp", "lookup_secret", "webauthn", "code", "passkey", "profile", "saml",
                    "link_recovery", "code_recovery"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required: list[str], **props: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    return out


def _list(name: str) -> dict[str, Any]:
    return {"type": "array", "items": _ref(name)}


_ADDRESS_IN = _obj(["value", "via"], value=_STR, via={"type": "string", "enum": ["email", "sms"]},
                   verified={"type": "boolean"}, status={"type": "string", "enum": ["pending", "sent", "completed"]})
_IDENTITY_BODY = dict(
    schema_id={"type": "string", "minLength": 1}, traits={"type": "object"},
    state={"type": "string", "enum": ["active", "inactive"]}, metadata_public=_ANY, metadata_admin=_ANY,
    external_id={"type": "string", "minLength": 1},
    credentials=_obj([], password=_obj(["config"], config=_obj(
        [], password={"type": "string", "minLength": 1}, hashed_password={"type": "string"},
        use_password_migration_hook={"type": "boolean"})),
        oidc=_obj(["config"], config=_obj(["providers"], providers={"type": "array", "minItems": 1, "items": _obj(
            ["provider", "subject"], provider={"type": "string", "minLength": 1},
            subject={"type": "string", "minLength": 1})}))),
    verifiable_addresses={"type": "array", "items": _ADDRESS_IN},
    recovery_addresses={"type": "array", "items": _obj(["value", "via"], value=_STR,
                                                       via={"type": "string", "enum": ["email", "sms"]})},
)

COMPONENTS: dict[str, Any] = {
    "AnyObject": {"type": "object"},
    "ErrorGeneric": _obj(["error"], error=_obj(
        ["message"], code={"type": "integer"}, status=_STR, message=_STR, reason=_STR, id=_STR, request=_STR,
        details={"type": "object"})),
    "VerifiableIdentityAddress": _obj(
        ["value", "verified", "via", "status"], id=_STR, value=_STR, verified={"type": "boolean"},
        via={"type": "string", "enum": ["email", "sms"]}, status=_STR, verified_at=_TIME, created_at=_TIME,
        updated_at=_TIME),
    "RecoveryIdentityAddress": _obj(["value", "via"], id=_STR, value=_STR, via=_STR, created_at=_TIME,
                                    updated_at=_TIME),
    "IdentityCredentials": _obj(
        [], type={"type": "string", "enum": CREDENTIAL_TYPES}, identifiers={"type": "array", "items": _STR},
        config={"type": "object"}, version={"type": "integer"}, created_at=_TIME, updated_at=_TIME),
    "Identity": _obj(
        ["id", "schema_id", "schema_url"], id={"type": "string", "format": "uuid"}, schema_id=_STR, schema_url=_STR,
        state={"type": "string", "enum": ["active", "inactive"]}, state_changed_at=_NTIME, traits=_ANY,
        verifiable_addresses=_list("VerifiableIdentityAddress"),
        recovery_addresses=_list("RecoveryIdentityAddress"), metadata_public=_ANY, metadata_admin=_ANY,
        credentials={"type": "object", "additionalProperties": _ref("IdentityCredentials")},
        external_id=_STR, organization_id={"type": "string", "nullable": True}, created_at=_TIME,
        updated_at=_TIME),
    "IdentityList": _list("Identity"),
    "SessionDevice": _obj(["id"], id=_STR, ip_address=_STR, user_agent=_STR, location=_STR),
    "SessionAuthenticationMethod": _obj(
        [], method={"type": "string", "enum": CREDENTIAL_TYPES + ["v0.6_legacy_session"]},
        aal={"type": "string", "enum": ["aal0", "aal1", "aal2", "aal3"]}, completed_at=_TIME, provider=_STR,
        organization=_STR),
    "Session": _obj(
        ["id"], id=_STR, active={"type": "boolean"}, expires_at=_TIME, authenticated_at=_TIME, issued_at=_TIME,
        authenticator_assurance_level={"type": "string", "enum": ["aal0", "aal1", "aal2", "aal3"]},
        authentication_methods=_list("SessionAuthenticationMethod"), identity=_ref("Identity"),
        devices=_list("SessionDevice"), tokenized=_STR),
    "SessionList": _list("Session"),
    "DeleteMySessionsCount": _obj([], count={"type": "integer"}),
    "CreateIdentityBody": {**_obj(["schema_id", "traits"], **_IDENTITY_BODY)},
    "UpdateIdentityBody": {**_obj(["schema_id", "traits", "state"], **_IDENTITY_BODY)},
    "JsonPatchDocument": {"type": "array", "items": _obj(
        ["op", "path"], op={"type": "string", "enum": ["add", "remove", "replace", "move", "copy", "test"]},
        path=_STR, value=_ANY, **{"from": _STR})},
    "PatchIdentitiesBody": _obj(["identities"], identities={"type": "array", "maxItems": 1000, "items": _obj(
        ["create"], create=_ref("CreateIdentityBody"), patch_id={"type": "string", "format": "uuid"})}),
    "BatchPatchIdentitiesResponse": _obj([], identities={"type": "array", "items": _obj(
        [], action={"type": "string", "enum": ["create", "error"]}, identity=_STR, patch_id=_STR,
        error={"type": "object"})}),
    "BatchPatchIdentitiesResponseOrError": {"anyOf": [_ref("BatchPatchIdentitiesResponse"), _ref("ErrorGeneric")]},
    "CreateRecoveryBody": _obj(["identity_id"], identity_id={"type": "string", "format": "uuid"},
                               expires_in={"type": "string", "pattern": "^([0-9]+(ns|us|ms|s|m|h))*$"},
                               flow_type={"type": "string", "enum": ["browser", "api"]}),
    "RecoveryLinkForIdentity": _obj(["recovery_link"], recovery_link=_STR, expires_at=_TIME),
    "RecoveryCodeForIdentity": _obj(["recovery_link", "recovery_code"], recovery_link=_STR, recovery_code=_STR,
                                    expires_at=_TIME),
    "MessageDispatch": _obj(["id", "message_id", "status", "created_at", "updated_at"], id=_STR, message_id=_STR,
                            status={"type": "string", "enum": ["failed", "success"]},
                            error={"type": "object", "nullable": True}, created_at=_TIME, updated_at=_TIME),
    "Message": _obj(
        ["id", "status", "type", "recipient", "body", "subject", "template_type", "send_count", "created_at",
         "updated_at"], id=_STR, status={"type": "string", "enum": ["queued", "sent", "processing", "abandoned"]},
        type={"type": "string", "enum": ["email", "phone"]}, recipient=_STR, body=_STR, subject=_STR,
        template_type=_STR, send_count={"type": "integer"}, channel=_STR, created_at=_TIME, updated_at=_TIME,
        dispatches=_list("MessageDispatch")),
    "MessageList": _list("Message"),
    "Flow": _obj(["id", "type", "ui"], id=_STR, type=_STR, ui=_obj(["action", "method", "nodes"], action=_STR,
                                                                  method=_STR, nodes={"type": "array"})),
    "FlowBody": {"type": "object"},
    "LogoutFlow": _obj(["logout_url", "logout_token"], logout_url=_STR, logout_token=_STR),
    "PerformNativeLogoutBody": _obj(["session_token"], session_token=_STR),
    "FlowError": _obj(["id"], id=_STR, error={"type": "object"}, created_at=_TIME, updated_at=_TIME),
    "SubjectSet": _obj(["namespace", "object", "relation"], namespace=_STR, object=_STR, relation=_STR),
    "Relationship": _obj(["namespace", "object", "relation"], namespace=_STR, object=_STR, relation=_STR,
                         subject_id=_STR, subject_set=_ref("SubjectSet")),
    "CreateRelationshipBody": _obj(["namespace", "object", "relation"], namespace=_STR, object=_STR, relation=_STR,
                                   subject_id=_STR, subject_set=_ref("SubjectSet")),
    "Relationships": _obj(["relation_tuples", "next_page_token"], relation_tuples=_list("Relationship"),
                          next_page_token=_STR),
    "CheckPermissionResult": _obj(["allowed"], allowed={"type": "boolean"}),
    "PostCheckPermissionBody": _obj([], namespace=_STR, object=_STR, relation=_STR, subject_id=_STR,
                                    subject_set=_ref("SubjectSet")),
    "BatchCheckPermissionBody": _obj(["tuples"], tuples=_list("Relationship")),
    "BatchCheckPermissionResult": _obj(["results"], results={"type": "array", "items": _obj(
        ["allowed"], allowed={"type": "boolean"}, error=_STR)}),
    "ExpandedPermissionTree": _obj(["type"], type={"type": "string", "enum": ["union", "leaf"]},
                                   tuple=_obj([], namespace=_STR, object=_STR, relation=_STR, subject_id=_STR,
                                              subject_set=_ref("SubjectSet")),
                                   children=_list("ExpandedPermissionTree")),
    "RelationshipNamespaces": _obj(["namespaces"], namespaces={"type": "array", "items": _obj(["name"], name=_STR)}),
    "OplText": {"type": "string"},
    "SourcePosition": _obj([], Line={"type": "integer"}, column={"type": "integer"}),
    "CheckOplSyntaxResult": _obj([], errors={"type": "array", "items": _obj(
        ["message", "start", "end"], message=_STR, start=_ref("SourcePosition"), end=_ref("SourcePosition"))}),
    "RelationshipPatchList": {"type": "array", "items": _obj(
        ["action", "relation_tuple"], action={"type": "string", "enum": ["insert", "delete"]},
        relation_tuple=_ref("Relationship"))},
    "IdentitySchemas": {"type": "array", "items": _obj(["id", "schema"], id=_STR, schema={"type": "object"})},
}
