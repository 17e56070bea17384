package io.quarry.security;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quarry.config.LoginThrottleProperties;
import io.quarry.config.LoginThrottleProperties.Limit;
import io.quarry.support.MutableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.springframework.security.authentication.BadCredentialsException;
import org.springframework.security.authentication.UsernamePasswordAuthenticationToken;
import org.springframework.security.authentication.event.AuthenticationFailureBadCredentialsEvent;
import org.springframework.security.authentication.event.AuthenticationSuccessEvent;
import org.springframework.security.core.authority.AuthorityUtils;
import org.springframework.security.web.authentication.WebAuthenticationDetails;

/** The throttle's rules on a clock the test moves: no sleeping, no Spring. */
class LoginThrottleTest {

  static final Instant T0 = Instant.parse("2026-03-01T10:00:00Z");
  static final String ATTACKER = "203.0.113.7";
  static final String OPERATOR = "198.51.100.20";

  /** Address: 3 failures, then 5s doubling to 40s. Account: 5 failures, then 5s doubling to 10s. */
  static final LoginThrottleProperties SETTINGS =
      settings(new Limit(3, seconds(5), seconds(40)), new Limit(5, seconds(5), seconds(10)), 1000);

  final MutableClock clock = new MutableClock(T0);
  final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  final ListAppender<ILoggingEvent> logged = new ListAppender<>();
  LoginThrottle throttle = throttle(SETTINGS);

  @BeforeEach
  void captureLog() {
    logged.start();
    ((Logger) LoggerFactory.getLogger(LoginThrottle.class)).addAppender(logged);
  }

  @AfterEach
  void releaseLog() {
    ((Logger) LoggerFactory.getLogger(LoginThrottle.class)).detachAppender(logged);
  }

  @Test
  void anAddressIsRefusedForACoolDownOnceItsFailuresReachTheLimit() {
    fail("admin", ATTACKER, 2);
    assertThat(throttle.check("admin", ATTACKER)).isEmpty();

    fail("admin", ATTACKER, 1);

    assertThat(throttle.check("admin", ATTACKER)).contains(seconds(5));
    assertThat(throttle.check("viewer", ATTACKER)).as("any account from there").isPresent();
    assertThat(throttle.check("admin", OPERATOR)).as("another address").isEmpty();
    clock.advance(Duration.ofMillis(4900));
    assertThat(throttle.check("admin", ATTACKER)).contains(Duration.ofMillis(100));
    clock.advance(Duration.ofMillis(100));
    assertThat(throttle.check("admin", ATTACKER)).isEmpty();
  }

  @Test
  void eachFailureAfterACoolDownDoublesTheNextOneUpToTheLongest() {
    fail("nobody", ATTACKER, 3);
    List<Duration> coolDowns = new ArrayList<>();
    coolDowns.add(throttle.check("nobody", ATTACKER).orElseThrow());
    for (int i = 0; i < 5; i++) {
      clock.advance(coolDowns.get(coolDowns.size() - 1));
      assertThat(throttle.check("nobody", ATTACKER)).isEmpty();
      fail("nobody", ATTACKER, 1);
      coolDowns.add(throttle.check("nobody", ATTACKER).orElseThrow());
    }
    assertThat(coolDowns)
        .containsExactly(
            seconds(5), seconds(10), seconds(20), seconds(40), seconds(40), seconds(40));
  }

  @Test
  void refusedAttemptsDoNotCountAsFailures() {
    fail("admin", ATTACKER, 3);
    for (int i = 0; i < 100; i++) {
      assertThat(throttle.check("admin", ATTACKER)).isPresent();
    }
    clock.advance(seconds(5));
    assertThat(throttle.check("admin", ATTACKER)).isEmpty();
    assertThat(registry.get(LoginThrottle.FAILURES).tag("account", "admin").counter().count())
        .isEqualTo(3);
    assertThat(registry.get(LoginThrottle.THROTTLED).tag("scope", "address").counter().count())
        .isEqualTo(100);
  }

  @Test
  void failuresAreForgottenAWindowAfterTheLastCoolDownEnded() {
    fail("nobody", ATTACKER, 2);
    clock.advance(Duration.ofMinutes(15).plusSeconds(1));
    fail("nobody", ATTACKER, 2);
    assertThat(throttle.check("nobody", ATTACKER)).as("two old, two new failures").isEmpty();

    fail("nobody", ATTACKER, 1);
    clock.advance(seconds(5).plusMinutes(15));
    fail("nobody", ATTACKER, 1);
    assertThat(throttle.check("nobody", ATTACKER))
        .as("within the window after the cool-down: the next cool-down doubles")
        .contains(seconds(10));

    clock.advance(seconds(10).plusMinutes(15).plusSeconds(1));
    fail("nobody", ATTACKER, 2);
    assertThat(throttle.check("nobody", ATTACKER)).as("forgotten: a fresh count").isEmpty();
  }

  @Test
  void strangersLockAnAccountOnlyBrieflyAndNeverForAnAddressThatLoggedInToIt() {
    throttle.succeeded("viewer", OPERATOR);
    clock.advance(Duration.ofDays(1));
    for (int i = 0; i < 30; i++) {
      fail("viewer", "192.0.2." + i, 1); // one failure per address: no address limit reached
    }

    Optional<Duration> stranger = throttle.check("viewer", "192.0.2.200");
    assertThat(stranger).as("a new address, during the account's cool-down").isPresent();
    assertThat(stranger.get()).as("the account's cool-down is capped").isEqualTo(seconds(10));
    assertThat(throttle.check("viewer", OPERATOR)).as("the address it logged in from").isEmpty();
    assertThat(throttle.check("admin", "192.0.2.200")).as("another account").isEmpty();
    clock.advance(seconds(10));
    assertThat(throttle.check("viewer", "192.0.2.200")).isEmpty();
    assertThat(registry.get(LoginThrottle.THROTTLED).tag("scope", "account").counter().count())
        .isEqualTo(1);
  }

  @Test
  void aKnownAddressIsForgottenAfterKnownAddressFor() {
    throttle.succeeded("viewer", OPERATOR);
    clock.advance(Duration.ofDays(7));
    for (int i = 0; i < 5; i++) {
      fail("viewer", "192.0.2." + i, 1);
    }
    assertThat(throttle.check("viewer", OPERATOR)).isPresent();
  }

  @Test
  void aKnownAddressIsStillHeldByItsOwnFailures() {
    throttle.succeeded("admin", OPERATOR);
    fail("admin", OPERATOR, 3);
    assertThat(throttle.check("admin", OPERATOR)).contains(seconds(5));
  }

  @Test
  void aSuccessfulLoginClearsNoFailures() {
    fail("admin", ATTACKER, 2);
    throttle.succeeded("viewer", ATTACKER); // the attacker knows the viewer's password
    fail("admin", ATTACKER, 1);
    assertThat(throttle.check("admin", ATTACKER)).isPresent();
  }

  @Test
  void userNamesThatDifferInCaseAreOneAccount() {
    List<String> names = List.of("admin", "ADMIN", "Admin", "aDmin", "admiN");
    for (int i = 0; i < names.size(); i++) {
      fail(names.get(i), "192.0.2." + i, 1);
    }
    assertThat(throttle.check("admin", "192.0.2.250")).isPresent();
    assertThat(registry.get(LoginThrottle.FAILURES).tag("account", "admin").counter().count())
        .isEqualTo(5);
  }

  @Test
  void unknownUserNamesCountAgainstTheAddressOnly() {
    for (int i = 0; i < 30; i++) {
      fail("user" + i, "192.0.2." + i, 1);
    }
    assertThat(throttle.check("user1", "192.0.2.200")).isEmpty();
    assertThat(registry.get(LoginThrottle.FAILURES).tag("account", "unknown").counter().count())
        .isEqualTo(30);
  }

  @Test
  void onlyTheMostRecentlySeenAddressesAreRemembered() {
    throttle = throttle(settings(SETTINGS.address(), SETTINGS.account(), 2));
    fail("nobody", "192.0.2.1", 3);
    fail("nobody", "192.0.2.2", 1);
    assertThat(throttle.check("nobody", "192.0.2.1")).as("still remembered").isPresent();
    fail("nobody", "192.0.2.3", 1);
    fail("nobody", "192.0.2.4", 1);
    assertThat(throttle.check("nobody", "192.0.2.1")).as("forgotten").isEmpty();
  }

  @Test
  void ipv6AddressesCountPerSlash64() {
    fail("nobody", "2001:db8:1:2::1", 1);
    fail("nobody", "2001:db8:1:2:aaaa:bbbb:cccc:dddd", 1);
    fail("nobody", "2001:0db8:0001:0002:0:0:0:ffff", 1);
    assertThat(throttle.check("nobody", "2001:db8:1:2:ffff::7")).isPresent();
    assertThat(throttle.check("nobody", "2001:db8:1:3::1")).isEmpty();
    assertThat(LoginThrottle.addressKey("2001:db8:1:2:ffff::7"))
        .isEqualTo("2001:db8:1:2:0:0:0:0/64");
    assertThat(LoginThrottle.addressKey("::ffff:192.0.2.1")).isEqualTo("192.0.2.1");
    assertThat(LoginThrottle.addressKey("192.0.2.1")).isEqualTo("192.0.2.1");
    assertThat(LoginThrottle.addressKey("not:an:address")).isEqualTo("not:an:address");
    assertThat(LoginThrottle.addressKey(null)).isEqualTo("unknown");
  }

  @Test
  void everyFailureIsLoggedWithTheUserAndAddressAndEveryCoolDownThatStarts() {
    fail("admin", ATTACKER, 3);
    throttle.failed("mallory", ATTACKER);

    assertThat(messages(Level.WARN))
        .containsExactly(
            "Failed login as \"admin\" from " + ATTACKER,
            "Failed login as \"admin\" from " + ATTACKER,
            "Failed login as \"admin\" from " + ATTACKER,
            "Logins from " + ATTACKER + " refused for 5s after 3 failed logins",
            "Failed login as unknown user \"mallory\" from " + ATTACKER,
            "Logins from " + ATTACKER + " refused for 10s after 4 failed logins");
  }

  @Test
  void aUserNameIsLoggedOnOneLineAndCut() {
    String forged = "evil\r\nFailed login as \"admin\" from 10.0.0.1\u202e";
    throttle.failed(forged + "x".repeat(500), ATTACKER);

    assertThat(messages(Level.WARN))
        .containsExactly(
            "Failed login as unknown user \"evil??Failed login as \"admin\" from 10.0.0.1?"
                + "x".repeat(64 - forged.length())
                + "...\" from "
                + ATTACKER);
    assertThat(LoginThrottle.printable("a\tb\u0000c\u2028d\u200be")).isEqualTo("a?b?c?d?e");
    assertThat(LoginThrottle.printable("\ud83d\ude00".repeat(40)))
        .as("not cut inside a surrogate pair")
        .isEqualTo("\ud83d\ude00".repeat(32) + "...");
    assertThat(LoginThrottle.printable("\ud83d\ude00".repeat(40).substring(1)))
        .as("cut before a pair that would be split")
        .isEqualTo("?" + "\ud83d\ude00".repeat(31) + "...");
  }

  @Test
  void springSecurityEventsCarryTheNameAndAddress() {
    var attempt = UsernamePasswordAuthenticationToken.unauthenticated("admin", "secret-guess");
    attempt.setDetails(new WebAuthenticationDetails(ATTACKER, null));
    for (int i = 0; i < 3; i++) {
      throttle.onBadCredentials(
          new AuthenticationFailureBadCredentialsEvent(attempt, new BadCredentialsException("no")));
    }
    assertThat(throttle.check("admin", ATTACKER)).isPresent();
    assertThat(messages(Level.WARN))
        .allSatisfy(line -> assertThat(line).doesNotContain("secret-guess"))
        .contains("Failed login as \"admin\" from " + ATTACKER);

    var login =
        UsernamePasswordAuthenticationToken.authenticated(
            "viewer", null, AuthorityUtils.createAuthorityList("ROLE_VIEWER"));
    login.setDetails(new WebAuthenticationDetails(OPERATOR, null));
    throttle.onSuccess(new AuthenticationSuccessEvent(login));
    for (int i = 0; i < 5; i++) {
      fail("viewer", "192.0.2." + i, 1);
    }
    assertThat(throttle.check("viewer", OPERATOR)).as("known from the success event").isEmpty();
    assertThat(throttle.check("viewer", "192.0.2.99")).isPresent();
  }

  @Test
  void theCountersExistBeforeTheFirstFailure() {
    assertThat(registry.get(LoginThrottle.FAILURES).counters()).hasSize(3);
    assertThat(registry.get(LoginThrottle.THROTTLED).counters()).hasSize(2);
    registry
        .getMeters()
        .forEach(meter -> assertThat(meter.measure().iterator().next().getValue()).isZero());
  }

  @Test
  void theCoolDownNeverOverflows() {
    Limit limit = new Limit(1, seconds(1), Duration.ofHours(24));
    assertThat(LoginThrottle.coolDown(limit, 0)).isEqualTo(seconds(1));
    assertThat(LoginThrottle.coolDown(limit, 3)).isEqualTo(seconds(8));
    assertThat(LoginThrottle.coolDown(limit, Integer.MAX_VALUE)).isEqualTo(Duration.ofHours(24));
    assertThat(LoginThrottle.seconds(Duration.ofMillis(1))).isEqualTo(1);
    assertThat(LoginThrottle.seconds(Duration.ofMillis(5001))).isEqualTo(6);
  }

  private void fail(String user, String address, int times) {
    for (int i = 0; i < times; i++) {
      throttle.failed(user, address);
    }
  }

  private List<String> messages(Level level) {
    return logged.list.stream()
        .filter(event -> event.getLevel() == level)
        .map(ILoggingEvent::getFormattedMessage)
        .toList();
  }

  private LoginThrottle throttle(LoginThrottleProperties settings) {
    return new LoginThrottle(
        settings, Map.of("admin", "admin", "viewer", "viewer"), clock, registry);
  }

  private static LoginThrottleProperties settings(Limit address, Limit account, int addresses) {
    return new LoginThrottleProperties(
        address, account, Duration.ofMinutes(15), Duration.ofDays(7), addresses);
  }

  private static Duration seconds(long seconds) {
    return Duration.ofSeconds(seconds);
  }
}
