package io.quarry.routes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyInt;
import static org.mockito.ArgumentMatchers.anyLong;
import static org.mockito.ArgumentMatchers.anyString;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.ArgumentMatchers.isNull;
import static org.mockito.Mockito.doAnswer;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.times;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quarry.bus.BusNames;
import io.quarry.bus.Endpoints;
import io.quarry.bus.amqp.BatchPublisher;
import io.quarry.bus.amqp.QuarryAmqpComponent;
import io.quarry.config.QuarryProperties;
import io.quarry.deadletter.DeadLetterHeaders;
import io.quarry.flow.FlowEndpoints;
import io.quarry.message.DataBatch;
import io.quarry.message.MiningMessage;
import io.quarry.message.MiningMessageCodec;
import io.quarry.mining.ChainLoader;
import io.quarry.mining.ChainOutcome;
import io.quarry.mining.DelayTiers;
import io.quarry.mining.MiningStateRepository;
import io.quarry.mining.MiningStateRepository.ChainState;
import io.quarry.mining.MiningStateRepository.StopReason;
import io.quarry.mining.PageFetcher;
import io.quarry.platform.Page;
import io.quarry.platform.PlatformClient;
import io.quarry.platform.RateLimitedException;
import io.quarry.platform.StreamApi;
import io.quarry.platform.TransientPlatformException;
import io.quarry.platform.UnauthorizedException;
import io.quarry.platform.UnexpectedStatusException;
import io.quarry.routes.deadletter.BusErrorHandling;
import io.quarry.routes.mining.MinerRoutes;
import io.quarry.security.TokenCipher;
import io.quarry.storage.DataBatchCodec;
import io.quarry.storage.RawItemRepository;
import io.quarry.support.TestProperties;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.builder.AdviceWith;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.mock.MockEndpoint;
import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.mockito.InOrder;
import org.mockito.Mockito;
import org.springframework.amqp.core.Message;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

/**
 * A miner route of a stream with its real steps ({@link ChainLoader}, {@link PageFetcher}, {@link
 * ChainOutcome}) on a mocked database and platform, and every {@code quarry-amqp} endpoint mocked:
 * what leaves the route for the data topic, the parser, the mining queue and the delay queues, in
 * which order against the chain's records, and what is dead-lettered.
 */
@ExtendWith(OutputCaptureExtension.class)
class MinerRoutesTest {

  private static final long USER = 42;
  private static final Instant CHAIN_STARTED = Instant.parse("2026-12-01T10:00:00Z");
  private static final BusNames NAMES = new BusNames("qa");
  private static final String DATA_TOPIC = "mock:quarry-amqp:exchange:" + NAMES.dataTopic("posts");
  private static final String PARSER = "mock:quarry-amqp:queue:" + NAMES.parserQueue("posts");
  private static final String MINING_QUEUE = "mock:quarry-amqp:queue:" + NAMES.miningQueue("posts");

  private final ObjectMapper json = new ObjectMapper().findAndRegisterModules();
  private final UUID run = UUID.randomUUID();
  private final MiningStateRepository states = mock(MiningStateRepository.class);
  private final TokenCipher cipher = mock(TokenCipher.class);
  private final RawItemRepository rawItems = mock(RawItemRepository.class);
  private final PlatformClient platform = mock(PlatformClient.class);
  private final List<Exchange> deadLettered = new ArrayList<>();
  private final List<String> sentTo = new ArrayList<>();
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final InOrder order = Mockito.inOrder(states);
  private CamelContext camel;
  private ProducerTemplate template;
  private MiningMessageCodec codec;

  @BeforeEach
  void chainsAreTakenUp() {
    when(states.take(anyLong(), anyString(), any())).thenReturn(true);
    when(cipher.decrypt(any())).thenReturn("token");
  }

  @AfterEach
  void stop() throws Exception {
    if (camel != null) {
      camel.close();
    }
  }

  /** Starts the route of stream {@code posts} with its broker endpoints mocked. */
  private void start(int pagesPerMessage, boolean parser) throws Exception {
    start(TestProperties.posts(pagesPerMessage, parser, 65536));
  }

  private void start(QuarryProperties properties) throws Exception {
    codec = new MiningMessageCodec(json, properties);
    camel = new DefaultCamelContext();
    var registry = camel.getRegistry();
    registry.bind("miningMessageCodec", codec);
    registry.bind("chainLoader", new ChainLoader(states, cipher, properties, meters));
    registry.bind("pageFetcher", new PageFetcher(states, rawItems, platform, properties, meters));
    registry.bind(
        "chainOutcome",
        new ChainOutcome(states, codec, new DataBatchCodec(json, properties), NAMES, meters));
    registry.bind(QuarryAmqpComponent.SCHEME, new QuarryAmqpComponent(mock(BatchPublisher.class)));
    camel.addRoutes(new BusErrorHandling(properties));
    // The dead-letter route itself is BusErrorHandlingTest's: here, what the error handler hands
    // it.
    camel.addRoutes(
        new RouteBuilder() {
          @Override
          public void configure() {
            from(FlowEndpoints.DEAD_LETTER).process(exchange -> deadLettered.add(exchange.copy()));
          }
        });
    MinerRoutes routes = new MinerRoutes(properties, NAMES, new Endpoints(NAMES));
    camel.addRoutes(routes);
    camel.addTemplatedRoutes(routes); // posts-miner comes from the consume-queue template
    AdviceWith.adviceWith(camel, "posts-miner", a -> a.replaceFromWith("direct:consume"));
    AdviceWith.adviceWith(camel, "posts-miner-pages", a -> a.mockEndpointsAndSkip("quarry-amqp:*"));
    camel.start();
    template = camel.createProducerTemplate();
    // Every publish, in order, by the endpoint it was meant for.
    for (String uri : List.of(DATA_TOPIC, PARSER, MINING_QUEUE)) {
      mockOf(uri).whenAnyExchangeReceived(e -> sentTo.add(uri));
    }
  }

  private MockEndpoint mockOf(String uri) {
    return camel.getEndpoint(uri, MockEndpoint.class);
  }

  /** One mining message through the route, as the consumer hands it over. */
  private void mine(MiningMessage message, boolean earlierItems) {
    mine(message, earlierItems, Map.of());
  }

  private void mine(MiningMessage message, boolean earlierItems, Map<String, Object> headers) {
    when(states.chainState(USER, "posts"))
        .thenReturn(Optional.of(chain(run, message.pagesMined(), new byte[] {1}, earlierItems)));
    Message amqp = codec.write(message);
    template.sendBodyAndHeaders("direct:consume", amqp.getBody(), new HashMap<>(headers));
  }

  private static ChainState chain(UUID run, long pagesMined, byte[] token, boolean earlierItems) {
    return new ChainState(
        "in_progress",
        run,
        pagesMined,
        List.of(),
        "ext",
        token,
        earlierItems,
        CHAIN_STARTED,
        Instant.now());
  }

  private MiningMessage first() {
    return MiningMessage.first("posts", USER, run, 100, 5);
  }

  /** Page n (1-based) answers marker "m<n>" (null for page 1) with 2 items and marker m<n+1>. */
  private void pages(int count) {
    for (int n = 1; n <= count; n++) {
      page(n, new Page(items("p" + n, 2), n < count ? "m" + (n + 1) : null, n < count, 100));
    }
  }

  private void page(int n, Page page) {
    when(platform.fetch(any(StreamApi.class), anyString(), anyString(), anyInt(), marker(n)))
        .thenReturn(page);
  }

  private static String marker(int n) {
    return n == 1 ? isNull() : eq("m" + n);
  }

  /** The data batches that went to {@code uri}, read back as a subscriber reads them. */
  private List<DataBatch> batches(String uri) {
    return mockOf(uri).getReceivedExchanges().stream()
        .map(e -> e.getMessage().getBody(Message.class))
        .map(m -> read(m.getBody(), DataBatch.class))
        .toList();
  }

  private DataBatch published() {
    assertThat(batches(DATA_TOPIC)).hasSize(1);
    return batches(DATA_TOPIC).get(0);
  }

  private <T> T read(byte[] body, Class<T> type) {
    try {
      return json.readValue(body, type);
    } catch (java.io.IOException e) {
      throw new AssertionError(e);
    }
  }

  /** The messages sent to wait in a delay queue: (delay exchange, AMQP message). */
  private List<Map.Entry<String, Message>> delayed() {
    List<Map.Entry<String, Message>> sent = new ArrayList<>();
    for (var endpoint : camel.getEndpoints()) {
      if (endpoint instanceof MockEndpoint mock && mock.getEndpointUri().contains(":delay-")) {
        for (Exchange e : mock.getReceivedExchanges()) {
          // the endpoint the route meant, with its routing key (the mock's URI drops the query)
          String meant = e.getProperty(Exchange.INTERCEPTED_ENDPOINT, String.class);
          sent.add(Map.entry(meant, e.getMessage().getBody(Message.class)));
        }
      }
    }
    return sent;
  }

  private Map.Entry<String, Message> theDelayed() {
    assertThat(delayed()).hasSize(1);
    return delayed().get(0);
  }

  private String delayExchange(long seconds) {
    return "quarry-amqp://exchange:" + NAMES.delayQueue(seconds);
  }

  @Test
  void publishesOneBatchOfAllPagesThenEndsTheChain() throws Exception {
    start(5, false);
    pages(3);
    mine(first(), false);

    DataBatch batch = published();
    assertThat(batch.version()).isEqualTo(DataBatch.VERSION);
    assertThat(batch.pages()).extracting(DataBatch.PageItems::page).containsExactly(1L, 2L, 3L);
    assertThat(batch.itemCount()).isEqualTo(6);
    assertThat(batch.batchId()).isEqualTo(run + ":42:posts:1-3");
    assertThat(batch.pageId(2)).isEqualTo(run + ":42:posts:2");
    // no earlier run stored items of the stream: raw storage may insert without looking up
    assertThat(batch.earlierItems()).isFalse();
    assertThat(mockOf(MINING_QUEUE).getReceivedCounter()).isZero();
    verify(states).finish(any(), eq(StopReason.END_OF_DATA), any());
    verify(states, never()).progress(any(), any());
  }

  @Test
  void publishesTheMessagesPagesBeforeItsContinuationNumberedInTheRun() throws Exception {
    start(2, false);
    pages(5);
    doAnswer(
            invocation -> {
              sentTo.add("progress");
              return null;
            })
        .when(states)
        .progress(any(), any());
    mine(first(), false);

    assertThat(published().pages()).extracting(DataBatch.PageItems::page).containsExactly(1L, 2L);
    assertThat(sentTo).containsExactly(DATA_TOPIC, MINING_QUEUE, "progress");
    MiningMessage continuation =
        codec.read(
            mockOf(MINING_QUEUE)
                .getReceivedExchanges()
                .get(0)
                .getMessage()
                .getBody(Message.class)
                .getBody(),
            null);
    assertThat(continuation.currentMarker()).isEqualTo("m3");
    assertThat(continuation.pagesMined()).isEqualTo(2);

    // the continuation (pages 3 and 4)
    mockOf(DATA_TOPIC).reset();
    mine(continuation, false);
    assertThat(published().pages()).extracting(DataBatch.PageItems::page).containsExactly(3L, 4L);
  }

  @Test
  void aRateLimitPublishesThePagesFetchedThenQueuesTheDelayedContinuation() throws Exception {
    start(5, false);
    page(1, new Page(items("p1", 2), "m2", true, 100));
    when(platform.fetch(any(StreamApi.class), anyString(), anyString(), anyInt(), eq("m2")))
        .thenThrow(new RateLimitedException(Duration.ofSeconds(2)));
    mine(first(), false);

    assertThat(published().pages()).extracting(DataBatch.PageItems::page).containsExactly(1L);
    var delayed = theDelayed();
    assertThat(delayed.getKey())
        .startsWith(delayExchange(DelayTiers.atLeast(Duration.ofSeconds(2))));
    assertThat(codec.read(delayed.getValue().getBody(), null).currentMarker()).isEqualTo("m2");
    assertThat(mockOf(MINING_QUEUE).getReceivedCounter()).isZero();
    verify(states).progress(any(), any());
  }

  @Test
  void aStopAfterSomePagesPublishesThosePages() throws Exception {
    start(5, false);
    page(1, new Page(items("p1", 2), "m2", true, 100));
    when(platform.fetch(any(StreamApi.class), anyString(), anyString(), anyInt(), eq("m2")))
        .thenThrow(new UnauthorizedException(401));
    mine(first(), false);

    assertThat(published().pages()).extracting(DataBatch.PageItems::page).containsExactly(1L);
    verify(states).finish(any(), eq(StopReason.UNAUTHORIZED), any());
    verify(states).flagReauthorization(USER);
  }

  @Test
  void aTokenNoKeyDecryptsStopsTheChainAndFlagsTheUserOnce(CapturedOutput output) throws Exception {
    start(5, false);
    when(states.chainState(USER, "posts"))
        .thenReturn(Optional.of(chain(run, 0, new byte[] {1, 2, 3}, false)));
    when(cipher.decrypt(any()))
        .thenThrow(new TokenCipher.TokenDecryptionException("no key decrypts it"));
    // The second chain (another stream's, or the next message) finds the user flagged already.
    when(states.flagReauthorization(USER)).thenReturn(true, false);

    for (int chain = 0; chain < 2; chain++) {
      template.sendBody("direct:consume", codec.write(first()).getBody());
    }

    verify(platform, never()).fetch(any(StreamApi.class), anyString(), any(), anyInt(), any());
    verify(states, times(2)).finish(any(), eq(StopReason.TOKEN_UNDECRYPTABLE), anyString());
    assertThat(sentTo).isEmpty();
    assertThat(deadLettered).isEmpty();
    assertThat(meters.counter("quarry.mining.reauthorization.needed", "stream", "posts").count())
        .isEqualTo(1);
    assertThat(
            meters
                .counter(
                    "quarry.mining.chains.stopped",
                    "stream",
                    "posts",
                    "reason",
                    "token_undecryptable")
                .count())
        .isEqualTo(2);
    assertThat(
            output.getAll().lines().filter(l -> l.contains("WARN") && l.contains("user " + USER)))
        .singleElement()
        .asString()
        .contains("cannot be decrypted")
        .contains("re-authorisation");
  }

  @Test
  void thePageOfOnlyOldDataIsLeftOutAndStopsTheChain() throws Exception {
    start(5, false);
    pages(3);
    when(rawItems.allStoredBefore(anyLong(), anyString(), any(), any())).thenReturn(false, true);
    mine(first(), true);

    assertThat(published().pages()).extracting(DataBatch.PageItems::page).containsExactly(1L);
    assertThat(published().earlierItems()).isTrue();
    verify(states).finish(any(), eq(StopReason.NO_NEW_DATA), any());
    // "old" means stored before the chain began, so a resumed chain's own items never stop it
    verify(rawItems, times(2)).allStoredBefore(eq(USER), eq("posts"), eq(CHAIN_STARTED), any());
  }

  @Test
  void aPageThatNeededRedeliveriesLeavesTheNextPageTheWholeBudget() throws Exception {
    // one redelivery per failure: page 1 fails once, then page 2 fails once; both succeed
    start(TestProperties.posts(5, false, 65536));
    Mockito.doThrow(new TransientPlatformException("503"))
        .doReturn(new Page(items("p1", 2), "m2", true, 100))
        .when(platform)
        .fetch(any(StreamApi.class), anyString(), anyString(), anyInt(), isNull());
    Mockito.doThrow(new TransientPlatformException("503"))
        .doReturn(new Page(items("p2", 2), null, false, 100))
        .when(platform)
        .fetch(any(StreamApi.class), anyString(), anyString(), anyInt(), eq("m2"));
    mine(first(), false);

    assertThat(deadLettered).isEmpty();
    assertThat(published().pages()).extracting(DataBatch.PageItems::page).containsExactly(1L, 2L);
  }

  @Test
  void aFirstMessageTakesItsChainUpAndIsDroppedIfAnotherRunTookItMeanwhile() throws Exception {
    start(5, false);
    pages(2);
    mine(first(), false);
    verify(states).take(USER, "posts", run);
    verify(states).finish(any(), eq(StopReason.END_OF_DATA), any());

    Mockito.clearInvocations(states, platform);
    mockOf(DATA_TOPIC).reset();
    when(states.take(anyLong(), anyString(), any())).thenReturn(false);
    mine(first(), false);
    verify(platform, never()).fetch(any(StreamApi.class), anyString(), any(), anyInt(), any());
    verify(states, never()).finish(any(), any(), any());
    verify(states, never()).progress(any(), any());
    assertThat(mockOf(DATA_TOPIC).getReceivedCounter()).isZero();
  }

  @Test
  void aContinuationOfAChainThatShowsProgressDoesNotWriteToTakeItUp() throws Exception {
    start(5, false);
    pages(3);
    mine(first().continueAt("m2", 0, 1, 2), false);
    verify(states, never()).take(anyLong(), anyString(), any());
    verify(states).finish(any(), eq(StopReason.END_OF_DATA), any());
  }

  @Test
  void aMessageOfARunThatAnotherRunTookOverIsDroppedAndCounted() throws Exception {
    start(5, false);
    UUID takenOverBy = UUID.randomUUID();
    when(states.chainState(USER, "posts"))
        .thenReturn(Optional.of(chain(takenOverBy, 0, new byte[] {1}, true)));
    template.sendBody("direct:consume", codec.write(first().continueAt("m6", 0, 5, 10)).getBody());

    verify(platform, never()).fetch(any(StreamApi.class), anyString(), any(), anyInt(), any());
    verify(states, never()).progress(any(), any());
    verify(states, never()).finish(any(), any(), any());
    verify(states, never()).take(anyLong(), anyString(), any());
    assertThat(sentTo).isEmpty();
    assertThat(delayed()).isEmpty();
    assertThat(meters.counter("quarry.mining.messages.stale", "stream", "posts").count())
        .isEqualTo(1);
  }

  @Test
  void pagesWithoutItemsAreLeftOutAndNothingIsPublishedWhenNoPageHadItems() throws Exception {
    start(5, false);
    page(1, new Page(List.of(), "m2", true, 10));
    page(2, new Page(items("p2", 1), "m3", true, 10));
    page(3, new Page(List.of(), null, false, 10));
    mine(first(), false);
    assertThat(published().pages()).extracting(DataBatch.PageItems::page).containsExactly(2L);

    mockOf(DATA_TOPIC).reset();
    page(1, new Page(List.of(), null, false, 10));
    mine(first(), false);
    assertThat(mockOf(DATA_TOPIC).getReceivedCounter()).isZero();
    assertThat(mockOf(PARSER).getReceivedCounter()).isZero();
  }

  @Test
  void aStreamWithAParserSendsTheBatchToItsParser() throws Exception {
    start(5, true);
    pages(2);
    mine(first(), false);

    assertThat(batches(PARSER)).singleElement().satisfies(b -> assertThat(b.pages()).hasSize(2));
    assertThat(mockOf(DATA_TOPIC).getReceivedCounter()).isZero();
  }

  @Test
  void aRetryAfterLongerThanTheLongestDelayQueueWaitsThereWithTheTimeItMayGoOn() throws Exception {
    start(5, false);
    page(1, new Page(items("p1", 2), "m2", true, 100));
    when(platform.fetch(any(StreamApi.class), anyString(), anyString(), anyInt(), eq("m2")))
        .thenThrow(new RateLimitedException(Duration.ofMinutes(12)));
    long before = System.currentTimeMillis();
    mine(first(), false);

    var continuation = theDelayed();
    assertThat(continuation.getKey()).startsWith(delayExchange(300));
    assertThat(
            (Long) continuation.getValue().getMessageProperties().getHeader(ChainLoader.NOT_BEFORE))
        .isBetween(before + 720_000, System.currentTimeMillis() + 720_000);
  }

  @Test
  void aRetryAfterWithinTheDelayQueuesNeedsNoTime() throws Exception {
    start(5, false);
    page(1, new Page(items("p1", 2), "m2", true, 100));
    when(platform.fetch(any(StreamApi.class), anyString(), anyString(), anyInt(), eq("m2")))
        .thenThrow(new RateLimitedException(Duration.ofSeconds(300)));
    mine(first(), false);

    var continuation = theDelayed();
    assertThat(continuation.getKey()).startsWith(delayExchange(300));
    assertThat(continuation.getValue().getMessageProperties().getHeaders())
        .doesNotContainKey(ChainLoader.NOT_BEFORE);
  }

  @Test
  void aContinuationWhoseTimeHasNotComeGoesBackToWaitUntouched() throws Exception {
    start(5, false);
    long notBefore = System.currentTimeMillis() + 420_000;
    mine(first(), false, Map.of(ChainLoader.NOT_BEFORE, notBefore));

    var again = theDelayed();
    assertThat(again.getKey())
        .isEqualTo(delayExchange(300) + "?routingKey=" + NAMES.miningQueue("posts"));
    assertThat(again.getValue().getMessageProperties().getHeaders())
        .containsEntry(ChainLoader.NOT_BEFORE, notBefore);
    assertThat(codec.read(again.getValue().getBody(), null)).isEqualTo(first());
    verify(platform, never())
        .fetch(any(StreamApi.class), anyString(), anyString(), anyInt(), any());
    verify(states, never()).finish(any(), any(), any());
    verify(states, never()).progress(any(), any());
  }

  @Test
  void theLastMinutesOfAWaitAreSpentInAShorterDelayQueue() throws Exception {
    start(5, false);
    mine(
        first(),
        false,
        Map.of(ChainLoader.NOT_BEFORE, String.valueOf(System.currentTimeMillis() + 20_000)));

    var again = theDelayed();
    assertThat(again.getKey()).startsWith(delayExchange(30));
    assertThat(again.getValue().getMessageProperties().getHeaders())
        .doesNotContainKey(ChainLoader.NOT_BEFORE);
  }

  @Test
  void aContinuationWhoseTimeHasComeOrThatCarriesNoTimeOfOursIsMined() throws Exception {
    start(5, false);
    long now = System.currentTimeMillis();
    for (Object notBefore :
        List.<Object>of(now - 1_000, now + 500, now + Duration.ofDays(30).toMillis(), "soon")) {
      pages(1);
      mine(first(), false, Map.of(ChainLoader.NOT_BEFORE, notBefore));
    }
    verify(platform, times(4))
        .fetch(any(StreamApi.class), anyString(), anyString(), anyInt(), isNull());
    assertThat(delayed()).isEmpty();
  }

  @Test
  void aUserWithoutATokenHasItsChainStoppedWithoutAsking() throws Exception {
    start(5, false);
    when(states.chainState(USER, "posts")).thenReturn(Optional.of(chain(run, 0, null, false)));
    template.sendBody("direct:consume", codec.write(first()).getBody());

    verify(states).finish(any(), eq(StopReason.NO_TOKEN), any());
    verify(platform, never()).fetch(any(StreamApi.class), anyString(), any(), anyInt(), any());
    assertThat(sentTo).isEmpty();
  }

  @Test
  void aMalformedMessageIsDeadLetteredAtOnceWithTheOriginalBody() throws Exception {
    start(5, false);
    template.sendBodyAndHeader(
        "direct:consume",
        "{\"bad\":1}".getBytes(StandardCharsets.UTF_8),
        "CamelSpringRabbitmqContentEncoding",
        "identity");

    assertThat(deadLettered).hasSize(1);
    Exchange dead = deadLettered.get(0);
    assertThat(dead.getMessage().getBody(String.class)).isEqualTo("{\"bad\":1}");
    assertThat(dead.getMessage().getHeader("CamelSpringRabbitmqContentEncoding"))
        .isEqualTo("identity");
    assertThat(dead.getProperty(DeadLetterHeaders.TRANSIENT_PROPERTY)).isEqualTo(false);
    assertThat(dead.getProperty(DeadLetterHeaders.SOURCE_QUEUE_PROPERTY))
        .isEqualTo(NAMES.miningQueue("posts"));
    assertThat(dead.getProperty(Exchange.EXCEPTION_CAUGHT, Exception.class))
        .hasMessageContaining("unsupported mining message version");
    verify(platform, never()).fetch(any(StreamApi.class), anyString(), any(), anyInt(), any());
  }

  @Test
  void aTransientFailureIsRedeliveredThenDeadLetteredAsTransientPublishingNothing()
      throws Exception {
    start(TestProperties.posts(5, false, 65536));
    when(platform.fetch(any(StreamApi.class), anyString(), anyString(), anyInt(), any()))
        .thenThrow(new TransientPlatformException("GET /users/7/posts answered 503"));
    mine(first(), false);

    // the first try and one redelivery
    verify(platform, times(2))
        .fetch(any(StreamApi.class), anyString(), anyString(), anyInt(), any());
    assertThat(deadLettered).hasSize(1);
    assertThat(deadLettered.get(0).getProperty(DeadLetterHeaders.TRANSIENT_PROPERTY))
        .isEqualTo(true);
    assertThat(sentTo).isEmpty();
    verify(states, never()).progress(any(), any());
  }

  @Test
  void anUnexpectedApiStatusIsDeadLetteredAtOnceAsPermanent() throws Exception {
    start(TestProperties.posts(5, false, 65536));
    when(platform.fetch(any(StreamApi.class), anyString(), anyString(), anyInt(), any()))
        .thenThrow(new UnexpectedStatusException("GET /users/7/posts", 404));
    mine(first(), false);

    // no redelivery: another try gets another 404
    verify(platform, times(1))
        .fetch(any(StreamApi.class), anyString(), anyString(), anyInt(), any());
    assertThat(deadLettered).hasSize(1);
    assertThat(deadLettered.get(0).getProperty(DeadLetterHeaders.TRANSIENT_PROPERTY))
        .isEqualTo(false);
  }

  @Test
  void aStreamWithARequestRateIsThrottledInItsPageLoopAndOneWithoutIsNot() throws Exception {
    QuarryProperties unlimited = TestProperties.posts(5, false, 65536);
    var posts = unlimited.streams().get("posts");
    QuarryProperties limited =
        TestProperties.of(
            unlimited.platform(),
            Map.of(
                "posts",
                new io.quarry.config.StreamProperties(
                    posts.schedule(),
                    posts.apiPath(),
                    posts.pageSize(),
                    posts.pagesPerMessage(),
                    posts.parser(),
                    posts.subscribers(),
                    7)),
            unlimited.mining());

    start(limited);
    var throttle =
        camel
            .getCamelContextExtension()
            .getContextPlugin(org.apache.camel.model.Model.class)
            .getRouteDefinition("posts-miner-pages")
            .getOutputs()
            .stream()
            .filter(org.apache.camel.model.LoopDefinition.class::isInstance)
            .flatMap(loop -> loop.getOutputs().stream())
            .filter(org.apache.camel.model.ThrottleDefinition.class::isInstance)
            .map(org.apache.camel.model.ThrottleDefinition.class::cast)
            .toList();
    // total-requests mode: at most 7 fetches of the stream per second
    assertThat(throttle)
        .singleElement()
        .asString()
        .contains("7")
        .contains("request per 1000 millis");
    camel.close();

    start(unlimited);
    assertThat(
            camel
                .getCamelContextExtension()
                .getContextPlugin(org.apache.camel.model.Model.class)
                .getRouteDefinition("posts-miner-pages")
                .getOutputs()
                .stream()
                .filter(org.apache.camel.model.LoopDefinition.class::isInstance)
                .flatMap(loop -> loop.getOutputs().stream())
                .filter(org.apache.camel.model.ThrottleDefinition.class::isInstance))
        .isEmpty();
  }

  private static List<JsonNode> items(String prefix, int count) {
    List<JsonNode> items = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      items.add(JsonNodeFactory.instance.objectNode().put("id", prefix + "-" + i));
    }
    return items;
  }
}
