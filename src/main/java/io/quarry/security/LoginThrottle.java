package io.quarry.security;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarry.config.LoginThrottleProperties;
import io.quarry.config.LoginThrottleProperties.Limit;
import io.quarry.config.QuarryProperties;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.context.event.EventListener;
import org.springframework.security.authentication.event.AuthenticationFailureBadCredentialsEvent;
import org.springframework.security.authentication.event.AuthenticationSuccessEvent;
import org.springframework.security.core.Authentication;
import org.springframework.security.web.authentication.WebAuthenticationDetails;
import org.springframework.stereotype.Component;

/**
 * Makes password guessing slow. Failed logins are counted per client address (whatever account they
 * tried) and per account (from any address); once either reaches its {@code max-failures}, logins
 * are refused for a cool-down that doubles with each further failure up to {@code max-cool-down},
 * even with the right password ({@link LoginThrottleFilter} answers 429). The address limit may be
 * long; the account limit is kept short and does not hold an address that logged in to the account
 * recently (the operator's desk, Prometheus), so a stranger's failures cannot lock the operator
 * out. A successful login clears nothing: whoever knows the viewer's password could otherwise reset
 * their address's count between guesses.
 *
 * <p>Failures arrive as Spring Security's authentication events, for HTTP Basic and the login form
 * alike; each is logged at WARN with the user name (made printable and cut to 64 characters) and
 * the address, and counted in {@code quarry.login.failures} (tag {@code account}: admin, viewer or
 * unknown). Refused logins are counted in {@code quarry.login.throttled} (tag {@code scope}:
 * address or account). The counts live in this instance's memory: at most {@code
 * max-tracked-addresses} addresses, the least recently seen forgotten first; IPv6 addresses count
 * per /64, which one client usually has whole.
 */
@Component
public class LoginThrottle {

  private static final Logger log = LoggerFactory.getLogger(LoginThrottle.class);

  static final String FAILURES = "quarry.login.failures";
  static final String THROTTLED = "quarry.login.throttled";
  static final String UNKNOWN_ACCOUNT = "unknown";

  private static final int PRINTABLE_LENGTH = 64;
  private static final Pattern NOT_PRINTABLE = Pattern.compile("[\\p{C}\\p{Zl}\\p{Zp}]");
  private static final Pattern IPV6_LITERAL = Pattern.compile("[0-9A-Fa-f:.]{2,45}");

  private final LoginThrottleProperties settings;
  private final Clock clock;

  /** Lower-case login name of each account to the name its metrics carry (admin, viewer). */
  private final Map<String, String> accounts;

  private final Map<String, Failures> accountFailures = new HashMap<>();
  private final Map<String, Failures> addressFailures;

  /** "account address" to the last successful login from that address. */
  private final Map<String, Instant> knownAddresses;

  private final Map<String, Counter> failures = new HashMap<>();
  private final Counter throttledByAddress;
  private final Counter throttledByAccount;

  @Autowired
  public LoginThrottle(QuarryProperties properties, Clock clock, MeterRegistry registry) {
    this(properties.security().loginThrottle(), accounts(properties.security()), clock, registry);
  }

  /**
   * @param accounts login name of each account to the name its metrics carry
   */
  LoginThrottle(
      LoginThrottleProperties settings,
      Map<String, String> accounts,
      Clock clock,
      MeterRegistry registry) {
    this.settings = settings;
    this.clock = clock;
    this.accounts = new HashMap<>();
    accounts.forEach((name, tag) -> this.accounts.putIfAbsent(name.toLowerCase(Locale.ROOT), tag));
    this.addressFailures = bounded(settings.maxTrackedAddresses());
    this.knownAddresses = bounded(settings.maxTrackedAddresses());
    // Registered up front, at 0, so an alert's increase() sees the very first failure.
    for (String tag : this.accounts.values()) {
      failures.put(tag, failureCounter(registry, tag));
      accountFailures.put(tag, new Failures());
    }
    failures.put(UNKNOWN_ACCOUNT, failureCounter(registry, UNKNOWN_ACCOUNT));
    throttledByAddress = throttledCounter(registry, "address");
    throttledByAccount = throttledCounter(registry, "account");
  }

  /**
   * Asks before a password is checked whether this login may be tried now.
   *
   * @return empty to go ahead, or how long the client must wait (the login is then refused)
   */
  public Optional<Duration> check(String username, String remoteAddress) {
    Instant now = clock.instant();
    String address = addressKey(remoteAddress);
    String account = accounts.get(lower(username));
    Duration byAddress;
    Duration byAccount = Duration.ZERO;
    synchronized (this) {
      byAddress = left(addressFailures.get(address), now);
      if (account != null && !known(account, address, now)) {
        byAccount = left(accountFailures.get(account), now);
      }
    }
    if (byAddress.isZero() && byAccount.isZero()) {
      return Optional.empty();
    }
    Duration wait = byAddress.compareTo(byAccount) >= 0 ? byAddress : byAccount;
    (byAddress.isZero() ? throttledByAccount : throttledByAddress).increment();
    log.debug(
        "Refused login as {} from {} during a cool-down ({}s left)",
        who(username, account),
        printable(remoteAddress),
        seconds(wait));
    return Optional.of(wait);
  }

  /** Counts a wrong password (or unknown user name) and logs it, never the password. */
  public void failed(String username, String remoteAddress) {
    Instant now = clock.instant();
    String address = addressKey(remoteAddress);
    String account = accounts.get(lower(username));
    Duration addressCoolDown;
    int addressCount;
    Duration accountCoolDown = null;
    int accountCount = 0;
    synchronized (this) {
      Failures atAddress = addressFailures.computeIfAbsent(address, a -> new Failures());
      addressCoolDown = atAddress.fail(now, settings.address(), settings.window());
      addressCount = atAddress.count;
      if (account != null) {
        Failures ofAccount = accountFailures.get(account);
        accountCoolDown = ofAccount.fail(now, settings.account(), settings.window());
        accountCount = ofAccount.count;
      }
    }
    failures.get(account == null ? UNKNOWN_ACCOUNT : account).increment();
    String client = printable(remoteAddress);
    log.warn("Failed login as {} from {}", who(username, account), client);
    if (addressCoolDown != null) {
      log.warn(
          "Logins from {} refused for {}s after {} failed logins",
          client,
          seconds(addressCoolDown),
          addressCount);
    }
    if (accountCoolDown != null) {
      log.warn(
          "Logins as {} refused for {}s after {} failed logins, except from addresses it logged in"
              + " from",
          who(username, account),
          seconds(accountCoolDown),
          accountCount);
    }
  }

  /** Remembers that the account logged in from this address. */
  public void succeeded(String username, String remoteAddress) {
    String account = accounts.get(lower(username));
    if (account == null) {
      return;
    }
    String address = addressKey(remoteAddress);
    synchronized (this) {
      knownAddresses.put(account + " " + address, clock.instant());
    }
  }

  @EventListener
  void onBadCredentials(AuthenticationFailureBadCredentialsEvent event) {
    failed(event.getAuthentication().getName(), remoteAddress(event.getAuthentication()));
  }

  @EventListener
  void onSuccess(AuthenticationSuccessEvent event) {
    succeeded(event.getAuthentication().getName(), remoteAddress(event.getAuthentication()));
  }

  private boolean known(String account, String address, Instant now) {
    Instant lastLogin = knownAddresses.get(account + " " + address);
    return lastLogin != null && now.isBefore(lastLogin.plus(settings.knownAddressFor()));
  }

  private Duration left(Failures failures, Instant now) {
    return failures == null || !now.isBefore(failures.until)
        ? Duration.ZERO
        : Duration.between(now, failures.until);
  }

  /** Failures of one address or account. Guarded by the throttle's lock. */
  private static final class Failures {

    private int count;
    private Instant last = Instant.MIN;
    private Instant until = Instant.MIN;

    /** Counts a failure; returns the cool-down it starts, or null. */
    Duration fail(Instant now, Limit limit, Duration window) {
      Instant quietSince = last.isAfter(until) ? last : until;
      if (count > 0 && now.isAfter(quietSince.plus(window))) {
        count = 0;
      }
      count++;
      last = now;
      if (count < limit.maxFailures()) {
        return null;
      }
      Duration coolDown = coolDown(limit, count - limit.maxFailures());
      Instant end = now.plus(coolDown);
      if (end.isAfter(until)) {
        until = end;
      }
      return coolDown;
    }
  }

  /** Whole seconds to wait, rounded up, at least 1: the value of a {@code Retry-After} header. */
  static long seconds(Duration wait) {
    return Math.max(1, (wait.toMillis() + 999) / 1000);
  }

  /** The first cool-down, doubled for each failure beyond it, at most the longest. */
  static Duration coolDown(Limit limit, int failuresBeyond) {
    Duration coolDown = limit.coolDown();
    for (int i = 0; i < failuresBeyond && coolDown.compareTo(limit.maxCoolDown()) < 0; i++) {
      coolDown = coolDown.multipliedBy(2);
    }
    return coolDown.compareTo(limit.maxCoolDown()) < 0 ? coolDown : limit.maxCoolDown();
  }

  /**
   * The key an address counts under: itself, or for IPv6 its /64 network. Only a literal is parsed,
   * so no name is ever looked up.
   */
  static String addressKey(String remoteAddress) {
    if (remoteAddress == null || remoteAddress.isEmpty()) {
      return "unknown";
    }
    if (remoteAddress.indexOf(':') >= 0 && IPV6_LITERAL.matcher(remoteAddress).matches()) {
      try {
        InetAddress address = InetAddress.getByName(remoteAddress);
        if (address instanceof Inet6Address) {
          byte[] bytes = address.getAddress();
          Arrays.fill(bytes, 8, 16, (byte) 0);
          return InetAddress.getByAddress(bytes).getHostAddress() + "/64";
        }
        return address.getHostAddress();
      } catch (UnknownHostException e) {
        return printable(remoteAddress);
      }
    }
    return printable(remoteAddress);
  }

  /**
   * Text from a request made safe for one log line: control, format and separator characters become
   * {@code ?}, and it is cut to 64 characters.
   */
  static String printable(String text) {
    if (text == null) {
      return "";
    }
    String cut = text;
    if (text.length() > PRINTABLE_LENGTH) {
      int end = PRINTABLE_LENGTH;
      if (Character.isHighSurrogate(text.charAt(end - 1))) {
        end--;
      }
      cut = text.substring(0, end) + "...";
    }
    return NOT_PRINTABLE.matcher(cut).replaceAll("?");
  }

  private static String who(String username, String account) {
    String name = "\"" + printable(username) + "\"";
    return account == null ? "unknown user " + name : name;
  }

  private static String lower(String username) {
    return username == null ? "" : username.toLowerCase(Locale.ROOT);
  }

  private static String remoteAddress(Authentication authentication) {
    return authentication.getDetails() instanceof WebAuthenticationDetails details
        ? details.getRemoteAddress()
        : null;
  }

  private static Map<String, String> accounts(QuarryProperties.Security security) {
    Map<String, String> accounts = new LinkedHashMap<>();
    accounts.put(security.admin().username(), "admin");
    accounts.put(security.viewer().username(), "viewer");
    return accounts;
  }

  private static <V> Map<String, V> bounded(int size) {
    return new LinkedHashMap<>(16, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, V> eldest) {
        return size() > size;
      }
    };
  }

  private static Counter failureCounter(MeterRegistry registry, String account) {
    return Counter.builder(FAILURES)
        .description("Failed logins (wrong password or unknown user), by account")
        .tag("account", account)
        .register(registry);
  }

  private static Counter throttledCounter(MeterRegistry registry, String scope) {
    return Counter.builder(THROTTLED)
        .description("Logins refused during a cool-down, by the limit that refused them")
        .tag("scope", scope)
        .register(registry);
  }
}
