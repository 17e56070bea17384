package io.quarry.deadletter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.anyBoolean;
import static org.mockito.ArgumentMatchers.anyInt;
import static org.mockito.ArgumentMatchers.anyLong;
import static org.mockito.ArgumentMatchers.anyString;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.ArgumentMatchers.startsWith;
import static org.mockito.Mockito.any;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.verifyNoInteractions;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quarry.bus.BusNames;
import io.quarry.bus.ConfirmedPublisher;
import io.quarry.bus.Topology;
import io.quarry.config.MiningProperties;
import io.quarry.config.QuarryProperties;
import io.quarry.config.StreamProperties;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.mockito.ArgumentCaptor;

/**
 * What the dead-letter retry route does with each kind of dead letter: retried a bounded number of
 * times, to a work queue of this environment only, and parked otherwise, whatever the headers a
 * message brought from its publisher say.
 */
class DeadLetterRetryTest {

  private static final int RETRIES = 2;

  private final BusNames names = new BusNames("qa");
  private final String miningQueue = names.miningQueue("posts");
  private final ConfirmedPublisher publisher = mock(ConfirmedPublisher.class);
  private final DeadLetterRepository parked = mock(DeadLetterRepository.class);
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final DeadLetterRetry retry;

  DeadLetterRetryTest() {
    QuarryProperties properties = properties();
    retry =
        new DeadLetterRetry(
            publisher,
            parked,
            names,
            new ObjectMapper(),
            meters,
            properties,
            Topology.of(properties, names));
  }

  private static QuarryProperties properties() {
    StreamProperties posts =
        new StreamProperties(
            "0 0 0 1 1 ? 2099", "/users/{userId}/posts", 100, 3, false, List.of("raw-storage"), 0);
    MiningProperties mining =
        new MiningProperties(
            1, 10, 1, 5, 100, 500, 65536, Duration.ofHours(1), 1, Duration.ofMillis(10), RETRIES);
    return new QuarryProperties(
        "qa", null, null, null, null, Map.of("posts", posts), null, Map.of(), null, null, mining);
  }

  private Exchange deadLetter(Map<String, Object> headers) {
    Exchange exchange = new DefaultExchange(new DefaultCamelContext());
    exchange.getMessage().setBody("{\"userId\":7}".getBytes(StandardCharsets.UTF_8));
    exchange.getMessage().setHeaders(new HashMap<>(headers));
    return exchange;
  }

  private ConfirmedPublisher.Outgoing republished() {
    @SuppressWarnings("unchecked")
    ArgumentCaptor<List<ConfirmedPublisher.Outgoing>> sent = ArgumentCaptor.forClass(List.class);
    verify(publisher).publishAll(sent.capture(), anyLong());
    assertThat(sent.getValue()).hasSize(1);
    return sent.getValue().get(0);
  }

  @Test
  void aTransientDeadLetterGoesBackToItsQueueAfterAGrowingDelayWithItsRetryCounted()
      throws Exception {
    retry.handle(
        deadLetter(
            Map.of(
                DeadLetterHeaders.SOURCE_QUEUE,
                miningQueue,
                DeadLetterHeaders.TRANSIENT,
                true,
                DeadLetterHeaders.ATTEMPTS,
                4,
                DeadLetterHeaders.RETRIES,
                1)));

    ConfirmedPublisher.Outgoing back = republished();
    assertThat(back.exchange()).isEqualTo(names.delayQueue(30)); // 10 s, up to the 30 s tier
    assertThat(back.routingKey()).isEqualTo(miningQueue);
    assertThat(back.message().getMessageProperties().getHeaders())
        .containsEntry(DeadLetterHeaders.ATTEMPTS, 4)
        .containsEntry(DeadLetterHeaders.RETRIES, 2);
    verifyNoInteractions(parked);
    assertThat(meters.counter("quarry.dead.letters.retried").count()).isEqualTo(1);
  }

  @Test
  void oneWhoseRetriesAreUsedUpIsParkedWithEveryDeliveryCounted() throws Exception {
    retry.handle(
        deadLetter(
            Map.of(
                DeadLetterHeaders.SOURCE_QUEUE,
                miningQueue,
                DeadLetterHeaders.TRANSIENT,
                true,
                DeadLetterHeaders.REASON,
                "GET /users/7/posts answered 503",
                DeadLetterHeaders.ATTEMPTS,
                6,
                DeadLetterHeaders.RETRIES,
                RETRIES)));

    verify(parked)
        .park(
            eq(miningQueue),
            any(),
            anyString(),
            any(),
            any(),
            any(),
            eq("GET /users/7/posts answered 503"),
            any(),
            any(),
            eq(6),
            eq(false));
    verifyNoInteractions(publisher);
  }

  @Test
  void aPermanentOneIsParkedAtOnce() throws Exception {
    retry.handle(
        deadLetter(
            Map.of(
                DeadLetterHeaders.SOURCE_QUEUE,
                miningQueue,
                DeadLetterHeaders.TRANSIENT,
                false,
                DeadLetterHeaders.REASON,
                "missing or invalid userId",
                DeadLetterHeaders.ATTEMPTS,
                1)));

    verify(parked)
        .park(
            eq(miningQueue),
            any(),
            anyString(),
            any(),
            any(),
            any(),
            eq("missing or invalid userId"),
            any(),
            any(),
            eq(1),
            eq(true));
    verifyNoInteractions(publisher);
  }

  @Test
  void oneTheBrokerDeadLetteredIsParkedWhateverHeadersItsPublisherSet() throws Exception {
    retry.handle(
        deadLetter(
            Map.of(
                "x-death",
                List.of(Map.of("queue", miningQueue, "reason", "rejected")),
                "x-first-death-reason",
                "rejected",
                DeadLetterHeaders.SOURCE_QUEUE,
                names.subscriberQueue("posts", "raw-storage"),
                DeadLetterHeaders.TRANSIENT,
                true,
                DeadLetterHeaders.REASON,
                "set by whoever published it")));

    verify(parked)
        .park(
            eq(miningQueue),
            any(),
            anyString(),
            any(),
            any(),
            any(),
            eq("dead-lettered by the broker: rejected"),
            any(),
            any(),
            anyInt(),
            eq(true));
    verifyNoInteractions(publisher);
  }

  @Test
  void aSourceThatIsNoWorkQueueOfThisEnvironmentIsNeverRetried() throws Exception {
    for (String source :
        List.of(names.deadLetterQueue(miningQueue), "posts-mining-queue-prod", "amq.rabbitmq.x")) {
      retry.handle(
          deadLetter(
              Map.of(DeadLetterHeaders.SOURCE_QUEUE, source, DeadLetterHeaders.TRANSIENT, true)));
      verify(parked)
          .park(
              eq(source),
              any(),
              anyString(),
              any(),
              any(),
              any(),
              startsWith("no reason"),
              any(),
              any(),
              anyInt(),
              anyBoolean());
    }
    verify(publisher, never()).publishAll(any(), anyLong());
  }

  @Test
  void countsThatAreNoWholeNumbersReadAsNone() throws Exception {
    retry.handle(
        deadLetter(
            Map.of(
                DeadLetterHeaders.SOURCE_QUEUE,
                miningQueue,
                DeadLetterHeaders.TRANSIENT,
                true,
                DeadLetterHeaders.ATTEMPTS,
                "x",
                DeadLetterHeaders.RETRIES,
                "-3")));

    assertThat(republished().message().getMessageProperties().getHeaders())
        .containsEntry(DeadLetterHeaders.ATTEMPTS, 1)
        .containsEntry(DeadLetterHeaders.RETRIES, 1);
  }

  @ParameterizedTest
  @CsvSource(
      nullValues = "null",
      value = {"3, 3", "' 7 ', 7", "0, 0", "x, 0", "-1, 0", "2.5, 0", "1000001, 0", "null, 0"})
  void aCountHeaderIsAWholeNumberFromZeroToAMillion(String header, int count) {
    assertThat(DeadLetterHeaders.count(header)).isEqualTo(count);
  }

  @Test
  void aNumericCountHeaderIsReadAsItsValue() {
    assertThat(DeadLetterHeaders.count(5L)).isEqualTo(5);
    assertThat(DeadLetterHeaders.count(-5)).isZero();
    assertThat(DeadLetterHeaders.count(Long.MAX_VALUE)).isZero();
  }
}
