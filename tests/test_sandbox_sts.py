"""The sandbox STS and console sign-in, driven by real boto3 over HTTP on 127.0.0.1.

What AWS would accept or refuse, the emulator must accept or refuse with AWS's codes.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import stat
import urllib.error
import urllib.parse
import urllib.request

import pytest
from botocore.exceptions import ClientError

from shellenv.sandbox import saml, world
from shellenv.sandbox.serve import Server

ALICE, BOB = "alice@example.com", "bob@example.com"
DEV, PROD = "111111111111", "222222222222"
DEV_ADMIN = f"arn:aws:iam::{DEV}:role/Admin"
DEV_READONLY = f"arn:aws:iam::{DEV}:role/ReadOnly"
DEPLOY = f"arn:aws:iam::{DEV}:role/team/ops/Deploy"
PROD_ADMIN = f"arn:aws:iam::{PROD}:role/Admin"


@pytest.fixture(scope="module")
def client(sts_server):
    return sts_server.client()


def assume(client, assertion, role=DEV_ADMIN, provider=None, **params):
    provider = provider or world.provider_arn(role.split(":")[4], role.split(":")[1])
    return client.assume_role_with_saml(
        RoleArn=role, PrincipalArn=provider, SAMLAssertion=assertion, **params
    )


def refused(call, *args, **kwargs):
    """The AWS error code, message and HTTP status of a call that must fail."""
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    error = info.value.response["Error"]
    return error["Code"], error["Message"], info.value.response["ResponseMetadata"]["HTTPStatusCode"]


def edit(assertion, old, new):
    """The same SAMLResponse with one piece of text replaced, signature left as it was."""
    document = base64.b64decode(assertion).decode()
    assert old in document
    return base64.b64encode(document.replace(old, new, 1).encode()).decode()


def seconds_left(answer):
    expiration = answer["Credentials"]["Expiration"]
    return (expiration - dt.datetime.now(dt.timezone.utc)).total_seconds()


# -- accepted ------------------------------------------------------------------------------------


def test_every_role_of_a_multi_role_assertion_can_be_assumed(client, sts_server, sandbox_assertion):
    assertion = sandbox_assertion(ALICE)
    before = sts_server.assume_role_with_saml_calls

    for role in world.USERS[ALICE].roles:
        answer = assume(client, assertion, role)
        name = role.rsplit("/", 1)[1]
        account = role.split(":")[4]
        assert answer["AssumedRoleUser"]["Arn"] == (
            f"arn:aws:sts::{account}:assumed-role/{name}/{ALICE}"
        )
        assert answer["AssumedRoleUser"]["AssumedRoleId"].endswith(f":{ALICE}")
        assert answer["Credentials"]["AccessKeyId"].startswith("ASIA")
        assert 3500 < seconds_left(answer) <= 3600
        assert answer["Subject"] == ALICE
        assert answer["SubjectType"] == "persistent"
        assert answer["Issuer"] == "https://idp.sandbox.shellenv.test"
        assert answer["Audience"] == saml.SIGNIN_URL
        assert answer["NameQualifier"]

    assert sts_server.assume_role_with_saml_calls - before == len(world.USERS[ALICE].roles)
    assert sts_server.calls["AssumeRoleWithSAML"] >= len(world.USERS[ALICE].roles)


def test_role_and_provider_may_come_in_either_order(client, sandbox_assertion):
    assertion = sandbox_assertion(ALICE, role_first=False)
    assert f",{DEV_ADMIN}<" in base64.b64decode(assertion).decode()

    answer = assume(client, assertion, DEV_ADMIN)

    assert answer["AssumedRoleUser"]["Arn"].endswith("assumed-role/Admin/alice@example.com")


def test_the_role_path_is_left_out_of_the_assumed_role_arn(client, sandbox_assertion):
    answer = assume(client, sandbox_assertion(ALICE), DEPLOY)

    assert answer["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{DEV}:assumed-role/Deploy/{ALICE}"


def test_get_caller_identity_names_the_assumed_role_and_its_account(
    sts_server, client, sandbox_assertion
):
    keys = assume(client, sandbox_assertion(ALICE), PROD_ADMIN)["Credentials"]
    signed = sts_server.client(
        region="eu-west-1",
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys["SessionToken"],
    )

    first, second = signed.get_caller_identity(), signed.get_caller_identity()

    assert first["Account"] == PROD
    assert first["Arn"] == f"arn:aws:sts::{PROD}:assumed-role/Admin/{ALICE}"
    assert first["UserId"].startswith("AROA") and first["UserId"].endswith(f":{ALICE}")
    assert second["UserId"] == first["UserId"]


def test_boto3_finds_the_emulator_through_aws_endpoint_url_sts(
    sts_server, sandbox_assertion, monkeypatch
):
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", sts_server.url)
    client = boto3.client("sts", region_name="ap-southeast-2", config=Config(signature_version=UNSIGNED))

    answer = assume(client, sandbox_assertion(BOB), DEV_READONLY)

    assert answer["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{DEV}:assumed-role/ReadOnly/{BOB}"


def test_an_assertion_may_be_redeemed_more_than_once(client, sandbox_assertion):
    assertion = sandbox_assertion(BOB)

    first = assume(client, assertion, DEV_READONLY)
    second = assume(client, assertion, DEV_READONLY)

    assert first["Credentials"]["AccessKeyId"] != second["Credentials"]["AccessKeyId"]


def test_the_china_partition_works_end_to_end(sts_server, client, sandbox_assertion):
    assertion = sandbox_assertion(ALICE, partition="aws-cn")
    role = world.in_partition(DEV_ADMIN, "aws-cn")
    assert "https://signin.amazonaws.cn/saml" in base64.b64decode(assertion).decode()

    keys = assume(client, assertion, role)["Credentials"]
    identity = sts_server.client(
        region="cn-north-1",
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys["SessionToken"],
    ).get_caller_identity()

    assert identity["Arn"] == f"arn:aws-cn:sts::{DEV}:assumed-role/Admin/{ALICE}"


def test_a_commercial_assertion_is_refused_for_a_china_role(client, sandbox_assertion):
    role = world.in_partition(DEV_ADMIN, "aws-cn")

    code, _, _ = refused(assume, client, sandbox_assertion(ALICE), role)

    assert code == "InvalidIdentityToken"  # its recipient is the commercial sign-in URL


# -- durations -----------------------------------------------------------------------------------


def test_duration_up_to_the_role_maximum_is_granted(client, sandbox_assertion):
    answer = assume(client, sandbox_assertion(ALICE), DEV_ADMIN, DurationSeconds=43200)

    assert 43100 < seconds_left(answer) <= 43200


def test_duration_above_the_role_maximum_is_a_validation_error(client, sandbox_assertion):
    code, message, status = refused(
        assume, client, sandbox_assertion(ALICE), DEV_READONLY, DurationSeconds=7200
    )

    assert (code, status) == ("ValidationError", 400)
    assert message == "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."


def test_lifetime_is_cut_to_the_idp_session_end(client, sandbox_assertion):
    assertion = sandbox_assertion(ALICE, session_lifetime=1800)

    answer = assume(client, assertion, DEV_ADMIN, DurationSeconds=7200)

    assert 1700 < seconds_left(answer) <= 1800


# -- refused -------------------------------------------------------------------------------------


def test_a_role_missing_from_the_assertion_is_access_denied(client, sandbox_assertion):
    code, message, status = refused(assume, client, sandbox_assertion(BOB), DEV_ADMIN)

    assert (code, message, status) == (
        "AccessDenied", "Not authorized to perform sts:AssumeRoleWithSAML", 403
    )


def test_a_role_paired_with_another_provider_is_access_denied(client, sandbox_assertion):
    other = f"arn:aws:iam::{DEV}:saml-provider/Elsewhere"
    sts_app_trusts_it = world.provider_arn(PROD)

    code, _, _ = refused(assume, client, sandbox_assertion(ALICE), DEV_ADMIN, sts_app_trusts_it)
    unknown, _, _ = refused(assume, client, sandbox_assertion(ALICE), DEV_ADMIN, other)

    assert code == "AccessDenied"
    assert unknown == "InvalidIdentityToken"


def test_an_assertion_signed_with_another_key_is_an_invalid_identity_token(client, sandbox_assertion):
    stranger = saml.Signer.generate("someone else")

    code, message, status = refused(assume, client, sandbox_assertion(ALICE, signer=stranger))

    assert (code, message, status) == ("InvalidIdentityToken", "Response signature invalid", 400)


def test_a_tampered_role_attribute_breaks_the_signature(client, sandbox_assertion):
    forged = edit(sandbox_assertion(BOB), f"{DEV_READONLY},", f"{DEV_ADMIN},")

    code, message, _ = refused(assume, client, forged, DEV_ADMIN)

    assert (code, message) == ("InvalidIdentityToken", "Response signature invalid")


def test_a_damaged_signature_value_is_an_invalid_identity_token(client, sandbox_assertion):
    assertion = sandbox_assertion(ALICE)
    document = base64.b64decode(assertion).decode()
    value = document.split("<ds:SignatureValue>", 1)[1][:8]
    damaged = edit(assertion, f"<ds:SignatureValue>{value}", f"<ds:SignatureValue>{value[::-1]}")

    code, _, _ = refused(assume, client, damaged)

    assert code == "InvalidIdentityToken"


def test_an_unsigned_assertion_is_an_invalid_identity_token(client, sandbox_assertion):
    document = base64.b64decode(sandbox_assertion(ALICE)).decode()
    start, end = document.index("<ds:Signature"), document.index("</ds:Signature>")
    unsigned = document[:start] + document[end + len("</ds:Signature>"):]

    code, _, _ = refused(assume, client, base64.b64encode(unsigned.encode()).decode())

    assert code == "InvalidIdentityToken"


def test_a_second_unsigned_assertion_beside_the_signed_one_is_refused(client, sandbox_assertion):
    document = base64.b64decode(sandbox_assertion(BOB)).decode()
    start = document.index("<saml:Assertion")
    forged_assertion = document[start:document.index("</saml:Assertion>") + len("</saml:Assertion>")]
    forged_assertion = forged_assertion.replace(f"{DEV_READONLY},", f"{DEV_ADMIN},")
    forged = document.replace("</samlp:Response>", forged_assertion + "</samlp:Response>")

    code, _, _ = refused(assume, client, base64.b64encode(forged.encode()).decode(), DEV_ADMIN)

    assert code == "InvalidIdentityToken"


def test_a_signed_assertion_wrapped_inside_a_forged_one_is_refused(client, sandbox_assertion):
    from lxml import etree

    root = etree.fromstring(base64.b64decode(sandbox_assertion(BOB)))
    ns = {"saml": saml.NS_SAML, "ds": saml.NS_DS}
    genuine = root.find("saml:Assertion", ns)
    place = root.index(genuine)
    signature = genuine.find("ds:Signature", ns)
    genuine.remove(signature)
    forged = etree.fromstring(etree.tostring(genuine))
    forged.set("ID", "_forged")
    for value in forged.iterfind(".//saml:AttributeValue", ns):
        value.text = (value.text or "").replace(DEV_READONLY, DEV_ADMIN)
    forged.insert(1, signature)  # the genuine signature, still pointing at the genuine assertion
    advice = etree.SubElement(forged, f"{{{saml.NS_SAML}}}Advice")
    advice.append(genuine)  # moved out of the response, hidden where its digest still holds
    root.insert(place, forged)
    wrapped = base64.b64encode(etree.tostring(root)).decode()

    code, message, _ = refused(assume, client, wrapped, DEV_ADMIN)

    assert (code, message) == ("InvalidIdentityToken", "Response signature invalid")


def test_a_response_reporting_a_failed_login_is_refused(client, sandbox_assertion):
    failed = edit(sandbox_assertion(ALICE), "status:Success", "status:Responder")

    code, _, _ = refused(assume, client, failed)

    assert code == "InvalidIdentityToken"


def test_an_assertion_with_a_dtd_is_refused_before_parsing(client):
    document = (
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        f'<samlp:Response xmlns:samlp="{saml.NS_SAMLP}">&e;</samlp:Response>'
    )

    code, message, _ = refused(assume, client, base64.b64encode(document.encode()).decode())

    assert code == "InvalidIdentityToken"
    assert "root:" not in message


@pytest.mark.parametrize(
    "audience", ["https://example.com/saml", "https://signin.aws.amazon.com.evil.test/saml"]
)
def test_an_audience_other_than_aws_is_refused(client, sandbox_assertion, audience):
    code, message, _ = refused(assume, client, sandbox_assertion(ALICE, audience=audience))

    assert code == "InvalidIdentityToken"
    assert "Audience" in message


def test_the_urn_audience_and_a_regional_recipient_are_accepted(client, sandbox_assertion):
    assertion = sandbox_assertion(
        ALICE,
        audience="urn:amazon:webservices",
        recipient="https://eu-west-1.signin.aws.amazon.com/saml",
    )

    assert assume(client, assertion)["Audience"] == "https://eu-west-1.signin.aws.amazon.com/saml"


@pytest.mark.parametrize(
    "recipient", ["https://idp.example.com/acs", "https://signin.aws.amazon.com.evil.test/saml"]
)
def test_a_recipient_other_than_aws_sign_in_is_refused(client, sandbox_assertion, recipient):
    code, message, _ = refused(assume, client, sandbox_assertion(ALICE, recipient=recipient))

    assert code == "InvalidIdentityToken"
    assert "Recipient" in message


def test_an_expired_assertion_is_an_expired_token(client, sandbox_assertion):
    ten_minutes_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=10)

    code, _, status = refused(assume, client, sandbox_assertion(ALICE, now=ten_minutes_ago))

    assert (code, status) == ("ExpiredTokenException", 400)


def test_an_assertion_must_be_redeemed_within_five_minutes_whatever_its_lifetime(
    client, sandbox_assertion
):
    seven_minutes_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=7)
    assertion = sandbox_assertion(ALICE, now=seven_minutes_ago, lifetime=3600)

    code, message, _ = refused(assume, client, assertion)

    assert (code, message) == (
        "ExpiredTokenException", "Token must be redeemed within 5 minutes of issuance"
    )


def test_an_assertion_from_the_future_is_refused(client, sandbox_assertion):
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=10)

    code, _, _ = refused(assume, client, sandbox_assertion(ALICE, now=later))

    assert code == "InvalidIdentityToken"


def test_a_session_name_aws_does_not_accept_is_a_validation_error(client, sandbox_assertion):
    code, message, _ = refused(assume, client, sandbox_assertion(ALICE, session_name="Alice Smith"))

    assert code == "ValidationError"
    assert "roleSessionName" in message


def test_an_unknown_provider_is_an_invalid_identity_token(client, sandbox_assertion):
    provider = "arn:aws:iam::333333333333:saml-provider/shellenv-sandbox"

    code, _, _ = refused(assume, client, sandbox_assertion(ALICE), DEV_ADMIN, provider)

    assert code == "InvalidIdentityToken"


# -- GetCallerIdentity refusals ------------------------------------------------------------------


def test_unknown_keys_are_an_invalid_client_token_id(sts_server):
    signed = sts_server.client(
        aws_access_key_id="ASIAUNKNOWNUNKNOWN00",
        aws_secret_access_key="x" * 40,
        aws_session_token="token",
    )

    code, _, status = refused(signed.get_caller_identity)

    assert (code, status) == ("InvalidClientTokenId", 403)


def test_an_unsigned_request_is_missing_its_authentication_token(sts_server, client):
    code, _, status = refused(client.get_caller_identity)

    assert (code, status) == ("MissingAuthenticationToken", 403)


def test_a_wrong_secret_key_does_not_match_the_signature(sts_server, client, sandbox_assertion):
    keys = assume(client, sandbox_assertion(BOB), DEV_READONLY)["Credentials"]
    signed = sts_server.client(
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key="wrong" + keys["SecretAccessKey"][5:],
        aws_session_token=keys["SessionToken"],
    )

    code, _, status = refused(signed.get_caller_identity)

    assert (code, status) == ("SignatureDoesNotMatch", 403)


def test_keys_past_their_expiration_are_expired(sts_server, sts_clock, client, sandbox_assertion):
    keys = assume(client, sandbox_assertion(BOB), DEV_READONLY, DurationSeconds=900)["Credentials"]
    signed = sts_server.client(
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys["SessionToken"],
    )
    assert signed.get_caller_identity()["Account"] == DEV

    sts_clock.advance(901)

    code, message, status = refused(signed.get_caller_identity)
    assert (code, status) == ("ExpiredToken", 403)
    assert message == "The security token included in the request is expired"


# -- the signer and the form ---------------------------------------------------------------------


def test_the_signer_is_kept_private_and_reused(tmp_path):
    folder = tmp_path / "sandbox"

    first = saml.Signer.load_or_create(folder)
    second = saml.Signer.load_or_create(folder)

    assert first == second
    assert stat.S_IMODE(os.stat(folder / saml.KEY_FILE).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert "PRIVATE KEY" not in repr(first)


def test_the_signer_s_new_parent_folders_are_private_too(tmp_path):
    cache_folder = tmp_path / "cache" / "shellenv"

    saml.Signer.load_or_create(cache_folder / "sandbox")

    # `shellenv sandbox` is often the first thing to create the cache: doctor must find it 0700.
    assert stat.S_IMODE(os.stat(cache_folder).st_mode) == 0o700


def test_the_form_page_escapes_what_it_embeds():
    page = saml.form_page("abc+/=", action='https://x.test/a?b=1&c="2"', relay_state="<r>")

    assert 'name="SAMLResponse" value="abc+/="' in page
    assert 'action="https://x.test/a?b=1&amp;c=&quot;2&quot;"' in page
    assert 'name="RelayState" value="&lt;r&gt;"' in page
    assert '<form method="post"' in page


def test_the_server_serves_on_loopback_and_stops():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"up"]

    with Server(app) as server:
        assert server.url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(server.url, timeout=5) as answer:
            assert answer.read() == b"up"
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(server.url, timeout=2)


# -- console sign-in -----------------------------------------------------------------------------


def federation_get(federation_server, **params):
    url = f"{federation_server.url}/federation?{urllib.parse.urlencode(params)}"
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=5) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def session_json(keys):
    return json.dumps(
        {
            "sessionId": keys["AccessKeyId"],
            "sessionKey": keys["SecretAccessKey"],
            "sessionToken": keys["SessionToken"],
        }
    )


def test_console_sign_in_with_issued_keys(federation_server, client, sandbox_assertion):
    keys = assume(client, sandbox_assertion(ALICE), PROD_ADMIN)["Credentials"]
    destination = "https://console.aws.amazon.com/"

    status, _, body = federation_get(
        federation_server, Action="getSigninToken", SessionDuration="43200", Session=session_json(keys)
    )
    assert status == 200
    token = json.loads(body)["SigninToken"]
    status, headers, _ = federation_get(
        federation_server, Action="login", Issuer="shellenv", Destination=destination, SigninToken=token
    )

    assert status == 302
    assert headers["Location"] == destination
    login = federation_server.app.logins[-1]
    assert login.assumed_role_arn == f"arn:aws:sts::{PROD}:assumed-role/Admin/{ALICE}"


def test_console_sign_in_refuses_keys_it_did_not_issue(federation_server):
    keys = {"AccessKeyId": "ASIAFORGED", "SecretAccessKey": "s", "SessionToken": "t"}

    status, _, _ = federation_get(federation_server, Action="getSigninToken", Session=session_json(keys))

    assert status == 400


def test_console_sign_in_refuses_a_session_duration_out_of_range(
    federation_server, client, sandbox_assertion
):
    keys = assume(client, sandbox_assertion(BOB), DEV_READONLY)["Credentials"]

    status, _, _ = federation_get(
        federation_server, Action="getSigninToken", SessionDuration="50000", Session=session_json(keys)
    )

    assert status == 400


def test_console_sign_in_refuses_an_unknown_or_stale_token(
    federation_server, sts_clock, client, sandbox_assertion
):
    keys = assume(client, sandbox_assertion(BOB), DEV_READONLY)["Credentials"]
    _, _, body = federation_get(federation_server, Action="getSigninToken", Session=session_json(keys))
    token = json.loads(body)["SigninToken"]
    destination = "https://console.aws.amazon.com/"

    unknown, _, _ = federation_get(
        federation_server, Action="login", Destination=destination, SigninToken="nope"
    )
    sts_clock.advance(16 * 60)
    stale, _, _ = federation_get(
        federation_server, Action="login", Destination=destination, SigninToken=token
    )

    assert (unknown, stale) == (400, 400)
