package io.quarry.bus;

import org.springframework.stereotype.Component;

/**
 * Camel endpoint URIs of the bus, built in one place from {@link BusNames}. Consumers never declare
 * anything (the topology is declared once at start-up), acknowledge after the route has finished,
 * and leave retries to Camel's error handler: the listener tries a message once and then rejects it
 * without requeue, so the broker dead-letters it to the queue's {@code .dlq}.
 */
@Component
public class Endpoints {

  private final BusNames names;

  public Endpoints(BusNames names) {
    this.names = names;
  }

  /** Consumes a queue with the given number of consumers and prefetch. */
  public String consume(String exchange, String queue, int consumers, int prefetch) {
    return consume(exchange, queue, consumers, prefetch, true);
  }

  /**
   * Consumes the dead-letter queues: a message whose handling fails is put back (there is no
   * further dead-letter queue to catch it), never dropped.
   */
  public String consumeKeepingFailures(
      String exchange, String queues, int consumers, int prefetch) {
    return consume(exchange, queues, consumers, prefetch, false);
  }

  private String consume(
      String exchange, String queue, int consumers, int prefetch, boolean rejectToDeadLetter) {
    return "spring-rabbitmq:"
        + exchange
        + "?queues="
        + queue
        + "&autoDeclare=false"
        + "&acknowledgeMode=AUTO"
        + "&maximumRetryAttempts=1"
        + "&rejectAndDontRequeue="
        + rejectToDeadLetter
        + "&concurrentConsumers="
        + consumers
        + "&prefetchCount="
        + prefetch;
  }

  /**
   * The notification side's queue of high-priority integration events: its own consumer takes them
   * at once, never behind the normal queue's backlog (quorum queues have no priorities).
   */
  public String highPriorityEventsConsumer(int consumers, int prefetch) {
    return consume(
        names.integrationEventsExchange(),
        names.highPriorityNotificationEventsQueue(),
        consumers,
        prefetch);
  }

  /** The notification side's queue of integration events. */
  public String integrationEventsConsumer(int consumers, int prefetch) {
    return consume(
        names.integrationEventsExchange(), names.notificationEventsQueue(), consumers, prefetch);
  }
}
