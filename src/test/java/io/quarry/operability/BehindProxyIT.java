package io.quarry.operability;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarry.support.Http;
import io.quarry.support.QuarryIntegrationTest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.TestPropertySource;

/**
 * Issue 14, item 5 behind a TLS-terminating proxy: with forwarded headers configured, a request the
 * proxy marks as HTTPS gets Secure cookies, HSTS and redirects to https; one without the mark does
 * not. The test client on 127.0.0.1 plays the proxy (Tomcat trusts loopback by default).
 */
@QuarryIntegrationTest
@TestPropertySource(properties = "server.forward-headers-strategy=native")
class BehindProxyIT {

  static final String ADMIN = "admin";
  static final String ADMIN_PASSWORD = "test-admin-password";

  @LocalServerPort int port;

  @Test
  void overTlsTheCookiesAreSecureHstsIsSentAndRedirectsStayOnHttps() throws Exception {
    var redirect = get("/dashboard", "https");
    var page = get("/dashboard/", "https");

    assertThat(redirect.statusCode()).isEqualTo(302);
    assertThat(redirect.headers().firstValue("Location"))
        .hasValueSatisfying(location -> assertThat(location).startsWith("https://quarry.example"));
    assertThat(page.headers().firstValue("Strict-Transport-Security"))
        .hasValueSatisfying(hsts -> assertThat(hsts).contains("max-age=31536000"));
    assertThat(page.headers().allValues("Set-Cookie"))
        .isNotEmpty()
        .allSatisfy(cookie -> assertThat(cookie).containsIgnoringCase("Secure"));
  }

  @Test
  void withoutTheProxysTlsMarkNothingClaimsTls() throws Exception {
    var page = get("/dashboard/", null);

    assertThat(page.headers().firstValue("Strict-Transport-Security")).isEmpty();
    assertThat(page.headers().allValues("Set-Cookie"))
        .isNotEmpty()
        .noneSatisfy(cookie -> assertThat(cookie).containsIgnoringCase("Secure"));
  }

  private HttpResponse<String> get(String path, String forwardedProto) throws Exception {
    var request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .header("Authorization", Http.basic(ADMIN, ADMIN_PASSWORD));
    if (forwardedProto != null) {
      request
          .header("X-Forwarded-Proto", forwardedProto)
          .header("X-Forwarded-Host", "quarry.example")
          .header("X-Forwarded-For", "203.0.113.9");
    }
    return HttpClient.newHttpClient().send(request.build(), HttpResponse.BodyHandlers.ofString());
  }
}
