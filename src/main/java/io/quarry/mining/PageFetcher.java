package io.quarry.mining;

import com.fasterxml.jackson.core.JsonPointer;
import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarry.config.MiningProperties;
import io.quarry.config.QuarryProperties;
import io.quarry.config.StreamProperties;
import io.quarry.message.MiningMessage;
import io.quarry.mining.MiningStateRepository.StopReason;
import io.quarry.platform.Page;
import io.quarry.platform.PlatformClient;
import io.quarry.platform.RateLimitedException;
import io.quarry.platform.StreamApi;
import io.quarry.platform.UnauthorizedException;
import io.quarry.storage.RawItemRepository;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * The step a miner route loops over: fetches the next page of the chain in {@link
 * ChainLoader#CHAIN} and records it there, or records why the chain waits or stops.
 */
@Component
public class PageFetcher {

  private static final Logger log = LoggerFactory.getLogger(PageFetcher.class);

  /**
   * The headers in which Camel counts a page's redeliveries, removed by name: a pattern would be
   * matched, as a wildcard and then as a regular expression, against every header on every page.
   */
  private static final List<String> REDELIVERY_HEADERS =
      List.of(
          Exchange.REDELIVERED,
          Exchange.REDELIVERY_COUNTER,
          Exchange.REDELIVERY_MAX_COUNTER,
          Exchange.REDELIVERY_DELAY);

  private final MiningStateRepository states;
  private final RawItemRepository rawItems;
  private final PlatformClient platform;
  private final QuarryProperties properties;
  private final MiningProperties mining;
  private final MeterRegistry metrics;
  // Looked up once per stream, not per page (a registry look-up builds and sorts the meter's id).
  private final Map<String, Counter> pageCounters = new ConcurrentHashMap<>();
  private final Map<String, Counter> itemCounters = new ConcurrentHashMap<>();
  private final Map<String, StreamApi> apis = new ConcurrentHashMap<>();
  private final Map<String, JsonPointer> idPointers = new ConcurrentHashMap<>();

  public PageFetcher(
      MiningStateRepository states,
      RawItemRepository rawItems,
      PlatformClient platform,
      QuarryProperties properties,
      MeterRegistry metrics) {
    this.states = states;
    this.rawItems = rawItems;
    this.platform = platform;
    this.properties = properties;
    this.mining = properties.mining();
    this.metrics = metrics;
  }

  /**
   * Fetches the next page and keeps its items for the message's batch. A 429 turns the rest into a
   * delayed continuation; 401/403 stops the chain and flags the user; transient and
   * malformed-response failures propagate to the route's error handling.
   */
  public void fetch(Exchange exchange) {
    MiningChain chain = exchange.getProperty(ChainLoader.CHAIN, MiningChain.class);
    MiningMessage message = chain.message();
    StreamProperties stream = properties.streams().get(message.stream());
    Page page;
    try {
      // a stream without API settings of its own gets the platform-wide contract as its settings
      page =
          platform.fetch(
              api(message.stream(), stream),
              chain.externalId(),
              chain.token(),
              message.limit(),
              chain.marker());
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
    for (String header : REDELIVERY_HEADERS) {
      exchange.getIn().removeHeader(header);
    }
    List<JsonNode> items = page.items();
    if (!items.isEmpty()
        && chain.checkOldData()
        && rawItems.allStoredBefore(
            message.userId(),
            message.stream(),
            chain.chainStartedAt(),
            ids(message.stream(), stream, items))) {
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
    boolean counted = api(message.stream(), stream).pagination().style().countsPosition();
    chain.pageFetched(
        items.size(),
        page.nextMarker(),
        page.hasMore(),
        mining.maxPagesPerRun(),
        counted,
        counted && !items.isEmpty() ? lastId(message.stream(), stream, items) : null);
    if (page.waitBeforeNext() != null) { // the API's rate-limit budget is spent
      chain.delayBy(page.waitBeforeNext());
    }
  }

  private String lastId(String name, StreamProperties stream, List<JsonNode> items) {
    return items.get(items.size() - 1).at(idPointer(name, stream)).asText();
  }

  /**
   * The ids raw_item keeps: the item's id at the stream's {@code items.id-path} (else {@code
   * quarry.platform.item-id-field}), as storage reads it.
   */
  private List<String> ids(String name, StreamProperties stream, List<JsonNode> items) {
    JsonPointer id = idPointer(name, stream);
    return items.stream().map(item -> item.at(id).asText()).toList();
  }

  private JsonPointer idPointer(String name, StreamProperties stream) {
    return idPointers.computeIfAbsent(
        name, s -> JsonPointer.compile(api(name, stream).itemIdPath()));
  }

  /** The stream's API settings, built once (start-up validation has checked them). */
  private StreamApi api(String name, StreamProperties stream) {
    return apis.computeIfAbsent(name, s -> stream.api(properties.platform()));
  }
}
