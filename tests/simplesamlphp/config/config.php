<?php
/*
 * SimpleSAMLphp configuration for shellenv's tests: a hosted SAML 2.0 IdP on 127.0.0.1, nothing else.
 * The test fixture sets SHELLENV_SSP_BASEURL (the server's URL) and SHELLENV_SSP_VARDIR (a temporary
 * folder holding the generated signing key and certificate, sessions, cache and logs).
 */

$vardir = rtrim((string) getenv('SHELLENV_SSP_VARDIR'), '/');
if ($vardir === '') {
    throw new Exception('SHELLENV_SSP_VARDIR is not set; start this IdP through the test fixture');
}

require_once __DIR__ . '/totp.php';

$config = [
    'baseurlpath' => rtrim((string) getenv('SHELLENV_SSP_BASEURL'), '/') . '/',
    'certdir' => $vardir . '/cert/',
    'loggingdir' => $vardir . '/log/',
    'datadir' => $vardir . '/data/',
    'tempdir' => $vardir . '/tmp',
    'metadatadir' => __DIR__ . '/metadata/',

    'technicalcontact_name' => 'shellenv tests',
    'technicalcontact_email' => 'tests@example.com',
    'secretsalt' => 'shellenv-test-only-salt-not-a-secret',
    'auth.adminpassword' => 'shellenv-test-admin',
    'timezone' => 'UTC',

    'admin.protectindexpage' => false,
    'admin.protectmetadata' => false,
    'admin.checkforupdates' => false,
    'trusted.url.domains' => [],
    'enable.http_post' => false,
    'assertion.allowed_clock_skew' => 180,

    'debug' => ['saml' => false, 'backtraces' => false, 'validatexml' => false],
    'showerrors' => true,
    'errorreporting' => false,
    'logging.level' => SimpleSAML\Logger::NOTICE,
    'logging.handler' => 'file',
    'logging.logfile' => 'simplesamlphp.log',

    'enable.saml20-idp' => true,
    'enable.shib13-idp' => false,
    'enable.adfs-idp' => false,
    'module.enable' => [
        'exampleauth' => true,
        'core' => true,
        'saml' => true,
    ],

    'session.duration' => 8 * 60 * 60,
    'session.datastore.timeout' => 4 * 60 * 60,
    'session.state.timeout' => 60 * 60,
    'session.cookie.name' => 'SimpleSAMLSessionID',
    'session.cookie.lifetime' => 0,
    'session.cookie.path' => '/',
    'session.cookie.domain' => null,
    'session.cookie.secure' => false,
    'session.phpsession.cookiename' => 'SimpleSAML',
    'session.phpsession.savepath' => $vardir . '/sessions',
    'session.phpsession.httponly' => true,
    'session.authtoken.cookiename' => 'SimpleSAMLAuthToken',
    'store.type' => 'phpsession',

    'language.available' => ['en'],
    'language.default' => 'en',
    'language.cookie.secure' => false,

    'theme.use' => 'default',
    'template.auto_reload' => false,
    'production' => true,
];
