<?php
/*
 * The test users. Passwords are test-only constants mirrored in tests/simplesamlphp_fixtures.py.
 * Attribute names are the exact URIs AWS reads; the SP metadata sends them with the "uri" name format.
 * Roles are the sandbox world's role ARNs, each paired with this IdP's SAML provider in that account.
 */

$role = 'https://aws.amazon.com/SAML/Attributes/Role';
$sessionName = 'https://aws.amazon.com/SAML/Attributes/RoleSessionName';
$sessionDuration = 'https://aws.amazon.com/SAML/Attributes/SessionDuration';
$dev = 'arn:aws:iam::111111111111:';
$prod = 'arn:aws:iam::222222222222:';
$provider = 'saml-provider/simplesamlphp';

$config = [
    'admin' => ['core:AdminPassword'],

    'example-userpass' => [
        'exampleauth:UserPass',

        // Several roles across both sandbox accounts; one written provider-first, as some IdPs do.
        'alice:alice-test-password' => [
            $role => [
                $dev . 'role/Admin,' . $dev . $provider,
                $dev . 'role/ReadOnly,' . $dev . $provider,
                $dev . 'role/team/ops/Deploy,' . $dev . $provider,
                $prod . $provider . ',' . $prod . 'role/ReadOnly',
            ],
            $sessionName => ['alice@example.com'],
            $sessionDuration => ['3600'],
        ],

        // One role, password only.
        'bob:bob-test-password' => [
            $role => [$dev . 'role/ReadOnly,' . $dev . $provider],
            $sessionName => ['bob@example.com'],
        ],

        // One role, and a TOTP page after the password (seed in saml20-idp-hosted.php).
        'carol:carol-test-password' => [
            $role => [$prod . 'role/Admin,' . $prod . $provider],
            $sessionName => ['carol@example.com'],
            $sessionDuration => ['3600'],
        ],
    ],
];
