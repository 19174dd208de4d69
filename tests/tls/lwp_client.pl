# One LWP::UserAgent with keep_alive, N GETs of URL/1..N; bodies to stdout.
# usage: lwp_client.pl URL CAFILE N
use strict; use LWP::UserAgent;
my ($url, $ca, $n) = @ARGV;
my $ua = LWP::UserAgent->new(keep_alive => 1, ssl_opts => { SSL_ca_file => $ca });
for my $i (1..$n) { my $r = $ua->get("$url/$i"); die $r->status_line unless $r->is_success; print $r->content; }
