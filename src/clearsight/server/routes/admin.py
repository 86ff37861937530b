"""What an admin does: accounts, the organisation's review settings, and banks.

Each change goes through the library, which audits it in the same transaction
(accounts, settings) or right after (a bank's settings live in the bank store, so
its audit entry goes to the case's log once the bank store has the change).
Passwords arrive in a POST body only and are never echoed, logged or audited. The
category scheme is shown but not changed here: decisions already made use it.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from clearsight.errors import UserError
from clearsight.review.accounts import MAX_PASSWORD_LENGTH, Account, Role
from clearsight.review.audit import AuditAction
from clearsight.review.settings import ReviewSettings, settings_as_dict
from clearsight.server.access import ADMINS, Viewer
from clearsight.server.pages import render
from clearsight.server.services import ReviewServices, services_of

router = APIRouter()
# Settings an admin may change from the server (see the module docstring).
EDITABLE = tuple(f.name for f in fields(ReviewSettings) if f.name != "category_scheme")
Password = Annotated[str, Form(max_length=MAX_PASSWORD_LENGTH)]


class AccountOut(BaseModel):
    name: str
    role: str
    disabled: bool
    created_at: str
    password_changed_at: str


class NewAccount(BaseModel):
    name: str = Field(max_length=80)
    role: Role
    password: str = Field(max_length=MAX_PASSWORD_LENGTH)


class NewPassword(BaseModel):
    password: str = Field(max_length=MAX_PASSWORD_LENGTH)


class SettingIn(BaseModel):
    value: int | bool | str | list[str]


class BankOut(BaseModel):
    name: str
    in_bank_store: bool
    enabled: bool | None
    allow: bool | None
    entries: int | None
    two_reviewers: bool


class BankChange(BaseModel):
    enabled: bool | None = None
    two_reviewers: bool | None = None


@router.get("/admin/users", include_in_schema=False)
def users_page(request: Request, viewer: Annotated[Viewer, Depends(ADMINS)]) -> HTMLResponse:
    return render(
        request,
        "users.html",
        viewer,
        title="Users",
        accounts=services_of(request).accounts.list(),
        roles=[r.value for r in Role],
    )


@router.post("/admin/users", include_in_schema=False)
def add_user_form(
    request: Request,
    viewer: Annotated[Viewer, Depends(ADMINS)],
    name: Annotated[str, Form(max_length=80)],
    role: Annotated[Role, Form()],
    password: Password,
) -> Response:
    services_of(request).accounts.add(name, role, password, actor=viewer.account.name)
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{name}/disable", include_in_schema=False)
def disable_user_form(
    request: Request, name: str, viewer: Annotated[Viewer, Depends(ADMINS)]
) -> Response:
    services_of(request).accounts.disable(name, actor=viewer.account.name)
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{name}/enable", include_in_schema=False)
def enable_user_form(
    request: Request, name: str, viewer: Annotated[Viewer, Depends(ADMINS)]
) -> Response:
    services_of(request).accounts.enable(name, actor=viewer.account.name)
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{name}/password", include_in_schema=False)
def reset_password_form(
    request: Request, name: str, viewer: Annotated[Viewer, Depends(ADMINS)], password: Password
) -> Response:
    services_of(request).accounts.reset_password(name, password, actor=viewer.account.name)
    return RedirectResponse("/admin/users", status_code=303)


@router.get("/api/users", response_model=list[AccountOut], tags=["administration"])
def users_api(request: Request, viewer: Annotated[Viewer, Depends(ADMINS)]) -> list[AccountOut]:
    return [_account_out(a) for a in services_of(request).accounts.list()]


@router.post("/api/users", status_code=201, response_model=AccountOut, tags=["administration"])
def add_user_api(
    request: Request, account: NewAccount, viewer: Annotated[Viewer, Depends(ADMINS)]
) -> AccountOut:
    added = services_of(request).accounts.add(
        account.name, account.role, account.password, actor=viewer.account.name
    )
    return _account_out(added)


@router.post("/api/users/{name}/disable", response_model=AccountOut, tags=["administration"])
def disable_user_api(
    request: Request, name: str, viewer: Annotated[Viewer, Depends(ADMINS)]
) -> AccountOut:
    """Disable the account and sign it out everywhere."""
    return _account_out(services_of(request).accounts.disable(name, actor=viewer.account.name))


@router.post("/api/users/{name}/enable", response_model=AccountOut, tags=["administration"])
def enable_user_api(
    request: Request, name: str, viewer: Annotated[Viewer, Depends(ADMINS)]
) -> AccountOut:
    return _account_out(services_of(request).accounts.enable(name, actor=viewer.account.name))


@router.post("/api/users/{name}/password", response_model=AccountOut, tags=["administration"])
def reset_password_api(
    request: Request, name: str, new: NewPassword, viewer: Annotated[Viewer, Depends(ADMINS)]
) -> AccountOut:
    """Set a new password and sign the account out everywhere."""
    accounts = services_of(request).accounts
    return _account_out(accounts.reset_password(name, new.password, actor=viewer.account.name))


@router.get("/admin/settings", include_in_schema=False)
def settings_page(request: Request, viewer: Annotated[Viewer, Depends(ADMINS)]) -> HTMLResponse:
    settings = services_of(request).settings()
    return render(
        request,
        "settings.html",
        viewer,
        title="Review settings",
        values=settings_as_dict(settings),
        editable=EDITABLE,
    )


@router.post("/admin/settings/{key}", include_in_schema=False)
def setting_form(
    request: Request,
    key: str,
    viewer: Annotated[Viewer, Depends(ADMINS)],
    value: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    services_of(request).settings_store.set(
        _editable(key), _parsed(key, value), viewer.account.name
    )
    return RedirectResponse("/admin/settings", status_code=303)


@router.get("/api/settings", tags=["administration"])
def settings_api(request: Request, viewer: Annotated[Viewer, Depends(ADMINS)]) -> dict[str, object]:
    return dict(settings_as_dict(services_of(request).settings()))


@router.put("/api/settings/{key}", tags=["administration"])
def setting_api(
    request: Request, key: str, setting: SettingIn, viewer: Annotated[Viewer, Depends(ADMINS)]
) -> dict[str, object]:
    """Change one organisation-wide review setting (validated, audited)."""
    store = services_of(request).settings_store
    return dict(settings_as_dict(store.set(_editable(key), setting.value, viewer.account.name)))


@router.get("/admin/banks", include_in_schema=False)
def banks_page(request: Request, viewer: Annotated[Viewer, Depends(ADMINS)]) -> HTMLResponse:
    return render(request, "banks.html", viewer, title="Banks", banks=_banks(services_of(request)))


@router.post("/admin/banks/{name}/two-reviewers", include_in_schema=False)
def two_reviewers_form(
    request: Request,
    name: str,
    viewer: Annotated[Viewer, Depends(ADMINS)],
    required: Annotated[str, Form(max_length=5)],
) -> Response:
    _change_bank(services_of(request), name, BankChange(two_reviewers=required == "yes"), viewer)
    return RedirectResponse("/admin/banks", status_code=303)


@router.post("/admin/banks/{name}/enabled", include_in_schema=False)
def bank_enabled_form(
    request: Request,
    name: str,
    viewer: Annotated[Viewer, Depends(ADMINS)],
    enabled: Annotated[str, Form(max_length=5)],
) -> Response:
    _change_bank(services_of(request), name, BankChange(enabled=enabled == "yes"), viewer)
    return RedirectResponse("/admin/banks", status_code=303)


@router.get("/api/banks", response_model=list[BankOut], tags=["administration"])
def banks_api(request: Request, viewer: Annotated[Viewer, Depends(ADMINS)]) -> list[BankOut]:
    """The banks of the bank store and those the case's matches name."""
    return _banks(services_of(request))


@router.put("/api/banks/{name}", response_model=BankOut, tags=["administration"])
def bank_api(
    request: Request, name: str, change: BankChange, viewer: Annotated[Viewer, Depends(ADMINS)]
) -> BankOut:
    """Enable or disable a bank for matching, or make its matches need two reviewers."""
    services = services_of(request)
    if name not in {bank.name for bank in _banks(services)}:
        raise HTTPException(404, f"no bank named {name[:80]!r}")
    _change_bank(services, name, change, viewer)
    return next(bank for bank in _banks(services) if bank.name == name)


def _account_out(account: Account) -> AccountOut:
    return AccountOut(
        name=account.name,
        role=account.role.value,
        disabled=account.disabled,
        created_at=account.created_at.isoformat() + "Z",
        password_changed_at=account.password_changed_at.isoformat() + "Z",
    )


def _editable(key: str) -> str:
    if key not in EDITABLE:
        raise HTTPException(404, f"no review setting {key[:80]!r} can be changed here")
    return key


def _parsed(key: str, text: str) -> object:
    """A form's text as the setting's type; the settings store checks the range."""
    default = getattr(ReviewSettings(), key)
    text = text.strip()
    if isinstance(default, bool):
        return text in ("true", "yes", "on", "1")
    if isinstance(default, int):
        try:
            return int(text)
        except ValueError:
            raise UserError(f"review setting {key!r}: expected a whole number") from None
    if isinstance(default, tuple):
        return [name.strip() for name in text.split(",") if name.strip()]
    return text


def _banks(services: ReviewServices) -> list[BankOut]:
    two = set(services.settings().two_reviewer_banks)
    found: dict[str, BankOut] = {}
    for summary in services.case.banks.summaries() or []:
        found[summary.name] = BankOut(
            name=summary.name,
            in_bank_store=True,
            enabled=summary.enabled,
            allow=summary.allow,
            entries=summary.entries,
            two_reviewers=summary.name in two,
        )
    matched = services.store.matched_banks()
    for name in sorted({*matched, *two} - set(found)):
        found[name] = BankOut(
            name=name,
            in_bank_store=False,
            enabled=None,
            allow=None,
            entries=None,
            two_reviewers=name in two,
        )
    return sorted(found.values(), key=lambda bank: bank.name)


def _change_bank(services: ReviewServices, name: str, change: BankChange, viewer: Viewer) -> None:
    if change.two_reviewers is not None:
        current = list(services.settings().two_reviewer_banks)
        wanted = [b for b in current if b != name] + ([name] if change.two_reviewers else [])
        if wanted != current:
            services.settings_store.set("two_reviewer_banks", wanted, viewer.account.name)
    if change.enabled is not None:
        services.case.banks.set_enabled(name, change.enabled)
        services.audit.append(
            viewer.account.name,
            AuditAction.BANK_CHANGED,
            f"bank:{name}",
            {"enabled": change.enabled},
        )
