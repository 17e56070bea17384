package io.quarry.mining;

import io.micrometer.core.instrument.MeterRegistry;
import io.quarry.bus.HeaderValues;
import io.quarry.config.MiningProperties;
import io.quarry.config.QuarryProperties;
import io.quarry.message.MiningMessage;
import io.quarry.mining.MiningStateRepository.StopReason;
import io.quarry.monitoring.LogContext;
import io.quarry.security.TokenCipher;
import java.time.Duration;
import java.time.Instant;
import java.util.OptionalLong;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * The first step of a miner route: loads the chain of the mining message (its state, token and
 * markers seen) into the {@link #CHAIN} exchange property, or says why the message is not mined
 * now: dropped (no chain property), or still waiting for the platform's {@code Retry-After} ({@link
 * #WAITS_UNTIL}).
 */
@Component
public class ChainLoader {

  /** Exchange property holding the {@link MiningChain} of the message being mined. */
  public static final String CHAIN = "quarryMiningChain";

  /** Exchange property: the time before which the message may not be mined (an {@link Instant}). */
  public static final String WAITS_UNTIL = "quarryWaitsUntil";

  /**
   * Header of a continuation that must wait longer than the longest delay queue (a long {@code
   * Retry-After}): the time, in epoch milliseconds, before which it is not mined; until then it
   * goes back to wait again.
   */
  public static final String NOT_BEFORE = "x-quarry-not-before";

  /**
   * The longest wait a {@code Retry-After} gets; a later not-before is not Quarry's and ignored.
   */
  static final Duration LONGEST_WAIT = Duration.ofDays(1);

  private static final Logger log = LoggerFactory.getLogger(ChainLoader.class);

  private final MiningStateRepository states;
  private final TokenCipher cipher;
  private final QuarryProperties properties;
  private final MiningProperties mining;
  private final MeterRegistry metrics;

  public ChainLoader(
      MiningStateRepository states,
      TokenCipher cipher,
      QuarryProperties properties,
      MeterRegistry metrics) {
    this.states = states;
    this.cipher = cipher;
    this.properties = properties;
    this.mining = properties.mining();
    this.metrics = metrics;
  }

  /**
   * Takes up a message: drops it (no {@link #CHAIN} is set) when it belongs to no chain of its run
   * (an older run, or a duplicate of a message whose pages were already mined), else prepares its
   * chain. A chain that failed (its message was dead-lettered) resumes when that message comes
   * back, unless a later run took the chain over meanwhile: that run resumed from the chain's saved
   * marker, and the message is dropped, logged and counted.
   */
  public void load(MiningMessage message, Exchange exchange) {
    LogContext.put(exchange, message.userId(), message.stream(), message.runId());
    var state = states.chainState(message.userId(), message.stream()).orElse(null);
    if (state == null
        || !("in_progress".equals(state.status()) || "failed".equals(state.status()))
        || !message.runId().equals(state.runId())
        || state.pagesMined() > message.pagesMined()) {
      if (state != null && !message.runId().equals(state.runId())) {
        dropStale(message, "run " + state.runId() + " took the chain over", true);
      } else {
        dropStale(message, state == null ? "no chain" : "its pages were mined already", false);
      }
      return;
    }
    Instant notBefore = waitsUntil(exchange.getMessage().getHeader(NOT_BEFORE));
    if (notBefore != null) {
      exchange.setProperty(WAITS_UNTIL, notBefore);
      log.debug(
          "Mining message of user {} ({}) waits until {} for the platform's Retry-After",
          message.userId(),
          message.stream(),
          notBefore);
      return;
    }
    // A retried dead letter, the first message of a run, or one whose chain has shown no progress
    // for half of stale-chain-after takes the chain up, unless another run took it over meanwhile.
    if (("failed".equals(state.status())
            || message.pagesMined() == 0
            || state
                .updatedAt()
                .isBefore(Instant.now().minus(mining.staleChainAfter().dividedBy(2))))
        && !states.take(message.userId(), message.stream(), message.runId())) {
      dropStale(message, "another run took the chain over, or released it, meanwhile", true);
      return;
    }
    // The token comes with the chain's state (one query, not two); decrypted only here.
    String token = null;
    boolean undecryptable = false;
    if (state.accessToken() != null) {
      try {
        token = cipher.decrypt(state.accessToken());
      } catch (TokenCipher.TokenDecryptionException e) {
        undecryptable = true;
      }
    }
    // When no earlier run mined items, no page can consist of old data: the per-page look-up is
    // skipped for the whole run.
    boolean checkOldData = state.earlierItems();
    MiningChain chain =
        new MiningChain(
            message,
            state.externalId(),
            token,
            state.seenMarkers(),
            checkOldData,
            state.chainStartedAt(),
            properties.streams().get(message.stream()).pagesPerMessage());
    if (undecryptable) {
      flagUndecryptable(message);
      chain.stop(StopReason.TOKEN_UNDECRYPTABLE, "no configured token key decrypts the token");
    } else if (token == null) {
      chain.stop(StopReason.NO_TOKEN, "user has no access token");
    }
    exchange.setProperty(CHAIN, chain);
  }

  /**
   * A token that no key of the ring decrypts (its key was dropped from the configuration, or the
   * value was altered) cannot be mended by a retry: the user is flagged for re-authorisation, which
   * stores a new token under the current key. Reported once per user, whichever stream's chain
   * finds it first; the token is never logged.
   */
  private void flagUndecryptable(MiningMessage message) {
    if (states.flagReauthorization(message.userId())) {
      log.warn(
          "The stored access token of user {} cannot be decrypted with quarry.security.token-key or"
              + " any of quarry.security.previous-token-keys: its chains stop and the user needs"
              + " re-authorisation (was a key dropped before POST"
              + " /api/admin/token-keys/re-encrypt?)",
          message.userId());
      metrics
          .counter("quarry.mining.reauthorization.needed", "stream", message.stream())
          .increment();
    }
  }

  /**
   * Drops a message that belongs to no chain of its run: at INFO when another run took its chain
   * over (the chain goes on there), at DEBUG for a duplicate of pages mined already.
   */
  private void dropStale(MiningMessage message, String why, boolean takenOver) {
    metrics.counter("quarry.mining.messages.stale", "stream", message.stream()).increment();
    if (takenOver) {
      log.info(
          "Dropping a mining message of user {} ({}) of run {}: {}",
          message.userId(),
          message.stream(),
          message.runId(),
          why);
    } else {
      log.debug(
          "Dropping stale mining message of user {} ({}), run {}: {}",
          message.userId(),
          message.stream(),
          message.runId(),
          why);
    }
  }

  /**
   * Until when a message with this {@link #NOT_BEFORE} header must still wait: null when it has no
   * such header, its time has come (within a second: the delay queues expire a little late, never
   * early), or the header is no time Quarry would have written (unreadable, or further ahead than
   * {@link #LONGEST_WAIT}), so that such a message is mined, never kept waiting in a loop.
   */
  static Instant waitsUntil(Object notBefore) {
    OptionalLong header = HeaderValues.wholeNumber(notBefore);
    if (header.isEmpty()) {
      return null;
    }
    long at = header.getAsLong();
    long left = at - System.currentTimeMillis();
    if (left <= 1_000 || left > LONGEST_WAIT.plusMinutes(1).toMillis()) {
      return null;
    }
    return Instant.ofEpochMilli(at);
  }
}
