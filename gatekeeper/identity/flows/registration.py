"""The registration flow: two-step (profile first, Kratos' default) or one step (unified / legacy)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gatekeeper.errors import BadRequest
from gatekeeper.identity import text
from gatekeeper.identity.client import ClientInfo
from gatekeeper.identity.context import IdentityContext
from gatekeeper.identity.errors import FlowDisabled, SessionAlreadyAvailable
from gatekeeper.identity.flows.base import Flow, FlowKind, Outcome
from gatekeeper.identity.flows.handler import Current, FlowHandler
from gatekeeper.identity.hooks import FlowHooks
from gatekeeper.identity.ports import RegistrationMethod
from gatekeeper.identity.schemas import IdentitySchema
from gatekeeper.identity.strategies import PasswordStrategy, ProfileStrategy
from gatekeeper.identity.ui import Group, Node, csrf_node, find, input_node, sort_registration, submit_node
from gatekeeper.store.identities import IdentityRecord


class RegistrationFlows(FlowHandler):
    kind = FlowKind.REGISTRATION

    def __init__(self, ctx: IdentityContext, hooks: FlowHooks, *,
                 methods: Sequence[RegistrationMethod] = ()) -> None:
        """`hooks` run before the session hook; `methods`: further ways to register besides the password (oidc)."""
        cfg = ctx.config.selfservice.flows.registration
        super().__init__(ctx, float(cfg.lifespan), hooks.web)
        self.cfg, self.hooks = cfg, hooks
        self.password = PasswordStrategy(ctx)
        self.profile = ProfileStrategy(ctx, self._show_screen)
        self.strategies: list[Any] = [self.password] if ctx.config.selfservice.methods.password.enabled else []
        if not cfg.one_step:
            self.strategies.insert(0, self.profile)
        self.methods = tuple(methods)
        self.strategies.extend(self.methods)

    def check_init(self, current: Current, params: dict[str, Any]) -> None:
        if not self.cfg.enabled:
            raise FlowDisabled(reason="Registration is not allowed because it was disabled.")
        if current is not None:
            raise SessionAlreadyAvailable()

    def schema_for(self, flow: Flow) -> IdentitySchema:
        return self.ctx.schemas.get(flow.internal.get("schema_id")) or self.ctx.schemas.default

    def populate(self, flow: Flow, current: Current, params: dict[str, Any]) -> None:
        schema = self.ctx.schemas.get(params.get("identity_schema") or None)
        if schema is None:
            raise BadRequest(reason="The requested identity schema does not exist.")
        flow.internal["schema_id"] = schema.id
        if params.get("identity_schema"):
            flow.body["identity_schema"] = schema.id
        flow.nodes.extend(schema.trait_nodes(Group.DEFAULT))
        if self.cfg.one_step:
            self.password.populate_registration(flow)
        else:
            self.profile.populate_registration(flow)
        for strategy in self.strategies:
            if strategy is not self.password and strategy is not self.profile:
                strategy.populate_registration(flow)  # e.g. oidc: one button per provider

    def _show_screen(self, flow: Flow, schema: IdentitySchema, traits: dict[str, Any], *, back: bool) -> None:
        """Switch between the profile screen (`back`) and the credential screen of the two-step style."""
        csrf = find(flow.nodes, "csrf_token")
        nodes: list[Node] = [csrf] if csrf else [csrf_node("")]
        trait_nodes = schema.trait_nodes(Group.DEFAULT, traits)
        if back:
            nodes.extend(trait_nodes)
            nodes.append(submit_node("method", "profile", Group.PROFILE, text.registration_button()))
        else:
            for node in trait_nodes:
                node["attributes"]["type"] = "hidden"
                node["attributes"].pop("autocomplete", None)
                node["attributes"].pop("pattern", None)
            nodes.extend(trait_nodes)
            nodes.append(input_node("password", Group.PASSWORD, type="password", required=True,
                                    autocomplete="new-password", label=text.password_label()))
            nodes.append(submit_node("method", "password", Group.PASSWORD, text.registration_button()))
            nodes.append(submit_node("screen", "previous", Group.PROFILE, text.back_button()))
        flow.nodes = nodes
        if not back:
            for method in self.methods:  # e.g. passkey, code: offered beside the password
                method.populate_credentials(flow)
        flow.reset_messages()
        if not back:
            flow.add_message(text.choose_credentials())
        self.sort(flow)

    def sort(self, flow: Flow) -> None:
        flow.nodes = sort_registration(flow.nodes, self.schema_for(flow).trait_names)

    async def run_strategy(self, flow: Flow, body: dict[str, Any], client: ClientInfo,
                           current: Current) -> Outcome | None:
        schema = self.schema_for(flow)
        if body.get("screen") == "previous" and not self.cfg.one_step:
            body = {**body, "method": "profile"}
        if body.get("screen") == "credential-selection" and not self.cfg.one_step:  # back from "code sent"
            self._show_screen(flow, schema, flow.internal.get("traits") or {}, back=False)
            flow.body["state"] = "choose_method"
            return None
        if body.get("method") == "password" and find(flow.nodes, "password") is None:
            # a native client may skip the profile step: answer on the credential screen
            traits = body.get("traits")
            self._show_screen(flow, schema, schema.coerce(traits if isinstance(traits, dict) else {}), back=False)
            flow.reset_messages()
        found, ident = await self.ask(self.strategies, lambda s: s.register(flow, body, client, schema))
        if not found:
            flow.add_message(text.no_strategy("registration"))
            return None
        if ident is None:
            return None
        return await self.succeed(flow, ident, str(body.get("method")), client)

    async def succeed(self, flow: Flow, ident: IdentityRecord, method: str, client: ClientInfo) -> Outcome:
        continue_with = await self.hooks.after_registration(flow, ident, method, client)
        after = self.cfg.after.for_method(method)
        outcome = Outcome(flow=flow, identity=ident, continue_with=continue_with,
                          return_to=flow.return_to or after.default_browser_return_url
                          or self.ctx.default_return_url)
        if any(h.hook == "session" for h in after.hooks):  # Kratos runs it last, whatever its position
            outcome.session, outcome.token = await self.ctx.sessions.issue(ident, method, client)
        verification_ui = next((item["flow"]["url"] for item in continue_with if item["flow"].get("url")), None)
        if verification_ui and flow.is_browser:  # show_verification_ui: the browser lands on the verification UI
            outcome.return_to = verification_ui
        return outcome
