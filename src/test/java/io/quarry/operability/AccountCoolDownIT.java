package io.quarry.operability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.quarry.security.LoginThrottle;
import io.quarry.support.LoopbackClient;
import io.quarry.support.QuarryIntegrationTest;
import io.quarry.support.Scrape;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.TestPropertySource;

/**
 * Strangers guessing an account's password from many addresses, each under its own address limit,
 * hold that account only for its short cool-down, never at an address that logged in to it before
 * (the operator's desk, Prometheus), and never another account.
 */
@QuarryIntegrationTest
@TestPropertySource(
    properties = {
      "quarry.security.login-throttle.account.max-failures=4",
      "quarry.security.login-throttle.account.cool-down=2s",
      "quarry.security.login-throttle.account.max-cool-down=3s"
    })
class AccountCoolDownIT {

  static final String VIEWER_PASSWORD = "test-viewer-password";
  static final String ME = "/api/dashboard/me";

  @LocalServerPort int port;
  final ListAppender<ILoggingEvent> logged = new ListAppender<>();
  final List<LoopbackClient> clients = new ArrayList<>();

  @BeforeEach
  void captureLog() {
    logged.start();
    throttleLog().addAppender(logged);
  }

  @AfterEach
  void releaseLogAndClients() {
    throttleLog().detachAppender(logged);
    clients.forEach(LoopbackClient::close);
  }

  @Test
  void strangersHoldAnAccountBrieflyButNotWhereItLoggedInBeforeNorAnotherAccount() {
    LoopbackClient operator = client("127.0.0.40");
    assertThat(operator.get(ME, "viewer", VIEWER_PASSWORD).status()).isEqualTo(200);
    double refusedBefore = Scrape.sample(port, "quarry_login_throttled_total", "scope", "account");

    for (int stranger = 1; stranger <= 4; stranger++) {
      assertThat(client("127.0.0.5" + stranger).get(ME, "viewer", "guess-" + stranger).status())
          .isEqualTo(401);
    }
    assertThat(operator.get(ME, "viewer", VIEWER_PASSWORD).status())
        .as("the address that logged in before")
        .isEqualTo(200);
    assertThat(client("127.0.0.61").get(ME, "admin", "test-admin-password").status())
        .as("another account")
        .isEqualTo(200);
    LoopbackClient newcomer = client("127.0.0.60");
    LoginThrottleIT.assertTooManyRequests(newcomer.get(ME, "viewer", VIEWER_PASSWORD), 2);
    awaitLogIn(newcomer, Duration.ofSeconds(5));

    // Each further failure would double the cool-down; the account's stays at its 3s cap.
    for (int stranger = 5; stranger <= 6; stranger++) {
      LoopbackClient guesser = client("127.0.0.5" + stranger);
      await()
          .atMost(Duration.ofSeconds(6))
          .pollInterval(Duration.ofMillis(100))
          .until(() -> guesser.get(ME, "viewer", "guess").status(), status -> status == 401);
    }
    LoopbackClient another = client("127.0.0.62");
    LoginThrottleIT.assertTooManyRequests(another.get(ME, "viewer", VIEWER_PASSWORD), 3);
    awaitLogIn(another, Duration.ofSeconds(6));

    assertThat(Scrape.sample(port, "quarry_login_throttled_total", "scope", "account"))
        .isGreaterThanOrEqualTo(refusedBefore + 2);
    assertThat(logged.list.stream().map(ILoggingEvent::getFormattedMessage))
        .contains(
            "Failed login as \"viewer\" from 127.0.0.51",
            "Logins as \"viewer\" refused for 2s after 4 failed logins, except from addresses it"
                + " logged in from",
            "Logins as \"viewer\" refused for 3s after 5 failed logins, except from addresses it"
                + " logged in from",
            "Logins as \"viewer\" refused for 3s after 6 failed logins, except from addresses it"
                + " logged in from");
  }

  private void awaitLogIn(LoopbackClient client, Duration atMost) {
    await()
        .atMost(atMost)
        .pollInterval(Duration.ofMillis(200))
        .until(() -> client.get(ME, "viewer", VIEWER_PASSWORD).status(), status -> status == 200);
  }

  private LoopbackClient client(String address) {
    LoopbackClient client = new LoopbackClient(port, address);
    clients.add(client);
    return client;
  }

  private static Logger throttleLog() {
    return (Logger) LoggerFactory.getLogger(LoginThrottle.class);
  }
}
