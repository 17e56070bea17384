package io.quarry.deadletter;

import io.micrometer.core.instrument.MeterRegistry;
import io.quarry.bus.BusNames;
import io.quarry.bus.amqp.QuarryAmqpComponent;
import io.quarry.config.QuarryProperties;
import io.quarry.message.MiningMessage;
import io.quarry.message.MiningMessageCodec;
import io.quarry.mining.MiningStateRepository;
import java.time.Instant;
import org.apache.camel.Exchange;
import org.apache.camel.InvalidPayloadException;
import org.apache.camel.component.springrabbit.SpringRabbitMQConstants;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.amqp.core.Message;
import org.springframework.amqp.core.MessageDeliveryMode;
import org.springframework.amqp.core.MessageProperties;
import org.springframework.stereotype.Component;

/**
 * The steps of the dead-letter route at the end of Camel's dead letter channel: {@link #compose}
 * turns the failed exchange's original message, untouched, into a dead letter for its queue's
 * {@code .dlq} with why it failed (reason, exception class, route, attempts, transient or not) in
 * headers of its own; once the route has published it, confirmed, {@link #published} counts it and
 * marks a mining message's chain failed (it resumes if the message comes back).
 */
@Component
public class DeadLetterComposer {

  private static final Logger log = LoggerFactory.getLogger(DeadLetterComposer.class);

  private final BusNames names;
  private final MiningMessageCodec miningCodec;
  private final MiningStateRepository states;
  private final MeterRegistry metrics;
  private final int redeliveries;

  public DeadLetterComposer(
      BusNames names,
      MiningMessageCodec miningCodec,
      MiningStateRepository states,
      MeterRegistry metrics,
      QuarryProperties properties) {
    this.names = names;
    this.miningCodec = miningCodec;
    this.states = states;
    this.metrics = metrics;
    this.redeliveries = properties.mining().redeliveries();
  }

  /**
   * The dead letter of the failed exchange, to publish to the dead-letter exchange under the
   * routing key this sets in {@link QuarryAmqpComponent#ROUTING_KEY} (its queue's {@code .dlq}).
   */
  public Message compose(Exchange exchange) {
    String queue = exchange.getProperty(DeadLetterHeaders.SOURCE_QUEUE_PROPERTY, String.class);
    boolean transientFailure =
        Boolean.TRUE.equals(
            exchange.getProperty(DeadLetterHeaders.TRANSIENT_PROPERTY, Boolean.class));
    Throwable error = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
    var in = exchange.getMessage();
    byte[] body = in.getBody(byte[].class);
    // Set when the dead-letter retry route re-queued this message: carried on, so that the retries
    // add up to quarry.mining.dead-letter-retries and the message is then parked.
    int earlierAttempts = DeadLetterHeaders.count(in.getHeader(DeadLetterHeaders.ATTEMPTS));
    int retried = DeadLetterHeaders.count(in.getHeader(DeadLetterHeaders.RETRIES));
    String reason = error == null ? "unknown failure" : String.valueOf(error.getMessage());

    MessageProperties properties = new MessageProperties();
    properties.setDeliveryMode(MessageDeliveryMode.PERSISTENT);
    properties.setContentType(
        in.getHeader(
            SpringRabbitMQConstants.CONTENT_TYPE,
            MessageProperties.CONTENT_TYPE_JSON,
            String.class));
    properties.setContentEncoding(
        in.getHeader(SpringRabbitMQConstants.CONTENT_ENCODING, String.class));
    properties.setHeader(DeadLetterHeaders.SOURCE_QUEUE, queue);
    properties.setHeader(DeadLetterHeaders.REASON, truncate(reason));
    properties.setHeader(
        DeadLetterHeaders.EXCEPTION, error == null ? null : error.getClass().getName());
    properties.setHeader(
        DeadLetterHeaders.ROUTE, exchange.getProperty(Exchange.FAILURE_ROUTE_ID, String.class));
    properties.setHeader(
        DeadLetterHeaders.ATTEMPTS, earlierAttempts + (transientFailure ? redeliveries + 1 : 1));
    properties.setHeader(DeadLetterHeaders.RETRIES, retried);
    properties.setHeader(DeadLetterHeaders.TRANSIENT, transientFailure);
    properties.setHeader(DeadLetterHeaders.FAILED_AT, Instant.now().toString());
    // Set here, whatever the original message brought: an inbound Camel* header must not steer it.
    in.setHeader(QuarryAmqpComponent.ROUTING_KEY, names.deadLetterQueue(queue));
    return new Message(body == null ? new byte[0] : body, properties);
  }

  /**
   * After the broker confirmed the dead letter (the body {@link #compose} made): counts and logs.
   */
  public void published(Exchange exchange) throws InvalidPayloadException {
    Message letter = exchange.getMessage().getMandatoryBody(Message.class);
    MessageProperties properties = letter.getMessageProperties();
    String queue = properties.getHeader(DeadLetterHeaders.SOURCE_QUEUE);
    boolean transientFailure =
        Boolean.TRUE.equals(properties.getHeader(DeadLetterHeaders.TRANSIENT));
    String reason = properties.getHeader(DeadLetterHeaders.REASON);
    String exceptionClass = properties.getHeader(DeadLetterHeaders.EXCEPTION);
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
        properties.<Object>getHeader(DeadLetterHeaders.ATTEMPTS),
        properties.<Object>getHeader(DeadLetterHeaders.ROUTE),
        exceptionClass == null ? "?" : simpleName(exceptionClass),
        reason,
        names.deadLetterQueue(queue),
        transientFailure ? "a delayed retry" : "parking");
    markChainFailed(
        queue, letter.getBody(), properties.getContentEncoding(), reason, !transientFailure);
  }

  private void markChainFailed(
      String queue, byte[] body, String encoding, String reason, boolean permanent) {
    if (!names.baseOf(queue).endsWith("-mining-queue") || body.length == 0) {
      return;
    }
    MiningMessage message;
    try {
      message = miningCodec.read(body, encoding);
    } catch (RuntimeException unreadable) {
      return; // a malformed message belongs to no chain
    }
    try {
      states.fail(message.userId(), message.stream(), message.runId(), reason, permanent);
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

  private static String simpleName(String className) {
    return className.substring(
        Math.max(className.lastIndexOf('.'), className.lastIndexOf('$')) + 1);
  }

  private static String truncate(String text) {
    return text.length() > 1000 ? text.substring(0, 1000) + "…" : text;
  }
}
