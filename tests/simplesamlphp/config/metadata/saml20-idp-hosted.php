<?php
/*
 * The hosted IdP. Its key and certificate are generated per test session by the fixture (never committed);
 * the sandbox STS trusts that certificate under arn:aws:iam::<account>:saml-provider/simplesamlphp.
 */

$metadata['__DYNAMIC:1__'] = [
    'host' => '__DEFAULT__',
    'privatekey' => 'idp.key',
    'certificate' => 'idp.crt',
    'auth' => 'example-userpass',
    'signature.algorithm' => 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    'authproc' => [
        // A second factor for the users listed here: a page asking for the RFC 6238 code.
        60 => [
            'class' => 'ShellenvTotpFilter',
            'user_attribute' => 'https://aws.amazon.com/SAML/Attributes/RoleSessionName',
            'seeds' => [
                // Test-only seed, mirrored in tests/simplesamlphp_fixtures.py as CAROL_TOTP_SEED.
                'carol@example.com' => 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP',
            ],
        ],
    ],
];
