package io.quarry.security;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quarry.config.LoginThrottleProperties;
import io.quarry.config.LoginThrottleProperties.Limit;
import io.quarry.support.MutableClock;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.mock.web.MockFilterChain;
import org.springframework.mock.web.MockHttpServletRequest;
import org.springframework.mock.web.MockHttpServletResponse;
import org.springframework.security.authentication.UsernamePasswordAuthenticationToken;
import org.springframework.security.core.authority.AuthorityUtils;
import org.springframework.security.core.context.SecurityContextHolder;

/** Which requests the filter holds during a cool-down: exactly those that get a password check. */
class LoginThrottleFilterTest {

  static final String ATTACKER = "203.0.113.7";

  final MutableClock clock = new MutableClock(Instant.parse("2026-03-01T10:00:00Z"));
  final LoginThrottle throttle =
      new LoginThrottle(
          new LoginThrottleProperties(
              new Limit(1, Duration.ofMillis(4500), Duration.ofMinutes(1)),
              new Limit(100, Duration.ofSeconds(1), Duration.ofSeconds(1)),
              Duration.ofMinutes(15),
              Duration.ofDays(7),
              100),
          Map.of("admin", "admin", "viewer", "viewer"),
          clock,
          new SimpleMeterRegistry());
  final LoginThrottleFilter filter = new LoginThrottleFilter(throttle);

  @BeforeEach
  void coolDownForTheAttacker() {
    throttle.failed("admin", ATTACKER);
  }

  @AfterEach
  void logOut() {
    SecurityContextHolder.clearContext();
  }

  @Test
  void aBasicLoginDuringACoolDownIsAnswered429WithRetryAfterAndAProblem() throws Exception {
    MockHttpServletResponse response = send(basic("GET", "/api/jobs", "admin:right-password"));

    assertThat(response.getStatus()).isEqualTo(429);
    assertThat(response.getHeader("Retry-After")).isEqualTo("5");
    assertThat(response.getContentType()).isEqualTo("application/problem+json");
    assertThat(response.getContentAsString())
        .contains("\"status\":429")
        .contains("too many failed logins: try again in 5 seconds");
  }

  @Test
  void theLoginFormDuringACoolDownIsAnswered429() throws Exception {
    MockHttpServletRequest form = request("POST", "/login");
    form.setParameter("username", "admin");
    form.setParameter("password", "right-password");

    assertThat(send(form).getStatus()).isEqualTo(429);
  }

  @Test
  void requestsWithoutAPasswordCheckPass() throws Exception {
    assertPasses(request("GET", "/api/jobs"));
    assertPasses(request("GET", "/login"));
    MockHttpServletRequest notTheLoginForm = request("POST", "/api/users");
    notTheLoginForm.setParameter("username", "admin");
    assertPasses(notTheLoginForm);
    MockHttpServletRequest bearer = request("GET", "/api/jobs");
    bearer.addHeader("Authorization", "Bearer abc");
    assertPasses(bearer);
    MockHttpServletRequest notBase64 = request("GET", "/api/jobs");
    notBase64.addHeader("Authorization", "Basic !!!");
    assertPasses(notBase64);
    assertPasses(basic("GET", "/api/jobs", "no-colon"));
  }

  @Test
  void aSessionLoggedInAsTheSameUserPassesAnotherUserDoesNot() throws Exception {
    SecurityContextHolder.getContext()
        .setAuthentication(
            UsernamePasswordAuthenticationToken.authenticated(
                "viewer", null, AuthorityUtils.createAuthorityList("ROLE_VIEWER")));

    assertPasses(basic("GET", "/api/jobs", "viewer:anything"));
    assertThat(send(basic("GET", "/api/jobs", "admin:guess")).getStatus())
        .as("a viewer's session guessing the admin's password")
        .isEqualTo(429);
  }

  @Test
  void afterTheCoolDownTheLoginGoesThrough() throws Exception {
    clock.advance(Duration.ofMillis(4500));
    assertPasses(basic("GET", "/api/jobs", "admin:right-password"));
  }

  private void assertPasses(MockHttpServletRequest request) throws Exception {
    MockFilterChain chain = new MockFilterChain();
    MockHttpServletResponse response = new MockHttpServletResponse();
    filter.doFilter(request, response, chain);
    assertThat(chain.getRequest())
        .as("%s %s went on", request.getMethod(), request.getRequestURI())
        .isSameAs(request);
    assertThat(response.getStatus()).isEqualTo(200);
  }

  private MockHttpServletResponse send(MockHttpServletRequest request) throws Exception {
    MockFilterChain chain = new MockFilterChain();
    MockHttpServletResponse response = new MockHttpServletResponse();
    filter.doFilter(request, response, chain);
    if (response.getStatus() == 429) {
      assertThat(chain.getRequest()).as("a refused request goes no further").isNull();
    }
    return response;
  }

  private static MockHttpServletRequest basic(String method, String path, String credentials) {
    MockHttpServletRequest request = request(method, path);
    request.addHeader(
        "Authorization",
        "Basic "
            + Base64.getEncoder().encodeToString(credentials.getBytes(StandardCharsets.UTF_8)));
    return request;
  }

  private static MockHttpServletRequest request(String method, String path) {
    MockHttpServletRequest request = new MockHttpServletRequest(method, path);
    request.setServletPath(path);
    request.setRemoteAddr(ATTACKER);
    return request;
  }
}
