package io.quarry.monitoring;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.quarry.bus.BusNames;
import io.quarry.config.QuarryProperties;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.ToDoubleFunction;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;

/**
 * The queues of this environment as the broker counts them, read from RabbitMQ's management HTTP
 * API every {@code quarry.rabbitmq.management-poll-interval}: depth (ready + unacknowledged),
 * consumers and publish / deliver / ack rates. The dashboard shows the last snapshot; the gauges
 * {@code quarry.queue.messages}, {@code quarry.queue.messages.ready} and {@code
 * quarry.queue.consumers} (tag {@code queue}) export it. Only queues whose name ends with the
 * environment suffix are read, so instances of other environments on the same broker stay out.
 *
 * <p>On a cluster every node answers for all queues: the API is read from one node ({@link
 * QuarryProperties.Rabbitmq#managementHosts}), and from the next that answers when that one goes.
 * If none can be reached, the last snapshot is kept and marked with the error; queues stay in the
 * gauges with their last known figures until the next successful read.
 */
@Component
public class BrokerQueues implements DisposableBean {

  private static final Logger log = LoggerFactory.getLogger(BrokerQueues.class);
  private static final Duration TIMEOUT = Duration.ofSeconds(5);
  private static final int PAGE_SIZE = 500;

  /** One queue's figures. Rates are messages per second over the broker's last sample window. */
  public record QueueFigures(
      String name,
      long messages,
      long ready,
      long unacknowledged,
      int consumers,
      double publishRate,
      double deliverRate,
      double ackRate) {}

  /** What was last read, when, and the error of the last attempt if it failed. */
  public record Snapshot(List<QueueFigures> queues, Instant readAt, String error) {}

  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(TIMEOUT).version(HttpClient.Version.HTTP_1_1).build();
  private final ObjectMapper json;

  /** {@code scheme://host:port} of each management API, read in turn. */
  private final List<String> nodes;

  /** The query of the environment's queues, without its page number. */
  private final String query;

  /** The node read last time it worked. */
  private volatile int current;

  private final String authorization;
  private final Duration interval;
  private final AtomicReference<Snapshot> last =
      new AtomicReference<>(new Snapshot(List.of(), null, "not read yet"));
  private final MultiGauge messages;
  private final MultiGauge ready;
  private final MultiGauge consumers;
  private final ScheduledExecutorService poller =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread thread = new Thread(r, "quarry-queue-poller");
            thread.setDaemon(true);
            return thread;
          });
  private volatile boolean failing;

  public BrokerQueues(
      QuarryProperties properties, BusNames names, ObjectMapper json, MeterRegistry registry) {
    this.json = json;
    QuarryProperties.Rabbitmq rabbit = properties.rabbitmq();
    String suffix = "-" + names.environment();
    this.nodes =
        rabbit.managementHosts().stream()
            .map(node -> (rabbit.tls() ? "https://" : "http://") + node)
            .toList();
    this.query =
        "/api/queues/"
            + URLEncoder.encode(rabbit.virtualHost(), StandardCharsets.UTF_8)
            + "?page_size="
            + PAGE_SIZE
            + "&use_regex=true&name="
            + URLEncoder.encode(Pattern.quote(suffix) + "$", StandardCharsets.UTF_8)
            + "&page=";
    this.authorization =
        "Basic "
            + Base64.getEncoder()
                .encodeToString(
                    (rabbit.username() + ":" + rabbit.password()).getBytes(StandardCharsets.UTF_8));
    this.interval = rabbit.managementPollInterval();
    this.messages =
        MultiGauge.builder("quarry.queue.messages")
            .description("Messages in the queue, ready and unacknowledged (from the broker)")
            .register(registry);
    this.ready =
        MultiGauge.builder("quarry.queue.messages.ready")
            .description("Messages ready for delivery in the queue (from the broker)")
            .register(registry);
    this.consumers =
        MultiGauge.builder("quarry.queue.consumers")
            .description("Consumers attached to the queue (from the broker)")
            .register(registry);
  }

  /** Starts polling once the topology is declared and the application is up. */
  @EventListener(ApplicationReadyEvent.class)
  public void start() {
    long millis = Math.max(interval.toMillis(), 200);
    poller.scheduleWithFixedDelay(this::refreshQuietly, 0, millis, TimeUnit.MILLISECONDS);
  }

  /** The last snapshot (possibly up to one poll interval old). */
  public Snapshot snapshot() {
    return last.get();
  }

  /** Reads the broker now and returns the new snapshot; on failure the old one with the error. */
  public synchronized Snapshot refresh() {
    Snapshot previous = last.get();
    try {
      List<QueueFigures> queues = read();
      Snapshot next = new Snapshot(queues, Instant.now(), null);
      last.set(next);
      export(queues);
      if (failing) {
        log.info("RabbitMQ management API reachable again at {}", nodes.get(current));
        failing = false;
      }
      return next;
    } catch (IOException | RuntimeException e) {
      if (!failing) {
        log.warn("Cannot read queue figures from {}: {}", nodes, e.toString());
        failing = true;
      }
      Snapshot stale = new Snapshot(previous.queues(), previous.readAt(), e.toString());
      last.set(stale);
      return stale;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return previous;
    }
  }

  private void refreshQuietly() {
    try {
      refresh();
    } catch (RuntimeException e) {
      log.warn("Queue poll failed", e);
    }
  }

  /**
   * Reads from the node that answered last, else from the next one that does; fails with the last
   * node's error when none answers.
   */
  private List<QueueFigures> read() throws IOException, InterruptedException {
    IOException failure = null;
    for (int i = 0; i < nodes.size(); i++) {
      int node = (current + i) % nodes.size();
      try {
        List<QueueFigures> queues = read(nodes.get(node));
        if (node != current) {
          log.info(
              "Reading queue figures from {} ({} did not answer)",
              nodes.get(node),
              nodes.get(current));
          current = node;
        }
        return queues;
      } catch (IOException e) {
        failure = e;
      }
    }
    throw nodes.size() == 1
        ? failure
        : new IOException("no management API answered; last: " + failure, failure);
  }

  private List<QueueFigures> read(String node) throws IOException, InterruptedException {
    String url = node + query;
    List<QueueFigures> queues = new ArrayList<>();
    int page = 1;
    int pages;
    do {
      HttpResponse<String> response =
          http.send(
              HttpRequest.newBuilder(URI.create(url + page))
                  .timeout(TIMEOUT)
                  .header("Authorization", authorization)
                  .header("Accept", "application/json")
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        throw new IOException("management API answered HTTP " + response.statusCode());
      }
      JsonNode body = json.readTree(response.body());
      for (JsonNode queue : body.path("items")) {
        queues.add(figures(queue));
      }
      pages = body.path("page_count").asInt(1);
      page++;
    } while (page <= pages);
    queues.sort(Comparator.comparing(QueueFigures::name));
    return List.copyOf(queues);
  }

  private static QueueFigures figures(JsonNode queue) {
    JsonNode stats = queue.path("message_stats");
    return new QueueFigures(
        queue.path("name").asText(),
        queue.path("messages").asLong(0),
        queue.path("messages_ready").asLong(0),
        queue.path("messages_unacknowledged").asLong(0),
        queue.path("consumers").asInt(0),
        stats.path("publish_details").path("rate").asDouble(0),
        stats.path("deliver_get_details").path("rate").asDouble(0),
        stats.path("ack_details").path("rate").asDouble(0));
  }

  private void export(List<QueueFigures> queues) {
    messages.register(rows(queues, QueueFigures::messages), true);
    ready.register(rows(queues, QueueFigures::ready), true);
    consumers.register(rows(queues, QueueFigures::consumers), true);
  }

  private static List<MultiGauge.Row<?>> rows(
      List<QueueFigures> queues, ToDoubleFunction<QueueFigures> value) {
    List<MultiGauge.Row<?>> rows = new ArrayList<>(queues.size());
    for (QueueFigures queue : queues) {
      double figure = value.applyAsDouble(queue);
      rows.add(MultiGauge.Row.of(Tags.of("queue", queue.name()), figure));
    }
    return rows;
  }

  @Override
  public void destroy() {
    poller.shutdownNow();
  }
}
