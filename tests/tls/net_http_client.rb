# One Net::HTTP session (http.start), N GETs of URL/0..N-1; bodies to stdout.
# usage: net_http_client.rb URL CAFILE N
require "net/http"
url, ca, n = ARGV[0], ARGV[1], ARGV[2].to_i
u = URI(url)
http = Net::HTTP.new(u.host, u.port); http.use_ssl = true; http.ca_file = ca
http.start do |h|
  n.times { |i| r = h.get("#{u.path}/#{i}"); raise r.code unless r.code == "200"; print r.body }
end
