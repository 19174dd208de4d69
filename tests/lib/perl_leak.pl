#!/usr/bin/perl
# Perl client for tests/leak.bats: N requests with HTTP::Tiny (keep-alive
# by default), GET/HEAD/POST in turn; prints one JSON line.
# usage: perl_leak.pl HOST PORT N
use strict;
use warnings;
use HTTP::Tiny;

my ($host, $port, $n) = @ARGV;
my $http = HTTP::Tiny->new(keep_alive => 1, timeout => 10);
my ($failed, $verified, $close) = (0, 0, 0);
for my $i (0 .. $n - 1) {
    my $path = "/leak/perl/$i";
    my $method = $i % 3 == 1 ? 'HEAD' : $i % 3 == 2 ? 'POST' : 'GET';
    my $body = "k=$i";
    my $r = $http->request($method, "http://$host:$port$path",
        $method eq 'POST' ? { content => $body } : {});
    my $want = $method eq 'HEAD' ? ''
             : "$method $path " . ($method eq 'POST' ? length $body : 0) . "\n";
    if ($r->{status} == 200 && $r->{content} eq $want) { $verified++ } else { $failed++ }
    $close++ if lc($r->{headers}{connection} // '') eq 'close';
}
print "{\"failed\": $failed, \"verified\": $verified, \"close_seen\": $close}\n";
