package io.quarry.operability;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarry.support.Csrf;
import io.quarry.support.Http;
import io.quarry.support.QuarryIntegrationTest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * Issue 14, items 5 and 6 for browsers: SameSite cookies, a CSRF token bound to the session, a
 * Content-Security-Policy on Quarry's pages, and forwarded headers ignored unless configured.
 */
@QuarryIntegrationTest
class WebHeadersIT {

  static final String ADMIN = "admin";
  static final String ADMIN_PASSWORD = "test-admin-password";

  @LocalServerPort int port;
  @Autowired JdbcClient jdbc;

  @Test
  void theSessionCookieIsLaxAndHttpOnlyAndTheCsrfCookieStrict() throws Exception {
    var login = formLogin();
    List<String> cookies = login.headers().allValues("Set-Cookie");

    assertThat(cookies)
        .filteredOn(c -> c.startsWith("JSESSIONID="))
        .singleElement()
        .satisfies(
            c ->
                assertThat(c)
                    .containsIgnoringCase("SameSite=Lax")
                    .containsIgnoringCase("HttpOnly")
                    .doesNotContainIgnoringCase("Secure"));
    var page = get("/dashboard/", Csrf.cookies(login));
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.headers().allValues("Set-Cookie"))
        .filteredOn(c -> c.startsWith("XSRF-TOKEN="))
        .singleElement()
        .satisfies(
            c -> assertThat(c).contains("SameSite=Strict").doesNotContainIgnoringCase("HttpOnly"));
  }

  @Test
  void aCsrfTokenInventedByTheClientIsRefused() throws Exception {
    // Before: the cookie and the header only had to match each other (201).
    var response =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(uri("/api/users"))
                    .header("Authorization", Http.basic(ADMIN, ADMIN_PASSWORD))
                    .header("Cookie", "XSRF-TOKEN=x")
                    .header("X-XSRF-TOKEN", "x")
                    .header("Content-Type", "application/json")
                    .POST(
                        HttpRequest.BodyPublishers.ofString(
                            "{\"externalId\":\"invented-csrf\",\"accessToken\":\"t\"}"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());

    assertThat(response.statusCode()).isEqualTo(403);
    assertThat(count("invented-csrf")).isZero();
  }

  @Test
  void theSessionsOwnTokenIsAccepted() {
    var response =
        Csrf.post(
            port,
            "/api/users",
            ADMIN,
            ADMIN_PASSWORD,
            "{\"externalId\":\"session-csrf\",\"accessToken\":\"t\"}");

    assertThat(response.statusCode()).as(response.body()).isEqualTo(201);
    assertThat(count("session-csrf")).isOne();
  }

  @Test
  void quarrysPagesCarryAStrictContentSecurityPolicy() throws Exception {
    for (String path : new String[] {"/dashboard/", "/api/jobs", "/dashboard/dashboard.js"}) {
      var response = get(path, null);
      assertThat(response.statusCode()).as(path).isEqualTo(200);
      assertThat(response.headers().firstValue("Content-Security-Policy"))
          .as(path)
          .hasValueSatisfying(
              csp ->
                  assertThat(csp)
                      .contains("default-src 'self'", "script-src 'self'", "frame-ancestors 'none'")
                      .doesNotContain("unsafe-inline", "unsafe-eval"));
      assertThat(response.headers().firstValue("X-Frame-Options")).as(path).hasValue("DENY");
      assertThat(response.headers().firstValue("X-Content-Type-Options"))
          .as(path)
          .hasValue("nosniff");
      assertThat(response.headers().firstValue("Referrer-Policy"))
          .as(path)
          .hasValue("strict-origin-when-cross-origin");
    }
  }

  @Test
  void theLoginPageMayStyleItselfInlineButRunsNoInlineScript() throws Exception {
    var page =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(uri("/login")).build(),
                HttpResponse.BodyHandlers.ofString());

    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.headers().firstValue("Content-Security-Policy"))
        .hasValueSatisfying(
            csp ->
                assertThat(csp)
                    .contains("style-src 'self' 'unsafe-inline'", "script-src 'self'")
                    .doesNotContain("script-src 'self' 'unsafe-inline'"));
  }

  @Test
  void forwardedHeadersAreIgnoredUnlessConfigured() throws Exception {
    var response =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(uri("/dashboard"))
                    .header("X-Forwarded-Proto", "https")
                    .header("X-Forwarded-Host", "quarry.example")
                    .header("Authorization", Http.basic(ADMIN, ADMIN_PASSWORD))
                    .build(),
                HttpResponse.BodyHandlers.ofString());

    assertThat(response.statusCode()).isEqualTo(302);
    assertThat(response.headers().firstValue("Location"))
        .hasValueSatisfying(location -> assertThat(location).doesNotContain("quarry.example"));
    assertThat(response.headers().firstValue("Strict-Transport-Security")).isEmpty();
  }

  private HttpResponse<String> formLogin() throws Exception {
    var page =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(uri("/login")).build(),
                HttpResponse.BodyHandlers.ofString());
    var csrf =
        java.util.regex.Pattern.compile("name=\"_csrf\"[^>]*value=\"([^\"]+)\"")
            .matcher(page.body());
    assertThat(csrf.find()).as("the login form carries a CSRF token").isTrue();
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(uri("/login"))
                .header("Cookie", Csrf.cookies(page))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        "username="
                            + ADMIN
                            + "&password="
                            + ADMIN_PASSWORD
                            + "&_csrf="
                            + java.net.URLEncoder.encode(
                                csrf.group(1), java.nio.charset.StandardCharsets.UTF_8)))
                .build(),
            HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> get(String path, String cookies) throws Exception {
    var request =
        HttpRequest.newBuilder(uri(path))
            .header("Authorization", Http.basic(ADMIN, ADMIN_PASSWORD));
    if (cookies != null) {
      request = HttpRequest.newBuilder(uri(path)).header("Cookie", cookies);
    }
    return HttpClient.newHttpClient().send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private long count(String externalId) {
    return jdbc.sql("select count(*) from app_user where external_id = ?")
        .param(externalId)
        .query(Long.class)
        .single();
  }

  private URI uri(String path) {
    return URI.create("http://127.0.0.1:" + port + path);
  }
}
