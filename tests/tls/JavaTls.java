// HttpsURLConnection (keep-alive by default), N sequential GETs of URL/0..N-1
// trusting only CAFILE; bodies to stdout.  usage: java JavaTls URL CAFILE N
import java.io.*;
import java.net.URL;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import javax.net.ssl.*;

public class JavaTls {
    public static void main(String[] a) throws Exception {
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        try (InputStream in = new FileInputStream(a[1])) {
            ks.setCertificateEntry("test",
                CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf =
            TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        OutputStream out = new BufferedOutputStream(System.out);
        int n = Integer.parseInt(a[2]);
        for (int i = 0; i < n; i++) {
            HttpsURLConnection c = (HttpsURLConnection) new URL(a[0] + "/" + i).openConnection();
            c.setSSLSocketFactory(ctx.getSocketFactory());
            try (InputStream in = c.getInputStream()) {
                in.transferTo(out);
            }
        }
        out.flush();
    }
}
