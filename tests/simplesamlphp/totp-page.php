<?php
/*
 * The page of the test IdP's second factor: asks for the code, checks it, and resumes the login.
 * Required by router.php with $sspWww set to SimpleSAMLphp's www folder.
 */

require_once $sspWww . '/_include.php';

$id = $_REQUEST['StateId'] ?? null;
if (!is_string($id)) {
    throw new \SimpleSAML\Error\BadRequest('Missing StateId.');
}
$state = \SimpleSAML\Auth\State::loadState($id, SHELLENV_TOTP_STAGE);

$error = null;
if ($_SERVER['REQUEST_METHOD'] === 'POST') {
    $code = trim((string) ($_POST['otp'] ?? ''));
    if (shellenv_totp_valid($state['shellenv_totp:seed'], $code, time())) {
        unset($state['shellenv_totp:seed']);
        \SimpleSAML\Auth\ProcessingChain::resumeProcessing($state);
        exit;
    }
    $error = 'The verification code you entered is not valid. Please try again.';
}

header('Content-Type: text/html; charset=utf-8');
$stateId = htmlspecialchars($id, ENT_QUOTES);
?>
<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Two-step verification</title></head>
<body>
<h1>Two-step verification</h1>
<?php if ($error !== null): ?>
<div class="message-box error"><p><?= htmlspecialchars($error) ?></p></div>
<?php endif; ?>
<form action="<?= SHELLENV_TOTP_PAGE ?>" method="post">
  <label for="otp">Enter the 6-digit code from your authenticator app</label>
  <input id="otp" type="text" name="otp" inputmode="numeric" autocomplete="one-time-code" autofocus>
  <input type="hidden" name="StateId" value="<?= $stateId ?>">
  <button type="submit">Verify</button>
</form>
</body>
</html>
