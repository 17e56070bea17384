package io.quarry.mining;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyInt;
import static org.mockito.ArgumentMatchers.anyLong;
import static org.mockito.ArgumentMatchers.anyString;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.ArgumentMatchers.isNull;
import static org.mockito.Mockito.inOrder;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quarry.bus.BusNames;
import io.quarry.bus.amqp.BatchPublisher;
import io.quarry.bus.amqp.Routed;
import io.quarry.config.QuarryProperties;
import io.quarry.message.DataBatch;
import io.quarry.message.MiningMessage;
import io.quarry.message.MiningMessageCodec;
import io.quarry.mining.MiningStateRepository.ChainState;
import io.quarry.mining.MiningStateRepository.StopReason;
import io.quarry.platform.Page;
import io.quarry.platform.PlatformClient;
import io.quarry.platform.RateLimitedException;
import io.quarry.platform.UnauthorizedException;
import io.quarry.security.TokenCipher;
import io.quarry.storage.DataTopicPublisher;
import io.quarry.storage.RawItemRepository;
import io.quarry.support.TestProperties;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.Test;
import org.mockito.ArgumentCaptor;
import org.mockito.InOrder;
import org.springframework.boot.test.system.CapturedOutput;

/**
 * The miner's steps driven as its route drives them (begin, fetch while wanted, end), with the
 * database, the platform and the bus mocked: one data batch per mining message, holding every page
 * with items the message fetched, published before the continuation or the chain's end.
 */
@org.junit.jupiter.api.extension.ExtendWith(
    org.springframework.boot.test.system.OutputCaptureExtension.class)
class MinerTest {

  private static final long USER = 42;
  private static final Instant CHAIN_STARTED = Instant.parse("2026-12-01T10:00:00Z");
  private final UUID run = UUID.randomUUID();
  private final MiningStateRepository states = mock(MiningStateRepository.class);
  private final TokenCipher cipher = mock(TokenCipher.class);
  private final RawItemRepository rawItems = mock(RawItemRepository.class);
  private final PlatformClient platform = mock(PlatformClient.class);
  private final BatchPublisher publisher = mock(BatchPublisher.class);
  private final DataTopicPublisher dataTopic = mock(DataTopicPublisher.class);
  private final InOrder order = inOrder(dataTopic, publisher, states);

  @org.junit.jupiter.api.BeforeEach
  void chainsAreTakenUp() {
    when(states.take(anyLong(), anyString(), any())).thenReturn(true);
  }

  private Miner miner(int pagesPerMessage, boolean parser) {
    return miner(pagesPerMessage, parser, new SimpleMeterRegistry());
  }

  private Miner miner(int pagesPerMessage, boolean parser, SimpleMeterRegistry meters) {
    QuarryProperties properties = TestProperties.posts(pagesPerMessage, parser, 65536);
    return new Miner(
        states,
        cipher,
        rawItems,
        platform,
        publisher,
        new MiningMessageCodec(new ObjectMapper().findAndRegisterModules(), properties),
        dataTopic,
        new BusNames("qa"),
        properties,
        meters);
  }

  /** One mining message through the miner, as MinerRoutes loops over it. */
  private void mine(Miner miner, MiningMessage message, boolean earlierItems) {
    mine(miner, message, earlierItems, Map.of());
  }

  private void mine(
      Miner miner, MiningMessage message, boolean earlierItems, Map<String, Object> headers) {
    when(states.chainState(USER, "posts"))
        .thenReturn(Optional.of(chain(run, message.pagesMined(), new byte[] {1}, earlierItems)));
    when(cipher.decrypt(any())).thenReturn("token");
    Exchange exchange = new DefaultExchange(new DefaultCamelContext());
    exchange.getMessage().setHeaders(new HashMap<>(headers));
    miner.begin(message, exchange);
    while (miner.wantsAnotherPage(exchange)) {
      miner.fetchPage(exchange);
    }
    miner.end(exchange);
  }

  /** The chain's state as the miner reads it: in progress, begun {@link #CHAIN_STARTED}. */
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
    when(platform.fetch(anyString(), anyString(), anyString(), anyInt(), marker(n)))
        .thenReturn(page);
  }

  private static String marker(int n) {
    return n == 1 ? isNull() : eq("m" + n);
  }

  private DataBatch published() {
    ArgumentCaptor<DataBatch> batch = ArgumentCaptor.forClass(DataBatch.class);
    verify(dataTopic).toTopic(batch.capture());
    return batch.getValue();
  }

  @Test
  void publishesOneBatchOfAllPagesThenEndsTheChain() {
    pages(3);
    mine(miner(5, false), first(), false);

    DataBatch batch = published();
    assertThat(batch.version()).isEqualTo(DataBatch.VERSION);
    assertThat(batch.pages()).extracting(DataBatch.PageItems::page).containsExactly(1L, 2L, 3L);
    assertThat(batch.itemCount()).isEqualTo(6);
    assertThat(batch.batchId()).isEqualTo(run + ":42:posts:1-3");
    assertThat(batch.pageId(2)).isEqualTo(run + ":42:posts:2");
    // no earlier run stored items of the stream: raw storage may insert without looking up
    assertThat(batch.earlierItems()).isFalse();
    order.verify(dataTopic).toTopic(any());
    order.verify(states).finish(any(), eq(StopReason.END_OF_DATA), any());
  }

  @Test
  void publishesTheMessagesPagesBeforeItsContinuationNumberedInTheRun() {
    pages(5);
    Miner miner = miner(2, false);
    mine(miner, first(), false);

    assertThat(published().pages()).extracting(DataBatch.PageItems::page).containsExactly(1L, 2L);
    order.verify(dataTopic).toTopic(any());
    order.verify(publisher).publishAll(any(), anyLong());
    order.verify(states).progress(any(), any());

    // the continuation (pages 3 and 4)
    MiningMessage next = first().continueAt("m3", 0, 2, 4);
    org.mockito.Mockito.clearInvocations(dataTopic);
    mine(miner, next, false);
    assertThat(published().pages()).extracting(DataBatch.PageItems::page).containsExactly(3L, 4L);
  }

  @Test
  void aRateLimitPublishesThePagesFetchedThenQueuesTheDelayedContinuation() {
    pages(1);
    page(1, new Page(items("p1", 2), "m2", true, 100));
    when(platform.fetch(anyString(), anyString(), anyString(), anyInt(), eq("m2")))
        .thenThrow(new RateLimitedException(Duration.ofSeconds(2)));
    mine(miner(5, false), first(), false);

    assertThat(published().pages()).extracting(DataBatch.PageItems::page).containsExactly(1L);
    ArgumentCaptor<List<Routed>> continuation = listCaptor();
    order.verify(dataTopic).toTopic(any());
    order.verify(publisher).publishAll(continuation.capture(), anyLong());
    assertThat(continuation.getValue().get(0).exchange()).contains("delay");
  }

  @Test
  void aStopAfterSomePagesPublishesThosePages() {
    page(1, new Page(items("p1", 2), "m2", true, 100));
    when(platform.fetch(anyString(), anyString(), anyString(), anyInt(), eq("m2")))
        .thenThrow(new UnauthorizedException(401));
    mine(miner(5, false), first(), false);

    assertThat(published().pages()).extracting(DataBatch.PageItems::page).containsExactly(1L);
    order.verify(dataTopic).toTopic(any());
    order.verify(states).finish(any(), eq(StopReason.UNAUTHORIZED), any());
  }

  @Test
  void aTokenNoKeyDecryptsStopsTheChainAndFlagsTheUserOnce(CapturedOutput output) {
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    Miner miner = miner(5, false, meters);
    when(states.chainState(USER, "posts"))
        .thenReturn(Optional.of(chain(run, 0, new byte[] {1, 2, 3}, false)));
    when(cipher.decrypt(any()))
        .thenThrow(new TokenCipher.TokenDecryptionException("no key decrypts it"));
    // The second chain (another stream's, or the next message) finds the user flagged already.
    when(states.flagReauthorization(USER)).thenReturn(true, false);

    for (int chain = 0; chain < 2; chain++) {
      Exchange exchange = new DefaultExchange(new DefaultCamelContext());
      miner.begin(first(), exchange);
      assertThat(miner.wantsAnotherPage(exchange)).isFalse();
      miner.end(exchange);
    }

    verify(platform, never()).fetch(anyString(), anyString(), any(), anyInt(), any());
    verify(states, org.mockito.Mockito.times(2))
        .finish(any(), eq(StopReason.TOKEN_UNDECRYPTABLE), anyString());
    verify(publisher, never()).publishAll(any(), anyLong());
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
  void thePageOfOnlyOldDataIsLeftOutAndStopsTheChain() {
    pages(3);
    when(rawItems.allStoredBefore(anyLong(), anyString(), any(), any())).thenReturn(false, true);
    mine(miner(5, false), first(), true);

    assertThat(published().pages()).extracting(DataBatch.PageItems::page).containsExactly(1L);
    assertThat(published().earlierItems()).isTrue();
    order.verify(states).finish(any(), eq(StopReason.NO_NEW_DATA), any());
    // "old" means stored before the chain began, so a resumed chain's own items never stop it
    verify(rawItems, org.mockito.Mockito.times(2))
        .allStoredBefore(eq(USER), eq("posts"), eq(CHAIN_STARTED), any());
  }

  @Test
  void aPageThatNeededRedeliveriesLeavesTheNextPageTheWholeBudget() {
    pages(2);
    Miner miner = miner(5, false);
    Exchange exchange = new DefaultExchange(new DefaultCamelContext());
    when(states.chainState(USER, "posts"))
        .thenReturn(Optional.of(chain(run, 0, new byte[] {1}, false)));
    when(cipher.decrypt(any())).thenReturn("token");
    miner.begin(first(), exchange);
    // what Camel's error handler leaves on the exchange after two redeliveries of page 1
    exchange.getIn().setHeader(Exchange.REDELIVERY_COUNTER, 2);
    exchange.getIn().setHeader(Exchange.REDELIVERED, true);
    exchange.getIn().setHeader(Exchange.REDELIVERY_MAX_COUNTER, 3);
    miner.fetchPage(exchange);

    assertThat(exchange.getIn().getHeaders())
        .doesNotContainKeys(
            Exchange.REDELIVERY_COUNTER, Exchange.REDELIVERED, Exchange.REDELIVERY_MAX_COUNTER);
  }

  @Test
  void aFirstMessageTakesItsChainUpAndIsDroppedIfAnotherRunTookItMeanwhile() {
    pages(2);
    mine(miner(5, false), first(), false);
    verify(states).take(USER, "posts", run);
    verify(states).finish(any(), eq(StopReason.END_OF_DATA), any());

    org.mockito.Mockito.clearInvocations(states, platform);
    when(states.take(anyLong(), anyString(), any())).thenReturn(false);
    mine(miner(5, false), first(), false);
    verify(platform, never()).fetch(anyString(), anyString(), any(), anyInt(), any());
    verify(states, never()).finish(any(), any(), any());
    verify(states, never()).progress(any(), any());
  }

  @Test
  void aContinuationOfAChainThatShowsProgressDoesNotWriteToTakeItUp() {
    pages(3);
    mine(miner(5, false), first().continueAt("m2", 0, 1, 2), false);
    verify(states, never()).take(anyLong(), anyString(), any());
    verify(states).finish(any(), eq(StopReason.END_OF_DATA), any());
  }

  @Test
  void aMessageOfARunThatAnotherRunTookOverIsDroppedAndCounted() {
    UUID takenOverBy = UUID.randomUUID();
    when(states.chainState(USER, "posts"))
        .thenReturn(Optional.of(chain(takenOverBy, 0, new byte[] {1}, true)));
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    Miner miner = miner(5, false, meters);
    Exchange exchange = new DefaultExchange(new DefaultCamelContext());
    miner.begin(first().continueAt("m6", 0, 5, 10), exchange);

    assertThat(exchange.getProperty(Miner.CHAIN)).isNull();
    assertThat(miner.wantsAnotherPage(exchange)).isFalse();
    miner.end(exchange);
    verify(platform, never()).fetch(anyString(), anyString(), any(), anyInt(), any());
    verify(states, never()).progress(any(), any());
    verify(states, never()).finish(any(), any(), any());
    verify(states, never()).take(anyLong(), anyString(), any());
    assertThat(meters.counter("quarry.mining.messages.stale", "stream", "posts").count())
        .isEqualTo(1);
  }

  @Test
  void pagesWithoutItemsAreLeftOutAndNothingIsPublishedWhenNoPageHadItems() {
    page(1, new Page(List.of(), "m2", true, 10));
    page(2, new Page(items("p2", 1), "m3", true, 10));
    page(3, new Page(List.of(), null, false, 10));
    mine(miner(5, false), first(), false);
    assertThat(published().pages()).extracting(DataBatch.PageItems::page).containsExactly(2L);

    org.mockito.Mockito.clearInvocations(dataTopic);
    page(1, new Page(List.of(), null, false, 10));
    mine(miner(5, false), first(), false);
    verify(dataTopic, never()).toTopic(any());
    verify(dataTopic, never()).toParser(any());
  }

  @Test
  void aStreamWithAParserSendsTheBatchToItsParser() {
    pages(2);
    mine(miner(5, true), first(), false);

    ArgumentCaptor<DataBatch> batch = ArgumentCaptor.forClass(DataBatch.class);
    verify(dataTopic).toParser(batch.capture());
    verify(dataTopic, never()).toTopic(any());
    assertThat(batch.getValue().pages()).hasSize(2);
  }

  @Test
  void aRetryAfterLongerThanTheLongestDelayQueueWaitsThereWithTheTimeItMayGoOn() {
    page(1, new Page(items("p1", 2), "m2", true, 100));
    when(platform.fetch(anyString(), anyString(), anyString(), anyInt(), eq("m2")))
        .thenThrow(new RateLimitedException(Duration.ofMinutes(12)));
    long before = System.currentTimeMillis();
    mine(miner(5, false), first(), false);

    Routed continuation = continuation();
    assertThat(continuation.exchange()).isEqualTo(new BusNames("qa").delayQueue(300));
    assertThat((Long) continuation.message().getMessageProperties().getHeader(Miner.NOT_BEFORE))
        .isBetween(before + 720_000, System.currentTimeMillis() + 720_000);
  }

  @Test
  void aRetryAfterWithinTheDelayQueuesNeedsNoTime() {
    page(1, new Page(items("p1", 2), "m2", true, 100));
    when(platform.fetch(anyString(), anyString(), anyString(), anyInt(), eq("m2")))
        .thenThrow(new RateLimitedException(Duration.ofSeconds(300)));
    mine(miner(5, false), first(), false);

    Routed continuation = continuation();
    assertThat(continuation.exchange()).isEqualTo(new BusNames("qa").delayQueue(300));
    assertThat(continuation.message().getMessageProperties().getHeaders())
        .doesNotContainKey(Miner.NOT_BEFORE);
  }

  @Test
  void aContinuationWhoseTimeHasNotComeGoesBackToWaitUntouched() {
    long notBefore = System.currentTimeMillis() + 420_000;
    mine(miner(5, false), first(), false, Map.of(Miner.NOT_BEFORE, notBefore));

    Routed again = continuation();
    assertThat(again.exchange()).isEqualTo(new BusNames("qa").delayQueue(300));
    assertThat(again.routingKey()).isEqualTo(new BusNames("qa").miningQueue("posts"));
    assertThat(again.message().getMessageProperties().getHeaders())
        .containsEntry(Miner.NOT_BEFORE, notBefore);
    verify(platform, never()).fetch(anyString(), anyString(), anyString(), anyInt(), any());
    verify(states, never()).finish(any(), any(), any());
    verify(states, never()).progress(any(), any());
  }

  @Test
  void theLastMinutesOfAWaitAreSpentInAShorterDelayQueue() {
    mine(
        miner(5, false),
        first(),
        false,
        Map.of(Miner.NOT_BEFORE, String.valueOf(System.currentTimeMillis() + 20_000)));

    Routed again = continuation();
    assertThat(again.exchange()).isEqualTo(new BusNames("qa").delayQueue(30));
    assertThat(again.message().getMessageProperties().getHeaders())
        .doesNotContainKey(Miner.NOT_BEFORE);
  }

  @Test
  void aContinuationWhoseTimeHasComeOrThatCarriesNoTimeOfOursIsMined() {
    long now = System.currentTimeMillis();
    for (Object notBefore :
        List.<Object>of(now - 1_000, now + 500, now + Duration.ofDays(30).toMillis(), "soon")) {
      pages(1);
      mine(miner(5, false), first(), false, Map.of(Miner.NOT_BEFORE, notBefore));
    }
    verify(platform, org.mockito.Mockito.times(4))
        .fetch(anyString(), anyString(), anyString(), anyInt(), isNull());
  }

  @Test
  void aUserWithoutATokenHasItsChainStoppedWithoutAsking() {
    when(states.chainState(USER, "posts")).thenReturn(Optional.of(chain(run, 0, null, false)));
    Miner miner = miner(5, false);
    Exchange exchange = new DefaultExchange(new DefaultCamelContext());
    miner.begin(first(), exchange);
    while (miner.wantsAnotherPage(exchange)) {
      miner.fetchPage(exchange);
    }
    miner.end(exchange);

    verify(states).finish(any(), eq(StopReason.NO_TOKEN), any());
    verify(platform, never()).fetch(anyString(), anyString(), any(), anyInt(), any());
    verify(publisher, never()).publishAll(any(), anyLong());
  }

  private Routed continuation() {
    ArgumentCaptor<List<Routed>> sent = listCaptor();
    verify(publisher).publishAll(sent.capture(), anyLong());
    assertThat(sent.getValue()).hasSize(1);
    return sent.getValue().get(0);
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static <T> ArgumentCaptor<List<T>> listCaptor() {
    return (ArgumentCaptor) ArgumentCaptor.forClass(List.class);
  }

  private static List<JsonNode> items(String prefix, int count) {
    List<JsonNode> items = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      items.add(JsonNodeFactory.instance.objectNode().put("id", prefix + "-" + i));
    }
    return items;
  }
}
