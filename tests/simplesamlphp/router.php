<?php
/*
 * Router for `php -S`: serves SimpleSAMLphp's www folder (the docroot) unchanged, plus the test IdP's
 * TOTP page. Returning false lets PHP's built-in server handle the request as usual.
 */

$sspWww = $_SERVER['DOCUMENT_ROOT'];
$path = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
if ($path === '/shellenv-totp.php') {
    require __DIR__ . '/totp-page.php';
    return true;
}
return false;
