package io.quarry.outbox;

import static io.quarry.bus.Topology.HIGH_PRIORITY_HEADER;
import static io.quarry.bus.Topology.priorityClass;

import io.quarry.bus.BusNames;
import io.quarry.bus.amqp.PublishFailedException;
import io.quarry.bus.amqp.Routed;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.springframework.amqp.core.Message;
import org.springframework.amqp.core.MessageDeliveryMode;
import org.springframework.amqp.core.MessageProperties;
import org.springframework.stereotype.Component;

/**
 * What the outbox relay route publishes, made from the rows it claimed ({@code
 * sql/outbox/claim-due.sql}): one persistent JSON message per event, to the integration-events
 * exchange under the event's routing key, with the event id as message id (consumers drop
 * duplicates by it), the event type as type and the job's priority. No I/O: the route claims,
 * publishes and marks.
 */
@Component
public class OutboxMessages {

  private final String exchange;
  private final Clock clock;

  public OutboxMessages(BusNames names, Clock clock) {
    this.exchange = names.integrationEventsExchange();
    this.clock = clock;
  }

  /** The claimed rows ({@code id, routing_key, event_type, payload, priority}) as messages. */
  public List<Routed> toMessages(List<Map<String, Object>> rows) {
    List<Routed> messages = new ArrayList<>(rows.size());
    Date now = Date.from(clock.instant());
    for (Map<String, Object> row : rows) {
      MessageProperties properties = new MessageProperties();
      properties.setMessageId(row.get("id").toString());
      properties.setType((String) row.get("event_type"));
      properties.setContentType(MessageProperties.CONTENT_TYPE_JSON);
      properties.setContentEncoding(StandardCharsets.UTF_8.name());
      properties.setDeliveryMode(MessageDeliveryMode.PERSISTENT);
      properties.setPriority(((Number) row.get("priority")).intValue());
      properties.setHeader(HIGH_PRIORITY_HEADER, priorityClass(properties.getPriority()));
      properties.setTimestamp(now);
      byte[] body = ((String) row.get("payload")).getBytes(StandardCharsets.UTF_8);
      messages.add(
          new Routed(exchange, (String) row.get("routing_key"), new Message(body, properties)));
    }
    return messages;
  }

  /** The event ids of the claimed rows, as the array the outbox statements take. */
  public UUID[] idsOf(List<Map<String, Object>> rows) {
    return rows.stream().map(row -> (UUID) row.get("id")).toArray(UUID[]::new);
  }

  /** The event id of one message made by {@link #toMessages}. */
  public UUID[] idOf(Routed message) {
    return new UUID[] {UUID.fromString(message.message().getMessageProperties().getMessageId())};
  }

  /** The relay run's count so far plus one batch's. */
  public long add(long relayed, long published) {
    return relayed + published;
  }

  /**
   * True when the broker refused a message of the publish (returned it as unroutable, or nacked
   * it): something about a message or its destination, so the other events may well go through on
   * their own. False for trouble with the broker as such (no channel, no confirm in time, the
   * channel or connection closed), where publishing event by event would only wait longer.
   */
  public static boolean refusedByBroker(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof PublishFailedException refused) {
        // BatchPublisher: a return has no cause; a nack (or a failed basicPublish) an IOException
        return refused.getCause() == null || refused.getCause() instanceof IOException;
      }
    }
    return false;
  }
}
