package io.quarry.outbox;

import io.quarry.bus.BusNames;
import io.quarry.bus.ConfirmedPublisher;
import io.quarry.bus.amqp.Routed;
import io.quarry.config.OutboxProperties;
import io.quarry.config.QuarryProperties;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.amqp.core.Message;
import org.springframework.amqp.core.MessageDeliveryMode;
import org.springframework.amqp.core.MessageProperties;
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
  private final ConfirmedPublisher publisher;
  private final TransactionTemplate transaction;
  private final OutboxProperties settings;
  private final String exchange;
  private final Clock clock;

  public OutboxRelay(
      OutboxRepository outbox,
      ConfirmedPublisher publisher,
      TransactionTemplate transaction,
      QuarryProperties properties,
      BusNames names,
      Clock clock) {
    this.outbox = outbox;
    this.publisher = publisher;
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
    List<String> outcomes;
    try {
      outcomes =
          publisher.publish(
              batch.stream().map(e -> new Routed(exchange, e.routingKey(), toMessage(e))).toList(),
              settings.confirmTimeout().toMillis());
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
    for (int i = 0; i < batch.size(); i++) {
      if (outcomes.get(i) == null) {
        published.add(batch.get(i).id());
      } else {
        failed.add(batch.get(i).id());
        lastError = outcomes.get(i);
      }
    }
    outbox.markPublished(published);
    if (!failed.isEmpty()) {
      log.warn("Outbox relay: {} events not confirmed, will retry: {}", failed.size(), lastError);
      outbox.markFailed(failed, lastError, settings.maxBackoff());
    }
    return published.size();
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
