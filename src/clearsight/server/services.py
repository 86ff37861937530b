"""The library objects one review server works with, built once per app from its case.

The server holds no review logic of its own: each route calls one of these, each made
by the :class:`~clearsight.Case` the server was given. Settings
are read again on every request that needs them, so an admin's change applies at once
(they are one small table).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from clearsight.case import Case
from clearsight.categories import CategoryScheme
from clearsight.errors import UserError
from clearsight.review.accounts import AccountBook
from clearsight.review.assignments import AssignmentBook
from clearsight.review.audit import AuditLog
from clearsight.review.decisions import DecisionBook
from clearsight.review.exposure import ExposureMeter
from clearsight.review.login_sessions import LoginSessions
from clearsight.review.preferences import PreferenceBook
from clearsight.review.preview import PreviewRenderer
from clearsight.review.queue import ReviewQueue
from clearsight.review.settings import ReviewSettings, SettingsStore
from clearsight.server.config import ServerConfig
from clearsight.store.sql import SqlCaseStore


@dataclass(frozen=True)
class ReviewServices:
    case: Case
    store: SqlCaseStore
    config: ServerConfig
    accounts: AccountBook
    sessions: LoginSessions
    settings_store: SettingsStore
    audit: AuditLog
    renderer: PreviewRenderer
    queue: ReviewQueue
    assignments: AssignmentBook
    preferences: PreferenceBook
    scheme: CategoryScheme

    @classmethod
    def build(cls, case: Case, config: ServerConfig) -> ReviewServices:
        accounts = case.accounts(config.password_hasher)
        settings_store = case.review_settings()
        scheme = case.category_scheme()
        wanted = settings_store.load().category_scheme
        if wanted != scheme.name:
            raise UserError(
                f"the case's decisions use the category scheme {wanted!r}: "
                "give its file with --category-scheme"
            )
        return cls(
            case=case,
            store=case.store,
            config=config,
            accounts=accounts,
            sessions=case.login_sessions(accounts, config.session_policy, config.clock),
            settings_store=settings_store,
            audit=case.audit_log(),
            renderer=case.previews(),
            queue=case.review_queue(),
            assignments=case.assignments(),
            preferences=case.preferences(),
            scheme=scheme,
        )

    def settings(self) -> ReviewSettings:
        return self.settings_store.load()

    def meter(self, settings: ReviewSettings | None = None) -> ExposureMeter:
        return self.case.exposure(settings or self.settings(), self.config.clock)

    def decisions(self, settings: ReviewSettings | None = None) -> DecisionBook:
        return self.case.decisions(settings or self.settings(), self.scheme, self.config.clock)


def services_of(request: Request) -> ReviewServices:
    services: ReviewServices = request.app.state.services
    return services
