"""Getting keys for a profile: from the cache when they are still good, else a login at the IdP and STS.

This is the one place that decides between the cache and a login, and that turns a provider's assertion
into keys. It holds the single-flight lock around a login; it never prints shell code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shellenv import logs
from shellenv.cache import KeyCache
from shellenv.credentials import Credentials
from shellenv.errors import AuthenticationError, NeedsLoginError, NotFoundError

if TYPE_CHECKING:
    from shellenv.config import Config, IdpConfig, Profile
    from shellenv.saml import Assertion, Role
    from shellenv.terminal import Terminal

log = logs.get_logger(__name__)

# Keys served from the cache must stay good at least this long, so a command started now does not die.
MIN_VALIDITY_SECONDS = 300


class Login:
    """Keys for profiles of one config, through one terminal and one cache."""

    def __init__(self, config: Config, terminal: Terminal, cache: KeyCache | None = None) -> None:
        self.config = config
        self.terminal = terminal
        self.cache = cache or KeyCache()

    # -- profiles ------------------------------------------------------------------------------------------

    def credentials(self, profile_name: str, *, force: bool = False, cached_only: bool = False,
                    min_validity: float = MIN_VALIDITY_SECONDS,
                    newer_than: int | None = None) -> Credentials:
        """Keys for a profile of the config (or an ad-hoc one from an earlier pick, found in the cache).

        With `newer_than` (an expiry in epoch seconds), cached keys count only when they expire later:
        keys that another process renewed, rather than the ones the caller already has.
        """
        if not force:
            cached = self._cached(profile_name, min_validity, newer_than)
            if cached:
                return cached
        if cached_only:
            if profile_name not in self.config.profiles and self.cache.load(profile_name) is None:
                self.config.profile(profile_name)  # a typo: NotFoundError with a suggestion
            raise NeedsLoginError(
                f"no valid cached keys for {profile_name}; run `shellenv use {profile_name}`"
            )
        profile = self._profile(profile_name)
        with self.cache.login_lock(profile_name, self.terminal):
            if not force:
                # Another process may have logged in while we waited for the lock.
                cached = self._cached(profile_name, min_validity, newer_than)
                if cached:
                    return cached
            credentials = self._login(profile)
            self.store(credentials)
        return credentials

    def _cached(self, profile_name: str, min_validity: float,
                newer_than: int | None = None) -> Credentials | None:
        cached = self.cache.load(profile_name)
        if cached is None:
            return None
        if newer_than is not None and cached.expiry_epoch <= newer_than:
            log.info("cache miss for %s: the keys are not newer than the shell's", profile_name)
            return None
        left = cached.seconds_left()
        if left < min_validity:
            log.info("cache miss for %s: keys expire in %d s", profile_name, max(0, int(left)))
            return None
        log.info("cache hit for %s: %s", profile_name, cached.describe())
        return self._as_configured(cached)

    def _as_configured(self, cached: Credentials) -> Credentials:
        """Cached keys as the config now describes their profile: an edited region holds without a new
        login. The hook leaves a `use` to this program while the config is newer than the shell code
        cached for it, so that code is written again here, and the next `use` is the hook's."""
        profile = self.config.profiles.get(cached.profile)
        if profile is None:
            return cached
        if profile.region and profile.region != cached.region:
            log.info("region of %s is now %s", cached.profile, profile.region)
            cached = cached._replace(region=profile.region)
        if not profile.credentials_file and self._rendered_older_than_config(cached.profile):
            self.store(cached)
        return cached

    def _rendered_older_than_config(self, profile_name: str) -> bool:
        """Missing shell code is not written here: a cache without it (older keys) makes no writes."""
        from shellenv import shells

        try:
            rendered = min(self.cache.rendered_path(profile_name, name).stat().st_mtime_ns
                           for name in shells.NAMES)
            return rendered <= self.config.path.stat().st_mtime_ns
        except OSError:
            return False

    def _profile(self, name: str) -> Profile:
        if name in self.config.profiles:
            return self.config.profile(name)
        cached = self.cache.load(name)
        if cached is not None and cached.idp in self.config.idps:
            # An ad-hoc role picked earlier: log in again for the same role through the same IdP.
            from shellenv.config import Profile

            return Profile(name=name, idp=cached.idp, role_arn=cached.role_arn, region=cached.region)
        return self.config.profile(name)  # raises NotFoundError with a suggestion

    def _login(self, profile: Profile) -> Credentials:
        idp = self.config.idp(profile.idp)
        log.info("logging in to %s (%s) for %s", idp.name, idp.type, profile.name)
        if idp.type == "sso":
            return self._sso(idp, profile)
        assertion_text, assertion = self._assertion(idp)
        role_arn = profile.role_arn or f"arn:aws:iam::{profile.account_id}:role/{profile.role_name}"
        role = assertion.role(role_arn, profile.principal_arn)
        if role is None:
            offered = ", ".join(r.role_arn for r in assertion.roles) or "none"
            raise NotFoundError(
                f"{idp.name} does not offer {role_arn} to you (it offers: {offered}); "
                f"fix role_arn in [profile.{profile.name}]"
            )
        return self._assume(idp, role, assertion_text, assertion, profile.name, profile.region,
                            profile.duration)

    def store(self, credentials: Credentials) -> None:
        """Cache new keys, with the shell code the hook sources to serve a later `use` of the profile
        without starting this program. Not for a profile that also writes ~/.aws/credentials: only the
        program does that."""
        from shellenv import shells

        profile = self.config.profiles.get(credentials.profile)
        if profile is not None and profile.credentials_file:
            self.cache.store(credentials)
            return
        variables = self.shell_variables(credentials)
        rendered = {name: shells.get(name).export(*variables) for name in shells.NAMES}
        from shellenv.terminal import printable

        # The hook prints the note as it is: an account name from the IdP must not reach it raw.
        self.cache.store(credentials, rendered, printable(credentials.summary()))

    def shell_variables(self, credentials: Credentials) -> tuple[dict[str, str], list[str]]:
        """The variables a shell should hold for `credentials`, and those it must drop: the contradicting
        ones, and whatever an earlier profile set that this one does not (its region, auto refresh)."""
        from shellenv.credentials import CONTRADICTING

        env = credentials.environment(stamp=str(self.cache.stamp_path(credentials.profile)))
        unset = list(CONTRADICTING)
        profile = self.config.profiles.get(credentials.profile)
        if profile is not None and profile.auto_refresh:
            env["SHELLENV_REFRESH"] = "auto"
        else:
            unset.append("SHELLENV_REFRESH")
        if not credentials.region:
            unset += ["AWS_REGION", "AWS_DEFAULT_REGION"]
        return env, unset

    # -- a role picked by hand -----------------------------------------------------------------------------

    def pick(self) -> Credentials:
        """Log in, let the user pick among the roles the IdP offers, and return (and cache) its keys."""
        idps = [idp for idp in self.config.idps.values()]
        if not idps:
            raise NotFoundError(f"no [idp.NAME] in {self.config.path}; add one (see the README)")
        idp = idps[self.terminal.choose("Which IdP?", [f"{i.name} ({i.type})" for i in idps])]
        if idp.type == "sso":
            return self._pick_sso(idp)
        assertion_text, assertion = self._assertion(idp)
        if not assertion.roles:
            raise NotFoundError(f"{idp.name} offers you no AWS role; ask its admin to assign one")
        roles = sorted(assertion.roles, key=lambda r: (self._account_label(r.account_id), r.role_arn))
        labels = [f"{self._account_label(r.account_id)}  {r.role_arn.split(':', 5)[5]}" for r in roles]
        role = roles[self.terminal.choose("Which role?", labels, why="a role")]
        name = self._adhoc_name(role.account_id, role.name)
        known = self.config.profiles.get(name)
        region, duration = (known.region, known.duration) if known else (None, None)
        credentials = self._assume(idp, role, assertion_text, assertion, name, region, duration)
        self.store(credentials)
        return credentials

    def _account_label(self, account_id: str) -> str:
        alias = self.config.alias(account_id)
        return f"{alias} ({account_id})" if alias else account_id

    def _adhoc_name(self, account_id: str, role_name: str) -> str:
        """The name an ad-hoc pick goes by: the profile of the config for that role if there is one."""
        for profile in self.config.profiles.values():
            if profile.account == account_id and (profile.role_name == role_name or (
                    profile.role_arn or "").rsplit("/", 1)[-1] == role_name):
                return profile.name
        return f"{self.config.alias(account_id) or account_id}/{role_name}"

    # -- the steps -----------------------------------------------------------------------------------------

    def _assertion(self, idp: IdpConfig) -> tuple[str, Assertion]:
        from shellenv import saml
        from shellenv.providers import provider_class
        from shellenv.providers.base import Secrets

        secrets = Secrets(idp, self.terminal)
        try:
            response = provider_class(idp.type)(idp, self.terminal, secrets).fetch_assertion()
        except AuthenticationError:
            if not secrets.dropped_stored_password:
                raise
            # The keyring's password was refused and removed: ask the person once, never retry it.
            log.info("asking for the password of %s on the terminal, once", idp.name)
            response = provider_class(idp.type)(idp, self.terminal, secrets).fetch_assertion()
            secrets.keep_password()
        assertion = saml.parse(response.assertion)
        if response.destination and not assertion.destination:
            import dataclasses

            assertion = dataclasses.replace(assertion, destination=response.destination)
        return response.assertion, assertion

    def _assume(self, idp: IdpConfig, role: Role, assertion_text: str, assertion: Assertion,
                name: str, region: str | None, duration: int | None) -> Credentials:
        from shellenv import sts

        duration = duration or assertion.session_duration or sts.FALLBACK_DURATION
        duration = max(900, min(duration, 43200))
        log.info("assuming %s for %d s", role.role_arn, duration)
        keys = sts.assume_role_with_saml(role, assertion_text, region=region, duration=duration,
                                         on_notice=self.terminal.message)
        credentials = Credentials(
            access_key_id=keys.access_key_id,
            secret_access_key=keys.secret_access_key,
            session_token=keys.session_token,
            expiration=keys.expiration,
            role_arn=role.role_arn,
            profile=name,
            region=region or sts.region_for(role.partition, None),
            account_alias=self.config.alias(role.account_id),
            assumed_role_arn=keys.assumed_role_arn,
            idp=idp.name,
        )
        log.info("got %s", credentials.describe())
        return credentials

    def _sso(self, idp: IdpConfig, profile: Profile) -> Credentials:
        from shellenv.providers import provider_class

        account_id = profile.account or ""
        role_name = profile.role_name or (profile.role_arn or "").rsplit("/", 1)[-1]
        center = provider_class("sso")(idp, self.terminal)
        credentials = center.role_credentials(account_id, role_name)
        return credentials._replace(profile=profile.name, region=profile.region or credentials.region,
                                    account_alias=self.config.alias(account_id), idp=idp.name)

    def _pick_sso(self, idp: IdpConfig) -> Credentials:
        from shellenv.providers import provider_class

        center = provider_class("sso")(idp, self.terminal)
        roles = sorted(center.list_roles(), key=lambda r: (r.account_name, r.role_name))
        if not roles:
            raise NotFoundError(f"{idp.name} offers you no AWS account; ask its admin to assign one")
        labels = [f"{self.config.alias(r.account_id) or r.account_name} ({r.account_id})  {r.role_name}"
                  for r in roles]
        chosen = roles[self.terminal.choose("Which role?", labels, why="a role")]
        credentials = center.role_credentials(chosen.account_id, chosen.role_name)
        credentials = credentials._replace(
            profile=self._adhoc_name(chosen.account_id, chosen.role_name),
            account_alias=self.config.alias(chosen.account_id) or chosen.account_name, idp=idp.name)
        self.store(credentials)
        return credentials
