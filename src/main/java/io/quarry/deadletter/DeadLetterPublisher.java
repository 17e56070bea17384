package io.quarry.deadletter;

import io.micrometer.core.instrument.MeterRegistry;
import io.quarry.bus.BusNames;
import io.quarry.bus.ConfirmedPublisher;
import io.quarry.bus.amqp.Routed;
import io.quarry.config.QuarryProperties;
import io.quarry.message.MiningMessage;
import io.quarry.message.MiningMessageCodec;
import io.quarry.mining.MiningStateRepository;
import java.time.Instant;
import java.util.List;
import org.apache.camel.Exchange;
import org.apache.camel.component.springrabbit.SpringRabbitMQConstants;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.amqp.core.Message;
import org.springframework.amqp.core.MessageDeliveryMode;
import org.springframework.amqp.core.MessageProperties;
import org.springframework.stereotype.Component;

/**
 * The end of Camel's dead letter channel: publishes the original message, untouched, to its queue's
 * {@code .dlq} with why it failed (reason, exception class, route, attempts, transient or not) in
 * headers of its own, confirmed, before the source message is acknowledged. A mining message's
 * chain is marked failed (it resumes if the message comes back).
 */
@Component
public class DeadLetterPublisher {

  private static final Logger log = LoggerFactory.getLogger(DeadLetterPublisher.class);

  private final ConfirmedPublisher publisher;
  private final BusNames names;
  private final MiningMessageCodec miningCodec;
  private final MiningStateRepository states;
  private final MeterRegistry metrics;
  private final int redeliveries;

  public DeadLetterPublisher(
      ConfirmedPublisher publisher,
      BusNames names,
      MiningMessageCodec miningCodec,
      MiningStateRepository states,
      MeterRegistry metrics,
      QuarryProperties properties) {
    this.publisher = publisher;
    this.names = names;
    this.miningCodec = miningCodec;
    this.states = states;
    this.metrics = metrics;
    this.redeliveries = properties.mining().redeliveries();
  }

  public void deadLetter(Exchange exchange) {
    String queue = exchange.getProperty(DeadLetterHeaders.SOURCE_QUEUE_PROPERTY, String.class);
    boolean transientFailure =
        Boolean.TRUE.equals(
            exchange.getProperty(DeadLetterHeaders.TRANSIENT_PROPERTY, Boolean.class));
    Throwable error = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
    String route = exchange.getProperty(Exchange.FAILURE_ROUTE_ID, String.class);
    byte[] body = exchange.getMessage().getBody(byte[].class);
    String encoding =
        exchange.getMessage().getHeader(SpringRabbitMQConstants.CONTENT_ENCODING, String.class);
    // Set when the dead-letter retry route re-queued this message: carried on, so that the retries
    // add up to quarry.mining.dead-letter-retries and the message is then parked.
    int earlierAttempts =
        DeadLetterHeaders.count(exchange.getMessage().getHeader(DeadLetterHeaders.ATTEMPTS));
    int retried =
        DeadLetterHeaders.count(exchange.getMessage().getHeader(DeadLetterHeaders.RETRIES));
    int attempts = earlierAttempts + (transientFailure ? redeliveries + 1 : 1);
    String reason = error == null ? "unknown failure" : String.valueOf(error.getMessage());

    MessageProperties properties = new MessageProperties();
    properties.setDeliveryMode(MessageDeliveryMode.PERSISTENT);
    properties.setContentType(
        exchange
            .getMessage()
            .getHeader(
                SpringRabbitMQConstants.CONTENT_TYPE,
                MessageProperties.CONTENT_TYPE_JSON,
                String.class));
    properties.setContentEncoding(encoding);
    properties.setHeader(DeadLetterHeaders.SOURCE_QUEUE, queue);
    properties.setHeader(DeadLetterHeaders.REASON, truncate(reason));
    properties.setHeader(
        DeadLetterHeaders.EXCEPTION, error == null ? null : error.getClass().getName());
    properties.setHeader(DeadLetterHeaders.ROUTE, route);
    properties.setHeader(DeadLetterHeaders.ATTEMPTS, attempts);
    properties.setHeader(DeadLetterHeaders.RETRIES, retried);
    properties.setHeader(DeadLetterHeaders.TRANSIENT, transientFailure);
    properties.setHeader(DeadLetterHeaders.FAILED_AT, Instant.now().toString());
    publisher.publishAll(
        List.of(
            new Routed(
                names.deadLetterExchange(),
                names.deadLetterQueue(queue),
                new Message(body == null ? new byte[0] : body, properties))),
        10_000);
    metrics
        .counter(
            "quarry.dead.letters",
            "queue",
            names.baseOf(queue),
            "kind",
            transientFailure ? "transient" : "permanent")
        .increment();
    log.warn(
        "Dead-lettered a message of {} after {} attempt(s) in route {} ({}): {}; it goes to {} for {}",
        queue,
        attempts,
        route,
        error == null ? "?" : error.getClass().getSimpleName(),
        reason,
        names.deadLetterQueue(queue),
        transientFailure ? "a delayed retry" : "parking");
    markChainFailed(queue, body, encoding, reason, !transientFailure);
  }

  private void markChainFailed(
      String queue, byte[] body, String encoding, String reason, boolean permanent) {
    if (!names.baseOf(queue).endsWith("-mining-queue") || body == null) {
      return;
    }
    MiningMessage message;
    try {
      message = miningCodec.read(body, encoding);
    } catch (RuntimeException unreadable) {
      return; // a malformed message belongs to no chain
    }
    try {
      states.fail(message.userId(), message.stream(), message.runId(), truncate(reason), permanent);
    } catch (RuntimeException databaseTrouble) {
      // The dead letter is out already; the chain stays in progress until it counts as stale
      // (quarry.mining.stale-chain-after), and then the next tick schedules the user again.
      log.warn(
          "Could not mark the {} chain of user {} failed: {}",
          message.stream(),
          message.userId(),
          databaseTrouble.toString());
    }
  }

  private static String truncate(String text) {
    return text.length() > 1000 ? text.substring(0, 1000) + "…" : text;
  }
}
