package io.quarry.monitoring;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quarry.bus.BusNames;
import io.quarry.config.QuarryProperties;
import io.quarry.config.QuarryProperties.Rabbitmq;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The queue figures come from one node's management API, and from another when that one stops
 * answering: two local HTTP servers stand for two nodes of a cluster.
 */
class BrokerQueuesTest {

  private final Node first = new Node("posts-mining-queue-qa");
  private final Node second = new Node("posts-mining-queue-qa");

  @AfterEach
  void stop() {
    first.server.stop(0);
    second.server.stop(0);
  }

  @Test
  void theNodesAreReadInTurnFromTheOneThatAnsweredLast() {
    BrokerQueues queues = queues(first.address() + "," + second.address());
    first.status = 503; // a node that is going away

    BrokerQueues.Snapshot snapshot = queues.refresh();

    assertThat(snapshot.error()).isNull();
    assertThat(snapshot.queues())
        .extracting(BrokerQueues.QueueFigures::name, BrokerQueues.QueueFigures::messages)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("posts-mining-queue-qa", 7L));
    int firstAsked = first.requests.get();
    queues.refresh();
    assertThat(second.requests).as("the node that answered is read again").hasValue(2);
    assertThat(first.requests).as("the silent one is not asked first").hasValue(firstAsked);

    second.server.stop(0);
    first.status = 200;
    assertThat(queues.refresh().error()).isNull();
    assertThat(first.requests).hasValue(firstAsked + 1);
  }

  @Test
  void whenNoNodeAnswersTheLastFiguresStayWithTheError() {
    BrokerQueues queues = queues(first.address() + "," + second.address());
    assertThat(queues.refresh().queues()).hasSize(1);

    first.status = 503;
    second.status = 401;
    BrokerQueues.Snapshot stale = queues.refresh();

    assertThat(stale.queues()).hasSize(1);
    assertThat(stale.error()).contains("no management API answered").contains("HTTP 401");
  }

  @Test
  void withoutManagementAddressesEachNodesHostIsReadOnTheManagementPort() {
    Rabbitmq rabbit = rabbit("node-1:5672, node-2:5672,node-1:5673", "");
    assertThat(rabbit.managementHosts()).containsExactly("node-1:15672", "node-2:15672");
    assertThat(rabbit("", "").managementHosts()).containsExactly("broker:15672");
    assertThat(rabbit("", "a:15781, b:15782").managementHosts())
        .containsExactly("a:15781", "b:15782");
  }

  private static BrokerQueues queues(String managementAddresses) {
    QuarryProperties properties =
        new QuarryProperties(
            "qa",
            null,
            rabbit("", managementAddresses),
            null,
            null,
            java.util.Map.of(),
            null,
            null,
            null,
            null,
            null,
            null);
    return new BrokerQueues(
        properties, new BusNames("qa"), new ObjectMapper(), new SimpleMeterRegistry());
  }

  private static Rabbitmq rabbit(String addresses, String managementAddresses) {
    return new Rabbitmq(
        "broker",
        5672,
        "guest",
        "guest",
        "/",
        false,
        15672,
        Duration.ofSeconds(5),
        addresses,
        managementAddresses,
        Rabbitmq.QueueTypes.CLASSIC);
  }

  /** A management API that lists one queue of 7 messages, or answers {@link #status}. */
  private static final class Node {
    final HttpServer server;
    final AtomicInteger requests = new AtomicInteger();
    volatile int status = 200;

    Node(String queue) {
      try {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      byte[] body =
          ("{\"page_count\":1,\"items\":[{\"name\":\""
                  + queue
                  + "\",\"messages\":7,\"messages_ready\":7,\"consumers\":1}]}")
              .getBytes(StandardCharsets.UTF_8);
      server.createContext(
          "/api/queues/",
          exchange -> {
            requests.incrementAndGet();
            int answer = status;
            byte[] sent = answer == 200 ? body : new byte[0];
            exchange.sendResponseHeaders(answer, sent.length == 0 ? -1 : sent.length);
            try (OutputStream out = exchange.getResponseBody()) {
              out.write(sent);
            }
          });
      server.start();
    }

    String address() {
      return "127.0.0.1:" + server.getAddress().getPort();
    }
  }
}
