package io.quarry.mining;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarry.bus.BatchPublisher;
import io.quarry.bus.BusNames;
import io.quarry.bus.ConfirmedPublisher;
import io.quarry.config.MiningProperties;
import io.quarry.config.QuarryProperties;
import io.quarry.config.StreamProperties;
import io.quarry.mining.MiningStateRepository.StopReason;
import io.quarry.monitoring.LogContext;
import io.quarry.platform.Page;
import io.quarry.platform.PlatformClient;
import io.quarry.platform.RateLimitedException;
import io.quarry.platform.UnauthorizedException;
import io.quarry.security.TokenCipher;
import io.quarry.storage.DataTopicPublisher;
import io.quarry.storage.RawItemRepository;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
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

  private static final Logger log = LoggerFactory.getLogger(Miner.class);
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
   * failed (its message was dead-lettered) resumes when that message comes back.
   */
  public void begin(MiningMessage message, Exchange exchange) {
    LogContext.put(exchange, message.userId(), message.stream(), message.runId());
    var state = states.chainState(message.userId(), message.stream()).orElse(null);
    if (state == null
        || !("in_progress".equals(state.status()) || "failed".equals(state.status()))
        || !message.runId().equals(state.runId())
        || state.pagesMined() > message.pagesMined()) {
      log.debug(
          "Dropping stale mining message of user {} ({}), run {}",
          message.userId(),
          message.stream(),
          message.runId());
      metrics.counter("quarry.mining.messages.stale", "stream", message.stream()).increment();
      return;
    }
    if ("failed".equals(state.status())) {
      states.resume(message.userId(), message.stream(), message.runId()); // a retried dead letter
    }
    // The token comes with the chain's state (one query, not two); decrypted only here.
    String token = state.accessToken() == null ? null : cipher.decrypt(state.accessToken());
    // When no earlier run mined items, no page can consist of old data: the per-page look-up is
    // skipped for the whole run.
    boolean checkOldData = state.earlierItems();
    MiningChain chain =
        new MiningChain(message, state.externalId(), token, state.seenMarkers(), checkOldData);
    if (token == null) {
      chain.stop(StopReason.NO_TOKEN, "user has no access token");
    }
    exchange.setProperty(CHAIN, chain);
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
    List<JsonNode> items = page.items();
    if (!items.isEmpty()
        && chain.checkOldData()
        && rawItems.allStoredBefore(
            message.userId(), message.stream(), message.runId(), ids(items))) {
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
      String delayExchange = names.delayQueue(DelayTiers.atLeast(chain.delay()));
      publisher.publishAll(
          List.of(new ConfirmedPublisher.Outgoing(delayExchange, queue, codec.write(next))),
          CONFIRM_TIMEOUT_MILLIS);
    } else {
      publisher.publishAll(
          List.of(new ConfirmedPublisher.Outgoing("", queue, codec.write(next))),
          CONFIRM_TIMEOUT_MILLIS);
    }
    states.progress(next, chain.fetchedMarkers());
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
