package io.quarry.mining;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarry.bus.BusNames;
import io.quarry.bus.HeaderValues;
import io.quarry.bus.amqp.BatchPublisher;
import io.quarry.bus.amqp.Routed;
import io.quarry.config.MiningProperties;
import io.quarry.config.QuarryProperties;
import io.quarry.config.StreamProperties;
import io.quarry.message.DataBatch;
import io.quarry.message.MiningMessage;
import io.quarry.message.MiningMessageCodec;
import io.quarry.mining.MiningStateRepository.StopReason;
import io.quarry.monitoring.LogContext;
import io.quarry.platform.Page;
import io.quarry.platform.PlatformClient;
import io.quarry.platform.RateLimitedException;
import io.quarry.platform.UnauthorizedException;
import io.quarry.security.TokenCipher;
import io.quarry.storage.DataTopicPublisher;
import io.quarry.storage.RawItemRepository;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.amqp.core.Message;
import org.springframework.stereotype.Component;

/**
 * The steps of a miner route: take up a mining message, fetch its pages one by one (the route
 * loops), then publish them as one data batch and queue the continuation or end the chain with its
 * reason.
 */
@Component
public class Miner {

  /** Exchange property holding the {@link MiningChain} of the message being mined. */
  public static final String CHAIN = "quarryMiningChain";

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

  private static final Logger log = LoggerFactory.getLogger(Miner.class);
  private static final String REDELIVERY_HEADERS = "CamelRedeliver*";
  private static final long CONFIRM_TIMEOUT_MILLIS = 10_000;

  private final MiningStateRepository states;
  private final TokenCipher cipher;
  private final RawItemRepository rawItems;
  private final PlatformClient platform;
  private final BatchPublisher publisher;
  private final MiningMessageCodec codec;
  private final DataTopicPublisher dataTopic;
  private final BusNames names;
  private final QuarryProperties properties;
  private final MiningProperties mining;
  private final MeterRegistry metrics;
  private final Map<String, RateLimiter> limiters = new ConcurrentHashMap<>();
  // Looked up once per stream, not per page (a registry look-up builds and sorts the meter's id).
  private final Map<String, Counter> pageCounters = new ConcurrentHashMap<>();
  private final Map<String, Counter> itemCounters = new ConcurrentHashMap<>();

  public Miner(
      MiningStateRepository states,
      TokenCipher cipher,
      RawItemRepository rawItems,
      PlatformClient platform,
      BatchPublisher publisher,
      MiningMessageCodec codec,
      DataTopicPublisher dataTopic,
      BusNames names,
      QuarryProperties properties,
      MeterRegistry metrics) {
    this.states = states;
    this.cipher = cipher;
    this.rawItems = rawItems;
    this.platform = platform;
    this.publisher = publisher;
    this.codec = codec;
    this.dataTopic = dataTopic;
    this.names = names;
    this.properties = properties;
    this.mining = properties.mining();
    this.metrics = metrics;
  }

  /**
   * Takes up a message: drops it when it belongs to no chain of its run (an older run, or a
   * duplicate of a message whose pages were already mined), else prepares its chain. A chain that
   * failed (its message was dead-lettered) resumes when that message comes back, unless a later run
   * took the chain over meanwhile: that run resumed from the chain's saved marker, and the message
   * is dropped, logged and counted.
   */
  public void begin(MiningMessage message, Exchange exchange) {
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
      publishDelayed(codec.write(message), notBefore, names.miningQueue(message.stream()));
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
            state.chainStartedAt());
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

  /** The loop condition: another page for this message? */
  public boolean wantsAnotherPage(Exchange exchange) {
    MiningChain chain = exchange.getProperty(CHAIN, MiningChain.class);
    return chain != null
        && chain.moreToFetch()
        && chain.pagesThisMessage() < stream(chain).pagesPerMessage();
  }

  /**
   * Fetches the next page and keeps its items for the message's batch ({@link #end}). A 429 turns
   * the rest into a delayed continuation; 401/403 stops the chain and flags the user; transient and
   * malformed-response failures propagate to the route's error handling.
   */
  public void fetchPage(Exchange exchange) {
    MiningChain chain = exchange.getProperty(CHAIN, MiningChain.class);
    MiningMessage message = chain.message();
    StreamProperties stream = stream(chain);
    limiters
        .computeIfAbsent(message.stream(), s -> new RateLimiter(stream.requestsPerSecond()))
        .acquire();
    Page page;
    try {
      page =
          platform.fetch(
              stream.apiPath(), chain.externalId(), chain.token(), message.limit(), chain.marker());
    } catch (RateLimitedException e) {
      log.info(
          "Platform rate-limits user {} ({}): continuing in {}",
          message.userId(),
          message.stream(),
          e.retryAfter());
      metrics.counter("quarry.mining.rate.limited", "stream", message.stream()).increment();
      chain.delayBy(e.retryAfter());
      return;
    } catch (UnauthorizedException e) {
      log.warn(
          "Platform refused the token of user {} ({}, HTTP {}): chain stopped, user needs re-authorisation",
          message.userId(),
          message.stream(),
          e.status());
      states.flagReauthorization(message.userId());
      metrics
          .counter("quarry.mining.reauthorization.needed", "stream", message.stream())
          .increment();
      chain.stop(StopReason.UNAUTHORIZED, "HTTP " + e.status());
      return;
    }
    // The in-route redeliveries are a budget per page: Camel counts them on the exchange, which
    // lives for the whole message, so a page that needed retries must not spend the next page's.
    exchange.getIn().removeHeaders(REDELIVERY_HEADERS);
    List<JsonNode> items = page.items();
    if (!items.isEmpty()
        && chain.checkOldData()
        && rawItems.allStoredBefore(
            message.userId(), message.stream(), chain.chainStartedAt(), ids(items))) {
      chain.stop(StopReason.NO_NEW_DATA, null);
      return;
    }
    chain.keepPage(items);
    pageCounters
        .computeIfAbsent(message.stream(), s -> metrics.counter("quarry.mining.pages", "stream", s))
        .increment();
    itemCounters
        .computeIfAbsent(message.stream(), s -> metrics.counter("quarry.mining.items", "stream", s))
        .increment(items.size());
    chain.pageFetched(items.size(), page.nextMarker(), page.hasMore(), mining.maxPagesPerRun());
  }

  /**
   * After the loop: publish the pages fetched as one batch (none when no page had items), then
   * queue the continuation (now or delayed) or end the chain. The batch goes first: a crash between
   * the two redelivers the message, whose pages come again under the same page ids.
   */
  public void end(Exchange exchange) {
    MiningChain chain = exchange.getProperty(CHAIN, MiningChain.class);
    if (chain == null) {
      return;
    }
    if (!chain.fetchedPages().isEmpty()) {
      MiningMessage message = chain.message();
      publishBatch(
          DataBatch.of(
              message.stream(),
              message.userId(),
              message.runId(),
              chain.fetchedPages(),
              chain.checkOldData()),
          stream(chain));
    }
    MiningMessage next = chain.continuation();
    if (chain.stopped()) {
      states.finish(next, chain.stopReason(), chain.stopDetail());
      metrics
          .counter(
              "quarry.mining.chains.stopped",
              "stream",
              next.stream(),
              "reason",
              chain.stopReason().code())
          .increment();
      pagesPerChain(next.stream()).record(next.pagesMined());
      log.info(
          "Chain of user {} ({}) ended: {} after {} pages, {} items",
          next.userId(),
          next.stream(),
          chain.stopReason().code(),
          next.pagesMined(),
          next.itemsMined());
      return;
    }
    String queue = names.miningQueue(next.stream());
    if (chain.delay() != null) {
      Duration wait = chain.delay().compareTo(LONGEST_WAIT) > 0 ? LONGEST_WAIT : chain.delay();
      publishDelayed(codec.write(next), Instant.now().plus(wait), queue);
    } else {
      publisher.publishAll(
          List.of(new Routed("", queue, codec.write(next))), CONFIRM_TIMEOUT_MILLIS);
    }
    states.progress(next, chain.fetchedMarkers());
  }

  /**
   * Sends a mining message to wait until {@code notBefore} in the shortest delay queue that is long
   * enough; a wait longer than the longest queue goes to that queue with {@link #NOT_BEFORE}, and
   * {@link #begin} sends it round again until that time.
   */
  private void publishDelayed(Message message, Instant notBefore, String queue) {
    Duration wait = Duration.between(Instant.now(), notBefore);
    long tier = DelayTiers.atLeast(wait);
    if (Duration.ofSeconds(tier).compareTo(wait) < 0) {
      message.getMessageProperties().setHeader(NOT_BEFORE, notBefore.toEpochMilli());
    }
    publisher.publishAll(
        List.of(new Routed(names.delayQueue(tier), queue, message)), CONFIRM_TIMEOUT_MILLIS);
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

  private void publishBatch(DataBatch batch, StreamProperties stream) {
    if (stream.parser()) {
      dataTopic.toParser(batch);
    } else {
      dataTopic.toTopic(batch);
    }
  }

  /**
   * How the work spreads over users: a histogram of the pages each finished chain mined, per stream
   * (the per-user view without a label per user).
   */
  private DistributionSummary pagesPerChain(String stream) {
    return DistributionSummary.builder("quarry.mining.chain.pages")
        .description("Pages mined by a user's chain in one run")
        .tag("stream", stream)
        .serviceLevelObjectives(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
        .register(metrics);
  }

  private List<String> ids(List<JsonNode> items) {
    String field = properties.platform().itemIdField();
    return items.stream().map(item -> item.path(field).asText()).toList();
  }

  private StreamProperties stream(MiningChain chain) {
    return properties.streams().get(chain.message().stream());
  }
}
