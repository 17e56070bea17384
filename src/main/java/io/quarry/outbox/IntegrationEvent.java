package io.quarry.outbox;

import java.time.Instant;
import java.util.Map;
import java.util.UUID;

/**
 * An integration event as it travels through the outbox and over the bus (JSON, camelCase).
 *
 * @param id unique id; also the AMQP message id, used by consumers to drop duplicates
 * @param type event type, e.g. {@code CleanUpSentEmailIntegrationEvent}; also the routing key
 * @param occurredAt when the change that caused it was committed
 * @param payload event-specific data
 */
public record IntegrationEvent(
    UUID id, String type, Instant occurredAt, Map<String, Object> payload) {

  public static IntegrationEvent of(String type, Instant occurredAt, Map<String, Object> payload) {
    return new IntegrationEvent(UUID.randomUUID(), type, occurredAt, payload);
  }
}
