package io.quarry.deadletter;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarry.bus.BusNames;
import io.quarry.bus.Topology;
import io.quarry.bus.amqp.QuarryAmqpComponent;
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
 * dashboard. The dead-letter retry route asks {@link #goesBack}, then either publishes {@link
 * #retryMessage} to its delay exchange and counts it ({@link #retried}) or {@link #park}s it.
 *
 * <p>Only Quarry's own dead letters (composed by {@link DeadLetterComposer}) are retried, and only
 * to a work queue of this environment. A message the broker dead-lettered (it carries {@code
 * x-death}: a listener rejected it) is parked whatever {@code x-quarry-*} headers it brought from
 * its publisher, and counts in headers that are not whole numbers read as 0.
 */
@Component
public class DeadLetterRetry {

  /**
   * Exchange property: the delay exchange a retried letter goes to (set by {@link #retryMessage}).
   */
  public static final String DELAY_EXCHANGE_PROPERTY = "quarryDelayExchange";

  private static final Logger log = LoggerFactory.getLogger(DeadLetterRetry.class);

  private final DeadLetterRepository parked;
  private final BusNames names;
  private final ObjectMapper json;
  private final MeterRegistry metrics;
  private final int retries;
  private final Set<String> workQueues;

  public DeadLetterRetry(
      DeadLetterRepository parked,
      BusNames names,
      ObjectMapper json,
      MeterRegistry metrics,
      QuarryProperties properties,
      Topology topology) {
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

  /** What the dead letter says about itself. */
  private record Letter(
      boolean byBroker, String source, boolean transientFailure, int attempts, int retried) {

    static Letter of(org.apache.camel.Message in) {
      Object xDeath = in.getHeader("x-death");
      boolean byBroker = xDeath != null;
      return new Letter(
          byBroker,
          byBroker
              ? queueFromXDeath(xDeath)
              : in.getHeader(DeadLetterHeaders.SOURCE_QUEUE, String.class),
          !byBroker && Boolean.TRUE.equals(in.getHeader(DeadLetterHeaders.TRANSIENT)),
          // Every delivery so far: DeadLetterComposer adds each round's to those of the rounds
          // before.
          Math.max(1, DeadLetterHeaders.count(in.getHeader(DeadLetterHeaders.ATTEMPTS))),
          DeadLetterHeaders.count(in.getHeader(DeadLetterHeaders.RETRIES)));
    }
  }

  /** Exchange properties {@link #park} leaves: the dead letter's id, why and whence. */
  public static final String PARKED_ID = "quarryParkedId";

  public static final String PARKED_REASON = "quarryParkedReason";
  public static final String PARKED_FROM = "quarryParkedFrom";

  /** Whether the letter goes back to its queue (else it is parked). */
  public boolean goesBack(Exchange exchange) {
    Letter letter = Letter.of(exchange.getMessage());
    return letter.transientFailure()
        && workQueues.contains(letter.source())
        && letter.retried() < retries;
  }

  /**
   * The letter as it goes back: the original body with the attempts so far and one retry more, for
   * the delay exchange this sets in {@link #DELAY_EXCHANGE_PROPERTY}, routed to its queue by the
   * {@link QuarryAmqpComponent#ROUTING_KEY} this sets.
   */
  public Message retryMessage(Exchange exchange) {
    var in = exchange.getMessage();
    Letter letter = Letter.of(in);
    MessageProperties properties = new MessageProperties();
    properties.setDeliveryMode(MessageDeliveryMode.PERSISTENT);
    properties.setContentType(in.getHeader(SpringRabbitMQConstants.CONTENT_TYPE, String.class));
    properties.setContentEncoding(
        in.getHeader(SpringRabbitMQConstants.CONTENT_ENCODING, String.class));
    properties.setHeader(DeadLetterHeaders.ATTEMPTS, letter.attempts());
    properties.setHeader(DeadLetterHeaders.RETRIES, letter.retried() + 1);
    exchange.setProperty(
        DELAY_EXCHANGE_PROPERTY, names.delayQueue(DelayTiers.atLeast(delay(letter.retried()))));
    in.setHeader(QuarryAmqpComponent.ROUTING_KEY, letter.source());
    return new Message(in.getBody(byte[].class), properties);
  }

  /** After the broker confirmed the letter {@link #retryMessage} made: counts and logs it. */
  public void retried(Exchange exchange) throws Exception {
    Message message = exchange.getMessage().getMandatoryBody(Message.class);
    int retry =
        DeadLetterHeaders.count(
            message.getMessageProperties().getHeader(DeadLetterHeaders.RETRIES));
    metrics.counter("quarry.dead.letters.retried").increment();
    log.info(
        "Dead letter of {} goes back in {} (retry {} of {})",
        exchange.getMessage().getHeader(QuarryAmqpComponent.ROUTING_KEY),
        delay(retry - 1),
        retry,
        retries);
  }

  private static Duration delay(int retriedBefore) {
    return Duration.ofSeconds(5L << retriedBefore);
  }

  /** Keeps the letter in PostgreSQL, with its reason, for a replay or discard decision. */
  public void park(Exchange exchange) throws Exception {
    var in = exchange.getMessage();
    Letter letter = Letter.of(in);
    byte[] body = in.getBody(byte[].class);
    String reason =
        letter.byBroker()
            ? "dead-lettered by the broker: "
                + in.getHeader("x-first-death-reason", "rejected", String.class)
            : in.getHeader(DeadLetterHeaders.REASON, "no reason given", String.class);
    long id =
        parked.park(
            letter.source() == null ? "unknown" : letter.source(),
            in.getHeader(SpringRabbitMQConstants.MESSAGE_ID, String.class),
            json.writeValueAsString(quarryHeaders(in.getHeaders())),
            in.getHeader(SpringRabbitMQConstants.CONTENT_TYPE, String.class),
            in.getHeader(SpringRabbitMQConstants.CONTENT_ENCODING, String.class),
            body == null ? new byte[0] : body,
            reason,
            in.getHeader(DeadLetterHeaders.EXCEPTION, String.class),
            in.getHeader(DeadLetterHeaders.ROUTE, String.class),
            letter.attempts(),
            !letter.transientFailure());
    exchange.setProperty(PARKED_ID, id);
    exchange.setProperty(PARKED_REASON, reason);
    exchange.setProperty(PARKED_FROM, letter.source());
    metrics.counter("quarry.dead.letters.parked").increment();
    log.warn(
        "Parked dead letter {} of {}: {} ({} attempts); replay it from the dashboard or the API",
        id,
        letter.source(),
        reason,
        letter.attempts());
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
