package io.quarry.deadletter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;
import static org.mockito.ArgumentMatchers.anyString;
import static org.mockito.Mockito.any;
import static org.mockito.Mockito.atLeastOnce;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.verifyNoInteractions;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quarry.bus.BusNames;
import io.quarry.bus.Topology;
import io.quarry.bus.amqp.QuarryAmqpComponent;
import io.quarry.bus.amqp.Routed;
import io.quarry.config.MiningProperties;
import io.quarry.config.QuarryProperties;
import io.quarry.config.StreamProperties;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.assertj.core.groups.Tuple;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.mockito.ArgumentCaptor;
import org.springframework.amqp.core.Message;

/**
 * What the dead-letter retry route does with each kind of dead letter: retried a bounded number of
 * times, to a work queue of this environment only, and parked otherwise, whatever the headers a
 * message brought from its publisher say.
 */
class DeadLetterRetryTest {

  private static final int RETRIES = 2;

  private final BusNames names = new BusNames("qa");
  private final String miningQueue = names.miningQueue("posts");
  private final List<Routed> republished = new ArrayList<>();
  private final DeadLetterRepository parked = mock(DeadLetterRepository.class);
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final DeadLetterRetry retry;

  DeadLetterRetryTest() {
    QuarryProperties properties = properties();
    retry =
        new DeadLetterRetry(
            parked, names, new ObjectMapper(), meters, properties, Topology.of(properties, names));
  }

  private static QuarryProperties properties() {
    StreamProperties posts =
        new StreamProperties(
            "0 0 0 1 1 ? 2099", "/users/{userId}/posts", 100, 3, false, List.of("raw-storage"), 0);
    MiningProperties mining = io.quarry.support.TestProperties.mining(65536, RETRIES);
    return io.quarry.support.TestProperties.of(null, Map.of("posts", posts), mining);
  }

  private Exchange deadLetter(Map<String, Object> headers) {
    Exchange exchange = new DefaultExchange(new DefaultCamelContext());
    exchange.getMessage().setBody("{\"userId\":7}".getBytes(StandardCharsets.UTF_8));
    exchange.getMessage().setHeaders(new HashMap<>(headers));
    return exchange;
  }

  /** A dead letter as DeadLetterComposer writes it, from the posts mining queue. */
  private void handleOwn(boolean transientFailure, Object... more) throws Exception {
    Map<String, Object> headers = new HashMap<>();
    headers.put(DeadLetterHeaders.SOURCE_QUEUE, miningQueue);
    headers.put(DeadLetterHeaders.TRANSIENT, transientFailure);
    for (int i = 0; i < more.length; i += 2) {
      headers.put((String) more[i], more[i + 1]);
    }
    handle(deadLetter(headers));
  }

  /**
   * The steps of the dead-letter retry route, without Camel; what goes back is where the route's
   * quarry-amqp step would publish it (DeadLetterRoutesTest checks the route itself).
   */
  private void handle(Exchange exchange) throws Exception {
    if (retry.goesBack(exchange)) {
      Message message = retry.retryMessage(exchange);
      exchange.getMessage().setBody(message);
      republished.add(
          new Routed(
              exchange.getProperty(DeadLetterRetry.DELAY_EXCHANGE_PROPERTY, String.class),
              exchange.getMessage().getHeader(QuarryAmqpComponent.ROUTING_KEY, String.class),
              message));
      retry.retried(exchange);
    } else {
      retry.park(exchange);
    }
  }

  private Routed republished() {
    assertThat(republished).hasSize(1);
    return republished.get(0);
  }

  /** The arguments of {@link DeadLetterRepository#park} these tests look at. */
  private record Parked(String source, String reason, int attempts, boolean permanent) {}

  private List<Parked> parkedLetters() {
    ArgumentCaptor<String> source = ArgumentCaptor.forClass(String.class);
    ArgumentCaptor<String> reason = ArgumentCaptor.forClass(String.class);
    ArgumentCaptor<Integer> attempts = ArgumentCaptor.forClass(Integer.class);
    ArgumentCaptor<Boolean> permanent = ArgumentCaptor.forClass(Boolean.class);
    verify(parked, atLeastOnce())
        .park(
            source.capture(),
            any(),
            anyString(),
            any(),
            any(),
            any(),
            reason.capture(),
            any(),
            any(),
            attempts.capture(),
            permanent.capture());
    List<Parked> letters = new ArrayList<>();
    for (int i = 0; i < source.getAllValues().size(); i++) {
      letters.add(
          new Parked(
              source.getAllValues().get(i),
              reason.getAllValues().get(i),
              attempts.getAllValues().get(i),
              permanent.getAllValues().get(i)));
    }
    return letters;
  }

  @Test
  void aTransientDeadLetterGoesBackToItsQueueAfterAGrowingDelayWithItsRetryCounted()
      throws Exception {
    handleOwn(true, DeadLetterHeaders.ATTEMPTS, 4, DeadLetterHeaders.RETRIES, 1);

    Routed back = republished();
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
    handleOwn(
        true,
        DeadLetterHeaders.REASON,
        "GET /users/7/posts answered 503",
        DeadLetterHeaders.ATTEMPTS,
        6,
        DeadLetterHeaders.RETRIES,
        RETRIES);

    assertThat(parkedLetters())
        .containsExactly(new Parked(miningQueue, "GET /users/7/posts answered 503", 6, false));
    assertThat(republished).isEmpty();
  }

  @Test
  void aPermanentOneIsParkedAtOnce() throws Exception {
    handleOwn(
        false,
        DeadLetterHeaders.REASON,
        "missing or invalid userId",
        DeadLetterHeaders.ATTEMPTS,
        1);

    assertThat(parkedLetters())
        .containsExactly(new Parked(miningQueue, "missing or invalid userId", 1, true));
    assertThat(republished).isEmpty();
  }

  @Test
  void oneTheBrokerDeadLetteredIsParkedWhateverHeadersItsPublisherSet() throws Exception {
    handle(
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

    assertThat(parkedLetters())
        .containsExactly(new Parked(miningQueue, "dead-lettered by the broker: rejected", 1, true));
    assertThat(republished).isEmpty();
  }

  @Test
  void aSourceThatIsNoWorkQueueOfThisEnvironmentIsNeverRetried() throws Exception {
    List<String> sources =
        List.of(names.deadLetterQueue(miningQueue), "posts-mining-queue-prod", "amq.rabbitmq.x");
    for (String source : sources) {
      handle(
          deadLetter(
              Map.of(DeadLetterHeaders.SOURCE_QUEUE, source, DeadLetterHeaders.TRANSIENT, true)));
    }
    assertThat(parkedLetters())
        .extracting(Parked::source, Parked::reason)
        .containsExactly(
            sources.stream().map(source -> tuple(source, "no reason given")).toArray(Tuple[]::new));
    assertThat(republished).isEmpty();
  }

  @Test
  void countsThatAreNoWholeNumbersReadAsNone() throws Exception {
    handleOwn(true, DeadLetterHeaders.ATTEMPTS, "x", DeadLetterHeaders.RETRIES, "-3");

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
