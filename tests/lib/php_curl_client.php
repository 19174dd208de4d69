<?php
// One curl handle (PHP's curl extension: libcurl, over OpenSSL for https),
// N GETs of URL/0..N-1; libcurl keeps the connection for the next.  PHP
// loads the extension with RTLD_DEEPBIND (shim/io_dl.c).  Bodies to stdout.
// usage: php php_curl_client.php URL CAFILE|- N
[, $url, $ca, $n] = $argv;
$h = curl_init();
curl_setopt($h, CURLOPT_RETURNTRANSFER, true);
if ($ca !== '-')
    curl_setopt($h, CURLOPT_CAINFO, $ca);
for ($i = 0; $i < (int)$n; $i++) {
    curl_setopt($h, CURLOPT_URL, "$url/$i");
    $body = curl_exec($h);
    if ($body === false || curl_getinfo($h, CURLINFO_RESPONSE_CODE) != 200) {
        fwrite(STDERR, "request $i: " . curl_error($h) . "\n");
        exit(1);
    }
    echo $body;
}
