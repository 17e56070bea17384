package io.quarry.bus.amqp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.GetResponse;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quarry.bus.Payloads;
import io.quarry.support.IsolatedEnvironment;
import io.quarry.support.Services;
import io.quarry.support.TcpProxy;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.amqp.core.Message;
import org.springframework.amqp.rabbit.connection.CachingConnectionFactory;
import org.springframework.amqp.rabbit.core.RabbitTemplate;
import org.springframework.core.env.StandardEnvironment;

/**
 * {@link BatchPublisher} against the machine's RabbitMQ, on a connection factory configured like
 * Quarry's (correlated confirms and returns, a separate publisher connection). Every queue and
 * exchange carries a suffix of this class's own and is deleted at the end.
 */
class BatchPublisherIT {

  static final long TIMEOUT_MILLIS = 10_000;
  static final String SUFFIX = IsolatedEnvironment.newName();
  static final StandardEnvironment ENV = new StandardEnvironment();
  static final Services SERVICES = Services.from(ENV);

  static final AtomicInteger QUEUES = new AtomicInteger();
  static Connection probe;
  Channel channel;
  CachingConnectionFactory connectionFactory;
  BatchPublisher publisher;
  String queue;

  @BeforeAll
  static void connect() throws Exception {
    probe = SERVICES.amqp();
  }

  @AfterAll
  static void removeEverything() throws Exception {
    probe.close();
    SERVICES.deleteBusEntities(SUFFIX);
  }

  @BeforeEach
  void setUp() throws Exception {
    channel = probe.createChannel();
    queue = declareQueue("batch-probe", Map.of());
    connectionFactory = connectionFactory(ENV.getProperty("quarry.rabbitmq.port", "5672"));
    publisher = new BatchPublisher(connectionFactory, new SimpleMeterRegistry());
  }

  @AfterEach
  void tearDown() throws Exception {
    publisher.destroy();
    connectionFactory.destroy();
    channel.close();
  }

  @Test
  void everyMessageArrivesInOrderWithTheSamePropertiesAsThroughRabbitTemplate() throws Exception {
    List<Routed> first = messages(queue, 0, 500);
    List<Routed> second = messages(queue, 500, 500);
    List<Routed> third = messages(queue, 1000, 200);
    Message large =
        Payloads.json(
            ("{\"pad\":\"" + "x".repeat(5000) + "\"}").getBytes(StandardCharsets.UTF_8), 1024);
    large.getMessageProperties().setType("MiningMessage");
    large.getMessageProperties().setMessageId("large-1");
    List<Routed> last = List.of(new Routed("", queue, large));

    publisher.publishAll(first, TIMEOUT_MILLIS);
    publisher.publishAll(second, TIMEOUT_MILLIS);
    publisher.publishAll(third, TIMEOUT_MILLIS);
    publisher.publishAll(last, TIMEOUT_MILLIS);

    List<GetResponse> received = drain(queue, 1201);
    assertThat(received).hasSize(1201);
    for (int i = 0; i < 1200; i++) {
      assertThat(new String(received.get(i).getBody(), StandardCharsets.UTF_8)).isEqualTo(body(i));
    }
    AMQP.BasicProperties small = received.get(0).getProps();
    assertThat(small.getContentType()).isEqualTo("application/json");
    assertThat(small.getDeliveryMode()).isEqualTo(2);
    assertThat(small.getType()).isEqualTo("MiningMessage");
    assertThat(small.getContentEncoding()).isNull();
    assertThat(received.get(0).getEnvelope().getRoutingKey()).isEqualTo(queue);
    AMQP.BasicProperties gzipped = received.get(1200).getProps();
    assertThat(gzipped.getContentEncoding()).isEqualTo(Payloads.GZIP);
    assertThat(gzipped.getMessageId()).isEqualTo("large-1");
    assertThat(
            new String(
                Payloads.decode(received.get(1200).getBody(), "gzip"), StandardCharsets.UTF_8))
        .startsWith("{\"pad\":\"xxx");

    // The same messages through the Spring path (RabbitTemplate, correlated confirms): the same
    // properties, apart from Spring's own correlation headers.
    String reference = declareQueue("batch-reference", Map.of());
    RabbitTemplate template = new RabbitTemplate(connectionFactory);
    template.setUsePublisherConnection(true);
    template.setMandatory(true);
    for (Message message : List.of(first.get(0).message(), large)) {
      org.springframework.amqp.rabbit.connection.CorrelationData confirm =
          new org.springframework.amqp.rabbit.connection.CorrelationData();
      template.send("", reference, message, confirm);
      assertThat(confirm.getFuture().get(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS).isAck()).isTrue();
    }
    List<GetResponse> viaSpring = drain(reference, 2);
    assertSameProperties(small, viaSpring.get(0).getProps());
    assertSameProperties(gzipped, viaSpring.get(1).getProps());
  }

  @Test
  void aMessageWithoutRouteFailsItsBatchAndTheNextBatchGoesOut() throws Exception {
    List<Routed> batch = new ArrayList<>(messages(queue, 0, 10));
    batch.set(5, new Routed("", "no-such-queue-" + SUFFIX, batch.get(5).message()));

    assertThatThrownBy(() -> publisher.publishAll(batch, TIMEOUT_MILLIS))
        .isInstanceOf(PublishFailedException.class)
        .hasMessageContaining("unroutable")
        .hasMessageContaining("NO_ROUTE")
        .hasMessageContaining("no-such-queue-" + SUFFIX);
    assertThat(drain(queue, 9)).hasSize(9);

    publisher.publishAll(messages(queue, 0, 10), TIMEOUT_MILLIS);
    assertThat(drain(queue, 10)).hasSize(10);
  }

  @Test
  void anExchangeWithoutBindingsReturnsTheMessagesAndFailsTheBatch() throws Exception {
    String unbound = "batch-unbound-" + SUFFIX;
    channel.exchangeDeclare(unbound, "direct", false, false, null);

    assertThatThrownBy(
            () ->
                publisher.publishAll(
                    messages(queue, 0, 3).stream()
                        .map(o -> new Routed(unbound, "anything", o.message()))
                        .toList(),
                    TIMEOUT_MILLIS))
        .isInstanceOf(PublishFailedException.class)
        .hasMessageContaining("unroutable")
        .hasMessageContaining("3 message(s) of the batch returned");
  }

  @Test
  void aNackFailsTheBatchAndTheNextBatchGetsAFreshChannel() throws Exception {
    String full =
        declareQueue("batch-full", Map.of("x-max-length", 2, "x-overflow", "reject-publish"));

    assertThatThrownBy(() -> publisher.publishAll(messages(full, 0, 5), TIMEOUT_MILLIS))
        .isInstanceOf(PublishFailedException.class)
        .hasMessageContaining("nacked");

    publisher.publishAll(messages(queue, 0, 5), TIMEOUT_MILLIS);
    assertThat(drain(queue, 5)).hasSize(5);
  }

  @Test
  void aMissingExchangeClosesTheChannelAndTheNextBatchReopensOne() throws Exception {
    List<Routed> lost =
        messages(queue, 0, 5).stream()
            .map(o -> new Routed("no-such-exchange-" + SUFFIX, "x", o.message()))
            .toList();

    assertThatThrownBy(() -> publisher.publishAll(lost, TIMEOUT_MILLIS))
        .isInstanceOf(PublishFailedException.class)
        .hasMessageContaining("NOT_FOUND");

    publisher.publishAll(messages(queue, 0, 5), TIMEOUT_MILLIS);
    assertThat(drain(queue, 5)).hasSize(5);
  }

  @Test
  void aConnectionLostMidBatchFailsAtOnceAndTheNextBatchReconnects() throws Exception {
    try (TcpProxy proxy =
        new TcpProxy(
            ENV.getProperty("quarry.rabbitmq.host", "127.0.0.1"),
            Integer.parseInt(ENV.getProperty("quarry.rabbitmq.port", "5672")))) {
      CachingConnectionFactory proxied = connectionFactory(Integer.toString(proxy.port()));
      BatchPublisher throughProxy = new BatchPublisher(proxied, new SimpleMeterRegistry());
      try {
        // Far more than can be sent before the cut: the same small message many times.
        List<Routed> huge = Collections.nCopies(1_000_000, messages(queue, 0, 1).get(0));
        CompletableFuture<Void> publishing =
            CompletableFuture.runAsync(() -> throughProxy.publishAll(huge, 60_000));
        await().atMost(Duration.ofSeconds(20)).until(() -> depth(queue) > 0);

        proxy.cut();

        assertThat(publishing)
            .failsWithin(Duration.ofSeconds(10))
            .withThrowableOfType(java.util.concurrent.ExecutionException.class)
            .havingCause()
            .isInstanceOf(PublishFailedException.class)
            .withMessageContaining("of 1000000 messages of the batch sent");

        proxy.restore();
        String after = declareQueue("batch-after-reconnect", Map.of());
        throughProxy.publishAll(messages(after, 0, 20), TIMEOUT_MILLIS);
        assertThat(drain(after, 20)).hasSize(20);
      } finally {
        throughProxy.destroy();
        proxied.destroy();
      }
    }
  }

  @Test
  void concurrentCallersEachGetTheirOwnConfirmsAndReturns() throws Exception {
    ExecutorService callers = Executors.newFixedThreadPool(4);
    try {
      List<CompletableFuture<Integer>> results = new ArrayList<>();
      for (int caller = 0; caller < 4; caller++) {
        boolean unroutable = caller == 0;
        results.add(
            CompletableFuture.supplyAsync(
                () -> {
                  int failures = 0;
                  for (int batch = 0; batch < 10; batch++) {
                    List<Routed> messages = messages(queue, 0, 250);
                    if (unroutable) {
                      messages =
                          messages.stream()
                              .map(o -> new Routed("", "nowhere-" + SUFFIX, o.message()))
                              .toList();
                    }
                    try {
                      publisher.publishAll(messages, TIMEOUT_MILLIS);
                    } catch (PublishFailedException e) {
                      failures++;
                    }
                  }
                  return failures;
                },
                callers));
      }
      List<Integer> failures =
          results.stream().map(f -> f.orTimeout(60, TimeUnit.SECONDS).join()).toList();

      assertThat(failures).containsExactly(10, 0, 0, 0);
      assertThat(depth(queue)).isEqualTo(3 * 10 * 250);
    } finally {
      callers.shutdownNow();
    }
  }

  private static void assertSameProperties(AMQP.BasicProperties ours, AMQP.BasicProperties spring) {
    assertThat(ours.getContentType()).isEqualTo(spring.getContentType());
    assertThat(ours.getContentEncoding()).isEqualTo(spring.getContentEncoding());
    assertThat(ours.getDeliveryMode()).isEqualTo(spring.getDeliveryMode());
    assertThat(ours.getPriority()).isEqualTo(spring.getPriority());
    assertThat(ours.getType()).isEqualTo(spring.getType());
    assertThat(ours.getMessageId()).isEqualTo(spring.getMessageId());
    assertThat(ours.getCorrelationId()).isEqualTo(spring.getCorrelationId());
    assertThat(ours.getExpiration()).isEqualTo(spring.getExpiration());
    assertThat(ours.getTimestamp()).isEqualTo(spring.getTimestamp());
    Map<String, Object> springHeaders = new java.util.HashMap<>(spring.getHeaders());
    springHeaders.keySet().removeIf(name -> name.startsWith("spring_"));
    assertThat(ours.getHeaders() == null ? Map.of() : ours.getHeaders())
        .isEqualTo(springHeaders)
        .doesNotContainKeys(
            "spring_listener_return_correlation", "spring_returned_message_correlation");
  }

  private CachingConnectionFactory connectionFactory(String port) {
    CachingConnectionFactory factory =
        new CachingConnectionFactory(
            ENV.getProperty("quarry.rabbitmq.host", "127.0.0.1"), Integer.parseInt(port));
    factory.setUsername(ENV.getProperty("quarry.rabbitmq.username", "guest"));
    factory.setPassword(ENV.getProperty("quarry.rabbitmq.password", "guest"));
    factory.setPublisherConfirmType(CachingConnectionFactory.ConfirmType.CORRELATED);
    factory.setPublisherReturns(true);
    return factory;
  }

  private String declareQueue(String base, Map<String, Object> arguments) throws Exception {
    // A name per test: a queue is never shared with what an earlier test left in flight.
    String name = base + "-" + QUEUES.incrementAndGet() + "-" + SUFFIX;
    channel.queueDeclare(name, true, false, false, arguments);
    return name;
  }

  private static List<Routed> messages(String queue, int from, int count) {
    return IntStream.range(from, from + count)
        .mapToObj(
            i -> {
              Message message = Payloads.json(body(i).getBytes(StandardCharsets.UTF_8), 1024);
              message.getMessageProperties().setType("MiningMessage");
              return new Routed("", queue, message);
            })
        .toList();
  }

  private static String body(int i) {
    return "{\"version\":1,\"stream\":\"posts\",\"userId\":" + (i + 1) + "}";
  }

  private long depth(String name) throws Exception {
    return channel.messageCount(name);
  }

  private List<GetResponse> drain(String name, int expected) {
    List<GetResponse> received = new ArrayList<>();
    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () -> {
              GetResponse got;
              while ((got = channel.basicGet(name, true)) != null) {
                received.add(got);
              }
              return received.size() >= expected;
            });
    return received;
  }
}
