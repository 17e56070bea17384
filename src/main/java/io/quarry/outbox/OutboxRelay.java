package io.quarry.outbox;

import io.quarry.bus.BusNames;
import io.quarry.config.OutboxProperties;
import io.quarry.config.QuarryProperties;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.amqp.core.Message;
import org.springframework.amqp.core.MessageDeliveryMode;
import org.springframework.amqp.core.MessageProperties;
import org.springframework.amqp.rabbit.connection.CorrelationData;
import org.springframework.amqp.rabbit.core.RabbitTemplate;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Publishes pending outbox events to the integration-events exchange. Each batch is claimed with
 * {@code FOR UPDATE SKIP LOCKED} in one short transaction, published as persistent messages with
 * the event id as message id, and marked published only once the broker has confirmed it (a nack, a
 * return or a timeout leaves it pending with a backoff). A crash between confirm and commit
 * publishes the event again; consumers drop the duplicate by its id.
 */
@Component
public class OutboxRelay {

  private static final Logger log = LoggerFactory.getLogger(OutboxRelay.class);

  private final OutboxRepository outbox;
  private final RabbitTemplate rabbit;
  private final TransactionTemplate transaction;
  private final OutboxProperties settings;
  private final String exchange;
  private final Clock clock;

  public OutboxRelay(
      OutboxRepository outbox,
      RabbitTemplate rabbit,
      TransactionTemplate transaction,
      QuarryProperties properties,
      BusNames names,
      Clock clock) {
    this.outbox = outbox;
    this.rabbit = rabbit;
    this.transaction = transaction;
    this.settings = properties.outbox();
    this.exchange = names.integrationEventsExchange();
    this.clock = clock;
  }

  /**
   * Publishes due events batch by batch until none is left; returns how many were published. One
   * run at a time per instance (poll and wake-up may coincide), so this instance publishes in
   * creation order; other instances skip the rows it holds.
   */
  public synchronized int relayPending() {
    int total = 0;
    while (true) {
      Integer published = transaction.execute(status -> relayBatch());
      total += published;
      if (published < settings.batchSize()) {
        return total;
      }
    }
  }

  private int relayBatch() {
    List<OutboxRepository.PendingEvent> batch = outbox.claimDue(settings.batchSize());
    if (batch.isEmpty()) {
      return 0;
    }
    List<CorrelationData> confirms = new ArrayList<>(batch.size());
    try {
      rabbit.invoke(
          channel -> {
            for (OutboxRepository.PendingEvent event : batch) {
              CorrelationData correlation = new CorrelationData(event.id().toString());
              channel.send(exchange, event.routingKey(), toMessage(event), correlation);
              confirms.add(correlation);
            }
            return null;
          });
    } catch (RuntimeException e) {
      log.warn(
          "Outbox relay could not publish {} events, will retry with backoff: {}",
          batch.size(),
          e.getMessage());
      outbox.markFailed(ids(batch), e.getMessage(), settings.maxBackoff());
      return 0;
    }

    List<UUID> published = new ArrayList<>(batch.size());
    List<UUID> failed = new ArrayList<>();
    String lastError = null;
    long deadline = System.nanoTime() + settings.confirmTimeout().toNanos();
    for (int i = 0; i < batch.size(); i++) {
      UUID id = batch.get(i).id();
      String error = awaitConfirm(confirms.get(i), deadline);
      if (error == null) {
        published.add(id);
      } else {
        failed.add(id);
        lastError = error;
      }
    }
    outbox.markPublished(published);
    if (!failed.isEmpty()) {
      log.warn("Outbox relay: {} events not confirmed, will retry: {}", failed.size(), lastError);
      outbox.markFailed(failed, lastError, settings.maxBackoff());
    }
    return published.size();
  }

  /** Null when the broker confirmed the message and routed it, else why not. */
  private static String awaitConfirm(CorrelationData correlation, long deadlineNanos) {
    try {
      long wait = Math.max(0, deadlineNanos - System.nanoTime());
      CorrelationData.Confirm confirm = correlation.getFuture().get(wait, TimeUnit.NANOSECONDS);
      if (!confirm.isAck()) {
        return "nacked by the broker: " + confirm.getReason();
      }
      if (correlation.getReturned() != null) {
        return "unroutable: " + correlation.getReturned().getReplyText();
      }
      return null;
    } catch (java.util.concurrent.TimeoutException e) {
      return "no confirm within the confirm timeout";
    } catch (java.util.concurrent.ExecutionException e) {
      return "confirm failed: " + e.getCause().getMessage();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted while waiting for the confirm";
    }
  }

  private Message toMessage(OutboxRepository.PendingEvent event) {
    MessageProperties properties = new MessageProperties();
    properties.setMessageId(event.id().toString());
    properties.setType(event.type());
    properties.setContentType(MessageProperties.CONTENT_TYPE_JSON);
    properties.setContentEncoding(StandardCharsets.UTF_8.name());
    properties.setDeliveryMode(MessageDeliveryMode.PERSISTENT);
    properties.setPriority(event.priority());
    properties.setTimestamp(java.util.Date.from(clock.instant()));
    return new Message(event.payloadJson().getBytes(StandardCharsets.UTF_8), properties);
  }

  private static List<UUID> ids(List<OutboxRepository.PendingEvent> batch) {
    return batch.stream().map(OutboxRepository.PendingEvent::id).toList();
  }
}
