<?php
// HTTP/1.1 by hand over PHP's own TLS streams (ext/openssl: SSL_write,
// SSL_read, SSL_pending), as a legacy script does it: one stream kept
// for the next request unless the response says close.  N GETs of
// URL/0..N-1; bodies to stdout.
// usage: php php_stream_client.php URL CAFILE N
[, $url, $ca, $n] = $argv;
$u = parse_url($url);
$ctx = stream_context_create(['ssl' => ['cafile' => $ca, 'peer_name' => $u['host']]]);
$s = null;
for ($i = 0; $i < (int)$n; $i++) {
    if ($s === null) {
        $s = stream_socket_client("tls://{$u['host']}:{$u['port']}", $errno, $err, 10,
                                  STREAM_CLIENT_CONNECT, $ctx);
        if ($s === false) { fwrite(STDERR, "connect: $err\n"); exit(1); }
    }
    fwrite($s, "GET {$u['path']}/$i HTTP/1.1\r\nHost: {$u['host']}\r\n\r\n");
    $status = fgets($s);
    if ($status === false || !preg_match('#^HTTP/1\.1 200 #', $status)) {
        fwrite(STDERR, "request $i: status " . var_export($status, true) . "\n");
        exit(1);
    }
    $len = -1; $close = false;
    while (($line = fgets($s)) !== false && $line !== "\r\n") {
        if (preg_match('/^content-length:\s*(\d+)/i', $line, $m)) $len = (int)$m[1];
        if (preg_match('/^connection:.*\bclose\b/i', $line)) $close = true;
    }
    if ($len < 0) { fwrite(STDERR, "request $i: no Content-Length\n"); exit(1); }
    $body = '';
    while (strlen($body) < $len && !feof($s)) $body .= fread($s, $len - strlen($body));
    if (strlen($body) != $len) { fwrite(STDERR, "request $i: body cut\n"); exit(1); }
    echo $body;
    if ($close) { fclose($s); $s = null; }
}
