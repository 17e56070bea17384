package io.quarry.deadletter;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarry.bus.BusNames;
import io.quarry.bus.ConfirmedPublisher;
import io.quarry.bus.Topology;
import io.quarry.bus.amqp.Routed;
import io.quarry.config.QuarryProperties;
import io.quarry.mining.DelayTiers;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.camel.Exchange;
import org.apache.camel.component.springrabbit.SpringRabbitMQConstants;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.amqp.core.Message;
import org.springframework.amqp.core.MessageDeliveryMode;
import org.springframework.amqp.core.MessageProperties;
import org.springframework.stereotype.Component;

/**
 * Decides what becomes of a dead letter: a transient failure goes back to its queue after a growing
 * delay (5 s, 10 s, 20 s, ... rounded up to a delay tier of {@link Topology#DELAY_SECONDS}: 5 s,
 * then 30 s) until {@code quarry.mining.dead-letter-retries} is used up; a permanent failure, an
 * exhausted one, or a message the broker dead-lettered by itself is parked in PostgreSQL for the
 * dashboard.
 *
 * <p>Only Quarry's own dead letters (published by {@link DeadLetterPublisher}) are retried, and
 * only to a work queue of this environment. A message the broker dead-lettered (it carries {@code
 * x-death}: a listener rejected it) is parked whatever {@code x-quarry-*} headers it brought from
 * its publisher, and counts in headers that are not whole numbers read as 0.
 */
@Component
public class DeadLetterRetry {

  private static final Logger log = LoggerFactory.getLogger(DeadLetterRetry.class);

  private final ConfirmedPublisher publisher;
  private final DeadLetterRepository parked;
  private final BusNames names;
  private final ObjectMapper json;
  private final MeterRegistry metrics;
  private final int retries;
  private final Set<String> workQueues;

  public DeadLetterRetry(
      ConfirmedPublisher publisher,
      DeadLetterRepository parked,
      BusNames names,
      ObjectMapper json,
      MeterRegistry metrics,
      QuarryProperties properties,
      Topology topology) {
    this.publisher = publisher;
    this.parked = parked;
    this.names = names;
    this.json = json;
    this.metrics = metrics;
    this.retries = properties.mining().deadLetterRetries();
    this.workQueues =
        topology.queues().stream()
            .filter(queue -> queue.kind() == Topology.Kind.WORK)
            .map(Topology.Queue::name)
            .collect(Collectors.toUnmodifiableSet());
  }

  public void handle(Exchange exchange) throws Exception {
    var in = exchange.getMessage();
    byte[] body = in.getBody(byte[].class);
    Object xDeath = in.getHeader("x-death");
    boolean byBroker = xDeath != null;
    String source =
        byBroker
            ? queueFromXDeath(xDeath)
            : in.getHeader(DeadLetterHeaders.SOURCE_QUEUE, String.class);
    boolean transientFailure =
        !byBroker && Boolean.TRUE.equals(in.getHeader(DeadLetterHeaders.TRANSIENT));
    // Every delivery so far: DeadLetterPublisher adds each round's to those of the rounds before.
    int attempts = Math.max(1, DeadLetterHeaders.count(in.getHeader(DeadLetterHeaders.ATTEMPTS)));
    int retried = DeadLetterHeaders.count(in.getHeader(DeadLetterHeaders.RETRIES));
    String encoding = in.getHeader(SpringRabbitMQConstants.CONTENT_ENCODING, String.class);
    String contentType = in.getHeader(SpringRabbitMQConstants.CONTENT_TYPE, String.class);

    if (transientFailure && workQueues.contains(source) && retried < retries) {
      Duration delay = Duration.ofSeconds(5L << retried);
      MessageProperties properties = new MessageProperties();
      properties.setDeliveryMode(MessageDeliveryMode.PERSISTENT);
      properties.setContentType(contentType);
      properties.setContentEncoding(encoding);
      properties.setHeader(DeadLetterHeaders.ATTEMPTS, attempts);
      properties.setHeader(DeadLetterHeaders.RETRIES, retried + 1);
      publisher.publishAll(
          List.of(
              new Routed(
                  names.delayQueue(DelayTiers.atLeast(delay)),
                  source,
                  new Message(body, properties))),
          10_000);
      metrics.counter("quarry.dead.letters.retried").increment();
      log.info(
          "Dead letter of {} goes back in {} (retry {} of {})",
          source,
          delay,
          retried + 1,
          retries);
      return;
    }
    String reason =
        byBroker
            ? "dead-lettered by the broker: "
                + in.getHeader("x-first-death-reason", "rejected", String.class)
            : in.getHeader(DeadLetterHeaders.REASON, "no reason given", String.class);
    long id =
        parked.park(
            source == null ? "unknown" : source,
            in.getHeader(SpringRabbitMQConstants.MESSAGE_ID, String.class),
            json.writeValueAsString(quarryHeaders(in.getHeaders())),
            contentType,
            encoding,
            body == null ? new byte[0] : body,
            reason,
            in.getHeader(DeadLetterHeaders.EXCEPTION, String.class),
            in.getHeader(DeadLetterHeaders.ROUTE, String.class),
            attempts,
            !transientFailure);
    metrics.counter("quarry.dead.letters.parked").increment();
    log.warn(
        "Parked dead letter {} of {}: {} ({} attempts); replay it from the dashboard or the API",
        id,
        source,
        reason,
        attempts);
  }

  private static Map<String, Object> quarryHeaders(Map<String, Object> headers) {
    Map<String, Object> kept = new LinkedHashMap<>();
    headers.forEach(
        (name, value) -> {
          if (name.startsWith("x-quarry-")) {
            kept.put(name, String.valueOf(value));
          }
        });
    return kept;
  }

  @SuppressWarnings("unchecked")
  private static String queueFromXDeath(Object xDeath) {
    if (xDeath instanceof List<?> deaths
        && !deaths.isEmpty()
        && deaths.get(0) instanceof Map<?, ?> first) {
      Object queue = ((Map<String, Object>) first).get("queue");
      return queue == null ? null : queue.toString();
    }
    return null;
  }
}
