package io.quarry.config;

import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.time.Duration;
import org.hibernate.validator.constraints.time.DurationMax;
import org.hibernate.validator.constraints.time.DurationMin;

/**
 * How failed logins slow down further attempts: per client address and per account, each with its
 * own limit (see {@code io.quarry.security.LoginThrottle}).
 *
 * @param address failures counted per client address, whatever account they tried
 * @param account failures counted per account, from any address; an address that logged in to the
 *     account within {@code knownAddressFor} is not held by this limit, only by its own
 * @param window failures are forgotten once an address or account has had none for this long after
 *     its last cool-down ended
 * @param knownAddressFor how long a successful login keeps the address exempt from the account's
 *     cool-down (0: never exempt)
 * @param maxTrackedAddresses most client addresses remembered; the least recently seen is forgotten
 *     first, so a flood of addresses cannot grow the heap
 */
public record LoginThrottleProperties(
    @NotNull @Valid Limit address,
    @NotNull @Valid Limit account,
    @NotNull @DurationMin(seconds = 1) Duration window,
    @NotNull @DurationMin(seconds = 0) Duration knownAddressFor,
    @Min(1) @Max(1_000_000) int maxTrackedAddresses) {

  /**
   * When a run of failures starts a cool-down, and how long it lasts.
   *
   * @param maxFailures failures after which logins are refused for a cool-down
   * @param coolDown the first cool-down; each failure after it doubles the next one
   * @param maxCoolDown the longest cool-down
   */
  public record Limit(
      @Min(1) @Max(1000) int maxFailures,
      @NotNull @DurationMin(seconds = 1) @DurationMax(hours = 24) Duration coolDown,
      @NotNull @DurationMin(seconds = 1) @DurationMax(hours = 24) Duration maxCoolDown) {}
}
