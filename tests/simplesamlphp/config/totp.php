<?php
/*
 * A second factor for the test IdP: an authentication processing filter that sends listed users to a
 * page asking for their RFC 6238 code (HMAC-SHA1, 30-second steps, 6 digits, one step of clock skew).
 * The page itself is ../totp-page.php, served by ../router.php.
 */

const SHELLENV_TOTP_STAGE = 'shellenv_totp:request';
const SHELLENV_TOTP_PAGE = 'shellenv-totp.php';

function shellenv_base32_decode(string $text): string
{
    $alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
    $bits = '';
    foreach (str_split(strtoupper(rtrim(str_replace(' ', '', $text), '='))) as $char) {
        $value = strpos($alphabet, $char);
        if ($value === false) {
            throw new Exception('TOTP seed is not base32');
        }
        $bits .= str_pad(decbin($value), 5, '0', STR_PAD_LEFT);
    }
    $bytes = '';
    foreach (str_split($bits, 8) as $byte) {
        if (strlen($byte) === 8) {
            $bytes .= chr(bindec($byte));
        }
    }
    return $bytes;
}

/** The code for one 30-second step (RFC 4226 dynamic truncation over the big-endian step counter). */
function shellenv_totp_code(string $key, int $step): string
{
    $mac = hash_hmac('sha1', pack('J', $step), $key, true);
    $offset = ord($mac[19]) & 0x0f;
    $number = ((ord($mac[$offset]) & 0x7f) << 24) | (ord($mac[$offset + 1]) << 16)
        | (ord($mac[$offset + 2]) << 8) | ord($mac[$offset + 3]);
    return str_pad((string) ($number % 1000000), 6, '0', STR_PAD_LEFT);
}

function shellenv_totp_valid(string $seed, string $code, int $now): bool
{
    $key = shellenv_base32_decode($seed);
    $step = intdiv($now, 30);
    foreach ([0, -1, 1] as $skew) {
        if (hash_equals(shellenv_totp_code($key, $step + $skew), $code)) {
            return true;
        }
    }
    return false;
}

class ShellenvTotpFilter extends \SimpleSAML\Auth\ProcessingFilter
{
    /** @var string */
    private $userAttribute;

    /** @var array<string, string> */
    private $seeds;

    public function __construct(&$config, $reserved)
    {
        parent::__construct($config, $reserved);
        $this->userAttribute = $config['user_attribute'];
        $this->seeds = $config['seeds'];
    }

    public function process(&$state)
    {
        $user = $state['Attributes'][$this->userAttribute][0] ?? null;
        if ($user === null || !isset($this->seeds[$user])) {
            return;
        }
        $state['shellenv_totp:seed'] = $this->seeds[$user];
        $id = \SimpleSAML\Auth\State::saveState($state, SHELLENV_TOTP_STAGE);
        $url = \SimpleSAML\Utils\HTTP::getBaseURL() . SHELLENV_TOTP_PAGE;
        \SimpleSAML\Utils\HTTP::redirectTrustedURL($url, ['StateId' => $id]);
    }
}
