"""The library objects one review server works with, built once per app.

The server holds no review logic of its own: each route calls one of these. Settings
are read again on every request that needs them, so an admin's change applies at once
(they are one small table).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from clearsight.errors import UserError
from clearsight.review.accounts import AccountBook
from clearsight.review.assignments import AssignmentBook
from clearsight.review.audit import AuditLog
from clearsight.review.categories import CategoryScheme, default_scheme
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
    def build(cls, store: SqlCaseStore, config: ServerConfig) -> ReviewServices:
        accounts = store.accounts(config.password_hasher)
        scheme = config.scheme or default_scheme()
        settings_store = store.review_settings()
        wanted = settings_store.load().category_scheme
        if wanted != scheme.name:
            raise UserError(
                f"the case's decisions use the category scheme {wanted!r}: "
                "give its file with --category-scheme"
            )
        return cls(
            store=store,
            config=config,
            accounts=accounts,
            sessions=store.login_sessions(accounts, config.session_policy, config.clock),
            settings_store=settings_store,
            audit=store.audit_log(),
            renderer=PreviewRenderer(store),
            queue=store.review_queue(),
            assignments=store.assignments(),
            preferences=store.preferences(),
            scheme=scheme,
        )

    def settings(self) -> ReviewSettings:
        return self.settings_store.load()

    def meter(self, settings: ReviewSettings | None = None) -> ExposureMeter:
        return self.store.exposure(settings or self.settings(), self.config.clock)

    def decisions(self, settings: ReviewSettings | None = None) -> DecisionBook:
        return self.store.decisions(settings or self.settings(), self.scheme, self.config.clock)


def services_of(request: Request) -> ReviewServices:
    services: ReviewServices = request.app.state.services
    return services
