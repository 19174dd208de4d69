// Java client for tests/leak.bats: N requests with HttpURLConnection
// (keep-alive by default), GET/HEAD/POST in turn; prints one JSON line.
// usage: java JavaLeak HOST PORT N
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URL;

public class JavaLeak {
    public static void main(String[] a) throws Exception {
        String base = "http://" + a[0] + ":" + a[1];
        int n = Integer.parseInt(a[2]), failed = 0, verified = 0, close = 0;
        for (int i = 0; i < n; i++) {
            String path = "/leak/java/" + i;
            String method = i % 3 == 1 ? "HEAD" : i % 3 == 2 ? "POST" : "GET";
            byte[] body = ("k=" + i).getBytes("US-ASCII");
            try {
                HttpURLConnection c = (HttpURLConnection) new URL(base + path).openConnection();
                c.setRequestMethod(method);
                if (method.equals("POST")) {
                    c.setDoOutput(true);
                    try (OutputStream o = c.getOutputStream()) { o.write(body); }
                }
                byte[] got;
                try (InputStream in = c.getInputStream()) { got = in.readAllBytes(); }
                String want = method.equals("HEAD") ? ""
                        : method + " " + path + " " + (method.equals("POST") ? body.length : 0) + "\n";
                if (c.getResponseCode() == 200 && new String(got, "US-ASCII").equals(want))
                    verified++;
                else
                    failed++;
                if ("close".equalsIgnoreCase(c.getHeaderField("Connection")))
                    close++;
            } catch (Exception e) {
                failed++;
            }
        }
        System.out.println("{\"failed\": " + failed + ", \"verified\": " + verified
                + ", \"close_seen\": " + close + "}");
    }
}
