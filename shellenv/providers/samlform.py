"""The `saml-form` provider: logs in to any SAML IdP through its HTML pages, as a browser would.

It owns reading those pages (forms, titles, error boxes) and deciding what each one asks for. It never
sends a password over plain HTTP or in a URL, never logs a page body, and never retries a rejected password.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from shellenv import http
from shellenv.errors import (
    AccountLockedError,
    AuthenticationError,
    ConfigError,
    IdpDeniedError,
    MfaError,
    ServiceError,
)
from shellenv.providers.base import SamlResponse, Secrets

if TYPE_CHECKING:
    import requests

    from shellenv.config import IdpConfig
    from shellenv.terminal import Terminal

log = logging.getLogger(__name__)

# An honest IdP needs a handful of pages (login, MFA, one or two auto-posts); more means a loop.
MAX_PAGES = 12

# Input types a person types into; everything else (hidden, submit, checkbox...) is carried or skipped.
_TYPED = {"text", "email", "tel", "number", "password", ""}
_USERNAME_HINT = re.compile(r"user|login|email|mail|account|j_username|principal|identifier", re.IGNORECASE)
_CODE_HINT = re.compile(r"otp|code|token|totp|mfa|2fa|passcode|pin|verif|challenge|factor", re.IGNORECASE)
_ERROR_HINT = re.compile(r"error|alert|danger|invalid|fail|warning|feedback", re.IGNORECASE)
# Words of an error message, for pages whose error box carries no error-like class or role.
_ERROR_WORDS = re.compile(
    r"incorrect|invalid|wrong|\bfailed|not valid|denied|locked|disabled|expired|not recogni[sz]ed"
    r"|try again",
    re.IGNORECASE,
)
# An account the IdP will not let in, whatever the password: "account is locked", "password has expired".
_LOCKED_WORDS = re.compile(
    r"\b(account|user)\b[^.]{0,40}\b(locked|disabled|suspended|deactivated)\b"
    r"|\bpassword\b[^.]{0,30}\bexpired\b|\blocked out\b",
    re.IGNORECASE,
)
_PASSWORD_NAME = re.compile(r"passw|pwd|^pass$", re.IGNORECASE)
_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


@dataclass
class Form:
    """One HTML form as a browser would submit it."""

    action: str
    method: str
    inputs: list[dict[str, str]] = field(default_factory=list)

    def named(self, name: str) -> dict[str, str] | None:
        return next((i for i in self.inputs if i.get("name") == name), None)

    def typed(self) -> list[dict[str, str]]:
        """The visible fields a person fills in, in page order."""
        return [i for i in self.inputs if i.get("name") and i.get("type", "text") in _TYPED]

    def passwords(self) -> list[dict[str, str]]:
        return [i for i in self.typed() if i.get("type") == "password"]

    def values(self, filled: Mapping[str, str]) -> dict[str, str]:
        """The fields to post: hidden and pre-filled values, `filled` on top, one named submit button."""
        data: dict[str, str] = {}
        button_taken = False
        for item in self.inputs:
            name, kind = item.get("name"), item.get("type", "text")
            if not name:
                continue
            if kind in ("submit", "button", "image"):
                if kind != "button" and not button_taken:
                    data[name] = item.get("value", "")
                    button_taken = True
            elif kind in ("checkbox", "radio"):
                if "checked" in item:
                    data[name] = item.get("value", "on")
            elif kind not in ("reset", "file"):
                data.setdefault(name, item.get("value", ""))
        data.update(filled)
        return data


@dataclass
class Page:
    """What shellenv reads from an IdP page: its URL, title, forms and the text of its error boxes."""

    url: str
    status: int
    title: str = ""
    forms: list[Form] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """A short name for the page in messages: its title and URL without the query string."""
        parts = urlsplit(self.url)
        where = f"{parts.scheme}://{parts.netloc}{parts.path}"
        return f"'{self.title}' at {where}" if self.title else where

    def error_text(self) -> str | None:
        """The IdP's own words about what went wrong, if the page shows them."""
        if not self.errors:
            return None
        sentences = [e if e[-1:] in ".!?:" else e + "." for e in self.errors]
        return " ".join(sentences)[:300]


class _PageParser(HTMLParser):
    """Collects forms and their fields, the title, the text of error-looking elements, and the page's
    other text in blocks (for error messages in boxes that are not marked as such)."""

    _VOID = frozenset(["input", "br", "img", "meta", "link", "hr", "area", "base", "col", "source", "wbr"])
    _INLINE = frozenset(["a", "b", "strong", "em", "i", "span", "small", "code", "label", "font", "u"])
    _HIDDEN = frozenset(["script", "style", "noscript", "template"])

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.forms: list[Form] = []
        self.errors: list[str] = []
        self.blocks: list[str] = []
        self._form: Form | None = None
        self._select: dict[str, str] | None = None
        self._in_title = False
        self._hidden_depth = 0
        self._stack: list[bool] = []  # per open element: is it (inside) an error box?
        self._error_text: list[str] = []
        self._block_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k: (v if v is not None else "") for k, v in attrs}
        self._field(tag, attr)
        if tag not in self._INLINE:
            self._flush_block()
        if tag in self._VOID:
            return
        if tag in self._HIDDEN:
            self._hidden_depth += 1
        inside = bool(self._stack and self._stack[-1])
        if not inside and _looks_like_error(attr):
            self._error_text = []
        self._stack.append(inside or _looks_like_error(attr))

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        if tag not in self._INLINE:
            self._flush_block()
        if tag in self._VOID or not self._stack:
            return
        if tag in self._HIDDEN and self._hidden_depth:
            self._hidden_depth -= 1
        was_error = self._stack.pop()
        if was_error and not (self._stack and self._stack[-1]):
            text = " ".join(" ".join(self._error_text).split())
            if text:
                self.errors.append(text)

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
            return
        if self._hidden_depth:
            return
        self._block_text.append(data)
        if self._stack and self._stack[-1]:
            self._error_text.append(data)

    def _field(self, tag: str, attr: dict[str, str]) -> None:
        """Record a form, or a field of the current form."""
        if tag == "title":
            self._in_title = True
        elif tag == "form":
            self._form = Form(action=attr.get("action", ""), method=attr.get("method", "get").lower())
            self.forms.append(self._form)
        elif tag in ("input", "button", "textarea") and self._form is not None:
            default = "submit" if tag == "button" else "text"
            attr["type"] = attr.get("type", default).lower() or default
            self._form.inputs.append(attr)
        elif tag == "select" and self._form is not None:
            self._select = {"name": attr.get("name", ""), "type": "select"}
            self._form.inputs.append(self._select)
        elif (
            tag == "option"
            and self._select is not None
            and ("value" not in self._select or "selected" in attr)
        ):
            self._select["value"] = attr.get("value", "")

    def _flush_block(self) -> None:
        text = " ".join(" ".join(self._block_text).split())
        if text:
            self.blocks.append(text)
        self._block_text = []


def _looks_like_error(attr: Mapping[str, str]) -> bool:
    if attr.get("role") == "alert":
        return True
    return bool(_ERROR_HINT.search(f"{attr.get('class', '')} {attr.get('id', '')}"))


def parse_page(url: str, status: int, text: str) -> Page:
    """Read an HTML page; relative form actions are resolved against `url`."""
    parser = _PageParser()
    parser.feed(text)
    parser.close()
    for form in parser.forms:
        form.action = urljoin(url, form.action)
    title = " ".join(parser.title.split())
    errors = parser.errors or [b for b in parser.blocks if _ERROR_WORDS.search(b)]
    return Page(url=url, status=status, title=title, forms=parser.forms, errors=errors)


class SamlForm:
    """A SAML IdP reached through its login pages: username and password, then an optional code page."""

    def __init__(self, idp: IdpConfig, terminal: Terminal, secrets: Secrets | None = None) -> None:
        self.idp = idp
        self.terminal = terminal
        self.secrets = secrets or Secrets(idp, terminal)
        self.url = str(idp.get("url"))
        self.username_field: str | None = idp.get("username_field")
        self.password_field: str | None = idp.get("password_field")
        self.code_field: str | None = idp.get("code_field")
        self._what = f"the IdP {idp.name} at {_origin(self.url)}"
        self._http: requests.Session | None = None

    def fetch_assertion(self) -> SamlResponse:
        """Walk the IdP's pages from the SSO URL to the one that posts the SAMLResponse."""
        page = self._open("GET", self.url)
        sent: list[str] = []  # what this login has filled in so far: "username", "password", "code"

        for _ in range(MAX_PAGES):
            saml = self._saml_form(page)
            if saml is not None:
                log.info("got a SAML response from %s", self._what)
                return saml
            page = self._answer(page, sent)

        raise ServiceError(
            f"{self._what} kept sending pages without a SAML response ({MAX_PAGES} pages, last "
            f"{page.describe()}); check the url in the idp's config"
        )

    # -- deciding what a page asks for -----------------------------------------------------------------

    def _answer(self, page: Page, sent: list[str]) -> Page:
        """Fill in and submit the form this page asks for, and return the next page."""
        login = self._login_form(page)
        if login is not None:
            if "password" in sent:
                self._password_rejected(page)
            return self._submit_login(login, sent)

        code_form = self._code_form(page)
        if code_form is not None:
            if "code" in sent:
                hint = (
                    "; check totp_secret and this computer's clock"
                    if self.secrets.stored("totp_secret")
                    else "; run the command again with a fresh code"
                )
                raise MfaError(self._words(page, "did not accept the code") + hint)
            return self._submit_code(code_form, page, sent)

        username_form = self._username_form(page)
        if username_form is not None:
            if "username" in sent:
                raise AuthenticationError(
                    self._words(page, "did not accept the username") + "; check username in the idp's config"
                )
            sent.append("username")
            field_name = self._username_name(username_form)
            log.debug("page %s asks for the username alone", page.describe())
            return self._submit(username_form, {field_name: self.secrets.username()})

        auto = self._auto_form(page)
        if auto is not None:
            log.debug("following the auto-posting form on %s", page.describe())
            return self._submit(auto, {})

        raise self._unknown(page)

    def _login_form(self, page: Page) -> Form | None:
        """The form with the password field: the configured one, or its only password-type field
        unless that field is a one-time code in disguise."""
        for form in page.forms:
            if self.password_field:
                if form.named(self.password_field):
                    return form
            elif len(form.passwords()) == 1 and not self._is_code(form.passwords()[0]):
                return form
        return None

    def _is_code(self, item: Mapping[str, str]) -> bool:
        if self.code_field:
            return item.get("name") == self.code_field
        label = _label(item)
        return bool(_CODE_HINT.search(label)) and not _PASSWORD_NAME.search(item.get("name", ""))

    def _code_form(self, page: Page) -> Form | None:
        """A form asking for one code: the configured field, or a single code-like visible field."""
        for form in page.forms:
            if self.code_field:
                if form.named(self.code_field):
                    return form
                continue
            typed = form.typed()
            if len(typed) == 1 and self._is_code(typed[0]):
                return form
        return None

    def _username_form(self, page: Page) -> Form | None:
        """A first step that asks for the username alone (the password comes on the next page)."""
        for form in page.forms:
            typed = form.typed()
            if self.username_field and form.named(self.username_field) and not form.passwords():
                return form
            if len(typed) == 1 and _USERNAME_HINT.search(_label(typed[0])):
                return form
        return None

    @staticmethod
    def _auto_form(page: Page) -> Form | None:
        """A form with nothing to type, which a browser's script would post on load."""
        for form in page.forms:
            if not form.typed() and any(i.get("type") == "hidden" for i in form.inputs):
                return form
        return None

    def _saml_form(self, page: Page) -> SamlResponse | None:
        for form in page.forms:
            field_ = form.named("SAMLResponse")
            if field_ is not None and field_.get("value"):
                return SamlResponse(assertion=field_["value"].strip(), destination=form.action)
        return None

    # -- filling forms ---------------------------------------------------------------------------------

    def _submit_login(self, form: Form, sent: list[str]) -> Page:
        self._check_safe_for("password", form)
        password_name = self.password_field or form.passwords()[0]["name"]
        filled = {}
        user_name = self._username_name(form, exclude=password_name)
        if user_name:
            filled[user_name] = self.secrets.username()
        filled[password_name] = self.secrets.password()
        sent.append("password")
        log.debug("submitting the login form (fields %s)", ", ".join(sorted(filled)))
        return self._submit(form, filled)

    def _username_name(self, form: Form, exclude: str = "") -> str | None:
        """The name of the form's username field: the configured one, a username-like one, or the first
        visible text field."""
        if self.username_field:
            return self.username_field if form.named(self.username_field) else None
        candidates = [i for i in form.typed() if i.get("type") != "password" and i["name"] != exclude]
        for item in candidates:
            if _USERNAME_HINT.search(_label(item)):
                return item["name"]
        return candidates[0]["name"] if candidates else None

    def _submit_code(self, form: Form, page: Page, sent: list[str]) -> Page:
        name = self.code_field or form.typed()[0]["name"]
        self._check_safe_for("code", form)
        try:
            code = self.secrets.totp_code()
        except ValueError:  # pyotp's word for a seed that is not base32 or is too short
            raise ConfigError(
                f"the totp_secret of idp {self.idp.name} is not a valid base32 seed of 16 or more "
                "characters; copy it again from the IdP's authenticator setup page"
            ) from None
        if code is None:
            label = f"your authenticator app ({page.title or self.idp.name})"
            code = self.secrets.ask_code(label)
        else:
            log.debug("answering the code page of %s with the TOTP from the stored seed", self._what)
        sent.append("code")
        return self._submit(form, {name: code})

    def _check_safe_for(self, secret: str, form: Form) -> None:
        """Refuse to send a password or code where it could be read: over plain HTTP, or in a URL."""
        target = urlsplit(form.action)
        if target.scheme != "https" and target.hostname not in _LOOPBACK:
            raise ConfigError(
                f"{self._what} would send your {secret} over plain HTTP to {_origin(form.action)}; "
                "use the https URL of the IdP in the idp's url"
            )
        if form.method != "post":
            override = "password_field" if secret == "password" else "code_field"
            raise ServiceError(
                f"the {secret} form of {self._what} would put your {secret} in a URL (method "
                f"{form.method.upper()}); set {override} if another form on the page is the right one"
            )

    def _submit(self, form: Form, filled: Mapping[str, str]) -> Page:
        data = form.values(filled)
        if form.method == "post":
            return self._open("POST", form.action, data=data)
        return self._open("GET", form.action, params=data)

    def _open(self, method: str, url: str, **kwargs: object) -> Page:
        if self._http is None:
            self._http = http.session(ca_bundle=self.idp.get("ca_bundle"))
        response = http.request(self._http, method, url, what=self._what, **kwargs)
        # requests falls back to Latin-1 for text/html without a charset; IdPs mean UTF-8 then.
        charset = response.encoding if "charset" in response.headers.get("Content-Type", "") else None
        text = response.content.decode(charset or "utf-8", errors="replace")
        page = parse_page(response.url, response.status_code, text)
        log.debug("page %s (HTTP %d, %d forms)", page.describe(), page.status, len(page.forms))
        return page

    # -- failures --------------------------------------------------------------------------------------

    def _password_rejected(self, page: Page) -> None:
        """The login form came back after we sent the password: the IdP refused it."""
        self.secrets.reject_password()
        words = page.error_text()
        if words and _LOCKED_WORDS.search(words):
            raise AccountLockedError(f"{self._what} says: {words}")
        raise AuthenticationError(
            self._words(page, "did not accept the username or password") + "; run the command again"
        )

    def _words(self, page: Page, fallback: str) -> str:
        words = page.error_text()
        return f"{self._what} says: {words.rstrip('.')}" if words else f"{self._what} {fallback}"

    def _unknown(self, page: Page) -> Exception:
        """An error for a page shellenv cannot read, naming it and quoting its error text."""
        words = page.error_text()
        said = f" saying '{words}'" if words else ""
        if page.status == 404:
            return ConfigError(
                f"{self._what} has no page at {page.describe()} (HTTP 404); check the url in the idp's config"
            )
        if page.status in (401, 403):
            return IdpDeniedError(
                f"{self._what} refused access (HTTP {page.status}) on {page.describe()}{said}; "
                "ask its admin whether you are assigned to the AWS app"
            )
        if words and _LOCKED_WORDS.search(words):
            return AccountLockedError(f"{self._what} says: {words}")
        advice = (
            "open the url in a browser to see what it asks, or set username_field, password_field or "
            "code_field in the idp's config"
            if page.forms
            else "open the url in a browser to see what it says"
        )
        return ServiceError(
            f"shellenv does not recognise the page {page.describe()} (HTTP {page.status}){said}; {advice}"
        )


def _label(item: Mapping[str, str]) -> str:
    """What a field calls itself: its name, id, autocomplete and placeholder, for the hints above."""
    return " ".join(item.get(k, "") for k in ("name", "id", "autocomplete", "placeholder"))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
